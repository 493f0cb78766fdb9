import AuditJSON

// Byte-level primitives for string matching: ASCII case folding (one byte, or eight at a
// time), comparison of byte runs and substring search. Patterns are folded once at compile
// time; only the event's bytes are folded while matching, without copying them.
//
// Case folding is ASCII only: `A`-`Z` become `a`-`z`, every other byte (including every
// byte of a multi-byte UTF-8 sequence, which are all >= 0x80) is left as is. So `É` and `é`
// are different characters for matching, as in most Sigma backends' default analyzers
// for keyword fields.

enum ASCIIFold {
    /// The byte with ASCII `a`-`z` raised.
    @inline(__always)
    static func upper(_ b: UInt8) -> UInt8 {
        (b &- 0x61) < 26 ? b & ~0x20 : b
    }

    /// The byte with ASCII `A`-`Z` lowered.
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b &- 0x41) < 26 ? b | 0x20 : b
    }

    /// Eight bytes with ASCII `A`-`Z` lowered (SWAR: no per-byte branches).
    @inline(__always)
    static func lower8(_ x: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7 = x & ~high  // each byte < 0x80: the additions below cannot carry across bytes
        let atLeastA = low7 &+ ones &* (0x80 - 0x41)  // high bit set where byte >= 'A'
        let aboveZ = low7 &+ ones &* (0x80 - 0x5B)  // high bit set where byte > 'Z'
        let upper = atLeastA & ~aboveZ & ~x & high  // 'A'...'Z' and not a byte >= 0x80
        return x | (upper >> 2)  // 0x80 >> 2 == 0x20
    }

    static func lowered(_ bytes: [UInt8]) -> [UInt8] { bytes.map(lower) }

    @inline(__always)
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
}

/// Whether the `n` bytes at `v` equal the `n` bytes at `p`. With `fold`, ASCII letters of
/// `v` are lowered first (`p` must already be lowered).
@inline(__always)
func bytesMatch(_ v: UnsafePointer<UInt8>, _ p: UnsafePointer<UInt8>, _ n: Int, fold: Bool) -> Bool {
    fold ? bytesEqual(v, p, n, transformingFirst: ASCIIFold.lower8) : bytesEqual(v, p, n)
}

/// How common a byte is in audit-log text (paths, URIs, names), highest for the most
/// common: substring search looks for the needle's least common byte first.
private let byteCommonness: [UInt8] = {
    var table = [UInt8](repeating: 60, count: 256)
    for b in 0x80...0xFF { table[b] = 40 }
    // Letters by English frequency (lowercase: needles are folded; uppercase alike).
    let letters = Array("etaoinsrhldcumfpgwybvkxjqz".utf8)
    for (rank, letter) in letters.enumerated() {
        let score = UInt8(250 - rank * 6)
        table[Int(letter)] = score
        table[Int(letter & ~0x20)] = score
    }
    for d in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(d)] = 170 }
    let punctuation: [(Character, UInt8)] = [
        ("/", 245), (" ", 230), ("-", 205), (".", 205), (":", 195), ("%", 180), ("_", 150), ("=", 150),
        ("&", 120), ("?", 100), (",", 100), ("\"", 90),
    ]
    for (c, score) in punctuation { table[Int(c.asciiValue!)] = score }
    return table
}()

/// The offset in `needle` of its least common byte (the first one of the least common).
func rareByteOffset(_ needle: [UInt8]) -> Int {
    var best = 0
    var bestScore = UInt8.max
    for (k, b) in needle.enumerated() where byteCommonness[Int(b)] < bestScore {
        best = k
        bestScore = byteCommonness[Int(b)]
    }
    return best
}

/// The first offset in `[from, end - needle.count]` where `needle` occurs in `v`, or -1.
/// With `fold`, `needle` must be lowered and `v` is compared folded.
///
/// Candidates are the positions of the needle's byte at offset `anchor` (pick a rare one
/// with `rareByteOffset`), found sixteen bytes at a time (in both cases when it is a
/// letter); each is then checked in full.
func firstOccurrence(
    of needle: UnsafeBufferPointer<UInt8>, anchor k: Int = 0, in v: UnsafePointer<UInt8>, from: Int, to end: Int,
    fold: Bool
) -> Int {
    let m = needle.count
    guard m > 0 else { return from <= end ? from : -1 }
    let lastStart = end &- m
    guard from <= lastStart, let p = needle.baseAddress else { return -1 }
    let a = p[k]
    let b = fold && ASCIIFold.isLetter(a) ? a & ~0x20 : a
    let va = SIMD16<UInt8>(repeating: a)
    let vb = SIMD16<UInt8>(repeating: b)
    // Anchor positions j = start + k, for start in from...lastStart.
    var j = from &+ k
    let lastAnchor = lastStart &+ k
    while j &+ 16 <= end && j <= lastAnchor {
        let x = UnsafeRawPointer(v + j).loadUnaligned(as: SIMD16<UInt8>.self)
        let hits = (x .== va) .| (x .== vb)
        if !any(hits) {
            j &+= 16
            continue
        }
        let stop = Swift.min(j &+ 16, lastAnchor &+ 1)
        var q = j
        while q < stop {
            if hits[q &- j] && bytesMatch(v + (q &- k), p, m, fold: fold) { return q &- k }
            q &+= 1
        }
        j = stop
    }
    while j <= lastAnchor {
        let c = v[j]
        if (c == a || c == b) && bytesMatch(v + (j &- k), p, m, fold: fold) { return j &- k }
        j &+= 1
    }
    return -1
}

// MARK: UTF-8 units for `?`

/// Whether `b` is a UTF-8 continuation byte (10xxxxxx).
@inline(__always)
func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

/// The offset after the character starting at `i` (`i < end`): one byte and the
/// continuation bytes that follow it. For valid UTF-8 that is exactly one Unicode scalar;
/// invalid bytes are grouped the same way forwards and backwards.
@inline(__always)
func nextCharacter(_ v: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
    var j = i &+ 1
    while j < end && isContinuation(v[j]) { j &+= 1 }
    return j
}

/// The offset where the character ending at `j` starts (`j > 0`): see `nextCharacter`.
@inline(__always)
func previousCharacter(_ v: UnsafePointer<UInt8>, _ j: Int) -> Int {
    var i = j &- 1
    while i > 0 && isContinuation(v[i]) { i &-= 1 }
    return i
}
