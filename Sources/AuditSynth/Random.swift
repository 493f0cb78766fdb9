/// xoshiro256** seeded through splitmix64.
///
/// Why not `SystemRandomNumberGenerator`: the same seed must give byte-identical logs on every
/// machine and every run, so benchmarks are comparable and tests can pin exact output.
/// xoshiro256** is tiny, fast and statistically good enough for synthetic data.
struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64) {
        var state = seed
        func splitmix() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z &>> 31)
        }
        s0 = splitmix()
        s1 = splitmix()
        s2 = splitmix()
        s3 = splitmix()
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform integer in `0..<n` (Lemire's multiply-high; the tiny bias is irrelevant here).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(truncatingIfNeeded: n)).high)
    }

    /// Uniform integer in `range`.
    @inline(__always)
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `p` percent.
    @inline(__always)
    mutating func percent(_ p: Int) -> Bool { below(100) < p }

    /// True with probability `p` per mille (finer than percent, for rare shapes).
    @inline(__always)
    mutating func perMille(_ p: Int) -> Bool { below(1000) < p }

    /// A uniformly chosen element of a non-empty array.
    @inline(__always)
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}
