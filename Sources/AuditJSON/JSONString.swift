/// The contents of a JSON string (between the quotes), still escaped.
///
/// Comparisons work on the raw bytes when the string has no escapes, which is the
/// common case; otherwise the escapes are decoded on the fly, without allocating.
@frozen
public struct JSONString {
    public let base: UnsafePointer<UInt8>
    /// Offset of the first byte after the opening quote.
    public let start: Int
    /// Offset of the closing quote.
    public let end: Int
    /// Whether the raw contents contain a backslash escape.
    public let hasEscapes: Bool

    @inlinable
    public init(base: UnsafePointer<UInt8>, start: Int, end: Int, hasEscapes: Bool) {
        self.base = base
        self.start = start
        self.end = end
        self.hasEscapes = hasEscapes
    }

    /// The raw (escaped) bytes.
    @inlinable
    public var rawBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base + start, count: end - start) }

    @inlinable public var rawCount: Int { end - start }

    /// Compares the decoded string with `s`.
    @inlinable
    public func equals(_ s: StaticString) -> Bool {
        if !hasEscapes { return bytesEqual(base + start, end - start, s) }
        return equalsSlow(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Compares the decoded string with the UTF-8 bytes `other`.
    @inlinable
    public func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        if !hasEscapes {
            guard other.count == end - start, let o = other.baseAddress else { return other.isEmpty && end == start }
            return bytesEqual(base + start, o, other.count)
        }
        return equalsSlow(other)
    }

    @usableFromInline
    func equalsSlow(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        var decoder = JSONUnescaper(self)
        var i = 0
        while let b = decoder.next() {
            guard i < other.count, other[i] == b else { return false }
            i += 1
        }
        return i == other.count
    }

    /// Whether the decoded string starts with `prefix`.
    public func hasPrefix(_ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        if !hasEscapes {
            return end - start >= n && bytesEqual(base + start, n, prefix)
        }
        var decoder = JSONUnescaper(self)
        let p = prefix.utf8Start
        for i in 0..<n {
            guard let b = decoder.next(), b == p[i] else { return false }
        }
        return true
    }

    /// Calls `body` with the decoded UTF-8 bytes: the raw bytes themselves when there is
    /// nothing to decode, otherwise a temporary buffer (on the stack when small).
    /// Invalid UTF-8 is passed through as is; a lone surrogate escape becomes U+FFFD.
    /// Inlinable, so that callers in other modules get it specialized: a generic call per
    /// value looked up type metadata each time (6% of `kaudit stats`).
    @inlinable
    public func withDecodedBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if !hasEscapes { return try body(rawBytes) }
        return try withUnescapedBytes(body)
    }

    @usableFromInline
    func withUnescapedBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        // Decoding can grow the bytes: a malformed `\u` (2 raw bytes) becomes U+FFFD (3 bytes),
        // so reserve 1.5x the raw length (found by Fuzz/ReaderFuzzer.swift: stack overflow write).
        let capacity = (end - start) + (end - start) / 2 + 2
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { tmp in
            var decoder = JSONUnescaper(self)
            var n = 0
            while let b = decoder.next() {
                tmp[n] = b
                n += 1
            }
            return try body(UnsafeBufferPointer(rebasing: tmp[0..<n]))
        }
    }

    /// The decoded string. Invalid UTF-8 is repaired with U+FFFD. Allocates for strings
    /// longer than 15 bytes: use it for output, not on the hot path.
    public var string: String {
        withDecodedBytes { String(decoding: $0, as: UTF8.self) }
    }
}

/// Decodes JSON string escapes byte by byte, without allocating.
///
/// `\uXXXX` escapes become UTF-8; surrogate pairs are joined; a lone or malformed
/// surrogate becomes U+FFFD. An unknown escape yields the escaped byte itself.
public struct JSONUnescaper: IteratorProtocol {
    let base: UnsafePointer<UInt8>
    var i: Int
    let end: Int
    /// Pending UTF-8 bytes of a decoded `\u` escape (up to 4), stored low byte first.
    var pending: UInt32 = 0
    var pendingCount = 0

    public init(_ s: JSONString) {
        base = s.base
        i = s.start
        end = s.end
    }

    public mutating func next() -> UInt8? {
        if pendingCount > 0 {
            let b = UInt8(truncatingIfNeeded: pending)
            pending >>= 8
            pendingCount -= 1
            return b
        }
        guard i < end else { return nil }
        let b = base[i]
        guard b == ASCII.backslash, i + 1 < end else {
            i += 1
            return b
        }
        let e = base[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "u"): return decodeUnicodeEscape()
        default: return e  // \" \\ \/ and anything unknown
        }
    }

    private func hex4(at j: Int) -> UInt32? {
        guard j + 4 <= end else { return nil }
        var v: UInt32 = 0
        for k in j..<(j + 4) {
            guard let d = hexDigitValue(base[k]) else { return nil }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private mutating func decodeUnicodeEscape() -> UInt8? {
        guard var scalar = hex4(at: i) else { return emit(0xFFFD) }
        i += 4
        if scalar >= 0xD800 && scalar < 0xDC00 {
            // High surrogate: a low surrogate escape must follow.
            if i + 6 <= end, base[i] == ASCII.backslash, base[i + 1] == UInt8(ascii: "u"),
                let low = hex4(at: i + 2), low >= 0xDC00 && low < 0xE000
            {
                i += 6
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
                scalar = 0xFFFD
            }
        } else if scalar >= 0xDC00 && scalar < 0xE000 {
            scalar = 0xFFFD
        }
        return emit(scalar)
    }

    /// Returns the first UTF-8 byte of `scalar` and queues the rest.
    private mutating func emit(_ scalar: UInt32) -> UInt8 {
        if scalar < 0x80 { return UInt8(scalar) }
        if scalar < 0x800 {
            pending = 0x80 | (scalar & 0x3F)
            pendingCount = 1
            return UInt8(0xC0 | (scalar >> 6))
        }
        if scalar < 0x10000 {
            pending = (0x80 | ((scalar >> 6) & 0x3F)) | ((0x80 | (scalar & 0x3F)) << 8)
            pendingCount = 2
            return UInt8(0xE0 | (scalar >> 12))
        }
        pending = (0x80 | ((scalar >> 12) & 0x3F)) | ((0x80 | ((scalar >> 6) & 0x3F)) << 8)
            | ((0x80 | (scalar & 0x3F)) << 16)
        pendingCount = 3
        return UInt8(0xF0 | (scalar >> 18))
    }
}

extension JSONValue {
    /// The value's string contents (nil unless the value is a string).
    @inlinable
    public var jsonString: JSONString? {
        guard kind == .string, end - start >= 2 else { return nil }
        // Escape presence is found by a 16-bytes-at-a-time scan; most audit strings have none.
        let escaped = JSONScanner.containsBackslash(base, start + 1, end - 1)
        return JSONString(base: base, start: start + 1, end: end - 1, hasEscapes: escaped)
    }

    /// The raw bytes between the quotes, escapes and all (nil unless the value is a string):
    /// for hashing and for comparisons with text that has no backslash, without the scan for
    /// escapes `jsonString` makes.
    @inlinable
    public var rawStringContents: UnsafeBufferPointer<UInt8>? {
        guard kind == .string, end - start >= 2 else { return nil }
        return UnsafeBufferPointer(start: base + start + 1, count: end - start - 2)
    }

    /// The decoded string value (nil unless the value is a string). Allocates; cold path.
    public var string: String? { jsonString?.string }

    /// Whether the value is the string `s` (`s` holds no backslash).
    @inlinable
    public func stringEquals(_ s: StaticString) -> Bool {
        guard kind == .string else { return false }
        let n = end - start - 2
        let count = s.utf8CodeUnitCount
        if n == count { return bytesEqual(base + start + 1, n, s) }
        // An escape makes the raw text longer than what it decodes to, so only a longer raw
        // text can still be `s`: a shorter one is answered without looking for escapes.
        guard n > count, let js = jsonString, js.hasEscapes else { return false }
        return js.equals(s)
    }
}
