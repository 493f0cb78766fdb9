import Glibc

/// SipHash-1-3 (Aumasson and Bernstein) with a key kept in the state directory, so that an
/// event's fingerprint is the same after a restart (the duplicate table is rebuilt from the
/// spool) yet cannot be predicted, and so collided, by a sender.
public struct Fingerprinter: Sendable {
    let k0: UInt64
    let k1: UInt64

    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// The key in `path`, created from the system's random source when missing or unreadable.
    public static func load(orCreate path: String) throws(SpoolError) -> Fingerprinter {
        var key = [UInt8](repeating: 0, count: 16)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            let n = key.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 16) }
            close(fd)
            if n == 16 { return Fingerprinter(key) }
        }
        var random = SystemRandomNumberGenerator()  // getrandom(2): cryptographically secure
        for i in 0..<16 { key[i] = UInt8.random(in: 0...255, using: &random) }
        let out = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw SpoolError.errno("create", path + ".tmp") }
        let ok = key.withUnsafeBytes { write(out, $0.baseAddress, 16) } == 16 && fsync(out) == 0
        close(out)
        guard ok, rename(path + ".tmp", path) == 0 else { throw SpoolError.errno("write", path) }
        return Fingerprinter(key)
    }

    init(_ key: [UInt8]) {
        var a: UInt64 = 0
        var b: UInt64 = 0
        for i in 0..<8 {
            a |= UInt64(key[i]) << (8 * UInt64(i))
            b |= UInt64(key[8 + i]) << (8 * UInt64(i))
        }
        self.init(k0: a, k1: b)
    }

    /// The fingerprint of an event line as sent by `sender`.
    public func fingerprint(sender: UnsafeRawBufferPointer, line: UnsafeRawBufferPointer) -> UInt64 {
        var state = SipState(k0: k0, k1: k1)
        state.absorb(sender)
        state.absorb(UnsafeRawBufferPointer(start: nil, count: 0), separator: true)
        state.absorb(line)
        return state.finish()
    }
}

/// The SipHash state over a stream of byte runs (8-byte words, the tail carried over).
struct SipState {
    var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    var tail: UInt64 = 0
    var tailBytes = 0
    var length = 0

    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always)
    mutating func round() {
        v0 = v0 &+ v1; v1 = (v1 << 13 | v1 >> 51) ^ v0; v0 = v0 << 32 | v0 >> 32
        v2 = v2 &+ v3; v3 = (v3 << 16 | v3 >> 48) ^ v2
        v0 = v0 &+ v3; v3 = (v3 << 21 | v3 >> 43) ^ v0
        v2 = v2 &+ v1; v1 = (v1 << 17 | v1 >> 47) ^ v2; v2 = v2 << 32 | v2 >> 32
    }

    @inline(__always)
    mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        v0 ^= m
    }

    /// Adds bytes; `separator` adds one 0xFF byte (between the sender and the line, so
    /// "ab"+"c" and "a"+"bc" differ).
    mutating func absorb(_ bytes: UnsafeRawBufferPointer, separator: Bool = false) {
        if separator {
            addByte(0xFF)
            return
        }
        var i = 0
        let n = bytes.count
        while tailBytes != 0 && i < n {
            addByte(bytes[i])
            i += 1
        }
        while i + 8 <= n {
            compress(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
            i += 8
            length += 8
        }
        while i < n {
            addByte(bytes[i])
            i += 1
        }
    }

    @inline(__always)
    mutating func addByte(_ b: UInt8) {
        tail |= UInt64(b) << (8 * UInt64(tailBytes))
        tailBytes += 1
        length += 1
        if tailBytes == 8 {
            compress(tail)
            tail = 0
            tailBytes = 0
        }
    }

    mutating func finish() -> UInt64 {
        compress(tail | UInt64(length & 0xFF) << 56)
        v2 ^= 0xFF
        round()
        round()
        round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
