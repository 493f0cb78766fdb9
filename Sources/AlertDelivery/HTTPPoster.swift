import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One blocking HTTP/1.1 POST per call, on a fresh connection (`Connection: close`).
///
/// Called only from a delivery thread, never from an event loop, so waiting on futures is
/// allowed. A new connection per batch costs a handshake per batch, not per alert, and
/// leaves no half-dead keep-alive connection to detect after a receiver restarts.
struct HTTPPoster {
    /// How a POST ended, as far as retrying is concerned.
    enum Outcome: Equatable {
        /// 2xx.
        case delivered(status: Int)
        /// Connection refused or reset, TLS failure, timeout, 408, 429 or 5xx: worth another try.
        case retry(String)
        /// Any other status (a 4xx the receiver will repeat): trying again cannot help.
        case rejected(status: Int)
    }

    struct Timeout: Error {}

    let target: DeliveryTarget
    let group: any EventLoopGroup
    let sslContext: NIOSSLContext?
    let headers: HTTPHeaders
    let connectTimeout: TimeAmount

    init(target: DeliveryTarget, group: any EventLoopGroup, tls: NIOSSLContext?, bearerToken: String?, connectTimeout: Double) {
        self.target = target
        self.group = group
        sslContext = tls
        var h = HTTPHeaders()
        h.add(name: "Host", value: target.hostHeader)
        h.add(name: "User-Agent", value: "kaudit")
        h.add(name: "Content-Type", value: "application/json")
        h.add(name: "Connection", value: "close")
        if let bearerToken { h.add(name: "Authorization", value: "Bearer " + bearerToken) }
        headers = h
        self.connectTimeout = .nanoseconds(Int64(connectTimeout * 1e9))
    }

    /// POSTs `body`; gives up (`.retry`) when no full response arrived within `timeout`
    /// seconds of starting, connection included.
    func post(_ body: [UInt8], timeout: Double) -> Outcome {
        let loop = group.next()
        let promise = loop.makePromise(of: Int.self)
        let ssl = sslContext
        let serverName = target.serverName
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(min(connectTimeout, .nanoseconds(Int64(max(timeout, 0.001) * 1e9))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let ssl {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: ssl, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StatusCollector(promise: promise))
                }
            }
        let deadline = loop.scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) { promise.fail(Timeout()) }
        defer { deadline.cancel() }
        var channel: (any Channel)?
        defer { channel?.close(promise: nil) }
        do {
            let connecting = bootstrap.connect(host: target.host, port: target.port)
            // A connect that outlives the deadline fails the promise first; the channel, if it
            // comes later, is closed as soon as it exists.
            connecting.whenFailure { promise.fail($0) }
            connecting.whenSuccess { c in
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: headers)
                head.headers.add(name: "Content-Length", value: String(body.count))
                var buffer = c.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                c.write(HTTPClientRequestPart.head(head), promise: nil)
                c.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                c.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
                promise.futureResult.whenComplete { _ in c.close(promise: nil) }
            }
            let status = try promise.futureResult.wait()
            channel = try? connecting.wait()
            switch status {
            case 200..<300: return .delivered(status: status)
            case 408, 429, 500..<600: return .retry("HTTP \(status)")
            default: return .rejected(status: status)
            }
        } catch is Timeout {
            return .retry("no response within \(Self.seconds(timeout)) s")
        } catch let e as NIOConnectionError {
            let why = e.connectionErrors.last.map { String(describing: $0.error) } ?? "no address for the host"
            return .retry("cannot connect: " + why)
        } catch {
            return .retry(String(describing: error))
        }
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}

/// Completes the promise with the response status once the whole response was read (so the
/// receiver saw the entire request), or fails it when the connection ends first.
private final class StatusCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct ClosedEarly: Error, CustomStringConvertible {
        var description: String { "connection closed before a full response" }
    }

    let promise: EventLoopPromise<Int>
    var status: Int?

    init(promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            if let status { promise.succeed(status) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ClosedEarly())
        context.fireChannelInactive()
    }
}
