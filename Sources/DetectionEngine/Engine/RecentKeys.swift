import CAuditSIMD

/// A bounded table of recently seen 64-bit keys, each with a 32-bit payload, forgotten by
/// age: a key inserted before the table's horizon (in event time) is gone, and when the
/// table is full a new key takes the place of the oldest of the keys it could go to
/// (counted in `evicted`).
///
/// Every event inserts a key, and a busy stream keeps hundreds of thousands, so the table is
/// larger than the caches and each memory access it makes is a likely cache miss. It is
/// built for as few of them as possible:
/// - Set-associative with two choices: a key may sit in any of the four slots of two
///   64-byte buckets (one cache line each). A lookup or an insert reads those two lines
///   and nothing else, and `prefetch` can ask for both while the caller works.
/// - A bucket keeps its four keys together, then their payloads, then their stamps, so one
///   pass of vector compares (`kaudit_recent_bucket`) says which slot holds the key and
///   which are free, with no branch per slot: looked at slot by slot, whether each was live
///   and whose it was were branches the processor could not predict.
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
    /// One cache line: four slots' keys, payloads and stamps (when the key came, `stamp(_:)`;
    /// 0 for a slot never used), each kind together (see `kaudit_recent_bucket`).
    private struct Bucket {
        var keys: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var payloads: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        var stamps: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    }

    static let ways = 4
    private static let bucketBytes = 64
    private static let payloadOffset = 32
    private static let stampOffset = 48
    private var table: UnsafeMutablePointer<Bucket>
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
        assert(
            MemoryLayout<Bucket>.stride == Self.bucketBytes && MemoryLayout<Bucket>.offset(of: \.payloads) == Self.payloadOffset
                && MemoryLayout<Bucket>.offset(of: \.stamps) == Self.stampOffset,
            "a bucket is one cache line laid out as kaudit_recent_bucket reads it")
        self.capacity = max(capacity, 16)
        maxBuckets = (2 * self.capacity + Self.ways - 1) / Self.ways
        bucketCount = min(maxBuckets, max(initialSlots, Self.ways) / Self.ways)
        table = Self.allocateBuckets(bucketCount)
    }

    deinit { table.deallocate() }

    private static func allocateBuckets(_ count: Int) -> UnsafeMutablePointer<Bucket> {
        let p = LargeTableMemory.allocate(Bucket.self, count: count)
        p.initialize(repeating: Bucket(), count: count)
        return p
    }

    // A slot is its bucket times `ways` plus its place in the bucket (0 ... 3).

    /// Slot `slot`'s key, payload or stamp (the kind at `offset` in its bucket) in `table`.
    @inline(__always)
    private static func field<T>(_ table: UnsafeMutablePointer<Bucket>, _ slot: Int, _ offset: Int, _: T.Type) -> UnsafeMutablePointer<T> {
        (UnsafeMutableRawPointer(table) + ((slot >> 2) &* bucketBytes &+ offset &+ (slot & 3) &* MemoryLayout<T>.size))
            .assumingMemoryBound(to: T.self)
    }

    @inline(__always) private func key(at slot: Int) -> UnsafeMutablePointer<UInt64> { Self.field(table, slot, 0, UInt64.self) }
    @inline(__always) private func payload(at slot: Int) -> UnsafeMutablePointer<UInt32> {
        Self.field(table, slot, Self.payloadOffset, UInt32.self)
    }
    @inline(__always) private func stamp(at slot: Int) -> UnsafeMutablePointer<UInt32> {
        Self.field(table, slot, Self.stampOffset, UInt32.self)
    }

    /// Whether any key inserted may still be live: false lets a caller skip a lookup.
    var mayHoldKeys: Bool { newest >= horizon }

    /// Live keys (a walk over the whole table: for tests and reports, not per event).
    var count: Int {
        var n = 0
        for i in 0..<slotCount where stamp(at: i).pointee >= horizon { n += 1 }
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
        for i in 0..<slotCount { stamp(at: i).pointee = moved(stamp(at: i).pointee) }
        horizon = max(moved(horizon), 1)
        newest = moved(newest)
        base = newBase
    }

    /// The two buckets of `key`.
    @inline(__always)
    private func buckets(_ key: UInt64) -> (Int, Int) { Self.buckets(key, of: bucketCount) }

    /// The two buckets of `key` in a table of `bucketCount` buckets.
    @inline(__always)
    fileprivate static func buckets(_ key: UInt64, of bucketCount: Int) -> (Int, Int) {
        let n = UInt64(bucketCount)
        let a = (key &* 0x9E37_79B9_7F4A_7C15).multipliedFullWidth(by: n).high
        let b = (ByteHasher.mix(key) | 1).multipliedFullWidth(by: n).high
        return (Int(truncatingIfNeeded: a), Int(truncatingIfNeeded: b))
    }

    /// Asks the processor to fetch `key`'s two buckets now; a later lookup finds them in cache.
    @inline(__always)
    func prefetch(_ key: UInt64) { prefetcher.prefetch(key) }

    /// Where the table's buckets are now, for asking for a key's buckets from outside the
    /// table (the judge, per event) without reaching the table object: valid until the
    /// table next grows, so its holder takes a fresh one before each run of judging.
    var prefetcher: Prefetcher { Prefetcher(table: UnsafeRawPointer(table), bucketCount: bucketCount) }

    struct Prefetcher {
        fileprivate let table: UnsafeRawPointer?
        fileprivate let bucketCount: Int

        /// Asks for nothing (a judge with no table to warm).
        static var none: Prefetcher { Prefetcher(table: nil, bucketCount: 0) }

        @inline(__always)
        func prefetch(_ key: UInt64) {
            guard let table else { return }
            let (a, b) = RecentKeys.buckets(key, of: bucketCount)
            kaudit_prefetch(table + a &* RecentKeys.bucketBytes)
            kaudit_prefetch(table + b &* RecentKeys.bucketBytes)
        }
    }

    /// What one pass over a key's two buckets found (`kaudit_recent_bucket` of each): bits
    /// 0-3 the live slots of bucket `a` holding the key, 4-7 of bucket `b`; bits 8-11 the
    /// free slots of `a`, 12-15 of `b`. For both a lookup and the insert that may follow.
    private struct Scan {
        let bits: UInt32
        let a: Int
        let b: Int

        /// The slot holding the key live (-1: none).
        var found: Int {
            let m = bits & 0xFF
            guard m != 0 else { return -1 }
            let k = m.trailingZeroBitCount
            return k < 4 ? a &* RecentKeys.ways &+ k : b &* RecentKeys.ways &+ (k &- 4)
        }

        /// A free slot of the emptier bucket (`a` on a tie), or -1 when all eight are live.
        var free: Int {
            let freeA = bits >> 8 & 0xF
            let freeB = bits >> 12 & 0xF
            guard freeA | freeB != 0 else { return -1 }
            return freeA.nonzeroBitCount >= freeB.nonzeroBitCount
                ? a &* RecentKeys.ways &+ freeA.trailingZeroBitCount : b &* RecentKeys.ways &+ freeB.trailingZeroBitCount
        }
    }

    @inline(__always)
    private func scan(_ key: UInt64, _ a: Int, _ b: Int) -> Scan {
        let raw = UnsafeRawPointer(table)
        let bits =
            kaudit_recent_bucket(raw + a &* Self.bucketBytes, key, horizon)
            | kaudit_recent_bucket(raw + b &* Self.bucketBytes, key, horizon) << 4
        return Scan(bits: bits, a: a, b: b)
    }

    /// The payload stored for `key`, if it is in the table.
    func payload(_ key: UInt64) -> UInt32? {
        let (a, b) = buckets(key)
        let found = scan(key, a, b).found
        return found >= 0 ? payload(at: found).pointee : nil
    }

    /// The payload stored for `key` if it is present; otherwise inserts it with `payload` and
    /// returns nil. One pair of bucket reads for the common "look up, then remember" step.
    func payloadOrInsert(_ key: UInt64, payload: UInt32, time: Int64) -> UInt32? {
        let (a, b) = buckets(key)
        let s = scan(key, a, b)
        let found = s.found
        if found >= 0 { return self.payload(at: found).pointee }
        place(key, payload: payload, stamp: stamp(time), s)
        return nil
    }

    /// Inserts `key` (or updates its payload when present, keeping its time).
    func insert(_ key: UInt64, payload: UInt32, time: Int64) {
        let (a, b) = buckets(key)
        let s = scan(key, a, b)
        let found = s.found
        if found >= 0 {
            self.payload(at: found).pointee = payload
        } else {
            place(key, payload: payload, stamp: stamp(time), s)
        }
    }

    /// Stores a new key in a free (never used or forgotten) slot of the emptier of its two
    /// buckets, as `scan` found them; when all eight slots hold live keys, grows the table, or
    /// at its full size replaces the oldest of them (counted).
    @inline(__always)
    private func place(_ key: UInt64, payload: UInt32, stamp: UInt32, _ s: Scan) {
        if stamp > newest { newest = stamp }
        let free = s.free
        if free >= 0 {
            write(free, key: key, payload: payload, stamp: stamp)
        } else {
            addToFullBuckets(key, payload: payload, stamp: stamp, s.a, s.b)
        }
    }

    @inline(__always)
    private func write(_ slot: Int, key: UInt64, payload: UInt32, stamp: UInt32) {
        self.key(at: slot).pointee = key
        self.payload(at: slot).pointee = payload
        self.stamp(at: slot).pointee = stamp
    }

    /// `place` for a key whose buckets have not been scanned (moving keys into a grown table).
    private func add(_ key: UInt64, payload: UInt32, stamp: UInt32) {
        let (a, b) = buckets(key)
        place(key, payload: payload, stamp: stamp, scan(key, a, b))
    }

    /// `add` when all eight slots hold live keys: the table grows, or at its full size the
    /// oldest of them goes. Out of line: inlined, its preparations (the key's buckets in a
    /// doubled table, the slots' stamps kept for the search) ran on every insert.
    @inline(never)
    private func addToFullBuckets(_ key: UInt64, payload: UInt32, stamp: UInt32, _ a: Int, _ b: Int) {
        if bucketCount < maxBuckets {
            grow()
            add(key, payload: payload, stamp: stamp)
            return
        }
        // The oldest of the eight, chosen by selects rather than branches (which of them is
        // oldest is as random as the keys): the long-running table is full on a busy stream,
        // and every insert into it ends here.
        var oldest = a &* Self.ways
        var oldestStamp = self.stamp(at: oldest).pointee
        for k in 1..<2 * Self.ways {
            let i = k < Self.ways ? a &* Self.ways &+ k : b &* Self.ways &+ (k &- Self.ways)
            let s = self.stamp(at: i).pointee
            let older = s < oldestStamp
            oldest = older ? i : oldest
            oldestStamp = older ? s : oldestStamp
        }
        evicted += 1
        write(oldest, key: key, payload: payload, stamp: stamp)
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
        table.update(repeating: Bucket(), count: bucketCount)
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
        let old = table
        let oldSlots = slotCount
        @inline(__always) func oldField<T>(_ slot: Int, _ offset: Int, _ type: T.Type) -> T {
            Self.field(old, slot, offset, type).pointee
        }
        bucketCount = min(bucketCount * 2, maxBuckets)
        table = Self.allocateBuckets(bucketCount)
        for j in 0..<oldSlots {
            let next = j &+ Self.rehashAhead
            // Through the table as it is now (`add` may have grown it again).
            if next < oldSlots, oldField(next, Self.stampOffset, UInt32.self) >= horizon {
                prefetcher.prefetch(oldField(next, 0, UInt64.self))
            }
            let stamp = oldField(j, Self.stampOffset, UInt32.self)
            guard stamp >= horizon else { continue }
            add(oldField(j, 0, UInt64.self), payload: oldField(j, Self.payloadOffset, UInt32.self), stamp: stamp)
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
