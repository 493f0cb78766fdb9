import AuditJSON
import AuditModel
import Testing

@testable import DetectionEngine

@Suite("Evidence ring: event bytes held until their inputs are applied")
struct EvidenceRingTests {
    /// Bytes of length `n` that differ from any other call's (a counter in every byte).
    private func bytes(_ n: Int, _ seed: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7) } }

    private let layout = Evidence.Layout(idStart: 0, idCount: 0, stage: .responseComplete)

    @Test("every held event reads back as it was, whatever the sizes, across wraps and growth", arguments: [64, 256, 4096])
    func readsBack(capacity: Int) {
        let ring = EvidenceRing(capacity: capacity)
        var live: [(held: EvidenceRing.Held, raw: [UInt8])] = []
        var seed = 0
        // Sizes from empty to many times the starting capacity; the oldest released in order,
        // a varying number kept, so the ring wraps at every offset and grows several times.
        for round in 0..<400 {
            seed += 1
            let n = [0, 1, 63, 64, 65, 500, capacity - 1, capacity, capacity * 3 + 5][round % 9]
            let raw = bytes(max(n, 0), seed)
            let start = raw.withUnsafeBufferPointer { ring.hold($0) }
            #expect(start % 64 == 0, "events start at a cache line")
            live.append((EvidenceRing.Held(start: start, count: raw.count, layout: layout, time: Int64(round)), raw))
            while live.count > round % 7 {
                let oldest = live.removeFirst()
                ring.release(before: oldest.held.start)
                let evidence = ring.evidence(oldest.held)
                #expect(evidence.raw == oldest.raw, "round \(round)")
                #expect(evidence.time == oldest.held.time)
            }
            for entry in live { #expect(ring.evidence(entry.held).raw == entry.raw, "round \(round)") }
        }
    }

    @Test("what the ring spans stays near what is held: released bytes are reused")
    func bounded() {
        let ring = EvidenceRing(capacity: 1024)
        var previous: EvidenceRing.Held?
        for i in 0..<10_000 {
            let raw = bytes(700, i)
            let start = raw.withUnsafeBufferPointer { ring.hold($0) }
            if let previous { ring.release(before: previous.start + previous.count) }
            previous = EvidenceRing.Held(start: start, count: raw.count, layout: layout, time: 0)
            #expect(ring.heldBytes <= ring.capacityBytes)
        }
        #expect(ring.capacityBytes <= 4096, "one event held at a time never needs more")
    }

    @Test("evidence made from the ring equals evidence made from the event")
    func sameEvidence() throws {
        let text = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5f0c-1","stage":"ResponseComplete","verb":"get","stageTimestamp":"2026-11-02T10:00:00.000001Z"}"#
        try withLoadedEvent(text) { event in
            let layout = try #require(Evidence.layout(of: event))
            let ring = EvidenceRing(capacity: 64)
            let start = ring.hold(event.object.rawBytes)
            let held = EvidenceRing.Held(start: start, count: event.object.rawBytes.count, layout: layout, time: 7)
            let fromRing = ring.evidence(held)
            #expect(fromRing == Evidence(event, time: 7))
            #expect(fromRing.auditID == "5f0c-1")
            #expect(fromRing.stage == "ResponseComplete")
            #expect(fromRing.estimatedBytes == held.estimatedBytes)
        }
    }
}
