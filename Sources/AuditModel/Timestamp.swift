import AuditJSON

/// The last date turned into days, and the last second turned into microseconds (see
/// `RFC3339.microTime(_:cache:)`).
@frozen
public struct DateCache {
    @usableFromInline var key: UInt64 = 0
    @usableFromInline var key2: UInt16 = 0
    @usableFromInline var days: Int = 0
    @usableFromInline var valid = false
    /// `2006-01-02T15:04:05` of the last MicroTime parsed (bytes 0..<8, 8..<16 and 15..<19)
    /// and its microseconds since the epoch; `secondKnown` false until one was.
    @usableFromInline var second0: UInt64 = 0
    @usableFromInline var second1: UInt64 = 0
    @usableFromInline var second2: UInt32 = 0
    @usableFromInline var secondMicros: Int64 = 0
    @usableFromInline var secondKnown = false

    @inlinable init() {}
}

/// RFC 3339 timestamps as microseconds since the Unix epoch.
///
/// The apiserver writes `2006-01-02T15:04:05.000000Z` (MicroTime); older fields have
/// second precision, and other producers write other precisions or offsets. Fractions
/// beyond microseconds are truncated. No Foundation: this runs for every event.
public enum RFC3339 {
    /// Parses `bytes` (without quotes).
    /// - Returns: microseconds since 1970-01-01T00:00:00Z, or nil if malformed.
    public static func microseconds(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
        if count == 27 && p[26] == UInt8(ascii: "Z") && p[19] == UInt8(ascii: ".") {
            if let t = microTime(p) { return t }
        }
        guard count >= 20 else { return nil }
        @inline(__always) func digits(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for k in at..<(at + n) {
                let d = Int(p[k]) &- 48
                guard d >= 0 && d < 10 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = digits(0, 4), p[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            p[7] == UInt8(ascii: "-"), let day = digits(8, 2),
            p[10] | 0x20 == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), p[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            p[16] == UInt8(ascii: ":"), let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var micros = 0
        if i < count && p[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100_000
            let fracStart = i
            while i < count, p[i] >= 48 && p[i] <= 57 {
                micros += Int(p[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > fracStart else { return nil }
        }
        guard i < count else { return nil }
        var offsetSeconds = 0
        switch p[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 <= count, let oh = digits(i + 1, 2), p[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2)
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (p[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        default:
            return nil
        }
        guard i == count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// The apiserver's MicroTime layout, `2006-01-02T15:04:05.000000Z`, parsed straight
    /// through (it is on every event, twice).
    @inline(__always)
    static func microTime(_ p: UnsafePointer<UInt8>) -> Int64? {
        guard let days = microTimeDays(p) else { return nil }
        return microTime(p, days: days)
    }

    /// The same, with the second and then the date looked up in `cache` first: consecutive
    /// events almost always share their second (a busy apiserver writes hundreds in each),
    /// and then only the fraction is read; else they share their date, and turning a date
    /// into days is half the work.
    @inline(__always)
    static func microTime(_ p: UnsafePointer<UInt8>, cache: UnsafeMutablePointer<DateCache>) -> Int64? {
        let raw = UnsafeRawPointer(p)
        let second0 = raw.loadUnaligned(as: UInt64.self)
        let second1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let second2 = raw.loadUnaligned(fromByteOffset: 15, as: UInt32.self)
        if cache.pointee.secondKnown && cache.pointee.second0 == second0 && cache.pointee.second1 == second1
            && cache.pointee.second2 == second2
        {
            guard let fraction = fractionMicros(p) else { return nil }
            return cache.pointee.secondMicros &+ fraction
        }
        let key2 = UInt16(truncatingIfNeeded: second1)
        let days: Int
        if cache.pointee.valid && cache.pointee.key == second0 && cache.pointee.key2 == key2 {
            days = cache.pointee.days
        } else {
            guard let parsed = microTimeDays(p) else { return nil }
            days = parsed
            cache.pointee.key = second0
            cache.pointee.key2 = key2
            cache.pointee.days = days
            cache.pointee.valid = true
        }
        guard let seconds = microTimeSeconds(p, days: days), let fraction = fractionMicros(p) else { return nil }
        cache.pointee.second0 = second0
        cache.pointee.second1 = second1
        cache.pointee.second2 = second2
        cache.pointee.secondMicros = seconds &* 1_000_000
        cache.pointee.secondKnown = true
        return seconds &* 1_000_000 &+ fraction
    }

    /// Days since the epoch of the `2006-01-02` at `p`.
    @inline(__always)
    static func microTimeDays(_ p: UnsafePointer<UInt8>) -> Int? {
        guard p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-") else { return nil }
        // Digits minus '0'; any byte that is not a digit makes some value > 9.
        let y0 = p[0] &- 48, y1 = p[1] &- 48, y2 = p[2] &- 48, y3 = p[3] &- 48
        let mo0 = p[5] &- 48, mo1 = p[6] &- 48, d0 = p[8] &- 48, d1 = p[9] &- 48
        @inline(__always) func over9(_ v: UInt8) -> UInt8 { v > 9 ? 1 : 0 }
        let bad = over9(y0) | over9(y1) | over9(y2) | over9(y3) | over9(mo0) | over9(mo1) | over9(d0) | over9(d1)
        guard bad == 0 else { return nil }
        let year = Int(y0) &* 1000 &+ Int(y1) &* 100 &+ Int(y2) &* 10 &+ Int(y3)
        let month = Int(mo0) &* 10 &+ Int(mo1)
        let day = Int(d0) &* 10 &+ Int(d1)
        guard month >= 1, month <= 12, day >= 1, day <= 31 else { return nil }
        return daysFromCivil(year: year, month: month, day: day)
    }

    /// The `T15:04:05.000000Z` part at `p + 10`, added to `days` (the caller has checked
    /// the `.` at 19 and the `Z` at 26: bytes `p[0...26]` are readable).
    @inline(__always)
    static func microTime(_ p: UnsafePointer<UInt8>, days: Int) -> Int64? {
        guard let seconds = microTimeSeconds(p, days: days), let fraction = fractionMicros(p) else { return nil }
        return seconds &* 1_000_000 &+ fraction
    }

    /// Seconds since the epoch of the `T15:04:05` at `p + 10` on `days`.
    ///
    /// Eight bytes at a time (it runs for every event): `HH:MM:SS` is one load, its
    /// separators swapped for `0`, every byte checked to be a digit at once, and the numbers
    /// put together by multiplies.
    @inline(__always)
    static func microTimeSeconds(_ p: UnsafePointer<UInt8>, days: Int) -> Int64? {
        guard p[10] == UInt8(ascii: "T") else { return nil }
        let clock = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 11, as: UInt64.self))
        // Colons at bytes 2 and 5 of the clock.
        let colons: UInt64 = 0xFF << 16 | 0xFF << 40
        guard clock & colons == 0x3A << 16 | 0x3A << 40 else { return nil }
        let clockDigits = clock & ~colons | 0x30 << 16 | 0x30 << 40
        guard Self.allDigits(clockDigits) else { return nil }
        let c = clockDigits &- 0x3030_3030_3030_3030
        @inline(__always) func pair(_ byte: UInt64) -> Int { Int((c >> (8 * byte)) & 0xFF) &* 10 &+ Int((c >> (8 * byte + 8)) & 0xFF) }
        let hour = pair(0)
        let minute = pair(3)
        let second = pair(6)
        guard hour < 24, minute < 60, second < 61 else { return nil }
        return Int64(days) &* 86_400 &+ Int64(hour &* 3600 &+ minute &* 60 &+ second)
    }

    /// The microseconds of the `.000000Z` at `p + 19` (the `.` and `Z` are checked by the
    /// callers): one load, its ends swapped for `0`, checked to be digits at once.
    @inline(__always)
    static func fractionMicros(_ p: UnsafePointer<UInt8>) -> Int64? {
        let fraction = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 19, as: UInt64.self))
        let ends: UInt64 = 0xFF | 0xFF << 56
        let fractionDigits = fraction & ~ends | 0x30 | 0x30 << 56
        guard Self.allDigits(fractionDigits) else { return nil }
        // `0ffffff0` as a number is ten times the microseconds.
        var f = fractionDigits &- 0x3030_3030_3030_3030
        f = (f &* 10 &+ (f >> 8)) & 0x00FF_00FF_00FF_00FF
        f = (f &* 100 &+ (f >> 16)) & 0x0000_FFFF_0000_FFFF
        f = (f &* 10_000 &+ (f >> 32)) & 0xFFFF_FFFF
        return Int64(f / 10)
    }

    /// Whether each of the eight bytes of `w` is an ASCII digit.
    @inline(__always)
    static func allDigits(_ w: UInt64) -> Bool {
        // 0x30...0x39: high nibble 3, and adding 6 leaves it 3 (no carry out of the low nibble).
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        return w & high == 0x3030_3030_3030_3030 && (w &+ 0x0606_0606_0606_0606) & high == 0x3030_3030_3030_3030
    }

    /// Parses a JSON string value holding a timestamp, using and updating `cache`.
    @inline(__always)
    static func microseconds(_ value: JSONValue, cache: UnsafeMutablePointer<DateCache>) -> Int64? {
        let n = value.end - value.start - 2
        let p = value.base + value.start + 1
        if n == 27 && value.base[value.start] == UInt8(ascii: "\"") && p[26] == UInt8(ascii: "Z")
            && p[19] == UInt8(ascii: ".")
        {
            if let t = microTime(p, cache: cache) { return t }
        }
        return microseconds(value)
    }

    /// Parses a JSON string value holding a timestamp.
    public static func microseconds(_ value: JSONValue) -> Int64? {
        // Timestamps never need unescaping: a backslash makes them malformed anyway.
        guard value.kind == .string, value.end - value.start >= 2 else { return nil }
        return microseconds(value.base + value.start + 1, value.end - value.start - 2)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inline(__always)
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year &- 1 : year
        let era = (y >= 0 ? y : y &- 399) / 400
        let yoe = y &- era &* 400
        let mp = month > 2 ? month &- 3 : month &+ 9
        let doy = (153 &* mp &+ 2) / 5 &+ day &- 1
        let doe = yoe &* 365 &+ yoe / 4 &- yoe / 100 &+ doy
        return era &* 146_097 &+ doe &- 719_468
    }

    /// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's algorithm, the
    /// inverse of `daysFromCivil`).
    public static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Formats microseconds since the epoch as `2006-01-02T15:04:05.000000Z` (for output).
    public static func format(microseconds us: Int64) -> String {
        var secs = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
        let frac = Int(us - secs * 1_000_000)
        let days = Int(secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400)
        secs -= Int64(days) * 86_400
        let (y, m, d) = civil(days: days)
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let s = Int(secs)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(s / 3600, 2)):\(pad(s / 60 % 60, 2)):\(pad(s % 60, 2)).\(pad(frac, 6))Z"
    }
}
