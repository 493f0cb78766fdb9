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

    /// A key's bucket: its top bits.
    @inline(__always)
    static func bucket(_ key: UInt64) -> Int { Int(truncatingIfNeeded: key >> 52) }

    /// A bucket's count after one more key (at 255 it stays).
    @inline(__always)
    static func added(_ count: UInt8) -> UInt8 { count < .max ? count + 1 : count }

    /// A bucket's count after one key fewer (at 255 it stays).
    @inline(__always)
    static func removed(_ count: UInt8) -> UInt8 { count < .max && count > 0 ? count - 1 : count }

    mutating func insert(_ key: UInt64) {
        let i = Self.bucket(key)
        counts[i] = Self.added(counts[i])
    }

    /// Forgets one insertion of `key` (which must have been inserted and not removed since).
    mutating func remove(_ key: UInt64) {
        let i = Self.bucket(key)
        counts[i] = Self.removed(counts[i])
    }

    @inline(__always)
    func mayContain(_ key: UInt64) -> Bool { counts[Self.bucket(key)] != 0 }
}
