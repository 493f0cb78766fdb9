import DetectionEngine

/// How a `MatrixReport` is drawn: a grid for terminals, a line per technique, JSON.
extension MatrixReport {
    /// Longest short name, and the widest cell worth drawing.
    static let shortNameWidth = 20
    static let widestCell = 32
    static let gap = 2

    /// Tactics as columns, techniques as cells. As many tactic columns as fit in `width`
    /// sit side by side; the rest follow in further bands. A cell reads
    /// `Y  17 Exec into container`: visibility, the count (`-` for none), the short name.
    /// `color` adds ANSI colours (visibility, and cells that need attention); without it the
    /// text is plain.
    public func grid(width: Int, color: Bool) -> String {
        let tactics = ThreatMatrix.Tactic.allCases
        let countWidth = max(1, String(counts.values.max() ?? 0).count)
        // The visibility letter, a space, the count, a space, the short name.
        let narrowest = countWidth + 3 + Self.shortNameWidth
        let perBand = max(1, min(tactics.count, (width + Self.gap) / (narrowest + Self.gap)))
        let cellWidth = max(narrowest, min(Self.widestCell, (width + Self.gap) / perBand - Self.gap))
        let style = Style(enabled: color)
        let spacer = String(repeating: " ", count: Self.gap)

        var out = ""
        for band in Self.bands(tactics.count, perBand: perBand) {
            let columns = band.map { ThreatMatrix.techniques(of: tactics[$0]) }
            let header = band.map { Self.pad(tactics[$0].rawValue, cellWidth) }.joined(separator: spacer)
            out += style.bold(Self.trimmed(header)) + "\n"
            out += band.map { _ in String(repeating: "-", count: cellWidth) }.joined(separator: spacer) + "\n"
            for row in 0..<(columns.map(\.count).max() ?? 0) {
                let cells = columns.map { column in
                    row < column.count
                        ? cell(column[row], width: cellWidth, countWidth: countWidth, style: style)
                        : String(repeating: " ", count: cellWidth)
                }
                out += Self.trimmed(cells.joined(separator: spacer)) + "\n"
            }
            out += "\n"
        }
        out += Self.wrapped(legend(), width: width)
        return out
    }

    /// One line per technique: id, visibility, count, name, tactics. Plain text, for grep.
    public func list() -> String {
        let countWidth = max(1, String(counts.values.max() ?? 0).count)
        let nameWidth = ThreatMatrix.techniques.map(\.name.count).max() ?? 0
        var out = ""
        for t in ThreatMatrix.techniques {
            out += t.id + "  " + Self.pad(t.visibility.rawValue, 8) + Self.padLeft(String(count(t.id)), countWidth)
            out += "  " + Self.pad(t.name, nameWidth) + "  " + t.tactics.map(\.rawValue).joined(separator: ", ")
            out = Self.trimmed(out) + "\n"
        }
        return out + footnotes()
    }

    /// The matrix as one JSON object (see `write(into:)`).
    public func json() -> String {
        var w = JSONWriter()
        write(into: &w)
        return w.output + "\n"
    }

    /// `{"measure", "tactics": [{"name", "techniques": [ids]}], "techniques": [{"id", "name",
    /// "short_name", "tactics", "attack", "visibility", "visibility_note", "audit_signal",
    /// <measure>: n, "mapped_rules" (rules only: id, title, level, kind)}], "unknown_ids", "unmapped", "unmapped_rules" (rules only)}`.
    public func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("measure"); w.string(measure.rawValue)
        w.key("tactics")
        w.beginArray()
        for tactic in ThreatMatrix.Tactic.allCases {
            w.beginObject()
            w.key("name"); w.string(tactic.rawValue)
            w.key("techniques"); w.strings(ThreatMatrix.techniques(of: tactic).map(\.id))
            w.endObject()
        }
        w.endArray()
        w.key("techniques")
        w.beginArray()
        for t in ThreatMatrix.techniques {
            w.beginObject()
            w.key("id"); w.string(t.id)
            w.key("name"); w.string(t.name)
            w.key("short_name"); w.string(t.shortName)
            w.key("tactics"); w.strings(t.tactics.map(\.rawValue))
            w.key("attack"); w.strings(t.attack)
            w.key("visibility"); w.string(t.visibility.rawValue)
            w.key("visibility_note"); w.string(t.visibilityNote)
            w.key("audit_signal"); w.string(t.auditSignal)
            w.key(measure.rawValue); w.number(count(t.id))
            if measure == .rules {
                w.key("mapped_rules"); ruleList(rules[t.id] ?? [], &w)
            }
            w.endObject()
        }
        w.endArray()
        w.key("unknown_ids")
        w.beginArray()
        for u in unknownIDs {
            w.beginObject()
            w.key("id"); w.string(u.id)
            w.key("count"); w.number(u.count)
            w.endObject()
        }
        w.endArray()
        w.key("unmapped"); w.number(unmapped)
        if measure == .rules {
            w.key("unmapped_rules"); ruleList(unmappedRules, &w)
        }
        w.endObject()
    }

    // MARK: - Pieces

    func cell(_ t: ThreatMatrix.Technique, width: Int, countWidth: Int, style: Style) -> String {
        let n = count(t.id)
        let letter = String(t.visibility.rawValue.prefix(1)).uppercased()
        let number = Self.padLeft(n == 0 ? "-" : String(n), countWidth)
        let name = Self.pad(String(t.shortName.prefix(width - countWidth - 3)), width - countWidth - 3)
        let plain = number + " " + name
        switch measure {
        case .rules where n == 0 && t.visibility == .yes:
            return style.visibility(letter, t.visibility) + " " + style.alarm(plain)
        case .rules where t.visibility == .no, .alerts where n == 0:
            return style.dim(letter + " " + plain)
        case .alerts:
            return style.visibility(letter, t.visibility) + " " + style.alarm(plain)
        case .rules:
            return style.visibility(letter, t.visibility) + " " + plain
        }
    }

    func legend() -> String {
        var out = "Y: the audit log shows it. P: partly, or through a proxy. N: not at all.\n"
        switch measure {
        case .rules:
            out += "Numbers: rules and correlations that can raise an alert for the technique.\n"
            let byVisibility = ThreatMatrix.Visibility.allCases.map { v in
                let all = ThreatMatrix.techniques.filter { $0.visibility == v }
                return "\(all.filter { count($0.id) > 0 }.count) of \(all.count) \(v.rawValue)"
            }
            out += "Techniques with a rule: \(covered) of \(ThreatMatrix.techniques.count) ("
            out += byVisibility.joined(separator: ", ") + ").\n"
        case .alerts:
            out += "Numbers: alerts raised for the technique in this scan.\n"
            out += "Techniques that fired: \(covered) of \(ThreatMatrix.techniques.count).\n"
        }
        return out + footnotes()
    }

    func footnotes() -> String {
        var out = ""
        let noun = measure == .rules ? "rules" : "alerts"
        if !unknownIDs.isEmpty {
            out += "Not in the matrix (\(noun) naming them): "
            out += unknownIDs.map { "\($0.id) (\($0.count))" }.joined(separator: ", ") + "\n"
        }
        if unmapped > 0 {
            out += "\(unmapped) \(noun) name no technique"
            out += unmappedRules.isEmpty ? ".\n" : ": " + unmappedRules.map(\.title).joined(separator: "; ") + ".\n"
        }
        return out
    }

    /// Splits `count` tactic indices into bands of at most `perBand`, as even as possible
    /// (10 tactics at 3 a band: 3, 3, 2, 2).
    static func bands(_ count: Int, perBand: Int) -> [[Int]] {
        let bandCount = (count + perBand - 1) / perBand
        var bands: [[Int]] = []
        var next = 0
        for b in 0..<bandCount {
            let size = count / bandCount + (b < count % bandCount ? 1 : 0)
            bands.append(Array(next..<(next + size)))
            next += size
        }
        return bands
    }

    /// `text` with each line broken at spaces so that none is longer than `width` (a word
    /// longer than `width` stays whole); continuation lines are indented by two spaces.
    static func wrapped(_ text: String, width: Int) -> String {
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            var current = ""
            for word in line.split(separator: " ", omittingEmptySubsequences: false) {
                if !current.isEmpty && current.count + 1 + word.count > width {
                    out += trimmed(current) + "\n"
                    current = "  "
                }
                current += (current.isEmpty || current == "  " ? "" : " ") + word
            }
            out += trimmed(current) + "\n"
        }
        return out
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    static func trimmed(_ line: String) -> String {
        var s = Substring(line)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    private func ruleList(_ infos: [RuleInfo], _ w: inout JSONWriter) {
        w.beginArray()
        for info in infos {
            w.beginObject()
            w.key("id"); w.string(info.id)
            w.key("title"); w.string(info.title)
            w.key("level"); w.string(info.level.rawValue)
            w.key("kind"); w.string(info.kind.rawValue)
            w.endObject()
        }
        w.endArray()
    }


    /// ANSI styles, or none.
    struct Style {
        let enabled: Bool

        func wrap(_ code: String, _ s: String) -> String { enabled ? "\u{1B}[" + code + "m" + s + "\u{1B}[0m" : s }
        func bold(_ s: String) -> String { wrap("1", s) }
        func dim(_ s: String) -> String { wrap("2", s) }
        func alarm(_ s: String) -> String { wrap("1;31", s) }

        func visibility(_ s: String, _ v: ThreatMatrix.Visibility) -> String {
            switch v {
            case .yes: wrap("32", s)
            case .partial: wrap("33", s)
            case .no: dim(s)
            }
        }
    }
}
