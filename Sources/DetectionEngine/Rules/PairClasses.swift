import CAuditSIMD

/// The verdict memo's event classes once an event's identity and request shape are numbered:
/// (candidate list, identity number, shape number) to the rules the class leaves to judge.
///
/// Every event looks its class up here, and the table is read at random, so a hit reads one
/// cache line: each cell holds its whole key (a packed integer, compared as is) and a rule
/// list of up to `inlineCount` entries. Longer lists lie in a side arena the cell points to.
/// A class's cell is found from a hash of its identity's and shape's bytes (`home`), not of
/// its numbers: the judge knows that hash before the halves are looked up, so the cell is
/// fetched while they are.
///
/// Bounded like `EventClasses`: at most `capacity` classes and `maxArenaBytes` of long
/// lists; when either is reached, everything is forgotten (counted in `resets`).
struct PairClasses {
    /// Rule list entries kept in the cell itself.
    static let inlineCount = 12
    static let maxArenaBytes = 4 << 20
    /// Identity and shape numbers fit in this many bits each, candidate lists in 23.
    static let numberBits = 20
    static let listBits = 23

    private struct Cell {
        /// 0: empty; otherwise `key(list:identity:shape:)`.
        var key: UInt64
        /// Where its lookup starts (before masking), kept for growing.
        var home: UInt32
        var count: Int32
        /// The list, or for a longer one its start in the arena (first entry).
        var items: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32)
    }

    let capacity: Int
    private var cells: UnsafeMutablePointer<Cell>
    private var mask: Int
    private var arena: UnsafeMutablePointer<Int32>
    private var arenaCount = 0
    private(set) var count = 0
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var resets = 0
    private static let initialCapacity = 256
    /// Where a cell's inline list starts, from the cell's address.
    private static let itemsOffset = MemoryLayout<Cell>.offset(of: \Cell.items)!
    private static let empty = Cell(key: 0, home: 0, count: 0, items: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        cells = LargeTableMemory.allocate(Cell.self, count: Self.initialCapacity)
        cells.initialize(repeating: Self.empty, count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        arena = .allocate(capacity: Self.maxArenaBytes / 4)
    }

    func free() {
        cells.deallocate()
        arena.deallocate()
    }

    /// The packed key of a class: never 0 (bit 0 is set). `list` below 2^23, the numbers
    /// below 2^20.
    @inline(__always)
    static func key(list: Int, identity: Int32, shape: Int32) -> UInt64 {
        UInt64(list) << 41 | UInt64(UInt32(bitPattern: identity)) << 21 | UInt64(UInt32(bitPattern: shape)) << 1 | 1
    }

    /// Where the lookup of a class starts: from the hashes of its identity's and shape's key
    /// bytes, known before the halves are looked up. Not from its list, which is usually read
    /// from the shape's record (and then adds nothing to the shape); classes of one pair on
    /// other lists probe on from the same cell.
    @inline(__always)
    static func home(identityHash: UInt64, shapeHash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ByteHasher.mix(identityHash ^ (shapeHash &* 0x9E37_79B9_7F4A_7C15)))
    }

    /// Asks the processor for the cell where a lookup from `home` starts.
    @inline(__always)
    func prefetch(_ home: UInt32) {
        kaudit_prefetch(UnsafeRawPointer(cells + (Int(home) & mask)))
    }

    /// The rule list of `key`'s class (found from `home`), if it has been seen (valid until
    /// the next `insert`).
    @inline(__always)
    mutating func lookup(_ key: UInt64, home: UInt32) -> UnsafeBufferPointer<Int32>? {
        var i = Int(home) & mask
        while true {
            let k = cells[i].key
            if k == key {
                hits &+= 1
                let n = Int(cells[i].count)
                if n <= Self.inlineCount {
                    let items = UnsafeRawPointer(cells + i) + Self.itemsOffset
                    return UnsafeBufferPointer(start: items.assumingMemoryBound(to: Int32.self), count: n)
                }
                return UnsafeBufferPointer(start: arena + Int(cells[i].items.0), count: n)
            }
            if k == 0 { break }
            i = (i + 1) & mask
        }
        misses &+= 1
        return nil
    }

    /// Files `key`'s class with its rule list (after a `lookup` that found none); a list longer
    /// than the whole arena is not filed.
    mutating func insert(_ key: UInt64, home: UInt32, _ list: [Int32]) {
        guard list.count <= Self.maxArenaBytes / 4 else { return }
        let long = list.count > Self.inlineCount
        if count >= capacity || (long && arenaCount + list.count > Self.maxArenaBytes / 4) { removeAll() }
        var cell = Self.empty
        cell.key = key
        cell.home = home
        cell.count = Int32(list.count)
        if long {
            cell.items.0 = Int32(arenaCount)
            list.withUnsafeBufferPointer { (arena + arenaCount).update(from: $0.baseAddress!, count: list.count) }
            arenaCount += list.count
        } else {
            withUnsafeMutablePointer(to: &cell.items) { items in
                let p = UnsafeMutableRawPointer(items).assumingMemoryBound(to: Int32.self)
                for (j, r) in list.enumerated() { p[j] = r }
            }
        }
        var i = Int(home) & mask
        while cells[i].key != 0 { i = (i + 1) & mask }
        cells[i] = cell
        count += 1
        if count * 2 > mask + 1 { grow() }
    }

    /// Forgets every class (counted in `resets`).
    mutating func removeAll() {
        guard count > 0 else { return }
        resets += 1
        cells.deallocate()
        cells = LargeTableMemory.allocate(Cell.self, count: Self.initialCapacity)
        cells.initialize(repeating: Self.empty, count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        arenaCount = 0
        count = 0
    }

    private mutating func grow() {
        (cells, mask) = doubledTable(
            cells, mask: mask, empty: Self.empty, isOccupied: { $0.key != 0 }, home: { Int($0.home) & $1 })
    }
}
