// The correlation states' table from group keys (and value_count's values) to slots.
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("KeyIndex (open addressing by digest, backward-shift deletion)")
struct KeyIndexTests {
    /// Random inserts and removals against a dictionary, with keys whose digests collide
    /// (several keys share a digest, told apart by `isKey`) and keys that crowd into runs, so
    /// that removals shift cells back across runs and around the table's end.
    @Test("random inserts, removals and lookups agree with a dictionary, through growth and colliding digests")
    func againstModel() {
        var rng = SplitMix64(seed: 0x1DE_7AB1E)
        var index = KeyIndex()
        // Slot number -> (key id, digest); the owner's side of the table.
        var owner: [Int32: (id: Int, digest: UInt64)] = [:]
        var byID: [Int: Int32] = [:]
        var nextSlot: Int32 = 0
        // Few distinct digests for many ids: every lookup must confirm with `isKey`.
        func digest(of id: Int) -> UInt64 { UInt64(id % 97) &* 0x9E37_79B9_7F4A_7C15 }
        for step in 0..<30_000 {
            let id = Int(rng.next() % 600)
            let found = index.find(digest(of: id)) { owner[$0]?.id == id }
            #expect(found == byID[id], "lookup of \(id) at step \(step)")
            if let slot = found, rng.next() % 2 == 0 {
                index.remove(digest(of: id), slot: slot)
                owner[slot] = nil
                byID[id] = nil
            } else if found == nil {
                let slot = nextSlot
                nextSlot += 1
                index.insert(digest(of: id), slot: slot)
                owner[slot] = (id, digest(of: id))
                byID[id] = slot
            }
            #expect(index.count == byID.count)
            if step % 1_000 == 0 {
                for (id, slot) in byID { #expect(index.find(digest(of: id)) { owner[$0]?.id == id } == slot) }
            }
        }
        index.removeAll()
        #expect(index.count == 0)
        #expect(index.find(digest(of: 1)) { _ in true } == nil)
    }

    @Test("a key removed from the middle of a run leaves the keys after it reachable")
    func removalKeepsRunReachable() {
        var index = KeyIndex()
        // Eight keys with one digest form one run; remove every other one, then look up the rest.
        for slot in Int32(0)..<8 { index.insert(42, slot: slot) }
        for slot in stride(from: Int32(0), to: 8, by: 2) { index.remove(42, slot: slot) }
        for slot in Int32(0)..<8 {
            let found = index.find(42) { $0 == slot }
            #expect(found == (slot % 2 == 1 ? slot : nil))
        }
        #expect(index.count == 4)
        index.remove(42, slot: 99)
        index.remove(7, slot: 1)
        #expect(index.count == 4, "removing what is not there changes nothing")
    }
}
