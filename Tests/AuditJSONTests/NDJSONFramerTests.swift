import AuditJSON
import Testing

// The line framer: the same lines whatever the read sizes, and no byte searched twice.

@Suite("NDJSONFramer")
struct NDJSONFramerTests {
    static let input = utf8(
        #"{"kind":"Event","auditID":"1","verb":"get"}"# + "\n" + "\n"
            + #"{"kind":"Event","auditID":"2","verb":"list"}"# + "\r\n"
            + String(repeating: "x", count: 150) + "\n" + "\n" + "\n" + #"{"auditID":"last-without-newline"}"#)

    /// Frames `input` as if it arrived in the given pieces, in a buffer that only grows.
    /// Returns the newline offsets found and the number of bytes searched in total.
    static func frame(_ input: [UInt8], pieces: [Int]) -> (newlines: [Int], searchedBytes: Int) {
        var framer = NDJSONFramer()
        var newlines: [Int] = []
        var searchedBytes = 0
        var start = 0
        var end = 0
        withBytes(input) { base, _ in
            for piece in pieces {
                end += piece
                while true {
                    let before = framer.searched
                    let from = max(start, before)
                    let nl = framer.nextNewline(base, lineStart: start, end: end)
                    // `searched` never goes back, and each call searches from where the last stopped.
                    #expect(framer.searched >= before)
                    searchedBytes += max(0, framer.searched - from)
                    guard let nl else {
                        #expect(framer.searched == max(from, end), "a failed search covers everything up to end")
                        break
                    }
                    #expect(input[nl] == 0x0A)
                    #expect(framer.searched == nl + 1)
                    newlines.append(nl)
                    start = nl + 1
                }
            }
        }
        return (newlines, searchedBytes)
    }

    static var expectedNewlines: [Int] { input.indices.filter { input[$0] == 0x0A } }

    @Test("pieces of every size give the same lines, each byte searched once")
    func everyPieceSize() {
        let n = Self.input.count
        for size in 1...n {
            var pieces = Array(repeating: size, count: n / size)
            if n % size != 0 { pieces.append(n % size) }
            let (newlines, searched) = Self.frame(Self.input, pieces: pieces)
            #expect(newlines == Self.expectedNewlines, "piece size \(size)")
            // The bytes after the last newline are searched too, once.
            #expect(searched == n, "piece size \(size): searched \(searched) bytes for \(n)")
        }
    }

    @Test("a split at every offset gives the same lines, each byte searched once")
    func everySplitOffset() {
        let n = Self.input.count
        for split in 0...n {
            let (newlines, searched) = Self.frame(Self.input, pieces: [split, n - split])
            #expect(newlines == Self.expectedNewlines, "split at \(split)")
            #expect(searched == n, "split at \(split)")
        }
    }

    @Test("rebase keeps the search position when the buffer is compacted")
    func rebase() {
        let line = utf8("first line\nsecond line that is long\nthird")
        var framer = NDJSONFramer()
        withBytes(line) { base, _ in
            #expect(framer.nextNewline(base, lineStart: 0, end: line.count) == 10)
            #expect(framer.nextNewline(base, lineStart: 11, end: 20) == nil)
            #expect(framer.searched == 20)
        }
        // The caller moves "second line th..." (from offset 11) to the front of a new buffer.
        let moved = Array(line[11...])
        framer.rebase(by: 11)
        #expect(framer.searched == 9)
        withBytes(moved) { base, count in
            #expect(framer.nextNewline(base, lineStart: 0, end: count) == 24)
        }
        framer.rebase(by: 1_000)
        #expect(framer.searched == 0)
        framer.reset(to: 5)
        #expect(framer.searched == 5)
    }

    @Test("countNewlines counts within the range only")
    func countNewlines() {
        let text = utf8("a\nb\n\nc\nd")
        withBytes(text) { base, count in
            #expect(NDJSONFramer.countNewlines(base, from: 0, to: count) == 4)
            #expect(NDJSONFramer.countNewlines(base, from: 2, to: 5) == 2)
            #expect(NDJSONFramer.countNewlines(base, from: 4, to: 4) == 0)
            #expect(NDJSONFramer.countNewlines(base, from: 7, to: count) == 0)
        }
    }
}
