import AuditJSON
import DetectionEngine

/// Counts occurrences of byte strings (verbs, resources, usernames) without allocating
/// per lookup.
///
/// Keys are hashed from their bytes (`fastHash`, 16 bytes at a time) into an open-addressing table; a key's bytes
/// are copied into an arena only the first time it is seen. The number of distinct keys
/// is bounded: once `maxKeys` are held, new keys are counted in `overflowCount` instead,
/// so a hostile input with millions of distinct usernames cannot grow memory without end.
public struct BoundedByteCounter: Sendable {
    struct Entry: Sendable {
        var hash: UInt64
        var offset: Int32
        var length: Int32
        var count: Int
    }

    public let maxKeys: Int
    var slots: [Int32]  // index into entries, -1 = empty
    var entries: [Entry] = []
    var arena: [UInt8] = []
    /// Occurrences of keys that arrived after the table was full.
    public private(set) var overflowCount = 0

    public init(maxKeys: Int = 10_000) {
        self.maxKeys = maxKeys
        slots = [Int32](repeating: -1, count: 64)
    }

    /// Forgets every key, keeping the memory (a partial summary reused for the next block).
    public mutating func removeAll() {
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        overflowCount = 0
    }

    /// Number of distinct keys held.
    public var distinctKeys: Int { entries.count }

    /// Adds one occurrence of `key`.
    public mutating func add(_ key: UnsafeBufferPointer<UInt8>, count: Int = 1) {
        let h = fastHash(key, seed: 0)
        let (slot, found) = find(h, key)
        if found >= 0 {
            entries[found].count += count
            return
        }
        guard entries.count < maxKeys else {
            overflowCount += count
            return
        }
        slots[slot] = Int32(entries.count)
        entries.append(Entry(hash: h, offset: Int32(arena.count), length: Int32(key.count), count: count))
        arena.append(contentsOf: key)
        if entries.count * 2 > slots.count { grow() }
    }

    /// The slot holding `key` and its entry, or the empty slot where it would go and -1.
    /// Reads the three arrays through borrowed pointers: indexing them one by one retained
    /// and released each on every probe (a quarter of `kaudit stats`' time).
    private func find(_ h: UInt64, _ key: UnsafeBufferPointer<UInt8>) -> (slot: Int, entry: Int) {
        slots.withUnsafeBufferPointer { s in
            entries.withUnsafeBufferPointer { es in
                arena.withUnsafeBufferPointer { a in
                    let mask = s.count - 1
                    var i = Int(truncatingIfNeeded: h) & mask
                    while true {
                        let e = Int(s[i])
                        if e < 0 { return (i, -1) }
                        let entry = es[e]
                        if entry.hash == h && Int(entry.length) == key.count
                            && (key.count == 0 || bytesEqual(a.baseAddress! + Int(entry.offset), key.baseAddress!, key.count))  // Safe: the entry holds key.count bytes.
                        {
                            return (i, e)
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (n, e) in entries.enumerated() {
            var i = Int(truncatingIfNeeded: e.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(n)
        }
    }

    /// The `limit` most frequent keys with their counts, most frequent first (ties by key).
    public func top(_ limit: Int) -> [(key: [UInt8], count: Int)] {
        let all = entries.map { e in (key: Array(arena[Int(e.offset)..<Int(e.offset + e.length)]), count: e.count) }
        return Array(
            all.sorted { a, b in a.count != b.count ? a.count > b.count : a.key.lexicographicallyPrecedes(b.key) }
                .prefix(limit))
    }

    /// Adds every count of `other` into this counter (for merging per-input results).
    public mutating func merge(_ other: BoundedByteCounter) {
        for e in other.entries {
            other.arena.withUnsafeBufferPointer { a in
                add(UnsafeBufferPointer(rebasing: a[Int(e.offset)..<Int(e.offset + e.length)]), count: e.count)
            }
        }
        overflowCount += other.overflowCount
    }
}
