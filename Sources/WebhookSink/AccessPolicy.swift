import Glibc
import Synchronization

/// Who may send: a client certificate (verified against the client CA during the TLS
/// handshake, optionally with an allow-list of subject common names) and/or a bearer token.
/// When both are configured both are required. Checked on the request head, before any body
/// byte is read.
public struct AccessPolicy: Sendable {
    /// Client certificates are required (the TLS layer verified them against the client CA).
    public var clientCertificates: Bool
    /// Subject common names allowed to send; nil allows any certificate the CA signed.
    public var allowedSubjects: Set<String>?
    public var token: TokenFile?

    public init(clientCertificates: Bool, allowedSubjects: Set<String>? = nil, token: TokenFile? = nil) {
        self.clientCertificates = clientCertificates
        self.allowedSubjects = allowedSubjects
        self.token = token
    }

    /// No authentication at all: only for `--insecure-listen` on loopback.
    public static let none = AccessPolicy(clientCertificates: false)

    public enum Decision: Sendable, Equatable {
        /// Allowed; the identity names the sender (certificate subject, or `bearer`).
        case allowed(identity: String)
        /// 401: no or wrong credentials.
        case unauthorized(String)
        /// 403: authenticated, but not allowed to send.
        case forbidden(String)
    }

    /// - Parameters:
    ///   - authorization: the `Authorization` header, if any.
    ///   - peerSubject: the common name of the verified client certificate (nil without one).
    public func decide(authorization: String?, peerSubject: String?) -> Decision {
        var identity = "anonymous"
        if clientCertificates {
            guard let peerSubject else { return .unauthorized("no client certificate") }
            if let allowed = allowedSubjects, !allowed.contains(peerSubject) {
                return .forbidden("client certificate subject is not allowed")
            }
            identity = "cn:" + peerSubject
        }
        if let token {
            guard let header = authorization, header.utf8.count > 7,
                header.utf8.prefix(7).elementsEqual("Bearer ".utf8) || header.utf8.prefix(7).elementsEqual("bearer ".utf8)
            else { return .unauthorized("no bearer token") }
            guard let expected = token.current() else { return .unauthorized("token file unreadable") }
            guard Self.constantTimeEquals(expected, header.utf8.dropFirst(7)) else { return .unauthorized("wrong bearer token") }
            if !clientCertificates { identity = "bearer" }
        }
        return .allowed(identity: identity)
    }

    /// Compares in time that depends only on the length of `given`, never on where the
    /// first difference is (a wrong length is folded into the same accumulator).
    public static func constantTimeEquals(_ expected: [UInt8], _ given: some Collection<UInt8>) -> Bool {
        var diff = UInt64(expected.count ^ given.count)
        var i = 0
        let n = expected.count
        for b in given {
            let e = n > 0 ? expected[i % n] : 0
            diff |= UInt64(e ^ b)
            i += 1
        }
        return diff == 0 && n > 0
    }
}

/// A bearer token kept in a file (as the apiserver's kubeconfig `tokenFile`), re-read when
/// the file changes (checked at most once a second), so the token can be rotated without a
/// restart. Surrounding whitespace (a trailing newline) is not part of the token.
public final class TokenFile: Sendable {
    public let path: String
    struct State {
        var token: [UInt8]?
        var stamp: (Int, Int, Int64, Int64) = (0, 0, 0, 0)  // inode, size, mtime s, mtime ns
        var checked: Int64 = -1_000_000
    }
    let state = Mutex(State())

    /// Reads the file now; fails when it is missing, unreadable or empty.
    public init(path: String) throws(SinkError) {
        self.path = path
        guard current() != nil else { throw SinkError("cannot read a token from \(path) (missing, unreadable or empty)") }
    }

    /// The token now (the last one read if the file became unreadable).
    public func current() -> [UInt8]? {
        let now = SinkClock.millis()
        return state.withLock { s in
            if now - s.checked < 1000, s.token != nil { return s.token }
            s.checked = now
            var st = stat()
            guard stat(path, &st) == 0 else { return s.token }
            let stamp = (Int(st.st_ino), Int(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec))
            if s.token != nil && stamp == s.stamp { return s.token }
            if let t = Self.read(path) {
                s.token = t
                s.stamp = stamp
            }
            return s.token
        }
    }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0, n < 8192 else { return nil }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let token = Array(buf[0..<n].drop(while: isSpace).reversed().drop(while: isSpace).reversed())
        return token.isEmpty ? nil : token
    }
}

/// A configuration or start-up problem of the sink.
public struct SinkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

enum SinkClock {
    static func millis() -> Int64 { nanos() / 1_000_000 }
    static func nanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
