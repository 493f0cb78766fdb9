import AuditInputs
import AuditJSON
import AuditModel
import Testing

// The same input, delivered in pieces of every size and split at every offset, must give
// exactly the same events, issues and locations.

@Suite("AuditStreamReader read boundaries")
struct ReaderSplitTests {
    /// NDJSON with everything a line reader meets: a BOM, blank lines, CRLF, an EventList
    /// line, bad lines, a final line without newline.
    static var ndjson: StreamBuilder {
        var b = StreamBuilder()
        b.raw([0xEF, 0xBB, 0xBF])
        b.event("n1", Events.compact("n1"))
        b.raw("\n\n")
        b.event("n2", Events.compact("n2"))
        b.raw("\r\n")
        b.issue(.notAnObject, "this line is not JSON\n")
        b.eventList(["l0", "l1"], pretty: false)
        b.raw("\n")
        b.issue(.wrongKind, #"{"kind":0}"# + "\n", at: 8)
        b.issue(.notAnObject, #"{"kind":"Event","auditID":"cut","verb":"get""# + "\n")
        b.event("n3", Events.compact("n3"))
        b.raw("\r\n   \n")
        b.event("n4", Events.compact("n4"))
        return b
    }

    /// Pretty documents: events, a pretty EventList, an array (with a non-object element),
    /// and a line of garbage between documents.
    static var pretty: StreamBuilder {
        var b = StreamBuilder()
        b.event("p1", Events.pretty("p1"))
        b.raw("\n")
        b.event("p2", Events.pretty("p2"))
        b.raw("\n\n")
        b.eventList(["e0", "e1"], pretty: true)
        b.raw("\n")
        b.issue(.notAnObject, "garbage between documents\n")
        b.event("p3", Events.pretty("p3"))
        b.raw("\n[\n  ")
        b.event("a0", Events.pretty("a0", indent: "  "), item: 0)
        b.raw(",\n  ")
        b.issue(.invalidListItem, "12345")
        b.raw(",\n  ")
        b.event("a2", Events.pretty("a2", indent: "  "), item: 2)
        b.raw("\n]\n")
        b.event("p4", Events.pretty("p4"))
        return b
    }

    /// A JSON array only.
    static var array: StreamBuilder {
        var b = StreamBuilder()
        b.raw("[\n")
        for i in 0..<4 {
            if i > 0 { b.raw(",\n") }
            b.event("i\(i)", i % 2 == 0 ? Events.pretty("i\(i)") : Events.compact("i\(i)"), item: i)
        }
        b.raw("\n]\n")
        return b
    }

    static let names = ["ndjson", "pretty", "array"]

    static func input(_ name: String) -> StreamBuilder {
        switch name {
        case "ndjson": return ndjson
        case "pretty": return pretty
        default: return array
        }
    }

    @Test("the fixtures read right in one piece", arguments: names)
    func wholeInput(_ name: String) {
        let b = Self.input(name)
        #expect(readStream(b.bytes).entries == b.expected, "\(name)")
        #expect(readInPlace(b.bytes).entries == b.expected, "\(name) in place")
    }

    @Test("pieces of every size from 1 byte to the whole input", arguments: names)
    func everyChunkSize(_ name: String) {
        let b = Self.input(name)
        let reader = AuditStreamReader(limits: ReaderLimits(readSize: 64 << 10))
        for k in 1...b.bytes.count {
            let found = readStream(b.bytes, chunk: k, reader: reader)
            if found.entries != b.expected {
                Issue.record("\(name), pieces of \(k) bytes:\n got \(found.entries)\n want \(b.expected)")
                return
            }
        }
    }

    @Test("two pieces split at every offset", arguments: names)
    func everySplitOffset(_ name: String) {
        let b = Self.input(name)
        let reader = AuditStreamReader()
        for split in 0...b.bytes.count {
            let found = readPieces([Array(b.bytes[..<split]), Array(b.bytes[split...])], reader: reader)
            if found.entries != b.expected {
                Issue.record("\(name), split at \(split):\n got \(found.entries)\n want \(b.expected)")
                return
            }
        }
    }

    @Test("random piece sizes", arguments: names)
    func randomPieces(_ name: String) {
        let b = Self.input(name)
        let reader = AuditStreamReader()
        var rng = SplitMix64(seed: UInt64(name.utf8.count) + 11)
        for round in 0..<200 {
            var pieces: [[UInt8]] = []
            var at = 0
            while at < b.bytes.count {
                let n = min(b.bytes.count - at, Int.random(in: 1...(round % 2 == 0 ? 8 : 700), using: &rng))
                pieces.append(Array(b.bytes[at..<(at + n)]))
                at += n
            }
            let found = readPieces(pieces, reader: reader)
            if found.entries != b.expected {
                Issue.record("\(name), round \(round), pieces \(pieces.map(\.count)):\n got \(found.entries)")
                return
            }
        }
    }
}
