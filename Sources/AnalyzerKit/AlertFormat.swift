import AuditJSON
import AuditModel
import DetectionEngine

/// How alerts are written: one JSON object per line (for machines and pipes), or one
/// readable line per alert (for terminals).
public enum AlertFormat {
    /// The alert as one line of JSON (no trailing newline). Evidence events are embedded as
    /// the JSON they were read as; line breaks between tokens (pretty-printed input) become
    /// spaces so the alert stays on one line.
    public static func json(_ alert: Alert) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("rule")
        w.beginObject()
        w.key("id"); w.string(alert.rule.id)
        w.key("title"); w.string(alert.rule.title)
        w.key("level"); w.string(alert.rule.level.rawValue)
        w.key("kind"); w.string(alert.rule.kind.rawValue)
        w.key("threat_matrix"); w.strings(alert.rule.threatMatrix)
        w.key("attack"); w.strings(alert.rule.attack)
        w.endObject()
        w.key("time"); w.string(RFC3339.format(microseconds: alert.time))
        if alert.firstTime != alert.time {
            w.key("first_time"); w.string(RFC3339.format(microseconds: alert.firstTime))
        }
        if alert.repeats > 0 {
            w.key("repeats"); w.number(alert.repeats)
        }
        w.key("actor")
        w.beginObject()
        optional("user", alert.actor.user, &w)
        w.key("groups"); w.strings(alert.actor.groups)
        optional("impersonated_user", alert.actor.impersonatedUser, &w)
        optional("source_ip", alert.actor.sourceIP, &w)
        optional("user_agent", alert.actor.userAgent, &w)
        w.endObject()
        w.key("object")
        w.beginObject()
        optional("namespace", alert.object.namespace, &w)
        optional("resource", alert.object.resource, &w)
        optional("subresource", alert.object.subresource, &w)
        optional("name", alert.object.name, &w)
        w.endObject()
        if !alert.group.isEmpty {
            w.key("group")
            w.beginObject()
            for (field, value) in alert.group {
                w.key(field)
                if let value { w.string(value) } else { w.null() }
            }
            w.endObject()
        }
        w.key("count"); w.number(alert.count)
        if let detail = alert.detail {
            w.key("detail"); w.string(detail)
        }
        w.key("evidence")
        w.beginArray()
        for e in alert.evidence {
            w.beginObject()
            w.key("audit_id"); w.string(e.auditID)
            w.key("stage"); w.string(e.stage)
            w.key("time"); w.string(RFC3339.format(microseconds: e.time))
            w.key("event"); w.raw(oneLine(e.raw))
            w.endObject()
        }
        w.endArray()
        w.key("evidence_total"); w.number(alert.evidenceTotal)
        w.endObject()
        return w.output
    }

    /// One readable line: time, level, rule and techniques, actor (and whom it impersonated)
    /// → verb and object (the path for a request on no resource), the status of a failed
    /// request, then for correlations the group and count, and for suppression summaries how
    /// many repeats since when. `color` colours the level (ANSI). Values from the event are made
    /// printable: control characters cannot reach the terminal.
    public static func text(_ alert: Alert, color: Bool) -> String {
        let level = alert.rule.level.rawValue.uppercased()
        // A column as wide as the longest level (INFORMATIONAL) and the two spaces after it.
        let paddedLevel = level + String(repeating: " ", count: max(2, 15 - level.count))
        var line = RFC3339.format(microseconds: alert.time) + "  "
        if color {
            line += colorCode(alert.rule.level) + paddedLevel + "\u{1B}[0m"
        } else {
            line += paddedLevel
        }
        var rest = alert.rule.title
        let techniques = alert.rule.threatMatrix + alert.rule.attack.filter { $0.hasPrefix("t") }.map { $0.uppercased() }
        if !techniques.isEmpty { rest += " [" + techniques.joined(separator: ", ") + "]" }
        rest += "  " + (alert.actor.user ?? "?")
        if let ip = alert.actor.sourceIP { rest += "@" + ip }
        if let impersonated = alert.actor.impersonatedUser { rest += " (as " + impersonated + ")" }
        let request = NewestEventFields(alert)
        rest += " → " + (request.verb.map { $0 + " " } ?? "")
        // A request on no resource (discovery, /healthz, /version) is named by its path.
        var target = alert.object.resource ?? request.path ?? "?"
        if let sub = alert.object.subresource { target += "/" + sub }
        rest += target
        if let name = alert.object.name {
            rest += " " + (alert.object.namespace.map { $0 + "/" } ?? "") + name
        } else if let ns = alert.object.namespace {
            rest += " in " + ns
        }
        // Whether the attempt failed is the first thing a responder asks.
        if let code = request.failureCode {
            rest += "  [\(code)" + (request.responseReason.map { " " + $0 } ?? "") + "]"
        }
        if !alert.group.isEmpty {
            rest += "  {" + alert.group.map { "\($0.field)=\($0.value ?? "-")" }.joined(separator: ", ") + "}"
        }
        // A summary of single-event alerts counts its repeats, said just below.
        let countIsRepeats = alert.repeats > 0 && alert.rule.kind != .correlation
        if (alert.rule.kind != .single || alert.count != 1) && !countIsRepeats { rest += "  count=\(alert.count)" }
        if alert.repeats > 0 {
            rest += "  (\(alert.repeats) repeat\(alert.repeats == 1 ? "" : "s") since \(RFC3339.format(microseconds: alert.firstTime)))"
        }
        if let detail = alert.detail { rest += "  (" + detail + ")" }
        return line + SummaryReport.printable(rest)
    }

    static func colorCode(_ level: AlertLevel) -> String {
        switch level {
        case .critical: "\u{1B}[1;35m"
        case .high: "\u{1B}[1;31m"
        case .medium: "\u{1B}[33m"
        case .low: "\u{1B}[36m"
        case .informational: "\u{1B}[2m"
        }
    }


    static func optional(_ key: String, _ value: String?, _ w: inout JSONWriter) {
        w.key(key)
        if let value { w.string(value) } else { w.null() }
    }

    /// Raw event JSON with line breaks (only possible between tokens) turned into spaces.
    static func oneLine(_ raw: [UInt8]) -> String {
        guard raw.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: raw.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }, as: UTF8.self)
    }
}

/// What the text line and the Falco form read from an alert's newest evidence event (the
/// alert itself has the actor and object already).
struct NewestEventFields {
    var auditID: String?
    var stage: String?
    var verb: String?
    var uri: String?
    var decision: String?
    var responseCode: Int?
    /// `responseStatus.reason` ("Forbidden").
    var responseReason: String?
    var sourceIPs: [String] = []
    var exec: (command: [String], container: String?)?

    init(_ alert: Alert) {
        if let last = alert.evidence.last {
            last.withEvent { event in
                guard let event else { return }
                auditID = event.auditID?.string
                stage = event[.stage]?.string
                verb = event.verb?.string
                uri = event.requestURI?.string
                decision = event.authorizationDecision?.string
                let status = event.responseStatus
                responseCode = status?.code
                responseReason = status?.reason?.string
                if let ips = event.sourceIPs { for e in ips.elements { if let s = e.string { sourceIPs.append(s) } } }
                if let view = event.execRequest { exec = (view.command, view.container) }
            }
        }
        if sourceIPs.isEmpty, let ip = alert.actor.sourceIP { sourceIPs = [ip] }
    }

    /// The response code when the request failed (400 and above): what both forms flag.
    var failureCode: Int? { responseCode.flatMap { $0 >= 400 ? $0 : nil } }

    /// The request URI without its query, cut to 80 characters: what names a request on no
    /// resource.
    var path: String? {
        uri.map { uri in
            let path = uri.prefix { $0 != "?" }
            return path.count > 80 ? path.prefix(79) + "…" : String(path)
        }
    }
}
