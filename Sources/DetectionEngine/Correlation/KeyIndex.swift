/// Group keys (or value_count's values) to the slots that hold them, in an open-addressing
/// table probed by the key's digest (`GroupKey.digest`, made once with the key).
///
/// Every correlation input looks its group up, and a value_count input its value: through
/// `Dictionary` each lookup ran the standard hasher over the digest and the dictionary's
/// generic code, a few hundred instructions and, worse, code enough to push the judge's out
/// of the instruction cache. The table holds only digests and slot numbers; the owner, which
/// holds the keys, confirms a digest's match (`find`'s `isKey`). Linear probing with
/// backward-shift deletion (no tombstones), at most half full.
///
/// A key's home cell is the top bits of its digest times an odd number drawn at start-up:
/// group keys and values come from the events (user names, request URIs), and a digest's own
/// bits, which anyone can compute, would let a crafted stream pile its keys into one run.
struct KeyIndex {
    private static let multiplier = UInt64.random(in: 1...UInt64.max) | 1

    private struct Cell {
        var digest: UInt64
        /// -1: empty.
        var slot: Int32
    }

    private var cells: [Cell] = []
    /// 64 minus log2 of the cells' count.
    private var shift: UInt64 = 64
    private(set) var count = 0

    @inline(__always)
    private func home(_ digest: UInt64) -> Int { Int(truncatingIfNeeded: (digest &* Self.multiplier) >> shift) }

    /// The slot of the key with this digest for which `isKey` holds, if any.
    @inline(__always)
    func find(_ digest: UInt64, isKey: (Int32) -> Bool) -> Int32? {
        guard count > 0 else { return nil }
        let start = home(digest)
        return cells.withUnsafeBufferPointer { cells in
            let mask = cells.count - 1
            var i = start
            while true {
                let cell = cells[i]
                if cell.slot < 0 { return nil }
                if cell.digest == digest && isKey(cell.slot) { return cell.slot }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds a key known to be absent.
    mutating func insert(_ digest: UInt64, slot: Int32) {
        if (count + 1) * 2 > cells.count { grow() }
        let mask = cells.count - 1
        var i = home(digest)
        while cells[i].slot >= 0 { i = (i + 1) & mask }
        cells[i] = Cell(digest: digest, slot: slot)
        count += 1
    }

    /// Removes the key with this digest held at `slot` (nothing when it is not there: the
    /// search stops at the run's end, so a wrong call cannot loop).
    mutating func remove(_ digest: UInt64, slot: Int32) {
        guard count > 0 else { return }
        let mask = cells.count - 1
        var i = home(digest)
        while cells[i].slot != slot || cells[i].digest != digest {
            if cells[i].slot < 0 { return }
            i = (i + 1) & mask
        }
        // Backward shift: move later cells of the run into the hole when their home lies
        // at or before it (cyclically), so every key stays reachable from its home.
        var hole = i
        var j = (i + 1) & mask
        while cells[j].slot >= 0 {
            if (j - home(cells[j].digest)) & mask >= (j - hole) & mask {
                cells[hole] = cells[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        cells[hole].slot = -1
        count -= 1
    }

    mutating func removeAll() {
        cells = []
        shift = 64
        count = 0
    }

    private mutating func grow() {
        let old = cells
        let size = max(16, old.count * 2)
        cells = Array(repeating: Cell(digest: 0, slot: -1), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for cell in old where cell.slot >= 0 { insert(cell.digest, slot: cell.slot) }
    }
}

/// Stores `value` in the slot last freed (`free`, whose numbers the caller pushes as it
/// empties slots), else in a new slot at the end of `slots`; returns the slot's number. The
/// slabs behind `KeyIndex`'s owners (a correlation's groups and values) and the lateness
/// queue's out-of-order inputs, which refer to their elements by these numbers.
@inline(__always)
func storeInFreeSlot<T>(_ value: consuming T, in slots: inout [T], free: inout [Int32]) -> Int32 {
    if let slot = free.popLast() {
        slots[Int(slot)] = value
        return slot
    }
    slots.append(value)
    return Int32(slots.count - 1)
}
