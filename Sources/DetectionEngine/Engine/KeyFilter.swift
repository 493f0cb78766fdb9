/// A set of 64-bit keys (hashes already) that may answer "maybe" for a key it does not
/// hold, never "no" for one it holds, asked before a dictionary that usually does not have
/// the key: the detector's held RequestReceived requests, a sequence correlation's groups.
///
/// A count of the keys held per bucket of 4,096, picked by a key's top bits. Counted rather
/// than one bit per key: a bit stayed set after its key left until no key at all was held,
/// and a busy stream nearly always holds some, so the filter came to answer "maybe" for most
/// keys. A bucket whose count reaches 255 stays there ("maybe" for good, never a wrong "no").
struct KeyFilter {
    static let buckets = 4096
    private var counts = [UInt8](repeating: 0, count: buckets)

    @inline(__always)
    private static func bucket(_ key: UInt64) -> Int { Int(truncatingIfNeeded: key >> 52) }

    mutating func insert(_ key: UInt64) {
        let i = Self.bucket(key)
        if counts[i] < .max { counts[i] += 1 }
    }

    /// Forgets one insertion of `key` (which must have been inserted and not removed since).
    mutating func remove(_ key: UInt64) {
        let i = Self.bucket(key)
        if counts[i] < .max && counts[i] > 0 { counts[i] -= 1 }
    }

    @inline(__always)
    func mayContain(_ key: UInt64) -> Bool { counts[Self.bucket(key)] != 0 }
}
