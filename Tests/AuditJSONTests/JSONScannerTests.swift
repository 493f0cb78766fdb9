import AuditJSON
import AuditTestSupport
import Testing

// The low-level skippers: strings (16-byte SIMD loop), scalars, and the 64-byte block
// container skipper checked against the scalar reference in TestSupport.

@Suite("JSONScanner")
struct JSONScannerTests {
    // MARK: Strings

    /// A backslash run of every length, at every alignment of the 16-byte SIMD loop.
    @Test("skipString handles backslash runs at every 16-byte alignment")
    func backslashRunsInStrings() {
        for padding in 0..<16 {
            for run in 0...40 {
                // Even run: `run/2` escaped backslashes. Odd run: the last one escapes the quote.
                var bytes = utf8("\"") + Array(repeating: UInt8(ascii: "a"), count: padding)
                bytes += Array(repeating: UInt8(ascii: "\\"), count: run)
                if run % 2 == 1 { bytes += utf8("\"") }
                bytes += utf8("tail\"")
                let expectedEnd = bytes.count
                bytes += utf8(",\"next\"")  // what follows must not be swallowed
                var sawEscape = false
                let end = withBytes(bytes) { JSONScanner.skipString($0, 0, $1, sawEscape: &sawEscape) }
                #expect(end == expectedEnd, "padding \(padding), run \(run)")
                #expect(sawEscape == (run > 0), "padding \(padding), run \(run)")
            }
        }
    }

    /// Where a string whose opening quote is at `i` ends, read byte by byte: after the first
    /// quote no backslash escapes; -1 when there is none.
    static func referenceStringEnd(_ bytes: [UInt8], from i: Int, end: Int) -> Int {
        var j = i + 1
        while j < end {
            if bytes[j] == UInt8(ascii: "\"") { return j + 1 }
            j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1
        }
        return -1
    }

    /// Strings read 64 bytes per step once they show a second escape: runs of backslashes
    /// that end just before, on and after a block's edge, escaping the quote or not; with
    /// more bytes after them, or with the bytes ending there (the last bytes, short of a
    /// block, are read one by one, after a block that may have ended on a backslash).
    @Test("escape-dense strings end at the first unescaped quote, whatever runs cross a 64-byte block edge")
    func escapeDenseAcrossBlocks() {
        for padding in 0..<70 {
            for run in 0...5 {
                for trailing in [0, 70] {
                    // Two escapes first: the rest of the string is read in blocks from the second.
                    var bytes = utf8(#""\n\n"#) + Array(repeating: UInt8(ascii: "a"), count: padding)
                    bytes += Array(repeating: UInt8(ascii: "\\"), count: run) + utf8(#"""#)
                    if run % 2 == 1 { bytes += utf8(#"b""#) }  // the quote was escaped: another ends it
                    bytes += Array(repeating: UInt8(ascii: "z"), count: trailing)
                    let expected = Self.referenceStringEnd(bytes, from: 0, end: bytes.count)
                    #expect(expected > 0)
                    #expect(
                        withBytes(bytes) { JSONScanner.skipString($0, 0, $1) } == expected,
                        "padding \(padding), run \(run), trailing \(trailing)")
                }
            }
        }
    }

    /// Random strings of quotes, backslashes and letters, as any byte-by-byte reading would
    /// end them, cut short at every length: the block reading never finds a quote past `end`.
    @Test("skipString agrees with a byte-by-byte reading on random escape-dense strings, cut at every length")
    func escapeDenseRandom() {
        var rng = SplitMix64(seed: 64)
        for n in 0..<600 {
            let length = Int.random(in: 0...300, using: &rng)
            // Backslashes nearly half the bytes, so most strings reach the block reading; a
            // quote one byte in 5, 50 or 500, so some end early and some run for blocks.
            let quoteOdds = [5, 50, 500][n % 3]
            let bytes = [UInt8(ascii: "\"")] + (0..<length).map { _ -> UInt8 in
                if Int.random(in: 0..<quoteOdds, using: &rng) == 0 { return UInt8(ascii: "\"") }
                return Bool.random(using: &rng) ? UInt8(ascii: "\\") : UInt8(ascii: "a")
            }
            for end in 1...bytes.count {
                let expected = Self.referenceStringEnd(bytes, from: 0, end: end)
                var sawEscape = false
                let got = withBytes(bytes) { base, _ in JSONScanner.skipString(base, 0, end, sawEscape: &sawEscape) }
                #expect(got == expected, "\(String(decoding: bytes, as: UTF8.self)) cut at \(end)")
                if got != expected { return }
            }
        }
    }

    @Test(
        "an unterminated string is -1",
        arguments: [#""abc"#, #""abc\""#, #""abc\"#, #"""#, #""0123456789abcdef0123456789\""#])
    func unterminatedString(_ text: String) {
        #expect(withBytes(utf8(text)) { JSONScanner.skipString($0, 0, $1) } == -1)
    }

    @Test("skipString never reads at or past `end`")
    func stringRespectsEnd() {
        // The closing quote sits just past `end`: it must not be found.
        let bytes = utf8(#""0123456789abcdefghij""#)
        for end in 1..<bytes.count {
            #expect(withBytes(bytes) { base, _ in JSONScanner.skipString(base, 0, end) } == -1, "end \(end)")
        }
        #expect(withBytes(bytes) { JSONScanner.skipString($0, 0, $1) } == bytes.count)
    }

    // MARK: Scalars

    @Test(
        "skipScalar stops right after numbers and literals",
        arguments: [
            ("true,", 4), ("false}", 5), ("null]", 4), ("0,", 1), ("-1,", 2), ("-12.5e+3 ", 8),
            ("1E-7}", 4), ("123456789012345678901234567890", 30), ("1e999999,", 8),
        ])
    func scalars(_ text: String, _ expected: Int) {
        #expect(withBytes(utf8(text)) { JSONScanner.skipScalar($0, 0, $1) } == expected)
    }

    @Test("misspelt or cut literals are -1", arguments: ["tru", "trux", "fals", "falsy", "nul", "nill", "x", "+1", "."])
    func badLiterals(_ text: String) {
        #expect(withBytes(utf8(text)) { JSONScanner.skipScalar($0, 0, $1) } == -1)
    }

    @Test("a 200,000-digit number is skipped in one pass")
    func hugeNumber() {
        let digits = Array(repeating: UInt8(ascii: "7"), count: 200_000)
        let bytes = utf8("[") + digits + utf8(",true]")
        #expect(withBytes(bytes) { JSONScanner.skipScalar($0, 1, $1) } == 200_001)
        #expect(skipContainer(bytes, from: 0, to: bytes.count) == bytes.count)
    }

    // MARK: Containers

    @Test("skipContainer and skimContainer match the reference on random JSON-ish documents")
    func randomDocumentsMatchReference() {
        var generator = JSONishGenerator(seed: 0x6B61_7564_6974)
        for _ in 0..<1_500 {
            let document = generator.container(depth: 0)
            // Shift the document against the 64-byte blocks and put something after it.
            let prefix = Array(repeating: UInt8(ascii: " "), count: generator.int(0...63))
            let bytes = prefix + document + utf8(" ,{\"after\":[1]} ]]")
            let start = prefix.count
            let expected = referenceSkipContainer(bytes, from: start, to: bytes.count)
            #expect(expected == start + document.count)  // the generator's own invariant
            #expect(bothSkippers(bytes, from: start, to: bytes.count) == expected)
            #expect(withBytes(bytes) { JSONScanner.skipValue($0, start, $1) } == expected)
            // Handed to the block scan after any number of bytes: the bodies' limit, and others.
            for limit in [JSONScanner.bodySkimLimit, 0, generator.int(1...300)] {
                #expect(withBytes(bytes) { JSONScanner.skipValue($0, start, $1, skimLimit: limit) } == expected, "limit \(limit)")
            }
            // Any cut inside the document leaves it unterminated.
            for _ in 0..<3 {
                let cut = start + generator.int(1...document.count - 1)  // documents are >= 2 bytes
                #expect(referenceSkipContainer(bytes, from: start, to: cut) == -1)
                #expect(bothSkippers(bytes, from: start, to: cut) == -1, "cut at \(cut - start) of \(document.count)")
                let limit = generator.int(0...128)
                #expect(withBytes(bytes) { base, _ in JSONScanner.skipValue(base, start, cut, skimLimit: limit) } == -1)
            }
        }
    }

    @Test("skipValue hands containers longer than the skim limit to the block scan at the right depth")
    func longContainersMatchReference() {
        var generator = JSONishGenerator(seed: 0x736B_696D)
        for _ in 0..<200 {
            // An array of generated containers, nested one to three levels deeper, past the limit.
            var document = utf8("[")
            while document.count < 384 + generator.int(1...2_000) {  // `JSONScanner.skimLimit`
                if document.count > 1 { document += utf8(",") }
                document += generator.container(depth: 0)
            }
            document += utf8("]")
            for _ in 0..<generator.int(0...2) { document = utf8("{\"k\":") + document + utf8("}") }
            let prefix = Array(repeating: UInt8(ascii: " "), count: generator.int(0...63))
            let bytes = prefix + document + utf8(" ,{\"after\":[1]} ]]")
            let start = prefix.count
            let expected = referenceSkipContainer(bytes, from: start, to: bytes.count)
            #expect(expected == start + document.count)
            #expect(withBytes(bytes) { JSONScanner.skipValue($0, start, $1) } == expected)
            let cut = start + generator.int(1...document.count - 1)
            #expect(withBytes(bytes) { base, _ in JSONScanner.skipValue(base, start, cut) } == -1)
        }
    }

    /// A run of `run` backslashes at offset `padding` in a string, then a quote; the run
    /// crosses 64-byte block boundaries for most combinations.
    static func backslashRunDocument(padding: Int, run: Int) -> [UInt8] {
        var bytes = utf8("[\"") + Array(repeating: UInt8(ascii: "a"), count: padding)
        bytes += Array(repeating: UInt8(ascii: "\\"), count: run)
        if run % 2 == 0 {
            bytes += utf8(#"","]{"]"#)  // the quote ends the string; "]{" is a string element
        } else {
            bytes += utf8(#""]{",1]"#)  // the quote is escaped; ]{ stays inside the string
        }
        return bytes
    }

    @Test("large bodies (the AVX2 block path, when the CPU has it) match the reference")
    func largeBodiesMatchReference() {
        var generator = JSONishGenerator(seed: 0x626F_6479)
        for round in 0..<200 {
            // An array of generated containers and backslash-run strings, kilobytes long.
            var body = utf8("[")
            while body.count < 600 + round * 40 {
                if body.count > 1 { body += utf8(",") }
                if generator.int(0...3) == 0 {
                    body += Self.backslashRunDocument(padding: generator.int(0...63), run: generator.int(0...9))
                } else {
                    body += generator.container(depth: 0)
                }
            }
            body += utf8("]")
            let prefix = Array(repeating: UInt8(ascii: " "), count: generator.int(0...63))
            let bytes = prefix + body + utf8(",{\"after\":[1]}]")
            let start = prefix.count
            let expected = referenceSkipContainer(bytes, from: start, to: bytes.count)
            #expect(expected == start + body.count)
            #expect(bothSkippers(bytes, from: start, to: bytes.count) == expected)
            let cut = start + generator.int(1...body.count - 1)
            #expect(skipContainer(bytes, from: start, to: cut) == -1, "cut at \(cut - start) of \(body.count)")
        }
    }

    @Test("backslash runs of every length, crossing every 64-byte block boundary")
    func backslashRunsAcrossBlocks() {
        for padding in 0..<64 {
            for run in 0...140 {
                let bytes = Self.backslashRunDocument(padding: padding, run: run) + utf8("]]")
                let expected = bytes.count - 2
                #expect(referenceSkipContainer(bytes, from: 0, to: bytes.count) == expected)
                let got = bothSkippers(bytes, from: 0, to: bytes.count)
                if got != expected {
                    Issue.record("padding \(padding), run \(run): got \(got), expected \(expected)")
                    return
                }
            }
        }
    }

    @Test("brackets inside strings do not count, at any block position")
    func bracketsInStrings() {
        for padding in 0..<130 {
            let text = "{\"k\":\"" + String(repeating: " ", count: padding) + "}]}]\",\"v\":[\"[[{\"]}"
            let bytes = utf8(text)
            #expect(bothSkippers(bytes, from: 0, to: bytes.count) == bytes.count, "padding \(padding)")
        }
    }

    @Test("10,000-deep nesting is skipped without recursion")
    func deepNesting() {
        let depth = 10_000
        let arrays = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        #expect(bothSkippers(arrays, from: 0, to: arrays.count) == arrays.count)
        let objects = Array(repeating: utf8(#"{"a":"#), count: depth).flatMap { $0 } + utf8("null")
            + Array(repeating: UInt8(ascii: "}"), count: depth)
        #expect(bothSkippers(objects, from: 0, to: objects.count) == objects.count)
        // One closing bracket short: unterminated.
        #expect(bothSkippers(arrays, from: 0, to: arrays.count - 1) == -1)
        #expect(bothSkippers(objects, from: 0, to: objects.count - 1) == -1)
    }

    @Test(
        "unterminated containers are -1",
        arguments: [#"{"a":"b"#, #"{"a":"b}"#, "[[[]]", #"{"a":"\"}"#, #"["\\\"]"#, "[", "{"])
    func unterminatedContainer(_ text: String) {
        let bytes = utf8(text)
        #expect(referenceSkipContainer(bytes, from: 0, to: bytes.count) == -1)
        #expect(bothSkippers(bytes, from: 0, to: bytes.count) == -1)
    }

    // MARK: Resumable scans

    @Test("ContainerScan fed in pieces of every size ends where the one-shot skip does")
    func resumableEveryPieceSize() {
        var generator = JSONishGenerator(seed: 42)
        var documents: [[UInt8]] = []
        while documents.count < 12 {
            let d = generator.container(depth: 0)
            if d.count > 150 && d.count < 1_500 { documents.append(d) }
        }
        documents.append(Self.backslashRunDocument(padding: 61, run: 67))
        documents.append(Self.backslashRunDocument(padding: 0, run: 128))
        for document in documents {
            let bytes = document + utf8("  [1]")  // bytes after the end must not matter
            let expected = skipContainer(bytes, from: 0, to: bytes.count)
            #expect(expected == document.count)
            for pieceSize in 1...bytes.count {
                let got = resumableSkip(bytes, pieceSize: pieceSize)
                if got != expected {
                    Issue.record("piece size \(pieceSize): got \(got), expected \(expected)")
                    break
                }
            }
        }
    }

    @Test("a resumed scan survives its buffer being compacted (rebase)")
    func resumableWithRebase() {
        var generator = JSONishGenerator(seed: 7)
        var document: [UInt8] = []
        while document.count < 400 || document.count > 2_000 { document = generator.container(depth: 0) }
        let bytes = utf8("garbage before ") + document
        let start = bytes.count - document.count
        for split in start + 1..<bytes.count {
            // First buffer: everything up to `split`, not final.
            var scan = ContainerScan(start: start)
            let first = withBytes(Array(bytes[..<split])) { scan.advance($0, end: $1, isFinal: false) }
            if first >= 0 {
                #expect(first == bytes.count, "split \(split)")
                continue
            }
            // The caller drops the bytes the scan has passed, moves the rest to the front,
            // and tells the scan.
            let dropped = scan.position
            #expect(dropped >= start && dropped <= split)
            scan.rebase(by: dropped)
            let rest = Array(bytes[dropped...])
            let second = withBytes(rest) { scan.advance($0, end: $1, isFinal: true) }
            #expect(second + dropped == bytes.count, "split \(split)")
        }
    }

    // MARK: Walking objects

    @Test("walkObject visits the same members as JSONMembers and ends where the skippers do")
    func walkObjectMatchesMembers() throws {
        var generator = JSONishGenerator(seed: 2024)
        var objects = 0
        while objects < 300 {
            let document = generator.container(depth: 0)
            guard document.first == UInt8(ascii: "{") else { continue }
            objects += 1
            let bytes = document + utf8(#","next":1}"#)
            try withBytes(bytes) { base, count in
                var walked: [(key: [UInt8], value: Range<Int>)] = []
                var failure = -1
                let end = JSONScanner.walkObject(base, 0, count, failure: &failure) { key, valueStart in
                    let valueEnd = JSONScanner.skipValue(base, valueStart, count)
                    walked.append((key.withDecodedBytes { Array($0) }, valueStart..<valueEnd))
                    return valueEnd
                }
                #expect(end == document.count)
                #expect(failure == -1)
                let object = try #require(JSONValue.parse(UnsafeBufferPointer(start: base, count: document.count)))
                let members = object.members.map { ($0.key.withDecodedBytes { Array($0) }, $0.value.start..<$0.value.end) }
                #expect(walked.map(\.key) == members.map(\.0))
                #expect(walked.map(\.value) == members.map(\.1))
            }
        }
    }

    @Test(
        "walkObject reports where a malformed object stops making sense",
        arguments: [
            (#"{"a" 1}"#, 5), (#"{"a":1 "b":2}"#, 7), (#"{a:1}"#, 1), (#"{"a":1,}"#, 7), (#"{,"a":1}"#, 1),
            (#"{"a":1"#, 6), (#"{"a":tru}"#, 5), (#"{"a":"#, 5),
        ])
    func walkObjectFailures(_ text: String, _ offset: Int) {
        var failure = -1
        let end = withBytes(utf8(text)) { base, count in
            JSONScanner.walkObject(base, 0, count, failure: &failure) { _, v in JSONScanner.skipValue(base, v, count) }
        }
        #expect(end == -1)
        #expect(failure == offset)
    }

    @Test("skipValue dispatches on the first byte")
    func skipValueDispatch() {
        for (text, end) in [(#""s" "#, 3), ("[1] ", 3), (#"{"a":1} "#, 7), ("12 ", 2), ("true ", 4)] {
            #expect(withBytes(utf8(text)) { JSONScanner.skipValue($0, 0, $1) } == end, "\(text)")
        }
        #expect(withBytes(utf8("x")) { base, _ in JSONScanner.skipValue(base, 1, 1) } == -1)
        #expect(withBytes(utf8("  \t\r\n x")) { JSONScanner.skipWhitespace($0, 0, $1) } == 6)
    }
}
