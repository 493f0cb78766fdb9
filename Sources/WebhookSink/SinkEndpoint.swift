import AuditSpool
import Glibc
import NIOCore
import NIOHTTP1
import Synchronization

/// The bounds a request must keep. README (`kaudit serve`) gives the reason for each default.
public struct RequestLimits: Sendable {
    /// Largest body accepted (413 above it). 64 MiB: with the apiserver's truncating backend a
    /// batch is at most 400 × 100 KiB ≈ 40 MiB; 64 MiB leaves headroom for JSON overhead, while a
    /// refused batch is retried five times and then lost, so the cap must stay above anything
    /// a real apiserver sends.
    public var maxBodyBytes = 64 << 20
    /// Bodies held in memory by all requests together; a request whose body would go past it
    /// is answered 503 before its body is read. 512 MiB: eight maximal batches, or hundreds
    /// of ordinary 1 MB ones.
    public var maxInFlightBodyBytes = 512 << 20
    /// Header bytes (all fields together): NIOHTTP1 refuses more with 400. 64 KiB is ample
    /// for a webhook request (a token and a few fixed headers).
    public var maxHeaderBytes = 64 << 10
    /// From connection (or first byte of the next request) to complete headers, TLS handshake
    /// included: a slowloris sending a header byte at a time is closed here.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// A kept-alive connection with no request: closed after this. Above Go's default idle
    /// timeout (90 s), so the apiserver normally closes first.
    public var idleTimeout: TimeAmount = .seconds(120)
    /// A body must arrive at least this fast, measured over each `bodyRateWindow`.
    /// 16 KiB/s: a 1 MB batch at that rate would take a minute, twice the apiserver's timeout.
    public var minBodyBytesPerSecond = 16 << 10
    public var bodyRateWindow: TimeAmount = .seconds(5)
    /// Open connections; more are closed at once. The apiserver keeps up to 25 idle
    /// connections and one more per batch in flight.
    public var maxConnections = 1024
    /// Requests between admission and their answer, all connections together; more get 503
    /// with Retry-After before their body is read. This is what overload looks like to the
    /// apiserver: a quick 503 it retries after the delay, instead of every request slowing
    /// down together without limit (a slow sink makes the apiserver's own memory grow). An
    /// apiserver sends a few batches at a time, so several apiservers stay well under 32
    /// while the sink keeps up; on the project's machine 8 connections at 100,000 events/s
    /// never reach it.
    public var maxActiveRequests = 32
    /// Seconds in the Retry-After header of a 503. client-go retries a 503 with Retry-After
    /// within the same attempt, up to 10 times, honouring the delay.
    public var retryAfterSeconds = 1

    public init() {}
}

/// A response to write.
public struct SinkResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Close the connection after it (a refusal before the body was read).
    public var close: Bool

    init(_ status: HTTPResponseStatus, _ body: String = "{}", contentType: String = "application/json", close: Bool = false,
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.body = Array(body.utf8)
        self.headers = [("Content-Type", contentType)] + headers
        self.close = close
    }
}

/// What to do with a request once its head is read.
public enum Admission: Sendable {
    /// Read the body (at most `limit` bytes) and then call `accept`. `reserved` bytes of the
    /// in-flight budget were taken and are given back by `accept` (or `abandon`).
    case readBody(limit: Int, identity: String, reserved: Int)
    /// Answer at once; the body, if any, is not read.
    case respond(SinkResponse)
}

/// The sink's request logic, apart from sockets: authentication and bounds on the head, and
/// what happens to a body. The channel handler drives it; tests call it directly.
public final class SinkEndpoint: Sendable {
    public let path: String
    public let limits: RequestLimits
    public let policy: AccessPolicy
    public let spool: Spool
    public let metrics: SinkMetrics
    let inFlight = Atomic<Int>(0)
    let active = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)
    let ready = Atomic<Bool>(true)

    public init(path: String, limits: RequestLimits, policy: AccessPolicy, spool: Spool, metrics: SinkMetrics) {
        self.path = path
        self.limits = limits
        self.policy = policy
        self.spool = spool
        self.metrics = metrics
    }

    /// After this, every request is answered 503 and its connection closed (shutdown).
    public func startDraining() { draining.store(true, ordering: .relaxed) }

    /// Bytes of request bodies held now.
    public var inFlightBytes: Int { inFlight.load(ordering: .relaxed) }

    /// Decides on a request from its head alone, so an unauthenticated or oversized request
    /// is refused before its body is read.
    public func admit(_ head: HTTPRequestHead, peerSubject: String?) -> Admission {
        let target = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if head.method == .GET && (target == "/healthz" || target == "/readyz") {
            if target == "/readyz" && (draining.load(ordering: .relaxed) || !ready.load(ordering: .relaxed)) {
                return .respond(SinkResponse(.serviceUnavailable, "not ready\n", contentType: "text/plain"))
            }
            return .respond(SinkResponse(.ok, "ok\n", contentType: "text/plain"))
        }
        let identity: String
        switch policy.decide(authorization: head.headers.first(name: "Authorization"), peerSubject: peerSubject) {
        case .allowed(let who): identity = who
        case .unauthorized(let why):
            metrics.refused("unauthorized")
            return .respond(SinkResponse(.unauthorized, "{\"error\":\"\(why)\"}", close: true,
                headers: [("WWW-Authenticate", "Bearer")]))
        case .forbidden(let why):
            metrics.refused("forbidden")
            return .respond(SinkResponse(.forbidden, "{\"error\":\"\(why)\"}", close: true))
        }
        if target == "/metrics" && head.method == .GET {
            return .respond(SinkResponse(.ok, metrics.render(spool: spool.stats), contentType: "text/plain; version=0.0.4"))
        }
        guard target == path else {
            return .respond(SinkResponse(.notFound, "{\"error\":\"not found\"}", close: true))
        }
        guard head.method == .POST else {
            return .respond(SinkResponse(.methodNotAllowed, "{\"error\":\"POST only\"}", close: true, headers: [("Allow", "POST")]))
        }
        if draining.load(ordering: .relaxed) { return .respond(unavailable("shutting down", close: true)) }
        if let encoding = head.headers.first(name: "Content-Encoding"), encoding.lowercased() != "identity" {
            metrics.refused("content_encoding")
            return .respond(SinkResponse(.unsupportedMediaType, "{\"error\":\"Content-Encoding is not accepted\"}", close: true))
        }
        let length = head.headers.first(name: "Content-Length").flatMap { Int($0) }
        if let length, length > limits.maxBodyBytes {
            metrics.refused("body_too_large")
            return .respond(tooLarge())
        }
        if active.add(1, ordering: .relaxed).newValue > limits.maxActiveRequests {
            active.subtract(1, ordering: .relaxed)
            metrics.refused("active_requests")
            return .respond(unavailable("too many requests in progress", close: true))
        }
        // A chunked body reserves the cap's worth: its size is not known yet.
        let reserve = length ?? limits.maxBodyBytes
        guard reserveBudget(reserve) else {
            active.subtract(1, ordering: .relaxed)
            metrics.refused("in_flight_bytes")
            return .respond(unavailable("too many request bytes in flight", close: true))
        }
        return .readBody(limit: limits.maxBodyBytes, identity: identity, reserved: reserve)
    }

    func reserveBudget(_ bytes: Int) -> Bool {
        let after = inFlight.add(bytes, ordering: .relaxed).newValue
        if after > limits.maxInFlightBodyBytes && after != bytes {  // one request alone may always go
            inFlight.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Ends a request admitted with `.readBody` that will not reach `accept` (its body was
    /// too large, or its connection closed): gives back its reservation.
    public func abandon(_ reserved: Int) {
        inFlight.subtract(reserved, ordering: .relaxed)
        active.subtract(1, ordering: .relaxed)
    }

    /// Requests between admission and their answer (shutdown waits for them).
    public var activeRequests: Int { active.load(ordering: .relaxed) }

    /// Parses the body, appends it to the spool and answers once it is durable: 200 with
    /// `{}`, 503 with Retry-After when the spool is full, 500 when the disk failed.
    public func accept(
        body: UnsafeRawBufferPointer, identity: String, reserved: Int, done: @escaping @Sendable (SinkResponse) -> Void
    ) {
        let batch = BatchParser.parse(body, sender: identity, fingerprinter: spool.fingerprinter)
        metrics.received(events: batch.events.count, bytes: body.count)
        inFlight.subtract(reserved, ordering: .relaxed)
        spool.append(batch) { outcome in
            defer { self.active.subtract(1, ordering: .relaxed) }
            switch outcome {
            case .stored: done(SinkResponse(.ok))
            case .full: done(self.unavailable("spool full"))
            case .failed(let why):
                self.metrics.refused("spool_write_error")
                done(SinkResponse(.serviceUnavailable, "{\"error\":\"spool write failed\"}",
                    headers: [("Retry-After", String(self.limits.retryAfterSeconds))]).logged(why))
            }
        }
    }

    func unavailable(_ why: String, close: Bool = false) -> SinkResponse {
        SinkResponse(.serviceUnavailable, "{\"error\":\"\(why)\"}", close: close,
            headers: [("Retry-After", String(limits.retryAfterSeconds))])
    }

    func tooLarge() -> SinkResponse {
        SinkResponse(.payloadTooLarge, "{\"error\":\"body over \(limits.maxBodyBytes) bytes\"}", close: true)
    }
}

extension SinkResponse {
    /// The same response; `why` goes to standard error (a disk failure must be seen).
    func logged(_ why: String) -> SinkResponse {
        SinkLog.error("spool: \(why)")
        return self
    }
}

/// Messages of the server for its operator (standard error).
public enum SinkLog {
    public static func error(_ message: String) {
        let line = Array(("kaudit serve: " + message + "\n").utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
