import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The listening side of `kaudit serve`: SwiftNIO's HTTP/1.1 over NIOSSL, one pipeline per
/// connection:
///
///     NIOSSLServerHandler → ConnectionGuard → HTTP/1.1 decoder (header limits) → SinkHTTPHandler
///
/// HTTP/2 is never offered (ALPN says http/1.1 only), which rules out rapid-reset and
/// CONTINUATION floods. Connections over `maxConnections` are closed as they are accepted.
public final class WebhookServer: Sendable {
    public let endpoint: SinkEndpoint
    let group: MultiThreadedEventLoopGroup
    let sslContext: NIOSSLContext?
    let connections = Atomic<Int>(0)
    let channel: Mutex<(any Channel)?> = Mutex(nil)

    /// - Parameter tls: the server's TLS configuration; nil serves plain HTTP (the caller
    ///   allows that only on loopback).
    public init(endpoint: SinkEndpoint, tls: TLSConfiguration?, threads: Int = System.coreCount) throws {
        self.endpoint = endpoint
        sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
    }

    /// Starts listening; returns the port (useful with port 0).
    public func start(host: String, port: Int) throws -> Int {
        let endpoint = self.endpoint
        let limits = endpoint.limits
        let ssl = sslContext
        let server = self
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                if server.connections.add(1, ordering: .relaxed).newValue > limits.maxConnections {
                    server.connections.subtract(1, ordering: .relaxed)
                    endpoint.metrics.refused("connection_cap")
                    return channel.close()
                }
                endpoint.metrics.connection(opened: true)
                channel.closeFuture.whenComplete { _ in
                    server.connections.subtract(1, ordering: .relaxed)
                    endpoint.metrics.connection(opened: false)
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let ssl { try sync.addHandler(NIOSSLServerHandler(context: ssl)) }
                    let guardHandler = ConnectionGuard(limits: limits, metrics: endpoint.metrics)
                    try sync.addHandler(guardHandler)
                    var decoderLimits = NIOHTTPDecoderLimitConfiguration()
                    decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
                    decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
                    try sync.configureHTTPServerPipeline(
                        withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
                    try sync.addHandler(SinkHTTPHandler(endpoint: endpoint, connection: guardHandler, tls: ssl != nil))
                }
            }
        let ch = try bootstrap.bind(host: host, port: port).wait()
        channel.withLock { $0 = ch }
        return ch.localAddress?.port ?? port
    }

    /// Open connections now.
    public var openConnections: Int { connections.load(ordering: .relaxed) }

    /// Stops accepting, answers 503 to new requests, waits up to `grace` seconds for the
    /// requests in flight to be answered, then closes every connection.
    public func shutdown(grace: Double = 30) {
        let ch = channel.withLock { c -> (any Channel)? in
            defer { c = nil }
            return c
        }
        try? ch?.close().wait()
        endpoint.startDraining()
        let deadline = SinkClock.millis() + Int64(grace * 1000)
        while endpoint.activeRequests > 0 && SinkClock.millis() < deadline {
            usleepMillis(10)
        }
        try? group.syncShutdownGracefully()
    }
}

func usleepMillis(_ ms: Int) {
    var ts = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
    nanosleep(&ts, nil)
}
