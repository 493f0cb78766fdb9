// `bytesEqual` compares in words with overlapping tails: every length and every position of
// a difference must still be seen, and no byte outside the runs read.
import AuditJSON
import AuditTestSupport
import Testing

@Suite("bytesEqual")
struct BytesTests {
    @Test("equal runs of every length 0-40 are equal; a difference at any position is seen")
    func everyLengthAndPosition() {
        for count in 0...40 {
            withExactSizeBuffers(count) { a, b in
                for i in 0..<count {
                    a[i] = UInt8(truncatingIfNeeded: 0x41 &+ i &* 7)
                    b[i] = a[i]
                }
                #expect(bytesEqual(a, b, count), "length \(count)")
                for i in 0..<count {
                    for flip: UInt8 in [0x01, 0x20, 0x80] {
                        b[i] ^= flip
                        #expect(!bytesEqual(a, b, count), "length \(count), byte \(i) ^ \(flip)")
                        b[i] ^= flip
                    }
                }
            }
        }
    }

    @Test("against a static string: length first, then the bytes")
    func staticString() {
        let text = Array("ResponseComplete".utf8)
        text.withUnsafeBufferPointer { t in
            #expect(bytesEqual(t.baseAddress!, t.count, "ResponseComplete"))
            #expect(!bytesEqual(t.baseAddress!, t.count, "ResponseCompletE"))
            #expect(!bytesEqual(t.baseAddress!, t.count - 1, "ResponseComplete"))
            #expect(bytesEqual(t.baseAddress!, 8, "Response"))
        }
    }
}

@Suite("isPlainASCII")
struct PlainASCIITests {
    /// Runs of every length 0-40 in exact-size buffers, plain, then with one byte at each
    /// position set to a backslash, to the first byte past ASCII, or to 0xFF: the word-wise
    /// test gives what a byte loop gives, with and without backslashes counted.
    @Test("agrees with a byte loop at every length and position")
    func agreesWithByteLoop() {
        for count in 0...40 {
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: count)
            defer { buffer.deallocate() }
            for i in 0..<count { buffer[i] = UInt8(0x21 + (i * 5) % 0x5E) }  // printable ASCII, '\' included
            for position in [-1] + Array(0..<count) {
                for byte: UInt8 in [0x5C, 0x80, 0xFF, 0x7F, 0x00] {
                    let saved = position >= 0 ? buffer[position] : 0
                    if position >= 0 { buffer[position] = byte }
                    let view = UnsafeBufferPointer(buffer)
                    #expect(isPlainASCII(view) == view.allSatisfy { $0 < 0x80 }, "length \(count), byte \(byte) at \(position)")
                    #expect(
                        isPlainASCII(view, orBackslash: true) == view.allSatisfy { $0 < 0x80 && $0 != 0x5C },
                        "length \(count), byte \(byte) at \(position), backslashes counted")
                    if position >= 0 { buffer[position] = saved }
                }
            }
        }
    }
}
