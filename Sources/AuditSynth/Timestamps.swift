import AuditModel

/// Civil-date arithmetic, shared with the event view's timestamp parser (AuditModel).
enum CivilDate {
    /// Days since 1970-01-01 for a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        Int64(RFC3339.daysFromCivil(year: year, month: month, day: day))
    }

    /// Year, month, day for days since 1970-01-01.
    static func civil(days: Int64) -> (year: Int, month: Int, day: Int) {
        RFC3339.civil(days: Int(days))
    }

    /// Microseconds since the epoch for a UTC wall-clock time.
    static func micros(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int64 {
        (days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000
    }
}

/// RFC 3339 UTC formatting as the apiserver writes it: audit timestamps and lease `renewTime`
/// are MicroTime (`2026-01-05T00:00:01.123456Z`), object timestamps are Time (`...:01Z`).
/// The `YYYY-MM-DDT` prefix is cached because the day changes only once per 86 400 s of event time.
struct TimestampFormatter {
    private var cachedDay: Int64 = .min
    private var prefix: [UInt8] = []

    private mutating func datePrefix(day: Int64) -> [UInt8] {
        if day != cachedDay {
            let (y, m, d) = CivilDate.civil(days: day)
            var w = JSONWriter()
            let year = max(0, min(9999, y))
            w.twoDigits(year / 100)
            w.twoDigits(year % 100)
            w.byte(0x2D)
            w.twoDigits(m)
            w.byte(0x2D)
            w.twoDigits(d)
            w.byte(0x54)  // T
            prefix = w.bytes
            cachedDay = day
        }
        return prefix
    }

    /// Writes the timestamp content (no quotes). `micro` selects MicroTime vs Time precision.
    mutating func write(_ micros: Int64, micro: Bool = true, into w: inout JSONWriter) {
        var day = micros / 86_400_000_000
        var rem = micros % 86_400_000_000
        if rem < 0 { rem += 86_400_000_000; day -= 1 }
        w.raw(datePrefix(day: day))
        let secondOfDay = Int(rem / 1_000_000)
        w.twoDigits(secondOfDay / 3600)
        w.byte(0x3A)
        w.twoDigits(secondOfDay / 60 % 60)
        w.byte(0x3A)
        w.twoDigits(secondOfDay % 60)
        if micro {
            let frac = Int(rem % 1_000_000)
            w.byte(0x2E)
            w.twoDigits(frac / 10_000)
            w.twoDigits(frac / 100 % 100)
            w.twoDigits(frac % 100)
        }
        w.byte(0x5A)  // Z
    }

    /// Timestamp as standalone bytes (start-up rendering of fixed object timestamps).
    static func bytes(_ micros: Int64, micro: Bool = false) -> [UInt8] {
        var f = TimestampFormatter()
        var w = JSONWriter()
        f.write(micros, micro: micro, into: &w)
        return w.bytes
    }

    static func string(_ micros: Int64, micro: Bool = false) -> String {
        String(decoding: bytes(micros, micro: micro), as: UTF8.self)
    }
}
