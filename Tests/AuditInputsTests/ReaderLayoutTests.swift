import AuditInputs
import AuditJSON
import AuditModel
import Testing

// The layouts audit logs come in, and where each record is reported to be.

@Suite("AuditStreamReader layouts")
struct ReaderLayoutTests {
    /// Reads the builder's bytes in one read and in place; both must find what it expects.
    func expectReads(
        _ b: StreamBuilder, layout: AuditStreamReader.Layout, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let reader = AuditStreamReader()
        let streamed = readStream(b.bytes, reader: reader)
        #expect(streamed.entries == b.expected, sourceLocation: sourceLocation)
        #expect(reader.stats.layout == layout, sourceLocation: sourceLocation)
        #expect(reader.stats.bytes == Int64(b.bytes.count), sourceLocation: sourceLocation)
        let inPlace = readInPlace(b.bytes)
        #expect(inPlace.entries == b.expected, "in place", sourceLocation: sourceLocation)
    }

    @Test("NDJSON: lines, offsets, no item index (checked by hand)")
    func ndjsonByHand() {
        let input = utf8(#"{"auditID":"a"}"# + "\n" + #"{"auditID":"b","verb":"get"}"# + "\n\n" + #"  {"auditID":"c"}"# + "\n")
        let found = readStream(input)
        #expect(found.events == [
            EventRecord(auditID: "a", apiVersion: nil, line: 1, byteOffset: 0, itemIndex: nil),
            EventRecord(auditID: "b", apiVersion: nil, line: 2, byteOffset: 16, itemIndex: nil),
            // line 3 is blank; leading spaces are not part of the record
            EventRecord(auditID: "c", apiVersion: nil, line: 4, byteOffset: 48, itemIndex: nil),
        ])
        #expect(found.issues.isEmpty)
    }

    @Test("NDJSON with blank lines, CRLF line ends and a final line without newline")
    func ndjson() {
        var b = StreamBuilder()
        b.raw("\n\n")
        b.event("a", Events.compact("a"))
        b.raw("\n")
        b.event("b", Events.compact("b"))
        b.raw("\r\n\r\n   \t\n")
        b.event("c", Events.compact("c"))
        b.raw("\r\n")
        b.event("d", Events.compact("d"))  // no newline at the end
        expectReads(b, layout: .ndjson)
        let reader = AuditStreamReader()
        _ = readStream(b.bytes, reader: reader)
        #expect(reader.stats.records == 4)
    }

    @Test("an EventList on one line, then more lines")
    func eventListOneLine() {
        var b = StreamBuilder()
        b.eventList(["l0", "l1", "l2"], pretty: false)
        b.raw("\n")
        b.event("after", Events.compact("after"))
        b.raw("\n")
        b.eventList(["m0"], pretty: false)
        b.raw("\n")
        expectReads(b, layout: .ndjson)
    }

    @Test("a pretty-printed EventList (a webhook body), then a pretty event")
    func eventListPretty() {
        var b = StreamBuilder()
        b.eventList(["p0", "p1"], pretty: true)
        b.raw("\n")
        b.event("after", Events.pretty("after"))
        b.raw("\n")
        expectReads(b, layout: .concatenated)
    }

    @Test("a single pretty-printed event")
    func singlePretty() {
        var b = StreamBuilder()
        b.event("only", Events.pretty("only"))
        b.raw("\n")
        expectReads(b, layout: .concatenated)
    }

    @Test("several pretty events back to back, with and without blank lines between")
    func severalPretty() {
        var b = StreamBuilder()
        b.event("one", Events.pretty("one"))
        b.raw("\n")
        b.event("two", Events.pretty("two"))
        b.raw("\n\n\n")
        b.event("three", Events.pretty("three"))
        b.event("four", Events.pretty("four"))  // `}{` with nothing between
        b.raw("\r\n")
        b.event("five", Events.compact("five"))  // a one-line document among pretty ones
        expectReads(b, layout: .concatenated)
    }

    @Test("a JSON array of events, pretty-printed")
    func arrayPretty() {
        var b = StreamBuilder()
        b.raw("[\n  ")
        for (i, id) in ["x0", "x1", "x2"].enumerated() {
            if i > 0 { b.raw(",\n  ") }
            b.event(id, Events.pretty(id, indent: "  "), item: i)
        }
        b.raw("\n]\n")
        expectReads(b, layout: .array)
    }

    @Test("a JSON array of events on one line, and an empty array")
    func arrayOneLine() {
        var b = StreamBuilder()
        b.raw("[")
        b.event("y0", Events.compact("y0"), item: 0)
        b.raw(",")
        b.event("y1", Events.compact("y1"), item: 1)
        b.raw("]")
        expectReads(b, layout: .array)

        var empty = StreamBuilder()
        empty.raw(" [ ] \n")
        expectReads(empty, layout: .array)
    }

    @Test("a UTF-8 byte-order mark is skipped, whatever the layout")
    func byteOrderMark() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var ndjson = StreamBuilder()
        ndjson.raw(bom)
        ndjson.event("a", Events.compact("a"))
        ndjson.raw("\n")
        ndjson.event("b", Events.compact("b"))
        ndjson.raw("\n")
        expectReads(ndjson, layout: .ndjson)

        var pretty = StreamBuilder()
        pretty.raw(bom)
        pretty.event("p", Events.pretty("p"))
        expectReads(pretty, layout: .concatenated)

        var array = StreamBuilder()
        array.raw(bom + utf8("["))
        array.event("q", Events.compact("q"), item: 0)
        array.raw("]\n")
        expectReads(array, layout: .array)
    }

    @Test("empty and blank inputs yield nothing")
    func emptyInputs() {
        for text in ["", "\n", "\r\n\r\n", "   \t  "] {
            let found = readStream(utf8(text))
            #expect(found.entries.isEmpty, "\(text.debugDescription)")
            #expect(readInPlace(utf8(text)).entries.isEmpty)
        }
    }

    @Test("one reader reads many inputs: state is reset between them")
    func readerReuse() {
        let reader = AuditStreamReader()
        var pretty = StreamBuilder()
        pretty.event("p", Events.pretty("p"))
        var ndjson = StreamBuilder()
        ndjson.event("n", Events.compact("n"))
        ndjson.raw("\n")
        for _ in 0..<2 {
            #expect(readStream(pretty.bytes, reader: reader).entries == pretty.expected)
            #expect(reader.stats.layout == .concatenated)
            #expect(readStream(ndjson.bytes, reader: reader).entries == ndjson.expected)
            #expect(reader.stats.layout == .ndjson)
        }
    }

    @Test("issues name their source")
    func issueSource() {
        let found = readStream(utf8("garbage\n"), name: "/var/log/kube-apiserver/audit.log")
        #expect(found.issues.map(\.source) == ["/var/log/kube-apiserver/audit.log"])
        #expect(found.details.first?.hasPrefix("/var/log/kube-apiserver/audit.log:1: byte 0:") == true)
    }

    @Test("a read error ends the read after everything before it was handled")
    func readError() {
        var b = StreamBuilder()
        b.event("a", Events.compact("a"))
        b.raw("\n")
        b.event("b", Events.compact("b"))
        b.raw("\n")
        b.raw(#"{"auditID":"partial"#)
        var source = FailingSource(inner: ChunkedSource(b.bytes, maxChunk: 100))
        var collector = Collector()
        #expect(throws: InputError.self) {
            try AuditStreamReader().read(from: &source, name: "pipe", into: &collector)
        }
        #expect(collector.entries == b.expected)  // the partial last line is not reported
    }
}
