// The filter of held RequestReceived keys: asked by nearly every event before a dictionary.
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("KeyFilter (counted buckets: never a wrong no, and no stale maybe once keys leave)")
struct KeyFilterTests {
    @Test("random inserts and removals agree with a set: every held key is a maybe, every empty bucket a no")
    func againstModel() {
        var rng = SplitMix64(seed: 7)
        var filter = KeyFilter()
        var held: [UInt64] = []
        // Keys in 64 buckets only (top bits), so buckets hold several keys at once.
        func key() -> UInt64 { (rng.next() % 64) << 52 | rng.next() >> 12 }
        for step in 0..<20_000 {
            if held.isEmpty || rng.next() % 3 != 0 {
                let k = key()
                held.append(k)
                filter.insert(k)
            } else {
                let k = held.remove(at: Int(rng.next() % UInt64(held.count)))
                filter.remove(k)
            }
            if step % 97 == 0 {
                for k in held { #expect(filter.mayContain(k)) }
                let occupied = Set(held.map { $0 >> 52 })
                for b in UInt64(0)..<64 where !occupied.contains(b) {
                    #expect(!filter.mayContain(b << 52 | 12345), "bucket \(b) holds no key")
                }
            }
        }
        // Emptied, it answers no for every key again (the bit filter stayed full until then).
        for k in held { filter.remove(k) }
        for b in UInt64(0)..<UInt64(KeyFilter.buckets) { #expect(!filter.mayContain(b << 52)) }
    }

    @Test("a bucket that reached 255 keys answers maybe for good")
    func saturatedBucketStays() {
        var filter = KeyFilter()
        let keys = (0..<300).map { UInt64(5) << 52 | UInt64($0) }
        for k in keys { filter.insert(k) }
        for k in keys.prefix(299) { filter.remove(k) }
        #expect(filter.mayContain(keys[299]))
        filter.remove(keys[299])
        #expect(filter.mayContain(UInt64(5) << 52), "a saturated count no longer knows how many keys it holds")
        #expect(!filter.mayContain(UInt64(6) << 52))
    }
}
