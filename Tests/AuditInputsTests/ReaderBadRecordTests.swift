import AuditInputs
import AuditJSON
import AuditModel
import Testing

// Records that cannot be read are reported with their line, offset and kind, and reading
// goes on with the next one. Records longer than the limit are skipped in bounded memory.

@Suite("AuditStreamReader bad records")
struct ReaderBadRecordTests {
    @Test("bad lines are reported where they are; the next line is still read")
    func badLines() {
        var b = StreamBuilder()
        b.event("good-1", Events.compact("good-1"))
        b.raw("\n")
        b.issue(.notAnObject, "I1122 10:00:00.000000 apiserver.go:42] not an audit event\n")
        b.issue(.notAnObject, #"{"kind":"Event","auditID":"truncated","verb":"get","user":{"username":"ad"# + "\n")
        b.issue(.wrongKind, #"{"kind":0}"# + "\n", at: 8)
        b.issue(.wrongKind, #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}"# + "\n", at: 8)
        b.issue(.malformedObject, #"{"a":1,}"# + "\n", at: 7)
        b.issue(.notAnEvent, "{}\n")
        b.issue(.notAnObject, "[1,2,3]\n")
        b.issue(.badEventList, #"{"kind":"EventList","items":null}"# + "\n")
        b.event("good-2", Events.compact("good-2"))
        b.raw("\n")
        let found = readStream(b.bytes)
        #expect(found.entries == b.expected)
        #expect(found.auditIDs == ["good-1", "good-2"])
        #expect(readInPlace(b.bytes).entries == b.expected)
    }

    /// A log whose very first line was cut short (the apiserver died mid-write, or the file
    /// was copied while being written) starts with `{` but is not a whole object. It must
    /// not make the reader take the file for one pretty-printed document.
    @Test("a truncated first line does not swallow the file, whatever the read sizes")
    func truncatedFirstLine() {
        var b = StreamBuilder()
        b.issue(.notAnObject, #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut","user":{"username":"ad"# + "\n")
        b.event("n1", Events.compact("n1"))
        b.raw("\n\n")
        b.event("n2", Events.compact("n2"))
        b.raw("\n")
        let reader = AuditStreamReader()
        for k in [1, 2, 5, 64, 100, 101, 102, 500, b.bytes.count] {
            let found = readStream(b.bytes, chunk: k, reader: reader)
            #expect(found.entries == b.expected, "pieces of \(k)")
            #expect(reader.stats.layout == .ndjson)
        }
        #expect(readInPlace(b.bytes).entries == b.expected)
    }

    @Test(
        "a truncated first line followed by garbage or by another cut line is NDJSON, whatever the read sizes",
        arguments: [
            #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut","user":{"username":"ad"#,  // in a string
            #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut","code":20"#,  // after a number
            #"{"kind":"Event","note":"a \\"quoted\\" {word,"#,  // escaped quotes: still in the string
        ])
    func truncatedFirstLineThenGarbage(first: String) {
        var b = StreamBuilder()
        b.issue(.notAnObject, first + "\n")
        b.issue(.notAnObject, "this is not JSON at all\n")
        b.issue(.notAnObject, #"{"kind":"Event","auditID":"cut-again","stage":"Resp"# + "\n")
        b.event("n1", Events.compact("n1"))
        b.raw("\n")
        let reader = AuditStreamReader()
        for k in [1, 2, 7, 64, 100, 101, 500, b.bytes.count] {
            let found = readStream(b.bytes, chunk: k, reader: reader)
            #expect(found.entries == b.expected, "pieces of \(k)")
            #expect(reader.stats.layout == .ndjson)
        }
        #expect(readInPlace(b.bytes).entries == b.expected)
    }

    @Test("a pretty document whose first line holds members and ends with a comma is still one document")
    func prettyFirstLineWithMembers() {
        var b = StreamBuilder()
        b.event("pp", "{\"kind\": \"Event\", \"apiVersion\": \"audit.k8s.io/v1\",\n  \"auditID\": \"pp\",\n  \"stage\": \"ResponseComplete\"\n}")
        b.raw("\n")
        b.event("p2", Events.pretty("p2"))
        b.raw("\n")
        let reader = AuditStreamReader()
        for k in [1, 3, 50, b.bytes.count] {
            #expect(readStream(b.bytes, chunk: k, reader: reader).entries == b.expected, "pieces of \(k)")
            #expect(reader.stats.layout == .concatenated)
        }
    }

    @Test("bad EventList items are reported one by one; the good ones are read")
    func badListItems() {
        var b = StreamBuilder()
        let listLine = b.line
        b.raw(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":["#)
        b.expected.append(.event(EventRecord(auditID: "ok-0", apiVersion: "audit.k8s.io/v1", line: listLine,
            byteOffset: Int64(b.bytes.count), itemIndex: 0)))
        b.raw(Events.compact("ok-0", apiVersion: nil) + ",")
        b.issue(.invalidListItem, "42,")
        b.issue(.invalidListItem, #"{"kind":"Pod"},"#, at: 8)  // wrong kind: reported at the kind
        b.issue(.invalidListItem, #"{"kind":"EventList","items":[]},"#)
        b.expected.append(.event(EventRecord(auditID: "ok-4", apiVersion: "audit.k8s.io/v1", line: listLine,
            byteOffset: Int64(b.bytes.count), itemIndex: 4)))
        b.raw(Events.compact("ok-4", apiVersion: nil) + "]}\n")
        b.event("next", Events.compact("next"))
        #expect(readStream(b.bytes).entries == b.expected)
    }

    @Test("an unterminated pretty document at the end of the input")
    func unterminatedDocument() {
        var b = StreamBuilder()
        b.event("p1", Events.pretty("p1"))
        b.raw("\n")
        b.issue(.notAnObject, String(Events.pretty("p2").dropLast(3)))
        #expect(readStream(b.bytes).entries == b.expected)
        #expect(readStream(b.bytes, chunk: 7).entries == b.expected)
    }

    @Test("an array element that is not an object, and a missing comma")
    func badArrayElements() {
        var b = StreamBuilder()
        b.raw("[")
        b.event("a0", Events.compact("a0"), item: 0)
        b.raw(", ")
        b.issue(.invalidListItem, #""a string""#)
        b.raw(", ")
        b.event("a2", Events.compact("a2"), item: 2)
        b.raw(" ")
        b.issue(.unexpectedByte, "x]\n")
        b.event("after", Events.compact("after"))
        b.raw("\n")
        let found = readStream(b.bytes)
        #expect(found.entries == b.expected)
        for k in [1, 2, 3, 5, 64, 100] {
            #expect(readStream(b.bytes, chunk: k).entries == b.expected, "pieces of \(k)")
        }
    }

    // MARK: Records over the limit

    static let limits = ReaderLimits(maxRecordBytes: 4096)

    /// Good lines around lines over the 4096-byte limit (one long one of 10,000 bytes, one
    /// just over, one exactly at the limit, which is allowed).
    static var longLines: StreamBuilder {
        var b = StreamBuilder()
        b.event("before", Events.compact("before"))
        b.raw("\n")
        b.issue(.lineTooLong, Events.large("too-long", size: 10_000) + "\n")
        b.event("between", Events.compact("between"))
        b.raw("\n")
        b.issue(.lineTooLong, Events.large("just-over", size: 4_097) + "\r\n")
        b.event("at-limit", Events.large("at-limit", size: 4_096))
        b.raw("\n")
        b.event("after", Events.compact("after"))
        b.raw("\n")
        b.issue(.lineTooLong, Events.large("last-line", size: 5_000))  // no newline
        return b
    }

    @Test("a line longer than maxRecordBytes: one lineTooLong issue, following lines read")
    func lineTooLong() {
        let b = Self.longLines
        let reader = AuditStreamReader(limits: Self.limits)
        let found = readStream(b.bytes, reader: reader)
        #expect(found.entries == b.expected)
        #expect(found.auditIDs == ["before", "between", "at-limit", "after"])
        #expect(reader.stats.discardedBytes == Int64(10_001 + 4_099 + 5_000))
        #expect(readInPlace(b.bytes, limits: Self.limits).entries == b.expected, "in place")
    }

    @Test("long lines give the same issues whatever the read sizes")
    func lineTooLongEveryChunk() {
        let b = Self.longLines
        let reader = AuditStreamReader(limits: Self.limits)
        for k in [1, 2, 3, 7, 63, 64, 65, 100, 1_000, 4_095, 4_096, 4_097, 5_000, 9_999, 10_001, 20_000, b.bytes.count] {
            let found = readStream(b.bytes, chunk: k, reader: reader)
            #expect(found.entries == b.expected, "pieces of \(k)")
            #expect(reader.stats.discardedBytes == Int64(10_001 + 4_099 + 5_000), "pieces of \(k)")
        }
    }

    /// Records the largest read the reader asked for: a reader that buffered a whole long
    /// line would have to grow its buffer, and ask for more.
    struct WatchingSource: ByteSource {
        var inner: ChunkedSource
        var largestRequest = 0
        var consumedBytes: Int64 { inner.consumedBytes }
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
            largestRequest = max(largestRequest, buffer.count)
            return try inner.read(into: buffer)
        }
    }

    @Test("a 32 MiB line is skipped in bounded memory")
    func hugeLineBoundedMemory() throws {
        let limits = ReaderLimits(maxRecordBytes: 4096, readSize: 64 << 10)
        let huge = 32 << 20
        var bytes = utf8(Events.compact("before") + "\n" + #"{"kind":"Event","auditID":"huge","requestObject":""#)
        bytes += [UInt8](repeating: UInt8(ascii: "A"), count: huge)
        bytes += utf8("\"}\n" + Events.compact("after") + "\n")
        let reader = AuditStreamReader(limits: limits)
        var source = WatchingSource(inner: ChunkedSource(bytes, maxChunk: 1 << 20))
        var collector = Collector()
        try reader.read(from: &source, name: "huge.log", into: &collector)
        #expect(collector.auditIDs == ["before", "after"])
        #expect(collector.issues.map(\.kind) == [.lineTooLong])
        #expect(collector.issues.first?.line == 2)
        // The buffer never grew past its initial two reads.
        #expect(source.largestRequest <= 2 * limits.readSize)
        #expect(reader.stats.discardedBytes > Int64(huge))
    }

    /// A pretty event padded to over 10,000 bytes (the limit is 4096).
    static func bigPretty(_ id: String, indent: String = "") -> String {
        let padding = #""pad": ""# + String(repeating: "y", count: 10_000) + #"","#
        return Events.pretty(id, indent: indent).replacing(#""verb": "get","#, with: #""verb": "get", "# + padding)
    }

    /// Pretty documents and array elements over the limit, one just over it on one line,
    /// one exactly at it, each followed by more to read.
    static var longDocuments: StreamBuilder {
        var b = StreamBuilder()
        b.event("p1", Events.pretty("p1"))
        b.raw("\n")
        b.issue(.lineTooLong, bigPretty("big"))
        b.raw("\n")
        b.event("p2", Events.pretty("p2"))
        b.raw("\n")
        b.issue(.lineTooLong, Events.large("just-over", size: 4_097))
        b.raw("\n")
        b.event("at-limit", Events.large("at-limit", size: 4_096))
        b.raw("\n[\n  ")
        b.event("a0", Events.pretty("a0", indent: "  "), item: 0)
        b.raw(",\n  ")
        b.issue(.lineTooLong, bigPretty("a1", indent: "  "))
        b.raw(",\n  ")
        b.event("a2", Events.compact("a2"), item: 2)
        b.raw("\n]\n")
        b.event("p3", Events.pretty("p3"))
        b.raw("\n")
        return b
    }

    /// Fix: the rest of an over-long pretty document used to come out as one
    /// `not_json_object` issue per line (as many as the read sizes made), and one that
    /// arrived in a single read was not checked against the limit at all.
    @Test("an over-long pretty document or array element is reported once; the layout resumes after it")
    func prettyDocumentTooLong() {
        let b = Self.longDocuments
        let discarded = Int64(Self.bigPretty("big").utf8.count + 4_097 + Self.bigPretty("a1", indent: "  ").utf8.count)
        let reader = AuditStreamReader(limits: Self.limits)
        for k in [1, 7, 63, 64, 65, 1_000, 4_095, 4_096, 4_097, 5_000, 10_001, 20_000, b.bytes.count] {
            let found = readStream(b.bytes, chunk: k, reader: reader)
            #expect(found.entries == b.expected, "pieces of \(k)")
            #expect(reader.stats.discardedBytes == discarded, "pieces of \(k)")
        }
        #expect(readInPlace(b.bytes, limits: Self.limits).entries == b.expected, "in place")
    }

    @Test("the input ends inside an over-long document: one issue", arguments: [false, true])
    func longDocumentAtTheEnd(inArray: Bool) {
        var b = StreamBuilder()
        if inArray { b.raw("[") }
        b.event("p1", Events.pretty("p1"), item: inArray ? 0 : nil)
        b.raw(inArray ? ", " : "\n")
        b.issue(.lineTooLong, String(Self.bigPretty("cut").prefix(8_000)))
        let reader = AuditStreamReader(limits: Self.limits)
        for k in [1, 64, 1_000, 4_097, b.bytes.count] {
            #expect(readStream(b.bytes, chunk: k, reader: reader).entries == b.expected, "pieces of \(k)")
        }
        #expect(readInPlace(b.bytes, limits: Self.limits).entries == b.expected, "in place")
    }

    @Test("a 32 MiB pretty document or array element is skipped in bounded memory", arguments: [false, true])
    func hugeDocumentBoundedMemory(inArray: Bool) throws {
        let limits = ReaderLimits(maxRecordBytes: 4096, readSize: 64 << 10)
        let huge = 32 << 20
        var bytes = utf8((inArray ? "[" : "") + Events.pretty("before") + (inArray ? ",\n" : "\n"))
        bytes += utf8("{\n  \"kind\": \"Event\",\n  \"auditID\": \"huge\",\n  \"requestObject\": {\"data\": \"")
        bytes += [UInt8](repeating: UInt8(ascii: "A"), count: huge)
        bytes += utf8("\"}\n}" + (inArray ? ",\n" : "\n") + Events.pretty("after") + (inArray ? "]\n" : "\n"))
        let reader = AuditStreamReader(limits: limits)
        var source = WatchingSource(inner: ChunkedSource(bytes, maxChunk: 1 << 20))
        var collector = Collector()
        try reader.read(from: &source, name: "huge.log", into: &collector)
        #expect(collector.auditIDs == ["before", "after"])
        #expect(collector.events.map(\.itemIndex) == (inArray ? [0, 2] : [nil, nil]))
        #expect(collector.issues.map(\.kind) == [.lineTooLong])
        #expect(collector.issues.first?.line == 36)
        // The buffer never grew past its initial two reads.
        #expect(source.largestRequest <= 2 * limits.readSize)
        #expect(reader.stats.discardedBytes > Int64(huge))
    }

    // MARK: Arrays that go wrong

    /// Fix: a byte that cannot start a value used to be waited on up to the end of the
    /// input, reported as "unterminated array element", and everything after it dropped.
    @Test("a trailing comma or a bad token in an array: reported, and reading goes on")
    func arrayResynchronises() {
        let trailing = readStream(utf8(#"[{"auditID":"a"},]"# + "\n" + #"{"auditID":"b"}"#))
        #expect(trailing.auditIDs == ["a", "b"])
        #expect(trailing.issues == [IssueRecord(kind: .invalidListItem, line: 1, byteOffset: 17, source: "test.log")])

        let bare = readStream(utf8(#"[{"auditID":"a"}, x, {"auditID":"c"}]"#))
        #expect(bare.events.map(\.itemIndex) == [0, 2])
        #expect(bare.issues == [IssueRecord(kind: .invalidListItem, line: 1, byteOffset: 18, source: "test.log")])

        let numbers = readStream(utf8("[1,,2]\n[" + #"{"auditID":"d"}"# + "]"))
        #expect(numbers.issues.map(\.byteOffset) == [1, 3, 4])
        #expect(numbers.issues.map(\.kind) == [.invalidListItem, .invalidListItem, .invalidListItem])
        #expect(numbers.events == [EventRecord(auditID: "d", apiVersion: nil, line: 2, byteOffset: 8, itemIndex: 0)])

        let garbage = readStream(utf8("[\n" + #"{"auditID":"e"}"# + " garbage\n]\n" + #"{"auditID":"f"}"# + "\n"))
        #expect(garbage.auditIDs == ["e", "f"])
        #expect(garbage.issues.map(\.kind) == [.unexpectedByte, .notAnObject])  // the stray `]` line, read as a line
        #expect(garbage.issues.map(\.line) == [2, 3])
    }
}
