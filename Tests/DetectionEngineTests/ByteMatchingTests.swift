// `bytesMatch` with case folding compares in folded words with overlapping tails: every
// length and every position must still be compared, letters only folded.
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("bytesMatch (ASCII case folding)")
struct ByteMatchingTests {
    @Test("every length 0-40: either case of a letter matches, any other difference does not")
    func everyLengthAndPosition() {
        // Letters, and bytes that differ from another only in bit 0x20 without being letters.
        let alphabet: [UInt8] = Array("aZmQ@`[{_\u{7F}09 -".utf8) + [0xC3, 0xA9, 0xC9]
        for n in 0...40 {
            withExactSizeBuffers(n) { v, p in
                for i in 0..<n {
                    v[i] = alphabet[(i &* 5 &+ n) % alphabet.count]
                    p[i] = ASCIIFold.lower(v[i])
                }
                #expect(bytesMatch(v, p, n, fold: true), "length \(n)")
                for i in 0..<n {
                    let original = v[i]
                    // The other case of a letter still matches.
                    if ASCIIFold.isLetter(original) {
                        v[i] = original ^ 0x20
                        #expect(bytesMatch(v, p, n, fold: true), "length \(n), case of byte \(i)")
                    }
                    // Anything else does not: bit 0x20 of a non-letter, another bit of any byte.
                    for flip: UInt8 in [0x20, 0x01, 0x80] where !(flip == 0x20 && ASCIIFold.isLetter(original)) {
                        v[i] = original ^ flip
                        let same = ASCIIFold.lower(v[i]) == p[i]
                        #expect(bytesMatch(v, p, n, fold: true) == same, "length \(n), byte \(i) ^ \(flip)")
                    }
                    v[i] = original
                }
            }
        }
    }
}
