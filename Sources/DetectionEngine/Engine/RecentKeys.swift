import CAuditSIMD

/// A bounded table of recently seen 64-bit keys, each with a 32-bit payload, forgotten by
/// age: a key inserted before the table's horizon (in event time) is gone, and when the
/// table is full a new key takes the place of the oldest of the keys it could go to
/// (counted in `evicted`).
///
/// Every event inserts a key, and a busy stream keeps hundreds of thousands, so the table is
/// larger than the caches and each memory access it makes is a likely cache miss. It is
/// built for as few of them as possible:
/// - Set-associative with two choices: a key may sit in any of the four 16-byte slots of
///   two 64-byte buckets (one cache line each). A lookup or an insert reads those two lines
///   and nothing else, and `prefetch` can ask for both while the caller works.
/// - Forgetting costs nothing per key: each slot keeps the time its key came, and keys
///   before the horizon count as absent (`forget(before:)` only moves the horizon); their
///   slots are reused by later inserts. There is no queue of keys to walk.
/// - Eviction is local: a new key goes to the emptier of its buckets, and a key whose eight
///   slots all hold live keys replaces the oldest of them. The table has two slots per key
///   of `capacity`: placed this way, keys first find both buckets full at about half of the
///   slots (a simulation of 262,144 buckets: first at 50%, 1% of inserts at 80%). So up to
///   `capacity` live keys are kept; beyond it, more and more new keys each replace the
///   oldest of their eight, which is close to the oldest overall.
///
/// Times are kept at about a millisecond's precision (microseconds >> 10, in a range of ±24
/// days around the first time seen, moved on when a later time falls past it; earlier times
/// count as before any horizon): the horizon and the oldest key are judged to that
/// precision. The table starts at `initialSlots` (32,768 by default) and doubles (to at most
/// two slots per key of `capacity`) when a key finds its buckets full, so a table that is
/// rarely written keeps a small footprint; a full table for the detector's 262,144 keys is
/// 8 MiB (the detector's duplicate table, written at every event, starts at that size).
final class RecentKeys {
    private struct Slot {
        var key: UInt64
        var payload: UInt32
        /// When the key came (`stamp(_:)`); 0 for a slot never used.
        var stamp: UInt32
    }

    static let ways = 4
    private var slots: UnsafeMutablePointer<Slot>
    private var bucketCount: Int
    private let maxBuckets: Int
    /// Keys the table is sized for: it has two slots for each, so it rarely forgets a key
    /// early before it holds this many (see the type's description).
    let capacity: Int
    /// Live keys replaced because the table was full rather than because they aged out.
    private(set) var evicted = 0
    /// Stamps below this are before the horizon (forgotten); never 0.
    private var horizon: UInt32 = 1
    /// The newest stamp inserted (0 before any).
    private var newest: UInt32 = 0
    /// Ticks (microseconds >> 10) at stamp 0, set at the first time seen.
    private var base: Int64?
    /// The newest tick `forget(before:)` has moved the horizon to (or found it past).
    private var forgottenTicks = Int64.min

    init(capacity: Int, initialSlots: Int = 32_768) {
        self.capacity = max(capacity, 16)
        maxBuckets = (2 * self.capacity + Self.ways - 1) / Self.ways
        bucketCount = min(maxBuckets, max(initialSlots, Self.ways) / Self.ways)
        slots = Self.allocateSlots(buckets: bucketCount)
    }

    private static let empty = Slot(key: 0, payload: 0, stamp: 0)

    deinit { slots.deallocate() }

    private static func allocateSlots(buckets: Int) -> UnsafeMutablePointer<Slot> {
        let p = LargeTableMemory.allocate(Slot.self, count: buckets * ways)
        p.initialize(repeating: empty, count: buckets * ways)
        return p
    }

    /// Whether any key inserted may still be live: false lets a caller skip a lookup.
    var mayHoldKeys: Bool { newest >= horizon }

    /// Live keys (a walk over the whole table: for tests and reports, not per event).
    var count: Int {
        var n = 0
        for i in 0..<slotCount where slots[i].stamp >= horizon { n += 1 }
        return n
    }

    /// Slots the table has now (it grows up to `capacity`).
    var slotCount: Int { bucketCount * Self.ways }

    /// A time as a stamp: 1 ... UInt32.max, ordered as the times are. Times before the range
    /// are 1 (before any horizon); a time past it moves the range on (`rebase`).
    @inline(__always)
    private func stamp(_ time: Int64) -> UInt32 {
        // Inline for the usual time inside the range; the rest out of line (the recursion
        // through `rebase` kept the whole function out of line, a call per insert).
        if let origin = base {
            let (relative, overflow) = (time >> 10).subtractingReportingOverflow(origin)
            if !overflow && relative <= Int64(UInt32.max) { return UInt32(truncatingIfNeeded: max(relative, 1)) }
        }
        return stampOutOfRange(time)
    }

    /// `stamp` for the first time seen, and for a time before or past the range.
    @inline(never)
    private func stampOutOfRange(_ time: Int64) -> UInt32 {
        let ticks = time >> 10
        guard let origin = base else {
            base = ticks &- (1 << 31)
            return 1 << 31
        }
        if ticks < origin { return 1 }
        rebase(to: ticks)
        return stamp(time)
    }

    /// Moves the range of stamps on so that `ticks` falls in its middle: every stamp drops by
    /// the shift, and keys that fall below the range are gone. A walk over the table, once
    /// per 24 days of event time (or per forward jump of more than that).
    private func rebase(to ticks: Int64) {
        let newBase = ticks &- (1 << 31)
        let shift = newBase.subtractingReportingOverflow(base ?? newBase)
        @inline(__always) func moved(_ s: UInt32) -> UInt32 {
            guard s != 0, !shift.overflow, shift.partialValue < Int64(s) else { return 0 }
            return UInt32(Int64(s) - shift.partialValue)
        }
        for i in 0..<slotCount { slots[i].stamp = moved(slots[i].stamp) }
        horizon = max(moved(horizon), 1)
        newest = moved(newest)
        base = newBase
    }

    /// The two buckets of `key` (their first slots).
    @inline(__always)
    private func buckets(_ key: UInt64) -> (Int, Int) { Self.buckets(key, of: bucketCount) }

    /// The two buckets of `key` in a table of `bucketCount` buckets (their first slots).
    @inline(__always)
    fileprivate static func buckets(_ key: UInt64, of bucketCount: Int) -> (Int, Int) {
        let n = UInt64(bucketCount)
        let a = (key &* 0x9E37_79B9_7F4A_7C15).multipliedFullWidth(by: n).high
        let b = (ByteHasher.mix(key) | 1).multipliedFullWidth(by: n).high
        return (Int(truncatingIfNeeded: a) * Self.ways, Int(truncatingIfNeeded: b) * Self.ways)
    }

    /// Asks the processor to fetch `key`'s two buckets now; a later lookup finds them in cache.
    @inline(__always)
    func prefetch(_ key: UInt64) { prefetcher.prefetch(key) }

    /// Where the table's buckets are now, for asking for a key's buckets from outside the
    /// table (the judge, per event) without reaching the table object: valid until the
    /// table next grows, so its holder takes a fresh one before each run of judging.
    var prefetcher: Prefetcher { Prefetcher(slots: UnsafeRawPointer(slots), bucketCount: bucketCount) }

    struct Prefetcher {
        fileprivate let slots: UnsafeRawPointer?
        fileprivate let bucketCount: Int

        /// Asks for nothing (a judge with no table to warm).
        static var none: Prefetcher { Prefetcher(slots: nil, bucketCount: 0) }

        @inline(__always)
        func prefetch(_ key: UInt64) {
            guard let slots else { return }
            let (a, b) = RecentKeys.buckets(key, of: bucketCount)
            kaudit_prefetch(slots + a * MemoryLayout<Slot>.stride)
            kaudit_prefetch(slots + b * MemoryLayout<Slot>.stride)
        }
    }

    /// What one pass over a key's eight slots found: the slot holding it live (-1: none),
    /// and the free slots of each bucket (how many, and one of them).
    private struct Scan {
        var found = -1
        var freeA = -1
        var freeB = -1
        var countA = 0
        var countB = 0
    }

    /// One pass over `key`'s buckets for both a lookup and the insert that may follow (two
    /// passes, one to find and one to place, were a third of an insert's instructions).
    @inline(__always)
    private func scan(_ key: UInt64, _ a: Int, _ b: Int) -> Scan {
        var s = Scan()
        for k in 0..<Self.ways {
            let x = slots[a + k]
            if x.stamp >= horizon {
                if x.key == key { s.found = a + k }
            } else {
                (s.countA, s.freeA) = (s.countA + 1, a + k)
            }
            let y = slots[b + k]
            if y.stamp >= horizon {
                if y.key == key { s.found = b + k }
            } else {
                (s.countB, s.freeB) = (s.countB + 1, b + k)
            }
        }
        return s
    }

    /// The payload stored for `key`, if it is in the table.
    func payload(_ key: UInt64) -> UInt32? {
        let (a, b) = buckets(key)
        let s = scan(key, a, b)
        return s.found >= 0 ? slots[s.found].payload : nil
    }

    /// The payload stored for `key` if it is present; otherwise inserts it with `payload` and
    /// returns nil. One pair of bucket reads for the common "look up, then remember" step.
    func payloadOrInsert(_ key: UInt64, payload: UInt32, time: Int64) -> UInt32? {
        let (a, b) = buckets(key)
        let s = scan(key, a, b)
        if s.found >= 0 { return slots[s.found].payload }
        place(Slot(key: key, payload: payload, stamp: stamp(time)), s, a, b)
        return nil
    }

    /// Inserts `key` (or updates its payload when present, keeping its time).
    func insert(_ key: UInt64, payload: UInt32, time: Int64) {
        let (a, b) = buckets(key)
        let s = scan(key, a, b)
        if s.found >= 0 {
            slots[s.found].payload = payload
        } else {
            place(Slot(key: key, payload: payload, stamp: stamp(time)), s, a, b)
        }
    }

    /// Stores a new key in a free (never used or forgotten) slot of the emptier of its two
    /// buckets, as `scan` found them; when all eight slots hold live keys, grows the table, or
    /// at its full size replaces the oldest of them (counted).
    @inline(__always)
    private func place(_ new: Slot, _ s: Scan, _ a: Int, _ b: Int) {
        if new.stamp > newest { newest = new.stamp }
        if s.countA + s.countB > 0 {
            slots[s.countA >= s.countB ? s.freeA : s.freeB] = new
        } else {
            addToFullBuckets(new, a, b)
        }
    }

    /// `place` for a key whose buckets have not been scanned (moving keys into a grown table).
    private func add(_ key: UInt64, payload: UInt32, stamp: UInt32, _ a: Int, _ b: Int) {
        place(Slot(key: key, payload: payload, stamp: stamp), scan(key, a, b), a, b)
    }

    /// `add` when all eight slots hold live keys: the table grows, or at its full size the
    /// oldest of them goes. Out of line: inlined, its preparations (the key's buckets in a
    /// doubled table, the slots' stamps kept for the search) ran on every insert.
    @inline(never)
    private func addToFullBuckets(_ new: Slot, _ a: Int, _ b: Int) {
        if bucketCount < maxBuckets {
            grow()
            let (a, b) = buckets(new.key)
            add(new.key, payload: new.payload, stamp: new.stamp, a, b)
            return
        }
        var oldest = a
        for k in 0..<2 * Self.ways {
            let i = k < Self.ways ? a + k : b + k - Self.ways
            if slots[i].stamp < slots[oldest].stamp { oldest = i }
        }
        evicted += 1
        slots[oldest] = new
    }

    /// Forgets keys inserted before `time` (to the table's precision).
    ///
    /// Called for every event with the clock, which moves by less than a tick between most
    /// events: a time in the tick last forgotten before (or earlier) changes nothing.
    @inline(__always)
    func forget(before time: Int64) {
        let ticks = time >> 10
        guard ticks > forgottenTicks, base != nil else { return }
        forgottenTicks = ticks
        let s = stamp(time)
        if s > horizon { horizon = s }
    }

    /// Forgets everything.
    func removeAll() {
        slots.update(repeating: Self.empty, count: slotCount)
        newest = 0
    }

    /// Doubles the buckets (up to `maxBuckets`) and moves the live keys over (`add`, which may
    /// grow the table again before they are all in).
    ///
    /// The keys land at random in a table larger than the caches, so before it places a key
    /// it asks for the buckets of the key `rehashAhead` slots further on: without, every key
    /// waited for its buckets, and the growth of the duplicate table was 5% of detection on
    /// the 1 GiB corpus.
    private func grow() {
        let old = slots
        let oldSlots = slotCount
        bucketCount = min(bucketCount * 2, maxBuckets)
        slots = Self.allocateSlots(buckets: bucketCount)
        for j in 0..<oldSlots {
            let next = j &+ Self.rehashAhead
            // Through the table as it is now (`add` may have grown it again).
            if next < oldSlots, old[next].stamp >= horizon { prefetcher.prefetch(old[next].key) }
            guard old[j].stamp >= horizon else { continue }
            let (a, b) = buckets(old[j].key)
            add(old[j].key, payload: old[j].payload, stamp: old[j].stamp, a, b)
        }
        old.deallocate()
    }

    /// How many slots ahead `grow` asks for the buckets of the keys it moves.
    private static let rehashAhead = 16
}

/// Moves the occupied cells of an open-addressing table (linear probing, power-of-two size)
/// into a new table twice as large, frees the old one, and returns the new one with its mask.
/// `home` is where a cell's probe starts in a table of the given mask. The memo, interner and
/// event-class tables double this way (in `LargeTableMemory`, cache-line aligned).
@inline(__always)
func doubledTable<Cell>(
    _ old: UnsafeMutablePointer<Cell>, mask: Int, empty: Cell, isOccupied: (Cell) -> Bool, home: (Cell, Int) -> Int
) -> (cells: UnsafeMutablePointer<Cell>, mask: Int) {
    let capacity = (mask + 1) * 2
    let cells = LargeTableMemory.allocate(Cell.self, count: capacity)
    cells.initialize(repeating: empty, count: capacity)
    let newMask = capacity - 1
    for j in 0...mask where isOccupied(old[j]) {
        var i = home(old[j], newMask)
        while isOccupied(cells[i]) { i = (i + 1) & newMask }
        cells[i] = old[j]
    }
    old.deallocate()
    return (cells, newMask)
}

/// Hashing for table keys and event fingerprints (`fastHash` and a multiply-xorshift mix),
/// not for anything adversarial beyond collisions being counted as different events.
enum ByteHasher {
    /// The seed of request keys (`fastHash` of the audit ID).
    static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A 64-bit hash of bytes, 16 at a time through a 128-bit multiply (short dependency
/// chains). Not a cryptographic hash: the verdict memo confirms equal hashes by comparing
/// bytes, and `ByteHasher`'s users accept collisions as described there.
@inlinable @inline(__always)
public func fastHash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
    let k1: UInt64 = 0xA076_1D64_78BD_642F
    let k2: UInt64 = 0xE703_7ED1_A0B4_28DB
    let n = bytes.count
    var h = seed ^ foldedMultiply(UInt64(n) ^ k1, k2)
    guard let p = bytes.baseAddress, n > 0 else { return h }
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 16 <= n {
        h = foldedMultiply(
            raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1, raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ h)
        i += 16
    }
    if i < n {
        // The last 16 bytes, overlapping what was hashed (no byte outside the buffer), or all
        // of a shorter value.
        let (a, b) = n >= 16 ? coveringWords(p + (n - 16), 16) : coveringWords(p, n)
        h = foldedMultiply(a ^ k2, b ^ h)
    }
    return foldedMultiply(h ^ k1, k2 ^ UInt64(n))
}

/// The 128-bit product of `a` and `b`, its halves xored: the mixing step of `fastHash`.
@usableFromInline @inline(__always)
func foldedMultiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let r = a.multipliedFullWidth(by: b)
    return r.high ^ r.low
}

/// Two words that together hold every one of the `n` bytes at `p` (1 to 16; with the length,
/// they determine the bytes), read with loads that may overlap but never leave the bytes:
/// the first and last eight, the first and last four, or first, middle and last byte.
@usableFromInline @inline(__always)
func coveringWords(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64) {
    let raw = UnsafeRawPointer(p)
    if n >= 8 {
        return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
    }
    if n >= 4 {
        return (UInt64(raw.loadUnaligned(as: UInt32.self)), UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
    }
    return (UInt64(p[0]) << 16 | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1]), 0)
}
