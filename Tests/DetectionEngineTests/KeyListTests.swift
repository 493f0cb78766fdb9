// The rule index's value tables (verbs, resources, subresources): a hash over length and
// first and last bytes, probed linearly, must find exactly what a scan of the keys finds.
// And the memo slots' values looked up by raw number, as the class keys read them.
import AuditJSON
import AuditModel
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

    @Test("raw text is matched before escapes are looked for, unless a key has a backslash")
    func escapesAndBackslashKeys() {
        let plain = RuleIndex.KeyList(["get", "pods"].map { Array($0.utf8) })
        defer { plain.free() }
        #expect(Self.slot(plain, #""get""#) == 0)
        #expect(Self.slot(plain, #""g\u0065t""#) == nil)  // decodes to a key: every rule is checked
        #expect(Self.slot(plain, #""ge\u0074s""#) == nil)
        #expect(Self.slot(plain, #""list""#) == 2)
        // `a\b` as raw JSON text is `a` and a backspace: it must not pass for the key `a\b`.
        let slashed = RuleIndex.KeyList([Array(#"a\b"#.utf8), Array("pods".utf8)])
        defer { slashed.free() }
        #expect(Self.slot(slashed, #""a\b""#) == nil)
        #expect(Self.slot(slashed, #""pods""#) == 1)
        #expect(Self.slot(slashed, #""list""#) == 2)
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

@Suite("Memo slots")
struct MemoSlotTests {
    @Test("each slot's value by raw number is the value at its index position")
    func valueByRawNumber() throws {
        for text in [FieldFixtures.exec, FieldFixtures.cronJob] {
            try withLoadedEvent(text) { event in
                let index = event.index
                var present = 0
                for slot in MemoSlot.allCases {
                    let byRaw = index[position: MemoSlot.positions[slot.rawValue]]
                    let byPosition = index[position: slot.position]
                    #expect(byRaw?.start == byPosition?.start && byRaw?.end == byPosition?.end, "\(slot)")
                    if byRaw != nil { present += 1 }
                }
                #expect(present >= 8, "the fixture should fill most slots")
                _ = try #require(index[position: MemoSlot.positions[MemoSlot.verb.rawValue]]).string
            }
        }
    }
}
