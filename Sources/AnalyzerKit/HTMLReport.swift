import AuditJSON
import AuditModel
import DetectionEngine
import Glibc

/// The forensic report of `kaudit scan --report`: one self-contained HTML file (inline CSS
/// and a few lines of script, nothing fetched) that a person can read at a glance: the
/// threat matrix as a heat map, a timeline per actor, the top actors, namespaces and
/// resources, and every embedded alert expandable to its evidence events.
///
/// Everything taken from audit events is hostile input: it is HTML-escaped and stripped of
/// control characters wherever it appears, and only ever placed in element content or
/// quoted attributes, never in script or style.
public struct HTMLReport {
    /// What the report says about the scan itself.
    public struct Context {
        public var inputs: [String] = []
        public var events = 0
        public var firstEvent: Int64?
        public var lastEvent: Int64?
        public var errors = 0
        /// When the report was made (RFC 3339), or empty.
        public var generated = ""
        /// How alerts were suppressed, one line ("off" or the window).
        public var suppression = ""
        public init() {}
    }

    let collector: ReportCollector
    let matrix: MatrixReport
    let context: Context

    /// `matrix` counts alerts per technique (every alert raised, as `scan --matrix` does).
    public init(collector: ReportCollector, matrix: MatrixReport, context: Context) {
        self.collector = collector
        self.matrix = matrix
        self.context = context
    }

    public func render() -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        // No network: the policy forbids every fetch, so nothing in the file can call out.
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        h += "<title>kaudit report</title>\n<style>\(Self.css)</style></head>\n<body>\n"
        h += header()
        h += heatMap()
        h += timeline()
        h += tops()
        h += alertList()
        h += "<script>\(Self.script)</script>\n</body></html>\n"
        return h
    }

    // MARK: - Sections

    func header() -> String {
        let c = collector
        var h = "<header><h1>kaudit report</h1><dl class=\"facts\">"
        func fact(_ k: String, _ v: String) { h += "<dt>\(k)</dt><dd>\(v)</dd>" }
        if !context.inputs.isEmpty {
            let shown = context.inputs.prefix(10).map(Self.esc).joined(separator: ", ")
            fact("inputs", shown + (context.inputs.count > 10 ? " and \(context.inputs.count - 10) more" : ""))
        }
        fact("events", Self.number(context.events) + (context.errors > 0 ? " (\(Self.number(context.errors)) bad records skipped)" : ""))
        if let f = context.firstEvent, let l = context.lastEvent {
            fact("event time", Self.time(f) + " – " + Self.time(l))
        }
        let levels = AlertLevel.allCases.reversed().compactMap { l -> String? in
            guard let n = c.byLevel[l] else { return nil }
            return "<span class=\"lvl \(l.rawValue)\">\(Self.number(n)) \(l.rawValue)</span>"
        }
        fact("alerts raised", "<b id=\"alerts-raised\">\(Self.number(c.total))</b> " + levels.joined(separator: " "))
        fact("alerts sent", "<b id=\"alerts-sent\">\(Self.number(c.sent))</b> (after suppression: \(Self.esc(context.suppression)))")
        if !context.generated.isEmpty { fact("generated", Self.esc(context.generated)) }
        h += "</dl></header>\n"
        return h
    }

    func heatMap() -> String {
        let maxCount = matrix.counts.values.max() ?? 0
        var h = "<section id=\"matrix\"><h2>Threat matrix</h2>\n"
        h += "<p class=\"note\">Each technique coloured by the alerts raised for it (<span id=\"matrix-total\">\(Self.number(matrix.counts.values.reduce(0, +)))</span> in \(matrix.covered) techniques). "
        h += "The letter is how much of the technique the audit log can show: <b>Y</b> the request that carries it out is recorded, "
        h += "<b>P</b> partly or through a proxy, <b>N</b> not at all (hatched: silence there means nothing).</p>\n"
        h += "<div class=\"matrix\">"
        for tactic in ThreatMatrix.Tactic.allCases {
            h += "<div class=\"tactic\"><h3>\(Self.esc(tactic.rawValue))</h3>"
            for t in ThreatMatrix.techniques(of: tactic) {
                let n = matrix.counts[t.id] ?? 0
                let letter = String(t.visibility.rawValue.prefix(1)).uppercased()
                let note = t.visibilityNote.isEmpty ? "" : " (\(t.visibilityNote))"
                let tip = "\(t.id) \(t.name): \(n) alert\(n == 1 ? "" : "s"); audit visibility \(t.visibility.rawValue)\(note)"
                h += "<div class=\"cell vis-\(t.visibility.rawValue)\" data-technique=\"\(t.id)\" data-count=\"\(n)\""
                h += " style=\"\(Self.heat(n, max: maxCount))\" title=\"\(Self.esc(tip))\">"
                h += "<span class=\"vis\">\(letter)</span><span class=\"count\">\(n == 0 ? "" : Self.number(n))</span>"
                h += "<span class=\"name\">\(Self.esc(t.name))</span></div>"
            }
            h += "</div>"
        }
        h += "</div>\n"
        var notes: [String] = []
        if matrix.unmapped > 0 { notes.append("\(Self.number(matrix.unmapped)) alerts name no technique.") }
        if !matrix.unknownIDs.isEmpty {
            notes.append("Ids not in the matrix: " + matrix.unknownIDs.map { Self.esc($0.id) + " (\($0.count))" }.joined(separator: ", ") + ".")
        }
        if !notes.isEmpty { h += "<p class=\"note\">" + notes.joined(separator: " ") + "</p>\n" }
        h += "</section>\n"
        return h
    }

    /// One row per actor (the most alerted first), a dot per alert at its event time.
    func timeline() -> String {
        let c = collector
        var h = "<section id=\"timeline\"><h2>Timeline of alerts per actor</h2>\n"
        guard let t0 = c.earliest, let t1 = c.latest else { return h + "<p>No alerts.</p></section>\n" }
        let rows = c.actors.top(15).map { String(decoding: $0.key, as: UTF8.self) }
        let rowIndex = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let labelWidth = 230, plotWidth = 760, rowHeight = 22, top = 24
        let height = top + rows.count * rowHeight + 8
        let span = max(1, t1 - t0)
        func x(_ t: Int64) -> Int { labelWidth + Int(Double(t - t0) / Double(span) * Double(plotWidth - 10)) + 5 }
        h += "<svg class=\"timeline\" viewBox=\"0 0 \(labelWidth + plotWidth) \(height)\" role=\"img\" aria-label=\"alerts per actor over time\">"
        // Five ticks over the span; one when every alert has the same second.
        for i in stride(from: 0, through: span < 1_000_000 ? 0 : 4, by: 1) {
            let t = t0 + span * Int64(i) / 4
            let px = x(t)
            h += "<line x1=\"\(px)\" y1=\"\(top - 6)\" x2=\"\(px)\" y2=\"\(height - 4)\" class=\"tick\"/>"
            let anchor = i == 0 ? "start" : (i == 4 ? "end" : "middle")
            h += "<text x=\"\(px)\" y=\"12\" text-anchor=\"\(anchor)\" class=\"axis\">\(Self.time(t))</text>"
        }
        for (i, actor) in rows.enumerated() {
            let y = top + i * rowHeight + rowHeight / 2
            let label = actor.count > 34 ? String(actor.prefix(33)) + "…" : actor
            h += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 4)\" text-anchor=\"end\" class=\"actor\"><title>\(Self.esc(actor))</title>\(Self.esc(label))</text>"
            h += "<line x1=\"\(labelWidth)\" y1=\"\(y)\" x2=\"\(labelWidth + plotWidth)\" y2=\"\(y)\" class=\"row\"/>"
        }
        // Higher levels drawn last, on top.
        for p in c.points.sorted(by: { $0.level < $1.level }) {
            guard let row = rowIndex[p.actor] else { continue }
            let y = top + row * rowHeight + rowHeight / 2
            h += "<circle cx=\"\(x(p.time))\" cy=\"\(y)\" r=\"5\" class=\"dot \(p.level.rawValue)\"><title>"
            h += Self.esc("\(Self.time(p.time)) \(p.level.rawValue): \(p.rule)") + "</title></circle>"
        }
        h += "</svg>\n"
        var notes: [String] = []
        if c.actors.distinctKeys > rows.count { notes.append("the \(rows.count) actors with the most alerts of \(c.actors.distinctKeys)") }
        if c.pointsNotKept > 0 { notes.append("\(Self.number(c.pointsNotKept)) alerts after the first \(Self.number(c.limits.maxTimelinePoints)) are not drawn") }
        if !notes.isEmpty { h += "<p class=\"note\">Shown: " + notes.joined(separator: "; ") + ".</p>\n" }
        h += "</section>\n"
        return h
    }

    func tops() -> String {
        var h = "<section id=\"tops\" class=\"tops\">"
        h += table("Top actors", collector.actors)
        h += table("Top namespaces", collector.namespaces)
        h += table("Top resources", collector.resources)
        let fired = collector.byRule.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.info.title < $1.info.title }
        h += "<div><h2>Rules that raised alerts</h2><table><tr><th>alerts</th><th>level</th><th>rule</th></tr>"
        for row in fired.prefix(25) {
            h += "<tr><td class=\"n\">\(Self.number(row.count))</td><td><span class=\"lvl \(row.info.level.rawValue)\">\(row.info.level.rawValue)</span></td><td>\(Self.esc(row.info.title))</td></tr>"
        }
        h += "</table>" + (fired.count > 25 ? "<p class=\"note\">and \(fired.count - 25) more rules</p>" : "") + "</div>"
        h += "</section>\n"
        return h
    }

    func table(_ title: String, _ counter: BoundedByteCounter) -> String {
        var h = "<div><h2>\(title)</h2><table><tr><th>alerts</th><th>value</th></tr>"
        for row in counter.top(10) {
            h += "<tr><td class=\"n\">\(Self.number(row.count))</td><td>\(Self.esc(String(decoding: row.key, as: UTF8.self)))</td></tr>"
        }
        h += "</table>"
        if counter.overflowCount > 0 {
            h += "<p class=\"note\">\(Self.number(counter.overflowCount)) alerts with values beyond the \(Self.number(counter.maxKeys))-value bound are not ranked.</p>"
        }
        return h + "</div>"
    }

    func alertList() -> String {
        let c = collector
        let alerts = c.alerts
        var h = "<section id=\"alerts\"><h2>Alerts</h2>\n"
        var bound = "Alerts as sent, in event time. Each opens to its evidence: up to \(c.limits.maxEvidencePerAlert) events per alert, "
        bound += "each cut at \(Self.number(c.limits.maxEventBytes)) bytes."
        if c.notEmbedded > 0 {
            bound += " <b>\(Self.number(c.notEmbedded)) of \(Self.number(c.sent)) alerts are not in this file</b> (at most \(Self.number(c.limits.maxAlerts)) are embedded; lower levels are left out first): the NDJSON output has them all."
        }
        h += "<p class=\"note\">\(bound)</p>\n"
        h += "<p class=\"tools\"><input id=\"filter\" type=\"search\" placeholder=\"filter: rule, actor, namespace…\"> "
        h += "<button id=\"expand\" type=\"button\">expand all</button> <button id=\"collapse\" type=\"button\">collapse all</button></p>\n"
        for e in alerts { h += alertEntry(e) }
        h += "</section>\n"
        return h
    }

    func alertEntry(_ e: ReportCollector.Embedded) -> String {
        let a = e.alert
        var verb: String?
        if let newest = e.evidence.last { newest.evidence.withEvent { verb = $0?.verb?.string } }
        var target = a.object.resource ?? "?"
        if let sub = a.object.subresource { target += "/" + sub }
        if let name = a.object.name {
            target += " " + (a.object.namespace.map { $0 + "/" } ?? "") + name
        } else if let ns = a.object.namespace {
            target += " in " + ns
        }
        var h = "<details class=\"alert \(a.rule.level.rawValue)\"><summary>"
        h += "<time>\(Self.time(a.time))</time> <span class=\"lvl \(a.rule.level.rawValue)\">\(a.rule.level.rawValue)</span> "
        h += "<b>\(Self.esc(a.rule.title))</b> <span class=\"who\">\(Self.esc(a.actor.user ?? "?")) → \(Self.esc((verb.map { $0 + " " } ?? "") + target))</span>"
        if a.repeats > 0 { h += " <span class=\"rep\">×\(a.repeats) repeats</span>" }
        h += "</summary><dl>"
        func row(_ k: String, _ v: String?) { if let v, !v.isEmpty { h += "<dt>\(k)</dt><dd>\(Self.esc(v))</dd>" } }
        row("rule", a.rule.id + " (\(a.rule.kind.rawValue))")
        let techniques = a.rule.threatMatrix.map { id in ThreatMatrix.technique(id).map { "\(id) \($0.name)" } ?? id }
        row("threat matrix", techniques.joined(separator: "; "))
        row("ATT&CK", a.rule.attack.joined(separator: ", "))
        row("user", a.actor.user)
        row("groups", a.actor.groups.joined(separator: ", "))
        row("impersonated", a.actor.impersonatedUser)
        row("source ip", a.actor.sourceIP)
        row("user agent", a.actor.userAgent)
        row("object", target)
        if !a.group.isEmpty { row("group", a.group.map { "\($0.field)=\($0.value ?? "-")" }.joined(separator: ", ")) }
        row("count", String(a.count))
        if a.firstTime != a.time { row("first / last", Self.time(a.firstTime) + " – " + Self.time(a.time)) }
        if a.repeats > 0 { row("suppressed", "\(a.repeats) alerts of this rule and group folded into this one") }
        row("detail", a.detail)
        h += "</dl>"
        let shown = e.evidence.count
        h += "<p class=\"note\">Evidence: \(shown) of \(a.evidenceTotal) event\(a.evidenceTotal == 1 ? "" : "s") shown.</p>"
        for (ev, cut) in e.evidence {
            h += "<div class=\"ev\"><div class=\"evh\">\(Self.time(ev.time)) \(Self.esc(ev.stage)) audit ID \(Self.esc(ev.auditID))"
            h += cut ? " <b>(cut at \(Self.number(collector.limits.maxEventBytes)) bytes)</b>" : ""
            h += "</div><pre>\(Self.esc(Self.indented(ev.raw), lines: true))</pre></div>"
        }
        h += "</details>\n"
        return h
    }

    // MARK: - Helpers

    /// HTML-escapes `s` for element content and quoted attributes, and replaces control
    /// characters (see `SummaryReport.printable`).
    static func esc(_ s: String) -> String { esc(s, lines: false) }

    /// `esc`, keeping line breaks when `lines` (for the indented evidence in `<pre>`).
    static func esc(_ s: String, lines: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        let text = lines ? s.split(separator: "\n", omittingEmptySubsequences: false).map { SummaryReport.printable(String($0)) }.joined(separator: "\n") : SummaryReport.printable(s)
        for u in text.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// JSON bytes re-indented two spaces a level, for reading; strings are left as they are,
    /// so a cut event (no closing brackets) still indents sensibly.
    static func indented(_ raw: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + raw.count / 4)
        var depth = 0
        var inString = false
        var escaped = false
        func newline() {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(0x20, count: 2 * min(depth, 40)))
        }
        var i = 0
        while i < raw.count {
            let b = raw[i]
            i += 1
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true; out.append(b)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                // An empty object or array stays on its line: `{}`, `[]`.
                var j = i
                while j < raw.count, [0x20, 0x09, 0x0A, 0x0D].contains(raw[j]) { j += 1 }
                if j < raw.count, raw[j] == b + 2 {
                    out.append(b); out.append(raw[j]); i = j + 1
                    continue
                }
                out.append(b); depth += 1; newline()
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth = max(0, depth - 1); newline(); out.append(b)
            case UInt8(ascii: ","): out.append(b); newline()
            case UInt8(ascii: ":"): out.append(b); out.append(0x20)
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Background and text colour for a technique cell with `n` of at most `max` alerts: a
    /// log scale from pale to deep red, so one alert is already visible beside a thousand.
    static func heat(_ n: Int, max: Int) -> String {
        guard n > 0, max > 0 else { return "" }
        let f = max == 1 ? 1.0 : log2(1 + Double(n)) / log2(1 + Double(max))
        let light = (r: 252.0, g: 187.0, b: 161.0), dark = (r: 165.0, g: 15.0, b: 21.0)
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * (0.25 + 0.75 * f)).rounded()) }
        let text = f > 0.45 ? "#fff" : "#3b0b0b"
        return "background:rgb(\(mix(light.r, dark.r)),\(mix(light.g, dark.g)),\(mix(light.b, dark.b)));color:\(text)"
    }

    static func time(_ micros: Int64) -> String {
        let s = RFC3339.format(microseconds: micros)
        // Seconds are enough to read; the NDJSON output keeps microseconds.
        return String(s.prefix(10)) + " " + String(s.dropFirst(11).prefix(8)) + "Z"
    }

    /// `12,345`.
    static func number(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = n < 0 ? "-" : ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return out
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:16px 24px;max-width:1400px;color:#1d2330;background:#fafbfc}
        h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:24px 0 8px}h3{font-size:12px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#455}
        .facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}.facts dt{color:#667}.facts dd{margin:0}
        .note{color:#556;font-size:13px}
        .matrix{display:grid;grid-template-columns:repeat(10,minmax(110px,1fr));gap:6px;overflow-x:auto}
        .tactic{display:flex;flex-direction:column;gap:4px}
        .cell{position:relative;border:1px solid #c9ced6;border-radius:4px;padding:4px 6px 4px 22px;min-height:34px;font-size:12px;background:#fff}
        .cell .vis{position:absolute;left:4px;top:4px;font-weight:700;font-size:11px;opacity:.75}
        .cell .count{float:right;font-weight:700;margin-left:4px}
        .cell.vis-partial{border-style:dashed}
        .cell.vis-no{border-style:dotted;background:repeating-linear-gradient(135deg,#fff,#fff 5px,#eef0f3 5px,#eef0f3 10px)}
        .lvl{display:inline-block;white-space:nowrap;padding:0 6px;border-radius:8px;font-size:12px;color:#fff;background:#888}
        .lvl.critical,.dot.critical{background:#7b1fa2;fill:#7b1fa2}.lvl.high,.dot.high{background:#c62828;fill:#c62828}
        .lvl.medium,.dot.medium{background:#ef6c00;fill:#ef6c00}.lvl.low,.dot.low{background:#1e88e5;fill:#1e88e5}
        .lvl.informational,.dot.informational{background:#78909c;fill:#78909c}
        .timeline{width:100%;max-width:990px;background:#fff;border:1px solid #dde;border-radius:4px}
        .timeline .tick{stroke:#e3e6ea}.timeline .row{stroke:#f0f1f3}.timeline .axis{font-size:10px;fill:#667}.timeline .actor{font-size:11px;fill:#223}
        .dot{stroke:#fff;stroke-width:1;opacity:.85}
        .tops{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:8px 24px}
        table{border-collapse:collapse;font-size:13px;width:100%}th,td{text-align:left;padding:2px 8px;border-bottom:1px solid #e6e8eb;overflow-wrap:anywhere}td.n{text-align:right;width:4em}
        details.alert{background:#fff;border:1px solid #dde;border-left:4px solid #888;border-radius:3px;margin:4px 0;padding:4px 8px}
        details.alert.critical{border-left-color:#7b1fa2}details.alert.high{border-left-color:#c62828}details.alert.medium{border-left-color:#ef6c00}details.alert.low{border-left-color:#1e88e5}
        details.alert summary{cursor:pointer;overflow-wrap:anywhere}details.alert time{color:#556;font-variant-numeric:tabular-nums}
        .who{color:#334}.rep{color:#a33;font-weight:600}
        details dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;font-size:13px}details dt{color:#667}details dd{margin:0;overflow-wrap:anywhere}
        .ev{border-top:1px solid #eee;margin-top:6px}.evh{font-size:12px;color:#556;padding:4px 0}
        pre{background:#f4f6f8;padding:8px;overflow:auto;max-height:420px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
        .tools input{width:320px;padding:4px}
        """

    static let script = """
        (function(){var q=document.getElementById('filter'),all=document.querySelectorAll('details.alert');
        q.addEventListener('input',function(){var t=q.value.toLowerCase();all.forEach(function(d){d.style.display=!t||d.textContent.toLowerCase().indexOf(t)>=0?'':'none';});});
        document.getElementById('expand').onclick=function(){all.forEach(function(d){d.open=true;});};
        document.getElementById('collapse').onclick=function(){all.forEach(function(d){d.open=false;});};})();
        """
}
