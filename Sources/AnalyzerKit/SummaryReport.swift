import AuditInputs
import AuditModel

/// Renders a scan summary for people (text) or for programs (JSON).
public struct SummaryReport {
    public let summary: ScanSummary
    public let top: Int
    public let elapsedSeconds: Double
    /// Detection figures, included in the JSON form when present.
    public let detection: DetectionReport?
    /// Alerts by threat-matrix technique (`scan --matrix`), included in the JSON form when present.
    public let matrix: MatrixReport?
    /// Suppression, deliveries and the report, included in the JSON form when present.
    public let outputs: OutputsReport?

    public init(
        _ summary: ScanSummary, top: Int = 10, elapsedSeconds: Double, detection: DetectionReport? = nil,
        matrix: MatrixReport? = nil, outputs: OutputsReport? = nil
    ) {
        self.summary = summary
        self.top = top
        self.elapsedSeconds = elapsedSeconds
        self.detection = detection
        self.matrix = matrix
        self.outputs = outputs
    }

    /// Aligned plain text.
    public func text() -> String {
        var out = ""
        let s = summary
        let mb = Double(s.bytes) / 1e6
        out += "inputs   \(s.inputs)\n"
        out += "events   \(s.events)\n"
        out += "bytes    \(s.bytes) (\(Self.human(s.bytes)))\n"
        if elapsedSeconds > 0 {
            out += "speed    \(format(mb / elapsedSeconds, 1)) MB/s, \(Int(Double(s.events) / elapsedSeconds)) events/s\n"
        }
        if let first = s.firstEventMicros, let last = s.lastEventMicros {
            out += "time     \(RFC3339.format(microseconds: first)) .. \(RFC3339.format(microseconds: last))\n"
        }
        out += "errors   \(s.issueCount)\n"
        for kind in ReadIssue.Kind.allCases {
            if let n = s.issuesByKind[kind] { out += "  \(kind.rawValue)  \(n)\n" }
        }
        if s.duplicateKeyEvents > 0 { out += "events with duplicate keys  \(s.duplicateKeyEvents)\n" }
        for e in s.inputErrors { out += "input error: \(e)\n" }
        out += table("verbs", s.verbs)
        out += table("resources", s.resources)
        out += table("users", s.users)
        return out
    }

    /// 1 KB = 1000 bytes, as throughput figures are given.
    static func human(_ bytes: Int64) -> String {
        let v = Double(bytes)
        if v >= 1e9 { return format(v / 1e9, 2) + " GB" }
        if v >= 1e6 { return format(v / 1e6, 1) + " MB" }
        if v >= 1e3 { return format(v / 1e3, 1) + " KB" }
        return "\(bytes) B"
    }

    func table(_ title: String, _ counter: BoundedByteCounter) -> String {
        let rows = counter.top(top)
        guard !rows.isEmpty else { return "" }
        var out = "\ntop \(title)\n"
        let width = String(rows.first?.count ?? 0).count
        for row in rows {
            let n = String(row.count)
            out += String(repeating: " ", count: width - n.count + 2) + n + "  " + Self.printable(row.key) + "\n"
        }
        if counter.overflowCount > 0 { out += "  (\(counter.overflowCount) more in keys beyond the \(counter.maxKeys)-key bound)\n" }
        return out
    }

    /// Decodes bytes for a terminal (see `printable(_: String)`).
    static func printable(_ bytes: [UInt8]) -> String { printable(String(decoding: bytes, as: UTF8.self)) }

    /// Replaces control characters (C0, DEL, C1, line and paragraph separators, bidi
    /// overrides) with `\u{..}` so hostile values cannot move the cursor, change colours,
    /// forge lines or reorder what is shown.
    static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if isControl(u) {
                out += "\\u{\(String(u.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) || (0x2028...0x202E).contains(u.value)
            || (0x2066...0x2069).contains(u.value)
    }

    /// One JSON object.
    public func json() -> String {
        let s = summary
        var w = JSONWriter()
        w.beginObject()
        w.key("inputs"); w.number(s.inputs)
        w.key("events"); w.number(s.events)
        w.key("bytes"); w.number(Int(s.bytes))
        w.key("elapsed_seconds"); w.raw(format(elapsedSeconds, 3))
        w.key("first_event_time")
        if let t = s.firstEventMicros { w.string(RFC3339.format(microseconds: t)) } else { w.null() }
        w.key("last_event_time")
        if let t = s.lastEventMicros { w.string(RFC3339.format(microseconds: t)) } else { w.null() }
        w.key("errors"); w.number(s.issueCount)
        w.key("errors_by_kind")
        w.beginObject()
        for kind in ReadIssue.Kind.allCases {
            if let n = s.issuesByKind[kind] {
                w.key(kind.rawValue)
                w.number(n)
            }
        }
        w.endObject()
        w.key("duplicate_key_events"); w.number(s.duplicateKeyEvents)
        w.key("input_errors")
        w.beginArray()
        for e in s.inputErrors { w.string(e) }
        w.endArray()
        w.key("inputs_left_out")
        w.beginArray()
        for n in s.inputsLeftOut { w.string(n) }
        w.endArray()
        for (name, counter) in [("top_verbs", s.verbs), ("top_resources", s.resources), ("top_users", s.users)] {
            w.key(name)
            w.beginArray()
            for row in counter.top(top) {
                w.beginObject()
                w.key("value"); w.string(String(decoding: row.key, as: UTF8.self))
                w.key("count"); w.number(row.count)
                w.endObject()
            }
            w.endArray()
        }
        if let detection {
            w.key("detection")
            detection.write(into: &w)
        }
        if let matrix {
            w.key("threat_matrix")
            matrix.write(into: &w)
        }
        if let outputs {
            w.key("outputs")
            outputs.write(into: &w)
        }
        w.endObject()
        return w.output + "\n"
    }
}

func format(_ v: Double, _ decimals: Int) -> String {
    guard v.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    } else if decimals > 0 {
        s += "." + String(repeating: "0", count: decimals)
    }
    return s
}

/// A minimal JSON text writer for output (cold path); strings are escaped per RFC 8259,
/// with U+2028/U+2029 escaped too so the output is safe to embed in JavaScript.
public struct JSONWriter {
    public private(set) var output = ""
    var needsComma: [Bool] = [false]

    public init() {}

    mutating func separator() {
        if needsComma[needsComma.count - 1] { output += "," }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() { separator(); output += "{"; needsComma.append(false) }
    public mutating func endObject() { output += "}"; needsComma.removeLast() }
    public mutating func beginArray() { separator(); output += "["; needsComma.append(false) }
    public mutating func endArray() { output += "]"; needsComma.removeLast() }

    public mutating func key(_ k: String) {
        separator()
        Self.escape(k, into: &output)
        output += ":"
        needsComma[needsComma.count - 1] = false
    }

    public mutating func string(_ v: String) { separator(); Self.escape(v, into: &output) }
    public mutating func number(_ v: Int) { separator(); output += String(v) }
    public mutating func raw(_ v: String) { separator(); output += v }
    public mutating func null() { separator(); output += "null" }
    /// An array of strings.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for v in values { string(v) }
        endArray()
    }
    public mutating func bool(_ v: Bool) { separator(); output += v ? "true" : "false" }

    public static func escape(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
