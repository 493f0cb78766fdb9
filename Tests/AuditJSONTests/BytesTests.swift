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
