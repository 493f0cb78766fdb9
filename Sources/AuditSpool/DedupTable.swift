/// The fingerprints of recently stored events, so that a webhook retry is stored once.
///
/// Two generations of open-addressed 64-bit fingerprints. When the current generation is
/// half full it becomes the previous one and the oldest is dropped, so the table remembers
/// at least `capacity / 2` and at most `capacity` of the most recent events in fixed memory
/// (8 bytes a slot, two slots an entry). A fingerprint of 0 is stored as 1.
public struct DedupTable: Sendable {
    var current: [UInt64]
    var previous: [UInt64]
    var currentCount = 0
    let mask: Int
    let generationLimit: Int
    /// Generations dropped so far (each forgets the oldest `capacity / 2` events).
    public private(set) var rotations = 0

    /// Remembers up to `capacity` events (rounded up to a power of two, at least 1,024).
    public init(capacity: Int) {
        var slots = 1024
        while slots < capacity { slots <<= 1 }
        current = [UInt64](repeating: 0, count: slots)
        previous = current
        mask = slots - 1
        generationLimit = slots / 2
    }

    /// Entries remembered per generation.
    public var generationCapacity: Int { generationLimit }

    /// Inserts `fingerprint`; false when it was already there (a duplicate).
    public mutating func insert(_ fingerprint: UInt64) -> Bool {
        let f = fingerprint == 0 ? 1 : fingerprint
        if Self.find(previous, f, mask) != nil { return false }
        var i = Int(truncatingIfNeeded: f) & mask
        while true {
            let v = current[i]
            if v == f { return false }
            if v == 0 { break }
            i = (i + 1) & mask
        }
        if currentCount >= generationLimit {
            swap(&current, &previous)
            for j in current.indices { current[j] = 0 }
            currentCount = 0
            rotations += 1
            i = Int(truncatingIfNeeded: f) & mask
            while current[i] != 0 { i = (i + 1) & mask }
        }
        current[i] = f
        currentCount += 1
        return true
    }

    /// Forgets `fingerprint` (an insert whose write then failed, so a retry is stored).
    public mutating func remove(_ fingerprint: UInt64) {
        let f = fingerprint == 0 ? 1 : fingerprint
        guard let i = Self.find(current, f, mask) else { return }
        // Backward-shift deletion keeps every probe chain unbroken.
        var hole = i
        var j = (i + 1) & mask
        while current[j] != 0 {
            let home = Int(truncatingIfNeeded: current[j]) & mask
            let distanceHole = (j - hole) & mask
            let distanceHome = (j - home) & mask
            if distanceHome >= distanceHole {
                current[hole] = current[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        current[hole] = 0
        currentCount -= 1
    }

    static func find(_ table: [UInt64], _ f: UInt64, _ mask: Int) -> Int? {
        var i = Int(truncatingIfNeeded: f) & mask
        while true {
            let v = table[i]
            if v == f { return i }
            if v == 0 { return nil }
            i = (i + 1) & mask
        }
    }
}
