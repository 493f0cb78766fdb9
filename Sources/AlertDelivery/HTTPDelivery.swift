import Glibc
import NIOCore
import NIOPosix
import NIOSSL

/// The network thread that every delivery's connections run on (one is plenty: the work
/// per alert is a few writes).
public final class DeliveryLoop: Sendable {
    let group: MultiThreadedEventLoopGroup

    public init() { group = MultiThreadedEventLoopGroup(numberOfThreads: 1) }

    /// Stops the thread; call after every delivery using it has stopped.
    public func shutdown() { try? group.syncShutdownGracefully() }
}

/// How documents are delivered to one URL.
public struct DeliveryOptions: Sendable {
    /// Documents waiting to be sent; one more is dropped (and counted).
    public var queueCapacity = 10_000
    /// Documents per POST.
    public var batchSize = 100
    /// With a batch size of 1, send the document itself rather than a one-element array
    /// (what receivers that take one event per request, such as falcosidekick, expect).
    public var singleDocumentBodies = false
    /// Seconds to establish the connection (TCP and TLS).
    public var connectTimeout: Double = 5
    /// Seconds from the start of a POST until the whole response must have arrived.
    public var requestTimeout: Double = 10
    /// Seconds before the first retry; doubled after each failure up to `maxBackoff`.
    public var initialBackoff: Double = 0.5
    public var maxBackoff: Double = 30
    /// Attempts per batch before it is given up as failed (0: no limit; the queue bound then
    /// decides what is lost while a receiver is down).
    public var maxAttempts = 0
    /// Sent as `Authorization: Bearer TOKEN`.
    public var bearerToken: String?
    /// PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?

    public init() {}
}

/// What happened to the documents given to one `HTTPDelivery`. Every document accepted by
/// `enqueue` ends up in exactly one of sent, failed and unsent.
public struct DeliveryCounters: Sendable, Equatable {
    /// Documents in batches the receiver answered with 2xx.
    public var sent = 0
    /// POSTs that failed and were tried again.
    public var retried = 0
    /// Documents refused by `enqueue` because the queue was full.
    public var dropped = 0
    /// Documents given up: rejected with a 4xx, or still failing after `maxAttempts`.
    public var failed = 0
    /// Documents still queued or in flight when `finish` ran out of time.
    public var unsent = 0
    /// POSTs that were answered with 2xx.
    public var batches = 0

    public init() {}
}

/// Delivers JSON documents (alerts) to one URL from its own thread: `enqueue` only appends
/// to a bounded queue, so a slow or dead receiver never holds up the caller. Batches are
/// POSTed in order; a failed batch is retried with exponential backoff before the next
/// is sent.
public final class HTTPDelivery: @unchecked Sendable {
    public let target: DeliveryTarget
    public let options: DeliveryOptions

    private let poster: HTTPPoster
    private let condition = MonotonicCondition()
    // Guarded by `condition`.
    private var queue: [[UInt8]] = []
    private var queueHead = 0
    private var stopping = false
    private var deadline = Double.infinity
    private var finished = false
    private var tally = DeliveryCounters()
    private let notice: @Sendable (String) -> Void

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Validates the TLS settings (a CA file that cannot be read is an error now, not at the
    /// first alert) and starts the delivery thread. `notice` receives one line when
    /// deliveries start failing and one when they recover (not one per retry).
    public init(
        target: DeliveryTarget, options: DeliveryOptions, loop: DeliveryLoop,
        notice: @escaping @Sendable (String) -> Void
    ) throws {
        self.target = target
        self.options = options
        self.notice = notice
        var context: NIOSSLContext?
        if target.tls {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = options.caFile {
                do {
                    let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                    guard !roots.isEmpty else { throw SetupError(description: "\(caFile) holds no PEM certificate") }
                    tls.trustRoots = .certificates(roots)
                } catch let e as SetupError {
                    throw e
                } catch {
                    throw SetupError(description: "cannot read the CA file \(caFile): \(error)")
                }
            }
            do {
                context = try NIOSSLContext(configuration: tls)
            } catch {
                throw SetupError(description: "TLS setup for \(target) failed: \(error)")
            }
        }
        poster = HTTPPoster(
            target: target, group: loop.group, tls: context, bearerToken: options.bearerToken,
            connectTimeout: options.connectTimeout)
        guard startThread(named: "kaudit-delivery", { [self] in run() }) else {
            throw SetupError(description: "cannot start the alert delivery thread for \(target)")
        }
    }

    /// Queues one document; false (and counted as dropped) when the queue is full or
    /// `finish` was called.
    @discardableResult
    public func enqueue(_ document: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, queue.count - queueHead < options.queueCapacity else {
            tally.dropped += 1
            return false
        }
        queue.append(document)
        condition.signal()
        return true
    }

    public var counters: DeliveryCounters {
        condition.lock()
        defer { condition.unlock() }
        return tally
    }

    /// Sends what is queued, waiting at most `timeout` seconds, then stops the thread. What
    /// could not be sent by then is counted as unsent. Returns the final counters.
    @discardableResult
    public func finish(timeout: Double) -> DeliveryCounters {
        stop(within: timeout)
        return waitUntilStopped()
    }

    /// Takes no more documents and gives the thread `timeout` seconds to send what is
    /// queued; returns at once (several deliveries can then be waited for together).
    public func stop(within timeout: Double) {
        condition.lock()
        if !stopping {
            stopping = true
            deadline = Self.now() + max(0, timeout)
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Waits for the thread after `stop(within:)`; returns the final counters.
    @discardableResult
    public func waitUntilStopped() -> DeliveryCounters {
        condition.lock()
        defer { condition.unlock() }
        while !finished { condition.wait() }
        return tally
    }

    // MARK: - The delivery thread

    private func run() {
        var failing = false
        while let batch = nextBatch() {
            let body = Self.body(batch, single: options.singleDocumentBodies && options.batchSize == 1)
            var backoff = options.initialBackoff
            var attempts = 0
            while true {
                attempts += 1
                let remaining = secondsLeft()
                let outcome: HTTPPoster.Outcome =
                    remaining <= 0 ? .retry("out of time") : poster.post(body, timeout: min(options.requestTimeout, remaining))
                switch outcome {
                case .delivered:
                    if failing { notice("alert delivery to \(target) recovered") }
                    failing = false
                    settle { $0.sent += batch.count; $0.batches += 1 }
                case .rejected(let status):
                    notice("alert delivery to \(target): HTTP \(status); \(batch.count) alert(s) given up")
                    settle { $0.failed += batch.count }
                case .retry(let why):
                    if options.maxAttempts > 0 && attempts >= options.maxAttempts {
                        notice("alert delivery to \(target): \(why); \(batch.count) alert(s) given up after \(attempts) attempts")
                        settle { $0.failed += batch.count }
                    } else if !pause(backoff) {
                        settle { $0.unsent += batch.count }
                    } else {
                        if !failing { notice("alert delivery to \(target) failing: \(why); retrying with backoff") }
                        failing = true
                        settle { $0.retried += 1 }
                        backoff = min(backoff * 2, options.maxBackoff)
                        continue
                    }
                }
                break
            }
        }
        condition.lock()
        tally.unsent += queue.count - queueHead
        queue.removeAll()
        queueHead = 0
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch, waiting for documents; nil when stopping and nothing is queued, or
    /// when the finish deadline has passed.
    private func nextBatch() -> [[UInt8]]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.count == queueHead && !stopping { condition.wait() }
        guard queue.count > queueHead, Self.now() < deadline else { return nil }
        let end = min(queue.count, queueHead + options.batchSize)
        let batch = Array(queue[queueHead..<end])
        queueHead = end
        if queueHead > 4096 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return batch
    }

    /// Sleeps `seconds` before a retry; false when the finish deadline comes first.
    private func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let wake = Self.now() + seconds
        while true {
            let now = Self.now()
            if now >= deadline { return false }
            if now >= wake { return true }
            condition.wait(seconds: min(wake, deadline) - now)
        }
    }

    private func settle(_ update: (inout DeliveryCounters) -> Void) {
        condition.lock()
        update(&tally)
        condition.unlock()
    }

    private func secondsLeft() -> Double {
        condition.lock()
        defer { condition.unlock() }
        return deadline - Self.now()
    }

    /// The documents as one JSON array, or the single document itself.
    static func body(_ batch: [[UInt8]], single: Bool) -> [UInt8] {
        if single, batch.count == 1 { return batch[0] }
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(batch.reduce(2) { $0 + $1.count + 1 })
        for (i, d) in batch.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += d
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
