import AuditJSON
import AuditModel

/// Remembers, per event class, which rules are left to judge, so that a request like one
/// seen before costs one lookup instead of one per rule group.
///
/// An event's class is its list of candidate rules (picked by verb, resource and
/// subresource) and the bytes of every `MemoSlot` value those candidates' memo groups read.
/// Everything the verdict memo concludes about the candidates is a function of those bytes,
/// so two events of one class have the same verdicts: the class stores the candidates whose
/// verdict is true (they match) or unknown (they must be judged in full), in rule order.
/// Slots no candidate reads stay out of the key (the namespace of a request no namespace
/// rule can judge makes no new class). Classes are compared byte for byte (the hash only
/// finds them), so two classes never mix.
///
/// Bounded: at most `capacity` classes and `maxArenaBytes` bytes of keys and lists; when
/// either is reached, everything is forgotten (counted in `resets`) and refilled. An event
/// whose class key would exceed `maxKeyBytes` (a long user agent, many groups) gets no
/// class and goes through the per-group memo.
struct EventClasses {
    /// Classes kept before everything is forgotten (`DetectorOptions.eventClassCapacity`).
    let capacity: Int
    static let maxArenaBytes = 8 << 20
    static let maxKeyBytes = 2048

    private struct Cell {
        var hash: UInt64
        /// 0: empty; otherwise 1 + the class's number.
        var id: Int32
    }

    private var cells: UnsafeMutablePointer<Cell>
    private var mask: Int
    /// Per class: where its key and its rule list start in the arenas.
    private var keyStarts: [Int] = [0]
    private var listStarts: [Int] = [0]
    private var keys: [UInt8] = []
    /// Rule numbers; `~r` (negative) for a rule known to match. Memory the cache owns, so a
    /// hit hands out a pointer into it (valid until the next `insert`).
    private var lists: UnsafeMutablePointer<Int32>
    private var listCapacity = 1024
    private var listCount = 0
    private let scratch: UnsafeMutablePointer<UInt8>
    private var scratchCount = 0
    private var scratchHash: UInt64 = 0
    private let seed: UInt64
    private static let initialCapacity = 256

    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var resets = 0

    init(seed: UInt64, capacity: Int) {
        self.capacity = max(capacity, 1)
        self.seed = seed
        cells = .allocate(capacity: Self.initialCapacity)
        cells.initialize(repeating: Cell(hash: 0, id: 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        scratch = .allocate(capacity: Self.maxKeyBytes)
        lists = .allocate(capacity: listCapacity)
    }

    func free() {
        cells.deallocate()
        scratch.deallocate()
        lists.deallocate()
    }

    var count: Int { keyStarts.count - 1 }

    /// The current event's class key into the scratch buffer: the candidate list's number,
    /// then per slot of `slots` (a bit set over `MemoSlot` raw values) a two-byte length
    /// (0xFFFF when absent) and the value's raw bytes. False when it does not fit.
    @inline(__always)
    mutating func prepare(_ index: EnvelopeIndex, list: Int, slots: UInt32) -> Bool {
        UnsafeMutableRawPointer(scratch).storeBytes(of: UInt32(truncatingIfNeeded: list), as: UInt32.self)
        var n = 4
        var set = slots
        while set != 0 {
            let k = set.trailingZeroBitCount
            set &= set - 1
            guard let value = MemoSlot(rawValue: k).unsafelyUnwrapped.value(index) else {
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
            (scratch + n + 2).update(from: base, count: length)
            n += 2 + length
        }
        scratchCount = n
        scratchHash = fastHash(UnsafeBufferPointer(start: scratch, count: n), seed: seed)
        return true
    }

    /// A key given whole (at most `maxKeyBytes`), for classes keyed by something other than
    /// raw slot values.
    @inline(__always)
    mutating func prepare(key: UnsafeRawBufferPointer) {
        let n = min(key.count, Self.maxKeyBytes)
        if n > 0 { UnsafeMutableRawPointer(scratch).copyMemory(from: key.baseAddress!, byteCount: n) }
        scratchCount = n
        scratchHash = fastHash(UnsafeBufferPointer(start: scratch, count: n), seed: seed)
    }

    /// The rule list of the prepared key's class, if it has been seen.
    @inline(__always)
    mutating func lookup() -> UnsafeBufferPointer<Int32>? {
        var i = Int(truncatingIfNeeded: scratchHash) & mask
        while true {
            let id = Int(cells[i].id)
            if id == 0 { break }
            if cells[i].hash == scratchHash && keyEquals(id - 1) {
                hits += 1
                let start = listStarts[id - 1]
                return UnsafeBufferPointer(start: lists + start, count: listStarts[id] - start)
            }
            i = (i + 1) & mask
        }
        misses += 1
        return nil
    }

    /// Files the prepared key's class with its rule list (after a `lookup` that found none).
    mutating func insert(_ list: [Int32]) {
        if count >= capacity || keys.count + scratchCount + 4 * (listCount + list.count) > Self.maxArenaBytes {
            resets += 1
            clear()
        }
        keys.append(contentsOf: UnsafeBufferPointer(start: scratch, count: scratchCount))
        keyStarts.append(keys.count)
        if listCount + list.count > listCapacity {
            var capacity = listCapacity * 2
            while listCount + list.count > capacity { capacity *= 2 }
            let grown = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
            grown.initialize(from: lists, count: listCount)
            lists.deallocate()
            lists = grown
            listCapacity = capacity
        }
        (lists + listCount).initialize(from: list, count: list.count)
        listCount += list.count
        listStarts.append(listCount)
        var i = Int(truncatingIfNeeded: scratchHash) & mask
        while cells[i].id != 0 { i = (i + 1) & mask }
        cells[i] = Cell(hash: scratchHash, id: Int32(count))
        if count * 2 > mask + 1 { grow() }
    }

    private func keyEquals(_ c: Int) -> Bool {
        let start = keyStarts[c]
        guard keyStarts[c + 1] - start == scratchCount else { return false }
        return keys.withUnsafeBufferPointer { bytesMatch($0.baseAddress! + start, scratch, scratchCount, fold: false) }
    }

    private mutating func clear() {
        cells.deallocate()
        cells = .allocate(capacity: Self.initialCapacity)
        cells.initialize(repeating: Cell(hash: 0, id: 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        keyStarts.removeAll(keepingCapacity: true)
        keyStarts.append(0)
        listStarts.removeAll(keepingCapacity: true)
        listStarts.append(0)
        keys.removeAll(keepingCapacity: true)
        listCount = 0
    }

    private mutating func grow() {
        let old = cells
        let oldCapacity = mask + 1
        cells = .allocate(capacity: oldCapacity * 2)
        cells.initialize(repeating: Cell(hash: 0, id: 0), count: oldCapacity * 2)
        mask = oldCapacity * 2 - 1
        for j in 0..<oldCapacity where old[j].id != 0 {
            var i = Int(truncatingIfNeeded: old[j].hash) & mask
            while cells[i].id != 0 { i = (i + 1) & mask }
            cells[i] = old[j]
        }
        old.deallocate()
    }
}
