import AuditInputs
import Testing

// What a file found by listing a directory starts with decides whether it is read
// (ScanRunner leaves the others out with a note); the bytes looked at are read again.

@Suite("Input sniff")
struct InputSniffTests {
    @Test("a start that can be JSON is readable; blanks and a byte-order mark are passed over")
    func readable() {
        for text in ["{\"kind\":\"Event\"}", "[{}]", "\n\n  \t\r\n{", "\u{FEFF}{\"kind\":\"EventList\"}", "\u{FEFF}\n["] {
            #expect(InputSniff.verdict(of: Array(text.utf8)) == .readable, "\(text)")
        }
    }

    @Test("only blanks (or a cut byte-order mark) decide nothing")
    func undecided() {
        #expect(InputSniff.verdict(of: []) == nil)
        #expect(InputSniff.verdict(of: Array(" \n\t\r".utf8)) == nil)
        #expect(InputSniff.verdict(of: [0xEF, 0xBB, 0xBF]) == nil)
    }

    @Test("anything else is shown by its first line's text, or its first bytes in hex")
    func notJSON() {
        #expect(InputSniff.verdict(of: Array("Copyright 2017\nline two".utf8)) == .notJSON(start: "\"Copyright 2017\""))
        let long = String(repeating: "x", count: 50)
        #expect(InputSniff.verdict(of: Array(("\n" + long).utf8)) == .notJSON(start: "\"" + String(repeating: "x", count: 40) + "…\""))
        #expect(InputSniff.verdict(of: [0x7F, 0x45, 0x4C, 0x46, 0x02]) == .notJSON(start: "bytes 7f 45 4c 46 02"))
        // A byte-order mark cut short is not JSON either.
        #expect(InputSniff.verdict(of: [0xEF, 0xBB, 0x41]) == .notJSON(start: "bytes ef bb 41"))
        // Legacy-format audit lines are not JSON.
        let legacy = "2017-09-11T19:55:05.0+00:00 AUDIT: id=\"a\" stage=\"ResponseComplete\""
        #expect(InputSniff.verdict(of: Array(legacy.utf8)) == .notJSON(start: "\"" + String(legacy.prefix(40)) + "…\""))
    }

    @Test("at every split of the first reads, the verdict is the same and every byte is read again")
    func everySplit() throws {
        let cases: [(String, InputSniff.Verdict)] = [
            ("\u{FEFF}\n  {\"kind\":\"Event\",\"auditID\":\"a\"}\n{}\n", .readable),
            ("\n\nApache License\nVersion 2.0\n", .notJSON(start: "\"Apache License\"")),
        ]
        try expectAtEverySplit(cases)
    }

    @Test("JSON is read only when it names an auditID: at every split, and inside a wrapper's strings")
    func auditIDKey() throws {
        let event = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"4b1f","stage":"ResponseComplete"}"#
        // An AKS diagnostic record carries the event as an escaped string: still an audit export.
        let wrapped = #"{"category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"auditID\":\"4b1f\"}"}}"#
        let policy = #"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#
        let cases: [(String, InputSniff.Verdict)] = [
            (event + "\n", .readable), ("\n[" + event + "]", .readable), (wrapped + "\n", .readable),
            (policy + "\n", .noAuditID(looked: policy.utf8.count + 1, whole: true)),
            ("{}", .noAuditID(looked: 2, whole: true)),
        ]
        try expectAtEverySplit(cases)
    }

    @Test("JSON with no auditID in the whole look-ahead is left out; one found late is read")
    func auditIDLookahead() throws {
        func pieces(_ bytes: [UInt8]) -> any ByteSource {
            PiecesSource(stride(from: 0, to: bytes.count, by: 4096).map { Array(bytes[$0..<min($0 + 4096, bytes.count)]) })
        }
        let filler = Array(("[" + String(repeating: #"{"a":1},"#, count: InputSniff.lookahead / 8)).utf8)
        let (_, none) = try InputSniff.sniff(pieces(filler + Array(#"{"auditID":"x"}]"#.utf8)))
        guard case .noAuditID(let looked, whole: false) = none else {
            Issue.record("\(none)")
            return
        }
        #expect(looked >= InputSniff.lookahead && looked < InputSniff.lookahead + 4096)
        // The key across a read boundary, just before the look-ahead ends.
        var late = Array(("[" + String(repeating: " ", count: InputSniff.lookahead - 4096 * 2 - 6)).utf8)
        late += Array(#"{"auditID":"x"}]"#.utf8)
        let (_, found) = try InputSniff.sniff(pieces(late))
        #expect(found == .readable)
    }

    @Test("a long run of blanks is given up on after the look-ahead and read as it is")
    func lookaheadBound() throws {
        let blanks = [UInt8](repeating: 0x20, count: InputSniff.lookahead + 10)
        let source: any ByteSource = PiecesSource(stride(from: 0, to: blanks.count, by: 4096).map {
            Array(blanks[$0..<min($0 + 4096, blanks.count)])
        })
        let (_, verdict) = try InputSniff.sniff(source)
        #expect(verdict == .readable)
    }

    @Test("compressed formats kaudit does not read are named by their magic bytes")
    func unsupportedArchives() {
        let cases: [([UInt8], UnsupportedArchive?)] = [
            ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], .xz), (Array("BZh9".utf8), .bzip2), (Array("BZhx".utf8), nil),
            ([0x04, 0x22, 0x4D, 0x18], .lz4), ([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], .sevenZip), ([0x50, 0x4B, 0x03, 0x04], .zip),
            ([0x1F, 0x8B, 0x08, 0x00], nil), ([0x28, 0xB5, 0x2F, 0xFD], nil), (Array("{\"ki".utf8), nil), ([0xFD, 0x37], nil),
        ]
        for (bytes, name) in cases {
            #expect(bytes.withUnsafeBytes { InputFormat.unsupportedArchive($0) } == name, "\(bytes)")
        }
    }

    /// Sniffs each text cut in two reads at every position: the verdict is `expected` and
    /// the replayed source gives back every byte.
    private func expectAtEverySplit(_ cases: [(String, InputSniff.Verdict)]) throws {
        for (text, expected) in cases {
            let bytes = Array(text.utf8)
            for cut in 0...bytes.count {
                let source: any ByteSource = PiecesSource([Array(bytes[..<cut]), Array(bytes[cut...])])
                var (replayed, verdict) = try InputSniff.sniff(source)
                #expect(verdict == expected, "\(text) cut at \(cut)")
                var again: [UInt8] = []
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
                defer { buffer.deallocate() }
                while case let n = try replayed.read(into: buffer), n > 0 { again += buffer[0..<n] }
                #expect(again == bytes, "\(text) cut at \(cut)")
            }
        }
    }
}
