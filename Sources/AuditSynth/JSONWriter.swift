/// Byte-level JSON writer over a reused `[UInt8]`.
///
/// Why: generating ≥ 150 MB/s rules out building `String`s per field. Everything that repeats
/// (names, user fragments, pod specs) is rendered once to bytes; per event we only copy those
/// slices and format a few numbers, UUIDs and timestamps in place.
struct JSONWriter {
    var bytes: [UInt8]

    init(bytes: [UInt8] = []) { self.bytes = bytes }

    var count: Int { bytes.count }

    // MARK: Raw output (caller guarantees valid, already-escaped JSON text)

    @inline(__always)
    mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// For rarely written, composed text (attack bodies); hot paths use `StaticString` or bytes.
    mutating func rawText(_ s: String) { bytes.append(contentsOf: s.utf8) }

    @inline(__always)
    mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// `"` + pre-escaped content + `"`.
    @inline(__always)
    mutating func quoted(_ b: [UInt8]) {
        bytes.append(0x22)
        bytes.append(contentsOf: b)
        bytes.append(0x22)
    }

    @inline(__always)
    mutating func quoted(_ s: StaticString) {
        bytes.append(0x22)
        raw(s)
        bytes.append(0x22)
    }

    // MARK: Escaping

    /// Appends string content escaped the way Go's `encoding/json` does it (the apiserver's encoder):
    /// `"` and `\` backslashed, `\n \r \t` short forms, other controls and the HTML-sensitive
    /// `<`, `>`, `&` as `\u00XX`. That last rule is why real audit logs show `\u0026` in request URIs.
    mutating func escaped<S: Sequence<UInt8>>(_ content: S) {
        for c in content {
            switch c {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x00..<0x20, 0x3C, 0x3E, 0x26:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(c >> 4)])
                bytes.append(Self.hexDigits[Int(c & 0xF)])
            default: bytes.append(c)
            }
        }
    }

    /// Escaped bytes of `s`, for rendering catalogs once at start-up.
    static func escape(_ s: String) -> [UInt8] {
        var w = JSONWriter()
        w.escaped(s.utf8)
        return w.bytes
    }

    /// `"escaped"` as text, for composing start-up templates with string interpolation.
    static func quote(_ s: String) -> String {
        "\"" + String(decoding: escape(s), as: UTF8.self) + "\""
    }

    // MARK: Numbers and identifiers

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func int(_ value: Int) {
        if value < 0 {
            bytes.append(0x2D)
            int(0 &- value)
            return
        }
        if value < 10 {
            bytes.append(0x30 &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits = 1
        var probe = value
        while probe >= 10 { probe /= 10; digits += 1 }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0x30, count: digits))
        var v = value
        bytes.withUnsafeMutableBufferPointer { buf in
            var i = start + digits - 1
            while v > 0 {
                buf[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
                i -= 1
            }
        }
    }

    /// Exactly two decimal digits (timestamps).
    @inline(__always)
    mutating func twoDigits(_ v: Int) {
        bytes.append(0x30 &+ UInt8(truncatingIfNeeded: v / 10))
        bytes.append(0x30 &+ UInt8(truncatingIfNeeded: v % 10))
    }

    /// `count` lowercase hex digits of `value`, most significant first.
    mutating func hex(_ value: UInt64, digits count: Int) {
        var shift = (count - 1) * 4
        while shift >= 0 {
            bytes.append(Self.hexDigits[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }

    /// UUID v4 text (8-4-4-4-12) from 128 random bits, with version and variant bits set.
    mutating func uuid(_ hi: UInt64, _ lo: UInt64) {
        let h = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let l = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        hex(h >> 32, digits: 8)
        bytes.append(0x2D)
        hex(h >> 16, digits: 4)
        bytes.append(0x2D)
        hex(h, digits: 4)
        bytes.append(0x2D)
        hex(l >> 48, digits: 4)
        bytes.append(0x2D)
        hex(l, digits: 12)
    }

    /// Same as `uuid(_:_:)` but returned as bytes (object uids kept in the cluster model).
    static func uuidBytes(_ rng: inout SeededRandom) -> [UInt8] {
        var w = JSONWriter()
        w.uuid(rng.next(), rng.next())
        return w.bytes
    }
}
