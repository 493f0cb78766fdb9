import NIOCore

/// Enforces the time bounds of one connection. It sits right after TLS (it sees decrypted
/// bytes before the HTTP decoder) and checks once a second:
/// - headers (and, on a new connection, the TLS handshake) must be complete within
///   `headerTimeout` of the first byte of a request;
/// - a body must arrive at `minBodyBytesPerSecond` over each `bodyRateWindow`;
/// - a connection with no request is closed after `idleTimeout`.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Phase {
        case awaitingHead(since: NIODeadline)
        case body(windowStart: NIODeadline, windowBytes: Int)
        case processing
        case idle(since: NIODeadline)
    }

    let limits: RequestLimits
    let metrics: SinkMetrics
    var phase = Phase.awaitingHead(since: .now())
    var timer: RepeatedTask?
    var context: ChannelHandlerContext?

    init(limits: RequestLimits, metrics: SinkMetrics) {
        self.limits = limits
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            bound.value.check()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = phase { phase = .awaitingHead(since: .now()) }
        context.fireChannelRead(data)
    }

    // Called by the HTTP handler as a request goes through its phases.
    func headReceived() { phase = .body(windowStart: .now(), windowBytes: 0) }
    func bodyBytes(_ n: Int) {
        if case .body(let start, let bytes) = phase { phase = .body(windowStart: start, windowBytes: bytes + n) }
    }
    func processing() { phase = .processing }
    func responded() { phase = .idle(since: .now()) }

    func check() {
        guard let context else { return }
        let now = NIODeadline.now()
        switch phase {
        case .awaitingHead(let since) where now - since > limits.headerTimeout:
            metrics.refused("header_timeout")
            context.close(promise: nil)
        case .idle(let since) where now - since > limits.idleTimeout:
            metrics.refused("idle_timeout")
            context.close(promise: nil)
        case .body(let start, let bytes) where now - start >= limits.bodyRateWindow:
            let seconds = Double((now - start).nanoseconds) / 1e9
            if Double(bytes) < Double(limits.minBodyBytesPerSecond) * seconds {
                metrics.refused("slow_body")
                context.close(promise: nil)
            } else {
                phase = .body(windowStart: now, windowBytes: 0)
            }
        default: break
        }
    }
}
