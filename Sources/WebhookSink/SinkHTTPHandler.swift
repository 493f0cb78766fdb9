import NIOCore
import NIOHTTP1
import NIOSSL

/// One connection's HTTP/1.1 requests, driven through `SinkEndpoint`. The head is judged
/// before any body byte is read; a refused request gets its answer and the connection is
/// closed (its body is never read). A body is gathered up to the limit, then parsed and
/// spooled off the event loop's critical path: the response is written when the spool
/// says the batch is durable.
final class SinkHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case body(buffer: ByteBuffer, limit: Int, identity: String, reserved: Int, keepAlive: Bool, started: UInt64)
        /// Answer when the request ends (GET endpoints).
        case answerAtEnd(SinkResponse, keepAlive: Bool)
        /// The answer is written and the connection closing: ignore what comes.
        case discarding
        /// The body is with the spool.
        case processing
    }

    let endpoint: SinkEndpoint
    let connection: ConnectionGuard
    let tls: Bool
    var state = State.idle
    var peerSubject: String??

    init(endpoint: SinkEndpoint, connection: ConnectionGuard, tls: Bool) {
        self.endpoint = endpoint
        self.connection = connection
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            connection.headReceived()
            let started = DispatchTimeNanos.now()
            switch endpoint.admit(head, peerSubject: subject(context)) {
            case .respond(let response):
                if response.close {
                    state = .discarding
                    write(context, response, keepAlive: false, started: nil)
                } else {
                    state = .answerAtEnd(response, keepAlive: head.isKeepAlive)
                }
            case .readBody(let limit, let identity, let reserved):
                let length = head.headers.first(name: "Content-Length").flatMap { Int($0) } ?? (64 << 10)
                let buffer = context.channel.allocator.buffer(capacity: min(length, limit))
                state = .body(buffer: buffer, limit: limit, identity: identity, reserved: reserved, keepAlive: head.isKeepAlive,
                    started: started)
            }
        case .body(var part):
            guard case .body(var buffer, let limit, let identity, let reserved, let keepAlive, let started) = state else { return }
            connection.bodyBytes(part.readableBytes)
            if buffer.readableBytes + part.readableBytes > limit {
                endpoint.abandon(reserved)
                endpoint.metrics.refused("body_too_large")
                state = .discarding
                write(context, endpoint.tooLarge(), keepAlive: false, started: nil)
                return
            }
            state = .processing  // lets `buffer` be uniquely referenced while it grows
            buffer.writeBuffer(&part)
            state = .body(buffer: buffer, limit: limit, identity: identity, reserved: reserved, keepAlive: keepAlive,
                started: started)
        case .end:
            switch state {
            case .body(let buffer, _, let identity, let reserved, let keepAlive, let started):
                state = .processing
                connection.processing()
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                buffer.withUnsafeReadableBytes { body in
                    endpoint.accept(body: body, identity: identity, reserved: reserved) { response in
                        bound.eventLoop.execute {
                            let (handler, context) = bound.value
                            handler.state = .idle
                            handler.write(context, response, keepAlive: keepAlive, started: started)
                        }
                    }
                }
            case .answerAtEnd(let response, let keepAlive):
                state = .idle
                write(context, response, keepAlive: keepAlive, started: nil)
            default: break
            }
        }
    }

    /// The verified client certificate's common name (looked up once per connection).
    func subject(_ context: ChannelHandlerContext) -> String? {
        if let known = peerSubject { return known }
        var found: String?
        if tls, let cert = try? context.pipeline.syncOperations.nioSSL_peerCertificate(), let der = try? cert.toDERBytes() {
            found = CertificateSubject.commonName(der: der)
        }
        peerSubject = .some(found)
        return found
    }

    func write(_ context: ChannelHandlerContext, _ response: SinkResponse, keepAlive: Bool, started: UInt64?) {
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: String(response.body.count))
        let keep = keepAlive && !response.close
        if !keep { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        endpoint.metrics.response(Int(response.status.code),
            seconds: started.map { Double(DispatchTimeNanos.now() - $0) / 1e9 })
        connection.responded()
        if !keep {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .body(_, _, _, let reserved, _, _) = state { endpoint.abandon(reserved) }
        state = .discarding
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Monotonic nanoseconds (for request latency).
enum DispatchTimeNanos {
    static func now() -> UInt64 { UInt64(SinkClock.nanos()) }
}
