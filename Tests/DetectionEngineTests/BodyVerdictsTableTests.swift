// The table of remembered request bodies (`BodyVerdicts`): which bodies it keeps, and that
// it gives a kept body's results back only for the same bytes and resource.
@testable import DetectionEngine
import Testing

@Suite("Remembered request bodies: the table")
struct BodyVerdictsTableTests {
    /// Looks `body` up for `resource`: its entry, or -1.
    static func look(_ memo: BodyVerdicts, _ body: String, resource: String = "pods") -> Int {
        let b = Array(body.utf8)
        let r = Array(resource.utf8)
        return b.withUnsafeBufferPointer { bb in r.withUnsafeBufferPointer { rr in memo.entry(resource: rr, body: bb) } }
    }

    @Test("a body is kept at its second sighting and keeps its place against bodies seen once; results stay with their bytes")
    func keepsBodiesSeenTwice() {
        let memo = BodyVerdicts(slots: 8)
        let a = #"{"spec":{"hostNetwork":true}}"#
        #expect(Self.look(memo, a) == -1, "the first sighting only notes its hash")
        let first = Self.look(memo, a)
        #expect(first >= 0, "kept at its second sighting")
        memo.remember(true, first, 3)
        #expect(Self.look(memo, a) == first)
        #expect(memo.result(first, 3) == true && memo.result(first, 4) == nil)
        // 5,000 bodies seen once: about ten land on A's place, and none may take it.
        for i in 0..<5_000 { _ = Self.look(memo, #"{"spec":{"n":\#(i)}}"#) }
        #expect(Self.look(memo, a) == first)
        #expect(memo.result(first, 3) == true)
        // The same bytes under another resource, or one byte apart, are other bodies.
        let other = Self.look(memo, a, resource: "deployments")
        #expect(other != first || memo.result(other, 3) == nil)
        let near = Self.look(memo, #"{"spec":{"hostNetwork":trve}}"#)
        #expect(near == -1 || near != first || memo.result(near, 3) == nil)
        #expect(memo.hits == 2 && memo.stores == 1)
    }

    @Test("a body over the size bound is never kept")
    func oversize() {
        let memo = BodyVerdicts(slots: 8)
        let big = "{\"x\":\"" + String(repeating: "a", count: BodyVerdicts.maxBodyBytes) + "\"}"
        #expect(Self.look(memo, big) == -1)
        #expect(Self.look(memo, big) == -1)
        #expect(memo.misses == 2 && memo.stores == 0)
    }
}
