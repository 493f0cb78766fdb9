// The rule index's value tables (verbs, resources, subresources): a hash over length and
// first and last bytes, probed linearly, must find exactly what a scan of the keys finds.
import AuditJSON
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("Rule index key lists")
struct KeyListTests {
    /// The key list's answer for `text` as a JSON string value.
    static func slot(_ list: RuleIndex.KeyList, _ text: String) -> Int? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            guard let value = JSONValue.parse(buffer) else {
                Issue.record("not JSON: \(text)")
                return -1
            }
            return list.slot(value)
        }
    }

    @Test("every key in either case, and nothing else, whatever collides")
    func findsExactlyTheKeys() {
        // Keys sharing length, first and last byte (the hash's inputs), an empty key, and
        // bytes that differ from others only in bit 0x20.
        let keys = ["pods", "pads", "pips", "secrets", "s@crets", "", "configmaps", "@", "`", "roles", "rolebindings", "x"]
        let list = RuleIndex.KeyList(keys.map { Array($0.utf8) })
        defer { list.free() }
        for (i, key) in keys.enumerated() {
            #expect(Self.slot(list, "\"\(key)\"") == i, "\(key)")
            #expect(Self.slot(list, "\"\(key.uppercased())\"") == i, "\(key) upper-cased")
        }
        for other in ["pots", "PODS ", "pod", "secret", "s`crets", "S@CRETS ", "role", "y", "configmap", "poDs\u{e9}"] {
            #expect(Self.slot(list, "\"\(other)\"") == keys.count, "\(other)")
        }
        // Not a string, or absent: `count`; escaped: nil (the caller checks every rule).
        #expect(Self.slot(list, "42") == keys.count)
        #expect(list.slot(nil) == keys.count)
        #expect(Self.slot(list, #""p\u006fds""#) == nil)
    }

    @Test("random keys: the table answers as a scan of the keys")
    func randomKeys() {
        var rng = SplitMix64(seed: 0x4B_4C)
        let alphabet = Array("abAB-/0@`".utf8)
        func word() -> [UInt8] { (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] } }
        for _ in 0..<200 {
            var keys: [[UInt8]] = []
            for _ in 0..<Int(rng.next() % 40) {
                let k = ASCIIFold.lowered(word())
                if !keys.contains(k) { keys.append(k) }
            }
            let list = RuleIndex.KeyList(keys)
            defer { list.free() }
            for _ in 0..<50 {
                let probe = word()
                let expected = keys.firstIndex(of: ASCIIFold.lowered(probe)) ?? keys.count
                #expect(Self.slot(list, "\"" + String(decoding: probe, as: UTF8.self) + "\"") == expected)
            }
        }
    }
}
