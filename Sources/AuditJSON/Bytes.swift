/// ASCII byte constants used by the scanner.
@usableFromInline enum ASCII {
    @usableFromInline static let quote: UInt8 = 0x22  // "
    @usableFromInline static let backslash: UInt8 = 0x5C
    @usableFromInline static let openBrace: UInt8 = 0x7B  // {
    @usableFromInline static let closeBrace: UInt8 = 0x7D  // }
    @usableFromInline static let openBracket: UInt8 = 0x5B  // [
    @usableFromInline static let closeBracket: UInt8 = 0x5D  // ]
    @usableFromInline static let colon: UInt8 = 0x3A
    @usableFromInline static let comma: UInt8 = 0x2C
    @usableFromInline static let space: UInt8 = 0x20
    @usableFromInline static let tab: UInt8 = 0x09
    @usableFromInline static let newline: UInt8 = 0x0A
    @usableFromInline static let carriageReturn: UInt8 = 0x0D

    @inlinable @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool {
        b == space || b == newline || b == carriageReturn || b == tab
    }
}

/// Whether every byte of `bytes` is ASCII, and (with `orBackslash`) none is a backslash:
/// eight bytes per step, a word's high bits and a zero-byte test of it xored with
/// backslashes (the raw contents of a JSON string in plain ASCII are its text).
@inlinable
public func isPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>, orBackslash: Bool = false) -> Bool {
    guard let p = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(p)
    let n = bytes.count
    let high: UInt64 = 0x8080_8080_8080_8080
    let ones: UInt64 = 0x0101_0101_0101_0101
    let backslashes: UInt64 = ones &* UInt64(ASCII.backslash)
    @inline(__always) func plain(_ w: UInt64) -> Bool {
        guard w & high == 0 else { return false }
        // A zero byte of w ^ backslashes is a backslash in w; subtracting one from each byte
        // of an ASCII word sets a high bit only by borrowing through a zero byte.
        let x = w ^ backslashes
        return !orBackslash || (x &- ones) & high == 0
    }
    var i = 0
    while i &+ 8 <= n {
        if !plain(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return false }
        i &+= 8
    }
    while i < n {
        let b = p[i]
        if b >= 0x80 || (orBackslash && b == ASCII.backslash) { return false }
        i &+= 1
    }
    return true
}

/// Compares `count` bytes at `p` with the UTF-8 of a static string.
@inlinable @inline(__always)
public func bytesEqual(_ p: UnsafePointer<UInt8>, _ count: Int, _ s: StaticString) -> Bool {
    guard count == s.utf8CodeUnitCount else { return false }
    return bytesEqual(p, s.utf8Start, count)
}

/// Compares two byte runs of equal length.
@inlinable @inline(__always)
public func bytesEqual(_ p: UnsafePointer<UInt8>, _ q: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    bytesEqual(p, q, count, transformingFirst: { $0 })
}

/// Compares two byte runs of equal length, each word of `p` passed through `transform`
/// first (a per-byte map packed eight to a word, such as ASCII case folding; a byte alone
/// is passed zero-extended).
///
/// Eight bytes per compare: keys and enum values are mostly 4 to 24 bytes long. The rest is
/// one more compare of loads that overlap what was compared (never a byte loop past three
/// bytes, never a byte outside the runs).
@inlinable @inline(__always)
public func bytesEqual(
    _ p: UnsafePointer<UInt8>, _ q: UnsafePointer<UInt8>, _ count: Int, transformingFirst transform: (UInt64) -> UInt64
) -> Bool {
    let p = UnsafeRawPointer(p)
    let q = UnsafeRawPointer(q)
    if count >= 8 {
        var i = 0
        while i &+ 8 <= count {
            if transform(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) != q.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i &+= 8
        }
        return i == count
            || transform(p.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
                == q.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
    }
    if count >= 4 {
        // First and last four bytes (overlapping) as one word.
        @inline(__always) func word(_ r: UnsafeRawPointer) -> UInt64 {
            UInt64(r.loadUnaligned(as: UInt32.self)) | UInt64(r.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)) << 32
        }
        return transform(word(p)) == word(q)
    }
    var i = 0
    while i < count {
        if transform(UInt64(p.load(fromByteOffset: i, as: UInt8.self))) != UInt64(q.load(fromByteOffset: i, as: UInt8.self)) {
            return false
        }
        i &+= 1
    }
    return true
}

/// The value of a hexadecimal digit (`0-9`, `a-f`, `A-F`), or nil.
@inlinable @inline(__always)
public func hexDigitValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
    default: return nil
    }
}
