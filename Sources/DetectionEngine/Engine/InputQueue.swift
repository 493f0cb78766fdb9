/// A correlation input waiting for event time to pass it.
struct QueuedInput {
    let correlation: Int
    /// The input; without evidence when `held` gives it.
    let input: CorrelationInput
    /// The event's bytes in the detector's ring, made into evidence if the input is kept.
    let held: EvidenceRing.Held?

    init(correlation: Int, input: CorrelationInput, held: EvidenceRing.Held? = nil) {
        self.correlation = correlation
        self.input = input
        self.held = held
    }

    /// What keeping it costs (evidence shared by several inputs is counted for each).
    var estimatedBytes: Int { 64 + input.evidence.estimatedBytes + (held?.estimatedBytes ?? 0) }
}

/// A correlation input queued as a few plain words, with its key's (and value's) bytes in a
/// slot of the queue's ring beside it (`InputQueue.RecordRing`): no `GroupKey`, value key
/// or `CorrelationInput` is made for it when it is matched, and none when it is applied
/// unless its state keeps a new group or value.
///
/// Two kinds wait this way, both in time order:
/// - a later step of a temporal_ordered correlation set aside when it was matched, because
///   no sequence could be waiting for it by its turn (see `SequenceWatch`): without its
///   event (`evidence` nil);
/// - an input of an event_count or value_count correlation that fires early (nearly every
///   counting input): with its event's evidence.
struct RecordedInput {
    let correlation: Int32
    let position: Int32
    let time: Int64
    /// The group key's digest (`GroupKey.digest`).
    let digest: UInt64
    /// The event, for a counting correlation's input; nil for a later step set aside.
    let evidence: Evidence?
}

/// Queued inputs in event-time order, ties in arrival order (so the output does not depend
/// on the queue's internals).
///
/// Inputs nearly always arrive in time order: those go to a FIFO, pushed and popped in
/// O(1). Only an input older than the newest one queued goes to a min-heap of plain
/// (time, sequence, slot, bytes) entries whose inputs stay in their slots (sifting copies no
/// reference-counted payload). Recorded inputs, in time order too, wait in a FIFO of their
/// own. The next to apply is the earliest of the heads (`nextIsRecorded` says which kind).
struct InputQueue {
    private struct InOrder {
        let seq: Int
        let bytes: Int
        let item: QueuedInput
    }

    /// The in-order inputs, oldest first, in a ring: taking the oldest moves nothing (an
    /// array with a moving head moved each input once more when it compacted, a copy of a
    /// few hundred bytes into memory long out of cache). In memory the ring owns: an array of
    /// optional inputs checked its uniqueness and wrapped each input at every push and pop.
    private final class InOrderRing {
        private var slots: UnsafeMutablePointer<InOrder>
        private var capacity = 16
        private var head = 0
        private(set) var count = 0

        init() { slots = .allocate(capacity: capacity) }

        deinit {
            for i in 0..<count { (slots + ((head + i) & (capacity - 1))).deinitialize(count: 1) }
            slots.deallocate()
        }

        var firstTime: Int64? { count > 0 ? slots[head].item.input.time : nil }
        var lastTime: Int64? { count > 0 ? slots[(head + count - 1) & (capacity - 1)].item.input.time : nil }
        var firstSeq: Int { slots[head].seq }  // Safe: asked only when `firstTime` is not nil.

        func append(_ e: consuming InOrder) {
            if count == capacity { grow() }
            (slots + ((head + count) & (capacity - 1))).initialize(to: e)
            count += 1
        }

        /// The oldest input, taken out (callers take only from a ring that is not empty).
        func removeFirst() -> InOrder {
            let e = (slots + head).move()
            head = (head + 1) & (capacity - 1)
            count -= 1
            return e
        }

        private func grow() {
            let grown = UnsafeMutablePointer<InOrder>.allocate(capacity: capacity * 2)
            for i in 0..<count { (grown + i).moveInitialize(from: slots + ((head + i) & (capacity - 1)), count: 1) }
            slots.deallocate()
            slots = grown
            capacity *= 2
            head = 0
        }
    }
    /// Recorded inputs, oldest first, in a ring of plain records with each one's key and
    /// value bytes in a fixed slot beside its record: no allocation per input once the ring
    /// has grown.
    final class RecordRing {
        /// The most bytes a slot holds, key and value together (inputs with longer ones are
        /// queued as `QueuedInput`s).
        static let maxBytes = 192
        /// What a recorded input counts toward `DetectorOptions.maxQueuedBytes`, besides its
        /// evidence.
        static let estimatedBytes = 64 + maxBytes

        struct Record {
            let seq: Int
            let input: RecordedInput
            let keyCount: Int32
            /// -1: no value (not a value_count input, or the event had none).
            let valueCount: Int32
        }

        private var records: UnsafeMutablePointer<Record>
        private var bytes: UnsafeMutablePointer<UInt8>
        private var capacity = 16
        private var head = 0
        private(set) var count = 0

        init() {
            records = .allocate(capacity: capacity)
            bytes = .allocate(capacity: capacity * Self.maxBytes)
        }

        deinit {
            for i in 0..<count { (records + ((head + i) & (capacity - 1))).deinitialize(count: 1) }
            records.deallocate()
            bytes.deallocate()
        }

        var firstTime: Int64? { count > 0 ? records[head].input.time : nil }
        var firstSeq: Int { records[head].seq }  // Safe: asked only when `firstTime` is not nil.
        var lastTime: Int64? { count > 0 ? records[(head + count - 1) & (capacity - 1)].input.time : nil }

        func append(seq: Int, input: RecordedInput, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>?) {
            let valueCount = value?.count ?? 0
            precondition(key.count + valueCount <= Self.maxBytes, "a recorded input's bytes longer than its slot")
            if count == capacity { grow() }
            let at = (head + count) & (capacity - 1)
            (records + at).initialize(
                to: Record(seq: seq, input: input, keyCount: Int32(key.count), valueCount: value == nil ? -1 : Int32(valueCount)))
            let slot = bytes + at * Self.maxBytes
            if let from = key.baseAddress, !key.isEmpty { slot.update(from: from, count: key.count) }
            if let value, let from = value.baseAddress, !value.isEmpty { (slot + key.count).update(from: from, count: valueCount) }
            count += 1
        }

        /// Takes the oldest record out (of a ring that is not empty), giving it and its key's
        /// and value's bytes to `body` first (valid only during the call).
        func removeFirst(_ body: (Record, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>?) -> Void) {
            let record = (records + head).move()
            let slot = bytes + head * Self.maxBytes
            let keyCount = Int(record.keyCount)
            head = (head + 1) & (capacity - 1)
            count -= 1
            body(
                record, UnsafeBufferPointer(start: slot, count: keyCount),
                record.valueCount < 0 ? nil : UnsafeBufferPointer(start: slot + keyCount, count: Int(record.valueCount)))
        }

        private func grow() {
            let grownRecords = UnsafeMutablePointer<Record>.allocate(capacity: capacity * 2)
            let grownBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2 * Self.maxBytes)
            for i in 0..<count {
                let at = (head + i) & (capacity - 1)
                (grownRecords + i).moveInitialize(from: records + at, count: 1)
                let used = Int(grownRecords[i].keyCount) + max(0, Int(grownRecords[i].valueCount))
                (grownBytes + i * Self.maxBytes).update(from: bytes + at * Self.maxBytes, count: used)
            }
            records.deallocate()
            bytes.deallocate()
            records = grownRecords
            bytes = grownBytes
            capacity *= 2
            head = 0
        }
    }

    /// Constants, so that calls on them need not retain them (through a variable each call
    /// retained the ring and released it after: an atomic pair per input queued and applied).
    private let fifo = InOrderRing()
    private let recorded = RecordRing()
    private var heap: [(time: Int64, seq: Int, slot: Int32, bytes: Int)] = []
    private var items: [QueuedInput?] = []
    private var freeSlots: [Int32] = []
    private var seq = 0
    /// Estimated bytes of the queued inputs' evidence.
    private(set) var bytes = 0

    var peekTime: Int64? {
        var time = fifo.firstTime
        if let top = heap.first, time == nil || top.time < time! { time = top.time }
        if let first = recorded.firstTime, time == nil || first < time! { time = first }
        return time
    }

    var count: Int { fifo.count + heap.count + recorded.count }

    /// Whether an input of this time is applied after every input queued in order (in the
    /// FIFO or recorded) so far: only such inputs may hold their event in the detector's
    /// ring, which is released in the order it was filled, or be recorded.
    func takesInOrder(_ time: Int64) -> Bool {
        if let last = fifo.lastTime, time < last { return false }
        if let last = recorded.lastTime, time < last { return false }
        return true
    }

    /// Whether the next to apply (of a queue that is not empty) is a recorded input: the
    /// earliest head by time, then by arrival.
    var nextIsRecorded: Bool {
        guard let first = recorded.firstTime else { return false }
        let next = (first, recorded.firstSeq)
        if let time = fifo.firstTime, (time, fifo.firstSeq) < next { return false }
        if let top = heap.first, (top.time, top.seq) < next { return false }
        return true
    }

    /// What a recorded input counts toward the queue's bytes.
    private static func cost(_ input: RecordedInput) -> Int { RecordRing.estimatedBytes + (input.evidence?.estimatedBytes ?? 0) }

    /// Queues a recorded input (of a time `takesInOrder`) with its key's and value's bytes
    /// (at most `RecordRing.maxBytes` together).
    mutating func pushRecorded(_ input: RecordedInput, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>?) {
        seq += 1
        bytes += Self.cost(input)
        recorded.append(seq: seq, input: input, key: key, value: value)
    }

    /// Takes the oldest recorded input out (`nextIsRecorded`), giving it and its key's and
    /// value's bytes to `body` first.
    mutating func popRecorded(_ body: (RecordedInput, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>?) -> Void) {
        var cost = 0
        recorded.removeFirst { record, key, value in
            cost = Self.cost(record.input)
            body(record.input, key, value)
        }
        bytes -= cost
    }

    mutating func push(_ item: consuming QueuedInput) {
        seq += 1
        let cost = item.estimatedBytes
        bytes += cost
        let time = item.input.time
        if let last = fifo.lastTime, time < last {
            pushHeap(item, time: time, cost: cost)
        } else {
            fifo.append(InOrder(seq: seq, bytes: cost, item: item))
        }
    }

    private mutating func pushHeap(_ item: consuming QueuedInput, time: Int64, cost: Int) {
        precondition(item.held == nil, "an input held in the evidence ring must be applied in order")
        let slot = storeInFreeSlot(item, in: &items, free: &freeSlots)
        heap.append((time, seq, slot, cost))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The next input of a queue whose next is not a recorded input. Not optional: each
    /// input taken out as an optional was destroyed as one after it was applied, through the
    /// runtime's generic witness (two percent of detection time on the 1 GiB corpus).
    mutating func popFirst() -> QueuedInput {
        if let time = fifo.firstTime, heap.isEmpty || (time, fifo.firstSeq) < (heap[0].time, heap[0].seq) {
            let head = fifo.removeFirst()
            bytes -= head.bytes
            return head.item
        }
        return popHeap()
    }

    private mutating func popHeap() -> QueuedInput {
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        freeSlots.append(top.slot)
        bytes -= top.bytes
        return items[Int(top.slot)].take()!  // Safe: a slot in the heap holds its input.
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        (heap[a].time, heap[a].seq) < (heap[b].time, heap[b].seq)
    }
}
