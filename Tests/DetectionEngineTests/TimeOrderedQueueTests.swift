// The time-ordered queues behind correlation state and the lateness queue: whatever the
// arrival order, elements come out by time, equal times in arrival order.
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("Time-ordered queues (correlation entries, the lateness queue)")
struct TimeOrderedQueueTests {
    struct Stamp: EventTimed {
        let time: Int64
        let arrival: Int
    }

    /// `late` in 0...100: the percentage of arrivals older than the newest one so far.
    static func times(count: Int, late: Int, seed: UInt64) -> [Int64] {
        var rng = SplitMix64(seed: seed)
        var now: Int64 = 1_000
        return (0..<count).map { _ in
            now += Int64(rng.next() % 3)  // ties are common
            return Int(rng.next() % 100) < late ? now - Int64(rng.next() % 50) : now
        }
    }

    @Test("removeFirst gives elements by time, ties in arrival order, through compaction", arguments: [0, 5, 50])
    func queueOrder(late: Int) {
        var rng = SplitMix64(seed: 7)
        var queue = TimeOrderedQueue<Stamp>()
        var model: [Stamp] = []  // kept sorted by (time, arrival)
        for (i, t) in Self.times(count: 5_000, late: late, seed: UInt64(late)).enumerated() {
            let at = queue.insert(Stamp(time: t, arrival: i))
            let modelAt = model.firstIndex { $0.time > t } ?? model.count
            model.insert(Stamp(time: t, arrival: i), at: modelAt)
            #expect(at == modelAt)
            while rng.next() % 3 == 0, !model.isEmpty {
                #expect(queue.firstTime == model[0].time)
                let got = queue.removeFirst()
                let want = model.removeFirst()
                #expect(got.time == want.time && got.arrival == want.arrival)
            }
            #expect(queue.count == model.count)
            #expect(queue.lastTime == model.last?.time)
            if let k = model.indices.randomElement(using: &rng) { #expect(queue.time(at: k) == model[k].time) }
        }
        while !queue.isEmpty {
            let got = queue.removeFirst()
            let want = model.removeFirst()
            #expect(got.time == want.time && got.arrival == want.arrival)
        }
        #expect(model.isEmpty && queue.firstTime == nil && queue.lastTime == nil && queue.count == 0)
    }

    @Test("the lateness queue pops by time, ties in arrival order, whether an input went to its FIFO, its heap or its records (set-aside steps and counting inputs)", arguments: [0, 5, 50, 100])
    func inputQueueOrder(late: Int) {
        var rng = SplitMix64(seed: 11)
        var queue = InputQueue()
        var pending: [(time: Int64, arrival: Int)] = []
        var recorded = 0
        func popAndCheck() {
            let next = pending.indices.min { (pending[$0].time, pending[$0].arrival) < (pending[$1].time, pending[$1].arrival) }!
            #expect(queue.peekTime == pending[next].time)
            if queue.nextIsRecorded {
                queue.popRecorded { input, key, value in
                    #expect(input.time == pending[next].time && Int(input.position) == pending[next].arrival)
                    #expect(Array(key) == Array("key-\(input.position)".utf8), "the key's bytes come back with the input")
                    if input.evidence == nil {
                        #expect(value == nil, "a set-aside step has no value")
                    } else {
                        #expect(input.evidence?.time == input.time, "a counting input's evidence comes back with it")
                        #expect(value.map(Array.init) == (input.position % 2 == 0 ? Array("value-\(input.position)".utf8) : nil))
                    }
                }
            } else {
                let got = queue.popFirst()
                #expect(got.input.time == pending[next].time && got.input.input == pending[next].arrival)
            }
            pending.remove(at: next)
        }
        for (i, t) in Self.times(count: 3_000, late: late, seed: UInt64(late) + 1).enumerated() {
            // About a third of what may be recorded (in order with both in-order parts) is set
            // aside, and another third recorded as a counting input with its evidence (and a
            // value for every other one).
            let kind = rng.next() % 3
            if queue.takesInOrder(t), kind < 2 {
                let key = Array("key-\(i)".utf8)
                let value = Array("value-\(i)".utf8)
                let evidence = kind == 0 ? nil : Evidence(auditID: "a-\(i)", stage: "ResponseComplete", time: t, raw: [0x7B, 0x7D])
                key.withUnsafeBufferPointer { key in
                    value.withUnsafeBufferPointer { value in
                        queue.pushRecorded(
                            RecordedInput(correlation: 0, position: Int32(i), time: t, digest: 0, evidence: evidence), key: key,
                            value: kind == 1 && i % 2 == 0 ? value : nil)
                    }
                }
                recorded += 1
            } else {
                queue.push(
                    QueuedInput(
                        correlation: 0,
                        input: CorrelationInput(input: i, time: t, group: GroupKey([]), value: nil, evidence: [], evidenceTotal: 1)))
            }
            pending.append((t, i))
            #expect(queue.count == pending.count)
            while rng.next() % 4 == 0, !pending.isEmpty { popAndCheck() }
        }
        while !pending.isEmpty { popAndCheck() }
        #expect(recorded > 200)
        #expect(queue.peekTime == nil && queue.count == 0 && queue.bytes == 0)
    }

    /// Inputs still queued when the queue goes (a detector dropped mid-stream) are released
    /// with it: afterwards their evidence bytes are referenced by nothing else, so writing to
    /// them needs no copy. The ring is left wrapped and grown when it goes.
    @Test("dropping the lateness queue releases the inputs still in it")
    func droppedQueueReleasesInputs() {
        var raw = [UInt8](repeating: 0x41, count: 200)
        let before = raw.withUnsafeBufferPointer { $0.baseAddress }
        do {
            var queue = InputQueue()
            let evidence = Evidence(auditID: "a", stage: "ResponseComplete", time: 1, raw: raw)
            for i in 0..<40 {
                queue.push(
                    QueuedInput(
                        correlation: 0,
                        input: CorrelationInput(
                            input: i, time: Int64(i), group: GroupKey(["u\(i)"]), value: "v", evidence: [evidence],
                            evidenceTotal: 1)))
                if i % 3 == 0 { _ = queue.popFirst() }
            }
            #expect(queue.count == 26)
        }
        let after = raw.withUnsafeMutableBufferPointer { UnsafePointer($0.baseAddress) }
        #expect(before == after, "the evidence bytes were still shared after the queue went")
    }
}
