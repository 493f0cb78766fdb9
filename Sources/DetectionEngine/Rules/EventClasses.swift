import AuditJSON
import AuditModel
import CAuditSIMD
import Glibc

/// Byte-keyed records for the verdict memo: an event's identity or request shape (the raw
/// bytes of the `MemoSlot` values it is made of) to its number and slot signatures, and a
/// list of signatures to the rules left to judge.
///
/// A key is, per slot of a set, the value's length and raw bytes (`prepare(_:slots:)`), or
/// bytes given whole (`prepare(key:)`). Keys are compared byte for byte (the hash only finds
/// them), so two keys never mix; a record is its key and a list of `Int32`s side by side, so
/// a hit reads one stretch of memory.
///
/// Bounded: at most `capacity` records and `maxArenaBytes` bytes of them; when either is
/// reached, everything is forgotten (counted in `resets`) and refilled. A key that would
/// exceed `maxKeyBytes` (a long user agent, many groups) is not made, and the event goes
/// through the per-group memo.
struct EventClasses {
    /// Records kept before everything is forgotten (`DetectorOptions.eventClassCapacity`).
    let capacity: Int
    static let maxArenaBytes = 8 << 20
    static let maxKeyBytes = 2048

    private struct Cell {
        var hash: UInt64
        /// 0: empty; otherwise 1 + where the class's record starts in the arena.
        var record: Int32
    }

    private var cells: UnsafeMutablePointer<Cell>
    private var mask: Int
    /// The classes, one record each: key length and list length (two `UInt16`s), the key,
    /// padding to four bytes, then the rule list: rule numbers, `~r` (negative) for a rule
    /// known to match. Key and list lie side by side, so a hit reads one stretch of memory;
    /// a hit hands out a pointer into the list (valid until the next `insert`).
    ///
    /// Allocated at its bound once: the pages are the system's only when first written, so
    /// a quiet stream keeps a small footprint, and a busy one no longer copies the arena at
    /// every doubling (the copies and their page faults were 3% of detection time on a
    /// 64 MiB replay).
    private let arena: UnsafeMutableRawPointer
    private var arenaCount = 0
    private(set) var count = 0
    private let scratch: UnsafeMutablePointer<UInt8>
    private var scratchCount = 0
    /// The prepared key's hash.
    private(set) var scratchHash: UInt64 = 0
    private let seed: UInt64
    /// Whether keys are hashed with AES rounds (`kaudit_key_hash_aes`) rather than `fastHash`:
    /// `aesAvailable`, held here so the per-key choice is a load, not the static's once-check.
    private let hashesWithAES = Self.aesAvailable
    private static let initialCapacity = 256
    /// Whether the CPU can hash keys with AES rounds (all judges of a process hash alike: an
    /// event's fingerprint folds in its class keys' hashes). `KAUDIT_PROBE_NO_AES` in the
    /// environment turns it off, so one build can be measured both ways (Benchmarks/README).
    static let aesAvailable = kaudit_has_aes() != 0 && getenv("KAUDIT_PROBE_NO_AES") == nil

    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var resets = 0

    init(seed: UInt64, capacity: Int) {
        self.capacity = max(capacity, 1)
        self.seed = seed
        cells = .allocate(capacity: Self.initialCapacity)
        cells.initialize(repeating: Cell(hash: 0, record: 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        scratch = .allocate(capacity: Self.maxKeyBytes)
        arena = .allocate(byteCount: Self.maxArenaBytes, alignment: 8)
    }

    func free() {
        cells.deallocate()
        scratch.deallocate()
        arena.deallocate()
    }

    /// The current event's key into the scratch buffer: per slot of `slots` (a bit set over
    /// `MemoSlot` raw values) a two-byte length (0xFFFF when absent) and the value's raw
    /// bytes, found at `MemoSlot.positions`. False when it does not fit.
    @inline(__always)
    mutating func prepare(_ index: EnvelopeIndex, slots: UInt32, positions: UnsafePointer<Int>) -> Bool {
        var n = 0
        var set = slots
        while set != 0 {
            let k = set.trailingZeroBitCount
            set &= set - 1
            guard let value = index[position: positions[k]] else {
                guard n + 2 <= Self.maxKeyBytes else { return false }
                scratch[n] = 0xFF
                scratch[n + 1] = 0xFF
                n += 2
                continue
            }
            let bytes = value.rawBytes
            let length = bytes.count
            guard n + 2 + length <= Self.maxKeyBytes, let base = bytes.baseAddress else { return false }
            scratch[n] = UInt8(truncatingIfNeeded: length)
            scratch[n + 1] = UInt8(truncatingIfNeeded: length >> 8)
            Self.copy(base, to: scratch + n + 2, length)
            n += 2 + length
        }
        scratchCount = n
        scratchHash = hash(n)
        return true
    }

    /// Copies a slot value into a key: values of up to 64 bytes (most of them) with
    /// overlapping loads and stores that never read or write outside the bytes;
    /// longer ones through `memmove`. A call to `memmove` per slot, a dozen per event, cost
    /// more than the copies themselves.
    @inline(__always)
    static func copy(_ source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let s = UnsafeRawPointer(source)
        let t = UnsafeMutableRawPointer(target)
        if n >= 8 {
            guard n <= 16 else {
                guard n <= 64 else {
                    target.update(from: source, count: n)
                    return
                }
                // The first and last 16 (n <= 32) or 32 bytes.
                let wide = n > 32
                let a = s.loadUnaligned(as: SIMD16<UInt8>.self)
                let b = s.loadUnaligned(fromByteOffset: wide ? 16 : n &- 16, as: SIMD16<UInt8>.self)
                let c = s.loadUnaligned(fromByteOffset: wide ? n &- 32 : 0, as: SIMD16<UInt8>.self)
                let d = s.loadUnaligned(fromByteOffset: n &- 16, as: SIMD16<UInt8>.self)
                t.storeBytes(of: a, as: SIMD16<UInt8>.self)
                t.storeBytes(of: b, toByteOffset: wide ? 16 : n &- 16, as: SIMD16<UInt8>.self)
                t.storeBytes(of: c, toByteOffset: wide ? n &- 32 : 0, as: SIMD16<UInt8>.self)
                t.storeBytes(of: d, toByteOffset: n &- 16, as: SIMD16<UInt8>.self)
                return
            }
            do {
                let a = s.loadUnaligned(as: UInt64.self)
                let b = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                t.storeBytes(of: a, as: UInt64.self)
                t.storeBytes(of: b, toByteOffset: n &- 8, as: UInt64.self)
            }
        } else if n >= 4 {
            let a = s.loadUnaligned(as: UInt32.self)
            let b = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            t.storeBytes(of: a, as: UInt32.self)
            t.storeBytes(of: b, toByteOffset: n &- 4, as: UInt32.self)
        } else if n > 0 {
            target[0] = source[0]
            target[n &>> 1] = source[n &>> 1]
            target[n &- 1] = source[n &- 1]
        }
    }

    /// A key given whole (at most `maxKeyBytes`), for classes keyed by something other than
    /// raw slot values.
    @inline(__always)
    mutating func prepare(key: UnsafeRawBufferPointer) {
        let n = min(key.count, Self.maxKeyBytes)
        if n > 0 { UnsafeMutableRawPointer(scratch).copyMemory(from: key.baseAddress!, byteCount: n) }
        scratchCount = n
        scratchHash = hash(n)
    }

    /// The hash of the scratch key's first `n` bytes.
    @inline(__always)
    private func hash(_ n: Int) -> UInt64 { Self.hash(scratch, n, seed: seed, aes: hashesWithAES) }

    /// A key's hash: with AES rounds (`aes`, only where `aesAvailable`), else `fastHash`. The
    /// identity key is about 200 bytes: `fastHash` is a chain of thirteen dependent multiplies
    /// over it, the AES lanes three rounds deep (on the 1 GiB corpus, 290 → 279 ns of
    /// detection per event, one binary taking turns with itself).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int, seed: UInt64, aes: Bool) -> UInt64 {
        aes ? kaudit_key_hash_aes(p, n, seed) : fastHash(UnsafeBufferPointer(start: p, count: n), seed: seed)
    }

    /// Asks the processor for the table cell where the prepared key's lookup starts: the
    /// table and its records are larger than the first-level caches, and the judge has other
    /// work to do while they arrive.
    @inline(__always)
    func prefetchCell() {
        kaudit_prefetch(UnsafeRawPointer(cells + (Int(truncatingIfNeeded: scratchHash) & mask)))
    }

    /// Asks for the record of the first cell's class, when that cell holds the prepared key's
    /// hash (after `prefetchCell`, a little later).
    @inline(__always)
    func prefetchRecord() {
        let cell = cells[Int(truncatingIfNeeded: scratchHash) & mask]
        if cell.record != 0 && cell.hash == scratchHash { kaudit_prefetch(UnsafeRawPointer(arena + Int(cell.record - 1))) }
    }

    /// The rule list of the prepared key's class, if it has been seen.
    @inline(__always)
    mutating func lookup() -> UnsafeBufferPointer<Int32>? {
        var i = Int(truncatingIfNeeded: scratchHash) & mask
        while true {
            let record = Int(cells[i].record)
            if record == 0 { break }
            if cells[i].hash == scratchHash {
                let r = arena + (record - 1)
                let keyLength = Int(r.load(as: UInt16.self))
                if keyLength == scratchCount && Self.equal(UnsafeRawPointer(r + 4), UnsafeRawPointer(scratch), keyLength) {
                    hits += 1
                    let listLength = Int(r.load(fromByteOffset: 2, as: UInt16.self))
                    let list = (r + 4 + Self.padded(keyLength)).assumingMemoryBound(to: Int32.self)
                    return UnsafeBufferPointer(start: list, count: listLength)
                }
            }
            i = (i + 1) & mask
        }
        misses += 1
        return nil
    }

    @inline(__always)
    private static func padded(_ n: Int) -> Int { (n + 3) & ~3 }

    /// Whether the `n` bytes at `p` and `q` are equal: 16 bytes per step (an identity key is
    /// a few hundred bytes, compared at nearly every event), the last step overlapping the
    /// one before.
    @inline(__always)
    static func equal(_ p: UnsafeRawPointer, _ q: UnsafeRawPointer, _ n: Int) -> Bool {
        if n < 16 { return bytesEqual(p.assumingMemoryBound(to: UInt8.self), q.assumingMemoryBound(to: UInt8.self), n) }
        @inline(__always) func differs(_ i: Int) -> Bool {
            (p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ q.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                | (p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self) ^ q.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)) != 0
        }
        var i = 0
        while i &+ 16 < n {
            if differs(i) { return false }
            i &+= 16
        }
        return !differs(n &- 16)
    }

    /// Files the prepared key's class with its rule list (after a `lookup` that found none).
    /// A list longer than a record holds is not filed. Returns the filed list (valid until the
    /// next `insert`; nil when not filed) and whether the table was full and forgot every
    /// class first.
    @discardableResult
    mutating func insert(_ list: [Int32]) -> (list: UnsafeMutablePointer<Int32>?, forgot: Bool) {
        guard list.count <= Int(UInt16.max) else { return (nil, false) }
        let size = 4 + Self.padded(scratchCount) + 4 * list.count
        var forgot = false
        if count >= capacity || arenaCount + size > Self.maxArenaBytes {
            resets += 1
            clear()
            forgot = true
        }
        let r = arena + arenaCount
        r.storeBytes(of: UInt16(scratchCount), as: UInt16.self)
        r.storeBytes(of: UInt16(list.count), toByteOffset: 2, as: UInt16.self)
        (r + 4).copyMemory(from: scratch, byteCount: scratchCount)
        list.withUnsafeBytes { (r + 4 + Self.padded(scratchCount)).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var i = Int(truncatingIfNeeded: scratchHash) & mask
        while cells[i].record != 0 { i = (i + 1) & mask }
        cells[i] = Cell(hash: scratchHash, record: Int32(arenaCount + 1))
        arenaCount += size
        count += 1
        if count * 2 > mask + 1 { grow() }
        return ((r + 4 + Self.padded(scratchCount)).assumingMemoryBound(to: Int32.self), forgot)
    }

    private mutating func clear() {
        cells.deallocate()
        cells = .allocate(capacity: Self.initialCapacity)
        cells.initialize(repeating: Cell(hash: 0, record: 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        arenaCount = 0
        count = 0
    }

    private mutating func grow() {
        (cells, mask) = doubledTable(
            cells, mask: mask, empty: Cell(hash: 0, record: 0), isOccupied: { $0.record != 0 },
            home: { Int(truncatingIfNeeded: $0.hash) & $1 })
    }
}
