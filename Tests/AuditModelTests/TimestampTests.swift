import AuditTestSupport
import AuditJSON
import AuditModel
import Testing

// RFC 3339 parsing and formatting, checked against libc's timegm.

@Suite("RFC3339")
struct TimestampTests {
    @Test(
        "valid timestamps",
        arguments: [
            ("1970-01-01T00:00:00Z", Int64(0)),
            ("2018-10-26T13:38:34Z", 1_540_561_114_000_000),
            ("2018-10-26T13:38:34.867116Z", 1_540_561_114_867_116),  // MicroTime, as the apiserver writes it
            ("2018-10-26T13:38:34.8Z", 1_540_561_114_800_000),
            ("2018-10-26T13:38:34.86Z", 1_540_561_114_860_000),
            ("2018-10-26T13:38:34.000001Z", 1_540_561_114_000_001),
            ("2018-10-26T13:38:34.8671169Z", 1_540_561_114_867_116),  // beyond microseconds: truncated
            ("2018-10-26T13:38:34.123456789Z", 1_540_561_114_123_456),
            ("2018-10-26T13:38:34.1234567890123456789Z", 1_540_561_114_123_456),
            ("2018-10-26T15:38:34+02:00", 1_540_561_114_000_000),
            ("2018-10-26T08:08:34.5-05:30", 1_540_561_114_500_000),
            ("2018-10-26T13:38:34+00:00", 1_540_561_114_000_000),
            ("2018-10-26t13:38:34z", 1_540_561_114_000_000),
            ("2018-10-26 13:38:34Z", 1_540_561_114_000_000),
            ("1969-12-31T23:59:59Z", -1_000_000),
            ("2000-02-29T12:00:00Z", 951_825_600_000_000),  // leap day
            ("2016-12-31T23:59:60Z", 1_483_228_800_000_000),  // leap second: the next second
        ])
    func valid(_ text: String, _ expected: Int64) {
        #expect(rfc3339(text) == expected)
    }

    @Test(
        "malformed timestamps are nil",
        arguments: [
            "", "2018-10-26", "2018-10-26T13:38:34", "2018-10-26T13:38:34.Z", "2018-10-26T13:38:34Zjunk",
            "2018-10-26T13:38:34+0200", "2018-10-26T13:38:34+02", "2018-13-01T00:00:00Z", "2018-00-01T00:00:00Z",
            "2018-10-00T00:00:00Z", "2018-10-32T00:00:00Z", "2018-10-26T24:00:00Z", "2018-10-26T13:60:00Z",
            "2018-10-26T13:38:61Z", "abcd-10-26T13:38:34Z", "2018/10/26T13:38:34Z", "2018-10-26X13:38:34Z",
            "2018-10-26T13:38:34 Z", " 2018-10-26T13:38:34Z", "+2018-10-26T13:38:34Z", "2018-10-26T13:38:3Z",
        ])
    func malformed(_ text: String) {
        #expect(rfc3339(text) == nil)
    }

    @Test("JSON values: only unescaped strings are timestamps")
    func jsonValues() throws {
        let bytes = utf8(#"["2018-10-26T13:38:34Z","2018-10-26T13:38:34\u005A",1540561114,null]"#)
        try bytes.withUnsafeBufferPointer { buffer in
            let array = try #require(JSONValue.parse(buffer))
            #expect(array.elements.map(RFC3339.microseconds) == [1_540_561_114_000_000, nil, nil, nil])
        }
    }

    @Test("the apiserver's layout: every clock and fraction value, and every byte out of place")
    func microTimeLayout() {
        // Parsed eight bytes at a time: each field is checked against timegm, and each
        // digit and separator position against bytes that are not what it needs.
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            let (h, mi, s, us) = (Int.random(in: 0...23, using: &rng), Int.random(in: 0...59, using: &rng),
                Int.random(in: 0...59, using: &rng), Int.random(in: 0...999_999, using: &rng))
            let text = "2026-11-23T" + [h, mi, s].map { pad($0, 2) }.joined(separator: ":") + "." + pad(us, 6) + "Z"
            #expect(rfc3339(text) == utcMicros(2026, 11, 23, h, mi, s, us), "\(text)")
        }
        for (h, mi, s) in [(23, 59, 59), (0, 0, 0), (9, 9, 9), (19, 50, 60)] {
            let text = "2026-11-23T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).999999Z"
            #expect(rfc3339(text) == utcMicros(2026, 11, 23, h, mi, s, 999_999), "\(text)")
        }
        for bad in ["2026-11-23T24:00:00.000000Z", "2026-11-23T00:60:00.000000Z", "2026-11-23T00:00:61.000000Z",
            "2026-11-23T99:00:00.000000Z"] {
            #expect(rfc3339(bad) == nil, "\(bad)")
        }
        let valid = Array("2026-11-23T12:34:56.789012Z".utf8)
        let digits = Set([11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25])
        let strangers: [UInt8] = [0x00, 0x2F, 0x3A, 0x3B, 0x3F, 0x40, 0x20, 0x61, 0x7F, 0xB0, 0xFF, 0x2E, 0x5A]
        for position in 10...25 {
            for byte in strangers + Array(0x30...0x39) {
                var text = valid
                text[position] = byte
                let needsDigit = digits.contains(position)
                let fits = needsDigit ? (0x30...0x39).contains(byte) : byte == valid[position]
                guard !fits else { continue }
                let parsed = text.withUnsafeBufferPointer { RFC3339.microseconds($0.baseAddress!, $0.count) }
                // A lower-case `t` or a space is accepted by the general parser at 10.
                if position == 10 && (byte == 0x74 || byte == 0x20) { continue }
                #expect(parsed == nil, "byte \(byte) at \(position): \(String(decoding: text, as: UTF8.self))")
            }
        }
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    @Test("daysFromCivil agrees with timegm over four centuries")
    func civilDays() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<5_000 {
            let y = Int.random(in: 1900...2300, using: &rng)
            let m = Int.random(in: 1...12, using: &rng)
            let d = Int.random(in: 1...28, using: &rng)
            #expect(Int64(RFC3339.daysFromCivil(year: y, month: m, day: d)) * 86_400_000_000 == utcMicros(y, m, d))
        }
        for (y, m, d) in [(1900, 3, 1), (2000, 2, 29), (2100, 3, 1), (2400, 2, 29), (1970, 1, 1)] {
            #expect(Int64(RFC3339.daysFromCivil(year: y, month: m, day: d)) * 86_400_000_000 == utcMicros(y, m, d))
        }
    }

    @Test("format and parse round-trip")
    func roundTrip() {
        #expect(RFC3339.format(microseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(RFC3339.format(microseconds: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(RFC3339.format(microseconds: 1_540_561_114_867_116) == "2018-10-26T13:38:34.867116Z")
        #expect(RFC3339.format(microseconds: 951_825_600_000_000) == "2000-02-29T12:00:00.000000Z")
        var rng = SplitMix64(seed: 2)
        let lower = utcMicros(1, 1, 1) - 0  // 0001-01-01
        let upper = utcMicros(9999, 12, 31, 23, 59, 59, 999_999)
        for _ in 0..<10_000 {
            let us = Int64.random(in: lower...upper, using: &rng)
            let formatted = RFC3339.format(microseconds: us)
            #expect(rfc3339(formatted) == us, "\(us) formatted as \(formatted)")
        }
    }
}

@Suite("Event timestamps through a shared storage")
struct SharedStorageTimestampTests {
    @Test("the remembered date and second never leak from one event into the next")
    func dateCacheFollowsTheEvent() {
        let storage = AuditEventStorage()
        // The cache remembers a date and a second: hits on both, on the date alone, on
        // neither, and a hit on the second whose fraction is malformed (nil, as uncached).
        let stamps = [
            "2026-01-05T23:59:59.999999Z", "2026-01-06T00:00:00.000001Z", "2025-12-31T12:00:00.500000Z",
            "2026-01-06T00:00:00.000001Z", "2024-02-29T08:15:00.000000Z", "2026-01-05T23:59:59.999999Z",
            "2026-01-05T23:59:59.000000Z", "2026-01-05T23:59:59.123456Z", "2026-01-05T23:59:59.12a456Z",
            "2026-01-05T23:59:59.654321Z", "2026-01-05T23:59:58.654321Z", "2026-01-05T23:58:59.654321Z",
            "2026-01-05T22:59:59.654321Z", "2026-01-05T23:59:59.654321Z", "2026-01-05T23:59:5x.654321Z",
            "2026-01-05T23:59:59.654321Z", "2026-02-05T23:59:59.654321Z", "2026-01-05T23:59:60.000000Z",
        ]
        for stamp in stamps {
            let line = #"{"auditID":"a","stageTimestamp":""# + stamp + #"","requestReceivedTimestamp":""# + stamp + #""}"#
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { buf in
                var event = AuditEvent(reusing: storage)
                guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
                    Issue.record("not an event: \(line)")
                    return
                }
                let expected = Array(stamp.utf8).withUnsafeBufferPointer { RFC3339.microseconds($0.baseAddress!, $0.count) }
                #expect((expected != nil) == !(stamp.contains("a") || stamp.contains("x")), "\(stamp)")
                #expect(event.stageMicros == expected, "\(stamp)")
                #expect(event.requestReceivedMicros == expected, "\(stamp)")
            }
        }
    }
}
