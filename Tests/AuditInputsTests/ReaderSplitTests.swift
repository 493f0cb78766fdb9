import AuditTestSupport
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

    /// A small event with only an apiVersion, an auditID and `padding` bytes of padding;
    /// pretty-printed (every line after the first prefixed with `indent`) or on one line.
    static func small(_ id: String, pretty: Bool = true, padding: Int = 0, indent: String = "") -> String {
        var members = [#""apiVersion": "audit.k8s.io/v1""#, #""auditID": "\#(id)""#]
        if padding > 0 { members.append(#""pad": ""# + String(repeating: "y", count: padding) + "\"") }
        guard pretty else { return "{" + members.joined(separator: ",") + "}" }
        return "{\n" + members.map { indent + "  " + $0 }.joined(separator: ",\n") + "\n" + indent + "}"
    }

    /// Read with a 200-byte limit: documents and an array element over it, each reported
    /// once at its start and followed by more to read, and one the input ends inside.
    static var long: StreamBuilder {
        var b = StreamBuilder()
        b.event("s1", small("s1"))
        b.raw("\n")
        b.issue(.lineTooLong, small("big", padding: 300))
        b.raw("\n")
        b.event("s2", small("s2"))
        b.issue(.lineTooLong, small("one-line", pretty: false, padding: 200))  // `}{`, then one line
        b.raw("\n")
        b.event("s3", small("s3", pretty: false))
        b.raw("\n[\n  ")
        b.event("a0", small("a0", indent: "  "), item: 0)
        b.raw(",\n  ")
        b.issue(.lineTooLong, small("a1", padding: 300, indent: "  "))
        b.raw(",\n  ")
        b.event("a2", small("a2", indent: "  "), item: 2)
        b.raw("\n]\n")
        b.event("s4", small("s4"))
        b.raw("\n")
        b.issue(.lineTooLong, String(small("cut", padding: 300).dropLast(2)))  // no second "ends inside" issue
        return b
    }

    /// Arrays with elements that cannot start a value and stray bytes after elements, each
    /// followed by more arrays, and NDJSON lines at the end.
    static var badArray: StreamBuilder {
        func one(_ id: String) -> String { small(id, pretty: false) }
        var b = StreamBuilder()
        b.raw("[")
        b.event("a0", one("a0"), item: 0)
        b.raw(",")
        b.issue(.invalidListItem, "]")  // a trailing comma
        b.raw("\n[")
        b.event("b0", one("b0"), item: 0)
        b.raw(", ")
        b.issue(.invalidListItem, "x")  // a bare token: skipped up to the next comma
        b.raw(", ")
        b.event("b2", one("b2"), item: 2)
        b.raw("]\n[")
        b.issue(.invalidListItem, "1")  // not an object
        b.raw(",")
        b.issue(.invalidListItem, ",")  // an empty element
        b.event("c2", one("c2"), item: 2)
        b.raw(", ")
        b.issue(.invalidListItem, "tru , ")  // a misspelt literal
        b.event("c4", one("c4"), item: 4)
        b.raw("]\n[")
        b.event("d0", one("d0"), item: 0)
        b.issue(.unexpectedByte, "} , ")  // stray bytes after an element
        b.event("d1", one("d1"), item: 1)
        b.raw("]\n[")
        b.event("e0", one("e0"), item: 0)
        b.raw(" ")
        b.issue(.unexpectedByte, "garbage\n")  // runs into the end of the line: the array is given up
        b.raw("[")
        b.event("f0", one("f0"), item: 0)
        b.raw(" ")
        b.issue(.unexpectedByte, one("f1") + "] " + one("lost") + "\n")  // a missing comma: the line is given up
        b.raw("[\n  ")
        b.event("g0", small("g0", indent: "  "), item: 0)
        b.raw(",\n")
        b.issue(.invalidListItem, "]")  // a trailing comma in a pretty array
        b.raw("\n")
        b.event("n1", one("n1"))
        b.raw("\n")
        b.event("n2", one("n2"))
        b.raw("\n")
        return b
    }

    static let names = ["ndjson", "pretty", "array", "long", "badArray"]

    static func input(_ name: String) -> StreamBuilder {
        switch name {
        case "ndjson": return ndjson
        case "pretty": return pretty
        case "long": return long
        case "badArray": return badArray
        default: return array
        }
    }

    /// The limits a fixture is read with: "long" needs a small record limit.
    static func limits(_ name: String, readSize: Int = 1 << 20) -> ReaderLimits {
        ReaderLimits(maxRecordBytes: name == "long" ? 200 : 64 << 20, readSize: readSize)
    }

    @Test("the fixtures read right in one piece", arguments: names)
    func wholeInput(_ name: String) {
        let b = Self.input(name)
        #expect(readStream(b.bytes, limits: Self.limits(name)).entries == b.expected, "\(name)")
        #expect(readInPlace(b.bytes, limits: Self.limits(name)).entries == b.expected, "\(name) in place")
    }

    @Test("pieces of every size from 1 byte to the whole input", arguments: names)
    func everyChunkSize(_ name: String) {
        let b = Self.input(name)
        let reader = AuditStreamReader(limits: Self.limits(name, readSize: 64 << 10))
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
        let reader = AuditStreamReader(limits: Self.limits(name))
        for split in 0...b.bytes.count {
            let found = readPieces([Array(b.bytes[..<split]), Array(b.bytes[split...])], reader: reader)
            if found.entries != b.expected {
                Issue.record("\(name), split at \(split):\n got \(found.entries)\n want \(b.expected)")
                return
            }
        }
    }

    /// A handler holding events (as the detector does) gets each its own index, valid until
    /// its batch ends, at every read size: the records it sees are the one-by-one ones.
    @Test("batches of held events, pieces of every size", arguments: names, [2, 3, 64])
    func batchesAtEveryChunkSize(_ name: String, batchSize: Int) {
        let b = Self.input(name)
        let reader = AuditStreamReader(limits: Self.limits(name, readSize: 64 << 10))
        #expect(readInPlace(b.bytes, limits: Self.limits(name), batchSize: batchSize).entries == b.expected, "\(name) in place")
        for k in 1...b.bytes.count {
            let found = readStream(b.bytes, chunk: k, reader: reader, batchSize: batchSize)
            if found.entries != b.expected {
                Issue.record("\(name), batches of \(batchSize), pieces of \(k) bytes:\n got \(found.entries)\n want \(b.expected)")
                return
            }
        }
    }

    @Test("a batch ends after its size and at the end of every read")
    func batchEnds() {
        let lines = (0..<10).map { Events.compact("b\($0)") + "\n" }
        // Ten events in one read, batches of 4: ends after 4, 8 and at the read's end.
        let whole = readStream(utf8(lines.joined()), batchSize: 4)
        #expect(whole.auditIDs == (0..<10).map { "b\($0)" })
        #expect(whole.batchEnds == 3)
        // One event per read: every read ends its batch, so no event waits for the next read.
        let reader = AuditStreamReader()
        let pieces = readPieces(lines.map(utf8), reader: reader, batchSize: 4)
        #expect(pieces.auditIDs == (0..<10).map { "b\($0)" })
        #expect(pieces.batchEnds == 10)
    }

    @Test("random piece sizes", arguments: names)
    func randomPieces(_ name: String) {
        let b = Self.input(name)
        let reader = AuditStreamReader(limits: Self.limits(name))
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
