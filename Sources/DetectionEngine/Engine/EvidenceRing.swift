import AuditModel

/// The bytes of matched events whose evidence may never be needed, held until the
/// correlation inputs that carry them are applied.
///
/// A later step of a temporal_ordered correlation (step 2 of "refusals, then an allowed
/// sensitive request") extends a sequence only when its group already holds the steps
/// before; most such inputs find none and are dropped when applied. They cannot be dropped
/// when the event is judged: an earlier step may still arrive within the lateness. Copying
/// each one's event into evidence of its own, to be freed a few seconds later, was a third of
/// what correlation inputs cost (a fresh allocation written through per matched event). Here
/// the event is appended to one ring, and its evidence is made only if the input is kept.
///
/// Held inputs wait in the lateness queue's in-order part, which is applied in the order it
/// was filled, so the ring is released from its oldest end: applying a held input releases
/// everything before it. The ring grows (doubling; it never shrinks) when what is held does
/// not fit. What it spans is bounded by the queue's own bound: `DetectorOptions.maxQueuedBytes`
/// counts each held input's event with 64 bytes more (the alignment padding), so the span
/// is at most that bound plus the event applied last and one gap at the ring's end, and the
/// ring at most twice that.
final class EvidenceRing {
    /// An event's bytes in the ring, with what its evidence holds besides them.
    struct Held {
        /// Absolute position of the first byte (positions only grow).
        let start: Int
        let count: Int
        let layout: Evidence.Layout
        let time: Int64

        /// What the evidence would cost kept (`Evidence.estimatedBytes`).
        var estimatedBytes: Int { Evidence.cost(raw: count, auditID: 0, stage: layout.stage?.rawValue.utf8.count ?? 0) }
    }

    private var buffer: UnsafeMutablePointer<UInt8>
    /// A power of two, at least 64.
    private var capacity: Int
    /// Position after the newest byte held.
    private var head = 0
    /// Position of the oldest byte that may still be needed.
    private var tail = 0

    init(capacity: Int = 1 << 16) {
        var size = 64
        while size < capacity { size *= 2 }
        self.capacity = size
        buffer = LargeTableMemory.allocate(UInt8.self, count: size)
    }

    deinit { buffer.deallocate() }

    /// Bytes the ring spans from its oldest needed byte, and the bytes it has (for tests).
    var heldBytes: Int { head - tail }
    var capacityBytes: Int { capacity }

    /// Appends `bytes`, returning where they start: at a cache line, and never across the
    /// ring's end (the bytes before it are skipped), so each event is read back in one piece.
    /// (Streaming stores, which bypass the cache, were no faster: 532 against 527 ns per event.)
    func hold(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var start = place(bytes.count)
        while start + bytes.count - tail > capacity {
            grow(to: start + bytes.count - tail)
            start = place(bytes.count)
        }
        if let source = bytes.baseAddress, !bytes.isEmpty {
            (buffer + (start & (capacity - 1))).update(from: source, count: bytes.count)
        }
        head = start + bytes.count
        return start
    }

    /// Where `count` bytes would go: the next cache line, or the ring's start when they would
    /// cross its end.
    private func place(_ count: Int) -> Int {
        let start = (head + 63) & ~63
        return (start & (capacity - 1)) + count > capacity ? (start + capacity) & ~(capacity - 1) : start
    }

    /// Everything before `position` is no longer needed.
    func release(before position: Int) {
        if position > tail { tail = min(position, head) }
    }

    /// The held event as evidence of its own (its bytes copied out).
    func evidence(_ held: Held) -> Evidence {
        precondition(held.start >= tail && held.start + held.count <= head, "evidence released from the ring")
        let raw = Array(UnsafeBufferPointer(start: buffer + (held.start & (capacity - 1)), count: held.count))
        return Evidence(raw: raw, layout: held.layout, time: held.time)
    }

    /// Reallocates to hold at least `needed` bytes from `tail`, keeping each held event at
    /// its position (and in one piece: a larger power of two splits none).
    private func grow(to needed: Int) {
        var size = capacity * 2
        while size < needed + 64 { size *= 2 }
        let old = buffer
        let oldCapacity = capacity
        buffer = LargeTableMemory.allocate(UInt8.self, count: size)
        capacity = size
        // Copied a piece of the old ring at a time (each ends at its end or at `head`); a
        // piece lies within one multiple of the old size, so within one of the new.
        var p = tail
        while p < head {
            let at = p & (oldCapacity - 1)
            let n = min(head - p, oldCapacity - at)
            (buffer + (p & (size - 1))).update(from: old + at, count: n)
            p += n
        }
        old.deallocate()
    }
}
