import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A minimal HTTP/1.1 client for `kaudit serve`'s own tools: the load generator and the
/// end-to-end tests. One connection, kept alive, one request at a time, optional TLS with a
/// client certificate. Not a general client: no redirects, no pipelining.
public final class WebhookConnection: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    /// Connects to `host:port`, with TLS when `tls` is given (`serverName` for SNI and the
    /// certificate check).
    public static func connect(
        host: String, port: Int, tls: TLSConfiguration?, serverName: String? = nil, group: any EventLoopGroup
    ) -> EventLoopFuture<WebhookConnection> {
        let ssl: NIOSSLContext?
        do { ssl = try tls.map { try NIOSSLContext(configuration: $0) } } catch { return group.next().makeFailedFuture(error) }
        return ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let ssl { try sync.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: serverName)) }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseCollector())
                }
            }
            .connect(host: host, port: port)
            .map { WebhookConnection(channel: $0) }
    }

    /// Sends one request; the future fails when the connection closes before a response.
    public func request(
        method: HTTPMethod = .POST, path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil,
        chunked: Bool = false
    ) -> EventLoopFuture<Response> {
        let promise = channel.eventLoop.makePromise(of: Response.self)
        var h = HTTPHeaders(headers)
        if !h.contains(name: "Host") { h.add(name: "Host", value: "kaudit") }
        if chunked {
            h.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
        } else if let body {
            h.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if method == .POST {
            h.replaceOrAdd(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: h)
        let channel = self.channel
        channel.eventLoop.execute {
            // Closed already (a refused TLS handshake closes it before any request): the
            // collector's channelInactive has run, so a promise added now would never complete.
            guard channel.isActive else {
                promise.fail(ChannelError.ioOnClosedChannel)
                return
            }
            do {
                try channel.pipeline.syncOperations.handler(type: ResponseCollector.self).pending.append(promise)
            } catch {
                promise.fail(ChannelError.ioOnClosedChannel)  // the pipeline is gone: the server closed the connection
                return
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return promise.futureResult
    }

    public func close() { channel.close(promise: nil) }

    public var isActive: Bool { channel.isActive }
}

/// Gathers response parts into whole responses, completing requests in order.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    var pending: [EventLoopPromise<WebhookConnection.Response>] = []
    var head: HTTPResponseHead?
    var body: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let b): body += b.readableBytesView
        case .end:
            guard let h = head, !pending.isEmpty else { return }
            let p = pending.removeFirst()
            p.succeed(.init(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) }, body: body))
            head = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for p in pending { p.fail(ChannelError.ioOnClosedChannel) }
        pending = []
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        for p in pending { p.fail(error) }
        pending = []
        context.close(promise: nil)
    }
}
