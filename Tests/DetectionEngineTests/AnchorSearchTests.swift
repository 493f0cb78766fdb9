import AuditTestSupport
import CAuditSIMD
@testable import DetectionEngine
import Testing

private typealias F = MatcherFixture

// The SIMD prefilter of keyword searches through long values: `kaudit_find_anchor3` at each
// of its code paths against a naive search, and `contains` lists that take it against a
// naive search of their literals.

@Suite("Anchor search (SIMD keyword prefilter)")
struct AnchorSearchTests {
    /// The first position >= from where one of the anchors occurs (bit 0x20 set on the
    /// text's bytes when folding), or n.
    private static func naive(_ text: [UInt8], from: Int, _ anchors: [[UInt8]], fold: Bool) -> Int {
        let f: UInt8 = fold ? 0x20 : 0
        var i = from
        while i + 3 <= text.count {
            let window = [text[i] | f, text[i + 1] | f, text[i + 2] | f]
            if anchors.contains(window) { return i }
            i += 1
        }
        return text.count
    }

    @Test("every code path agrees with a naive search, at every length 0-100 and start")
    func codePathsAgree() {
        var rng = SplitMix64(seed: 0xA11C_4035)
        // Letters of both cases, bytes that differ from them only in bit 0x20, and bytes
        // above 0x7F: folding must find the former and only ever add candidates.
        let alphabet: [UInt8] = Array("aAwWsSpP@`_=\u{7F}".utf8) + [0xC1, 0xE1, 0x00, 0xFF]
        var found = 0
        for round in 0..<1500 {
            let n = round % 101
            var text = (0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            let fold = Bool.random(using: &rng)
            let count = Int.random(in: 1...Int(KAUDIT_MAX_ANCHORS), using: &rng)
            var anchors: [[UInt8]] = (0..<count).map { _ in
                (0..<3).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] | (fold ? 0x20 : 0) }
            }
            if n >= 3 && Bool.random(using: &rng) {  // often an anchor taken from the text
                let at = Int.random(in: 0...(n - 3), using: &rng)
                anchors[0] = text[at..<(at + 3)].map { $0 | (fold ? 0x20 : 0) }
            }
            text.append(0)  // a valid base address even when empty (not searched)
            let flat = anchors.flatMap { $0 }
            for from in 0...n {
                let expected = Self.naive(Array(text.prefix(n)), from: from, anchors, fold: fold)
                if expected < n { found += 1 }
                for level in Int32(0)...2 {
                    let got = text.withUnsafeBufferPointer { t in
                        flat.withUnsafeBufferPointer { a in
                            kaudit_find_anchor3_level(level, t.baseAddress, n, from, a.baseAddress, Int32(count), fold ? 1 : 0)
                        }
                    }
                    #expect(got == expected, "level \(level) n \(n) from \(from) fold \(fold) anchors \(anchors)")
                }
            }
        }
        #expect(found > 10_000)
    }

    @Test("more anchors than a vector compares find nothing (the caller never asks)")
    func tooManyAnchors() {
        let text = Array("aaaaaaaa".utf8)
        let anchors = [UInt8](repeating: UInt8(ascii: "a"), count: 3 * (Int(KAUDIT_MAX_ANCHORS) + 1))
        let got = text.withUnsafeBufferPointer { t in
            anchors.withUnsafeBufferPointer { kaudit_find_anchor3(t.baseAddress, 8, 0, $0.baseAddress, KAUDIT_MAX_ANCHORS + 1, 0) }
        }
        #expect(got == 8)
    }

    @Test("a contains list searched through long values agrees with a naive search")
    func longValuesCrossCheck() throws {
        let alphabet: [Character] = ["a", "A", "w", "W", "s", "S", "p", "=", ":", " ", "_", "\u{7F}", "é", "@", "`"]
        let (anchored, matched) = try F.containsListCrossCheck(
            seed: 0x4E_C4_0A, alphabet: alphabet, literalLengths: 3...9,
            textLengths: ValueMatcher.anchorScanMinimum...300, lists: 400, uses: { !$0.containsAnchors.isEmpty })
        #expect(anchored > 300)
        #expect(matched > 500)
    }

    @Test("the ConfigMap credential keywords are found through a whole event, in either case")
    func keywordListInEvent() throws {
        let words = ["aws_access_key_id", "aws-secret-access-key", "password =", "password:", "passphrase="]
        let m = try F.compile("contains", words.map { .string($0) })
        #expect(m.containsAnchors.count == 3 * 2)  // "aws" and "pas"
        let filler = String(repeating: #"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"pass-through"}}"#, count: 3)
        #expect(!m.matches(filler))
        #expect(m.matches(filler + #""app.properties":"db.PASSWORD: hunter2""#))
        #expect(m.matches(#""AWS_ACCESS_KEY_ID=x""# + filler))
        #expect(!m.matches(filler + #""passwords""#))
    }
}
