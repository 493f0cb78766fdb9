import AuditInputs
import Glibc

/// File helpers of the spool: names, sizes, the fingerprint frames.
enum SpoolFiles {
    /// Regular files in `dir` named PREFIX…SUFFIX, sorted (names embed the UTC time, so this
    /// is the order they were written in).
    static func names(in dir: String, prefix: String, suffix: String) -> [String] {
        InputPaths.regularFiles(in: dir).filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
    }

    static func size(_ path: String) -> Int64 { InputPaths.fileSize(path) }

    static func readAll(_ path: String) throws(SpoolError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError.errno("open", path) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(size(path)))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, $0.count - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SpoolError.errno("read", path) }
            if n == 0 { break }
            got += n
        }
        bytes.removeLast(bytes.count - got)
        return bytes
    }

    /// PREFIX<lumberjack UTC time>SUFFIX, later in sort order than `previous` (the clock
    /// may stand still or step back; the name then takes the next millisecond).
    static func nextName(prefix: String, suffix: String, after previous: String) -> String {
        var millis = RotatedFiles.nowMillis()
        while true {
            let name = prefix + RotatedFiles.timestamp(millis: millis) + suffix
            if name > previous { return name }
            millis += 1
        }
    }

    static func monotonicMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// zstd's skippable frames have magic 0x184D2A50 to 0x184D2A5F; kaudit uses the first.
    static let skippableMagic: UInt32 = 0x184D_2A50

    /// A skippable frame holding `fingerprints` (little-endian), which every zstd decoder,
    /// `kaudit scan` included, passes over.
    static func skippableFrame(fingerprints: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + 8 * fingerprints.count)
        func put32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        put32(skippableMagic)
        put32(UInt32(8 * fingerprints.count))
        for f in fingerprints {
            for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: f >> (8 * UInt64(i)))) }
        }
        return out
    }

    /// Whether `frame` is one of the spool's fingerprint frames.
    static func isFingerprintFrame(_ frame: UnsafeRawBufferPointer) -> Bool {
        frame.count >= 8 && frame.loadUnaligned(as: UInt32.self).littleEndian == skippableMagic
    }

    /// Appends the fingerprints of a fingerprint frame (nothing for other frames).
    static func readFingerprints(_ frame: UnsafeRawBufferPointer, into out: inout [UInt64]) {
        guard isFingerprintFrame(frame) else { return }
        let n = Int(frame.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        guard 8 + n <= frame.count else { return }
        var i = 8
        while i + 8 <= 8 + n {
            out.append(frame.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
            i += 8
        }
    }
}

/// One line of the quarantine log:
/// `{"received":"RFC 3339","sender":"…","reason":"…","offset":N,"bytes":N,"raw_base64":"…"}`.
/// The raw item is base64 because it may be anything (invalid UTF-8, NUL bytes, half an object).
enum QuarantineRecord {
    static func append(to out: inout [UInt8], sender: String, item: SpoolBatch.Quarantined, millis: Int64) {
        out += Array("{\"received\":\"".utf8)
        out += Array(RFC3339Millis.format(millis).utf8)
        out += Array("\",\"sender\":".utf8)
        JSONText.appendString(sender, to: &out)
        out += Array(",\"reason\":".utf8)
        JSONText.appendString(item.reason, to: &out)
        out += Array(",\"offset\":\(item.offset),\"bytes\":\(item.raw.count),\"raw_base64\":\"".utf8)
        Base64.append(item.raw, to: &out)
        out += Array("\"}\n".utf8)
    }
}

/// Wall-clock milliseconds as RFC 3339 (`2006-01-02T15:04:05.000Z`).
enum RFC3339Millis {
    static func format(_ millis: Int64) -> String {
        // The lumberjack form is the same fields with '-' between the time's parts.
        let ts = Array(RotatedFiles.timestamp(millis: millis).utf8)
        var out = ts
        out[13] = UInt8(ascii: ":")
        out[16] = UInt8(ascii: ":")
        return String(decoding: out, as: UTF8.self) + "Z"
    }
}

/// JSON string literals for the few strings kaudit writes itself (names, reasons).
public enum JSONText {
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Standard base64 (RFC 4648, with padding).
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
    }

    /// Decodes standard base64; nil on any other character or a bad length.
    public static func decode(_ text: String) -> [UInt8]? {
        var table = [Int16](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int16(i) }
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var v: UInt32 = 0
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") && i + 4 == chars.count && j >= 2 {
                    pad += 1
                    v <<= 6
                    continue
                }
                guard pad == 0, table[Int(c)] >= 0 else { return nil }
                v = v << 6 | UInt32(table[Int(c)])
            }
            out.append(UInt8(v >> 16 & 255))
            if pad < 2 { out.append(UInt8(v >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(v & 255)) }
            i += 4
        }
        return out
    }
}
