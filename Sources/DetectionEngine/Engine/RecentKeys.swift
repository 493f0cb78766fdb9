import CAuditSIMD

/// A bounded table of recently seen 64-bit keys, each with a 64-bit payload, forgotten
/// oldest first: when a key is older than the table's horizon (in event time), or when the
/// table is full (counted in `evicted`).
///
/// Open addressing with linear probing and backward-shift deletion, key and payload side by
/// side in one 16-byte cell (one cache line read per probe), and a FIFO ring of keys in
/// insertion order for forgetting. The ring is a power of two and grows by doubling up to
/// the capacity given; the cells are a third more than the ring (at most 75% full, any
/// size: a key's home is a multiply-high of its hash, not a mask), so a full table of the
/// detector's 262,144 keys takes 9.3 MiB rather than the 12 MiB of cells twice the ring. A
/// lookup or an insert costs a hash probe and allocates nothing once the table has reached
/// its working size. Every event inserts a key, so the table is larger than the caches:
/// `prefetch` lets the caller start the memory read early and do other work while it
/// arrives.
final class RecentKeys {
    private struct Cell {
        var key: UInt64  // 0: empty
        var payload: UInt64
    }

    private var cells: UnsafeMutablePointer<Cell>
    private var cellCount: Int
    /// Insertion order: key and the event time it was inserted at.
    private var ring: UnsafeMutablePointer<(key: UInt64, time: Int64)>
    private var ringMask: Int
    private var ringHead = 0
    private(set) var count = 0
    let capacity: Int
    /// Keys forgotten because the table was full rather than because they aged out.
    private(set) var evicted = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        // Start at a size a busy minute fills, so a stream does not pay for rehashing
        // while it warms up (under 1 MiB of cells).
        var initial = 1024
        while initial < min(self.capacity, 32_768) { initial *= 2 }
        cellCount = Self.cells(forRing: initial)
        cells = .allocate(capacity: cellCount)
        cells.initialize(repeating: Cell(key: 0, payload: 0), count: cellCount)
        ring = .allocate(capacity: initial)
        ringMask = initial - 1
    }

    deinit {
        cells.deallocate()
        ring.deallocate()
    }

    /// Cells for a ring of `n` keys: at most 75% full when the ring is.
    private static func cells(forRing n: Int) -> Int { n + n / 3 + 1 }

    /// The key 0 marks empty slots; real keys are never 0.
    @inline(__always)
    private static func normalized(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Self.home(key, cellCount) }

    /// The key's hash scaled to 0..<n (multiply-high: uniform for any n, no division).
    @inline(__always)
    private static func home(_ key: UInt64, _ n: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15).multipliedFullWidth(by: UInt64(n)).high)
    }

    @inline(__always)
    private func next(_ i: Int) -> Int { i + 1 == cellCount ? 0 : i + 1 }

    /// Asks the processor to fetch `key`'s cell now; a later lookup of it finds it in cache.
    @inline(__always)
    func prefetch(_ key: UInt64) {
        kaudit_prefetch(UnsafeRawPointer(cells + home(Self.normalized(key))))
    }

    /// Asks the processor to fetch the cell of the key `ahead` places after the oldest: in a
    /// full table (or one forgetting by time) each insert forgets about one key, so this is
    /// the cell an insert `ahead` inserts from now deletes.
    @inline(__always)
    func prefetchOldest(ahead: Int) {
        guard count > ahead else { return }
        kaudit_prefetch(UnsafeRawPointer(cells + home(ring[(ringHead + ahead) & ringMask].key)))
    }

    /// The slot holding `key` (normalized), or the empty slot where it would go.
    @inline(__always)
    private func probe(_ key: UInt64) -> (slot: Int, found: Bool) {
        var i = home(key)
        while true {
            let k = cells[i].key
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = next(i)
        }
    }

    /// The payload stored for `key`, if it is in the table.
    func payload(_ key: UInt64) -> UInt64? {
        let (i, found) = probe(Self.normalized(key))
        return found ? cells[i].payload : nil
    }

    /// The payload stored for `key` if it is present; otherwise inserts it with `payload` and
    /// returns nil. One probe for the common "look up, then remember" step.
    func payloadOrInsert(_ key: UInt64, payload: UInt64, time: Int64) -> UInt64? {
        let key = Self.normalized(key)
        let (i, found) = probe(key)
        if found { return cells[i].payload }
        add(key, payload: payload, time: time, at: i)
        return nil
    }

    /// Inserts `key` (or updates its payload when present).
    func insert(_ key: UInt64, payload: UInt64, time: Int64) {
        let key = Self.normalized(key)
        let (i, found) = probe(key)
        if found {
            cells[i].payload = payload
        } else {
            add(key, payload: payload, time: time, at: i)
        }
    }

    /// Stores a new key in the empty slot `i` found for it, making room first when full.
    private func add(_ key: UInt64, payload: UInt64, time: Int64, at i: Int) {
        guard count < capacity, count <= ringMask else {
            if count == capacity {
                evicted += 1
                removeOldest()
            } else {
                grow()
            }
            add(key, payload: payload, time: time, at: probe(key).slot)  // the slots moved
            return
        }
        cells[i] = Cell(key: key, payload: payload)
        ring[(ringHead + count) & ringMask] = (key, time)
        count += 1
    }

    /// Forgets keys inserted before `time`.
    @inline(__always)
    func forget(before time: Int64) {
        while count > 0 && ring[ringHead].time < time { removeOldest() }
    }

    /// Forgets everything.
    func removeAll() {
        while count > 0 { removeOldest() }
    }

    private func removeOldest() {
        let key = ring[ringHead].key
        ringHead = (ringHead + 1) & ringMask
        count -= 1
        remove(key)
    }

    /// Deletes `key`, shifting later members of its probe run back so lookups stay correct.
    private func remove(_ key: UInt64) {
        var i = home(key)
        while cells[i].key != key {
            if cells[i].key == 0 { return }
            i = next(i)
        }
        var hole = i
        var j = next(i)
        while cells[j].key != 0 {
            let h = home(cells[j].key)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                cells[hole] = cells[j]
                hole = j
            }
            j = next(j)
        }
        cells[hole] = Cell(key: 0, payload: 0)
    }

    /// Doubles the ring (up to a power of two at least `capacity`), keeping insertion order,
    /// and rehashes the cells into a table sized for it.
    private func grow() {
        let oldRing = ring
        let oldRingCount = ringMask + 1
        let newRing = oldRingCount * 2
        ring = .allocate(capacity: newRing)
        for n in 0..<count { ring[n] = oldRing[(ringHead + n) & ringMask] }
        oldRing.deallocate()
        ringHead = 0
        ringMask = newRing - 1

        let old = cells
        let oldCount = cellCount
        cellCount = Self.cells(forRing: newRing)
        cells = .allocate(capacity: cellCount)
        cells.initialize(repeating: Cell(key: 0, payload: 0), count: cellCount)
        for j in 0..<oldCount where old[j].key != 0 {
            var i = home(old[j].key)
            while cells[i].key != 0 { i = next(i) }
            cells[i] = old[j]
        }
        old.deallocate()
    }
}

/// Moves the occupied cells of an open-addressing table (linear probing, power-of-two size)
/// into a new table twice as large, frees the old one, and returns the new one with its mask.
/// `home` is where a cell's probe starts in a table of the given mask. The memo, interner and
/// event-class tables double this way.
@inline(__always)
func doubledTable<Cell>(
    _ old: UnsafeMutablePointer<Cell>, mask: Int, empty: Cell, isOccupied: (Cell) -> Bool, home: (Cell, Int) -> Int
) -> (cells: UnsafeMutablePointer<Cell>, mask: Int) {
    let capacity = (mask + 1) * 2
    let cells = UnsafeMutablePointer<Cell>.allocate(capacity: capacity)
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

/// A 64-bit hash of byte strings and numbers (`fastHash`, then a multiply-xorshift mix): for
/// table keys and event fingerprints, not for anything adversarial beyond collisions being
/// counted as different events.
struct ByteHasher {
    private(set) var state: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) { state = Self.mix(fastHash(bytes, seed: state)) }

    @inline(__always)
    mutating func combine(_ value: UInt64) { state = Self.mix(state ^ value) }

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
    @inline(__always) func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }
    let k1: UInt64 = 0xA076_1D64_78BD_642F
    let k2: UInt64 = 0xE703_7ED1_A0B4_28DB
    let n = bytes.count
    var h = seed ^ mum(UInt64(n) ^ k1, k2)
    guard let p = bytes.baseAddress, n > 0 else { return h }
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 16 <= n {
        h = mum(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1, raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ h)
        i += 16
    }
    if i < n {
        var a: UInt64 = 0
        var b: UInt64 = 0
        if n >= 16 {
            // The last 16 bytes, overlapping what was hashed: no byte outside the buffer.
            a = raw.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 8 {
            a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            // First and last four bytes (overlapping): together they are every byte.
            a = UInt64(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            b = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        } else {
            // One to three bytes: first, middle and last (with the length, every byte).
            a = UInt64(p[0]) << 16 | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1])
        }
        h = mum(a ^ k2, b ^ h)
    }
    return mum(h ^ k1, k2 ^ UInt64(n))
}
