import AlertDelivery
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP receiver on 127.0.0.1 for delivery tests, whose behaviour the test scripts per
/// request: answer with a status, or stall (read the request and never answer). It keeps
/// every request it read, whatever it answered.
final class TestReceiver: @unchecked Sendable {
    enum Behaviour: Sendable, Equatable {
        case status(Int)
        case stall
    }

    struct Request: Sendable {
        let method: String
        let uri: String
        let headers: [(String, String)]
        let body: [UInt8]
        let answered: Behaviour

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let state = NIOLockedValueBox<(requests: [Request], script: @Sendable (Int) -> Behaviour)>(([], { _ in .status(200) }))
    let port: Int

    /// Starts listening; `tls` makes it HTTPS with that certificate and key.
    init(tls: (certificate: String, key: String)? = nil) throws {
        let box = state
        let sslContext = try tls.map { t in
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(t.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: t.key, format: .pem))))
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: box))
                }
            }
        let ch = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        channel = ch
        port = ch.localAddress!.port!
    }

    /// What the nth request (0-based, counting every request received) gets.
    func script(_ behaviour: @escaping @Sendable (Int) -> Behaviour) {
        state.withLockedValue { $0.script = behaviour }
    }

    var requests: [Request] { state.withLockedValue { $0.requests } }

    /// The JSON documents in the bodies answered 2xx (arrays are unpacked).
    var delivered: [[String: Any]] {
        var out: [[String: Any]] = []
        for r in requests {
            guard case .status(let s) = r.answered, (200..<300).contains(s) else { continue }
            out += Self.documents(in: r.body)
        }
        return out
    }

    /// The JSON documents of one request body (an array is unpacked).
    static func documents(in body: [UInt8]) -> [[String: Any]] {
        let object = try? JSONSerialization.jsonObject(with: Data(body))
        if let array = object as? [[String: Any]] { return array }
        if let one = object as? [String: Any] { return [one] }
        return []
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: NIOLockedValueBox<(requests: [Request], script: @Sendable (Int) -> Behaviour)>
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: NIOLockedValueBox<(requests: [Request], script: @Sendable (Int) -> Behaviour)>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = []
            case .body(var b):
                body += b.readBytes(length: b.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let behaviour = state.withLockedValue { s -> Behaviour in
                    let b = s.script(s.requests.count)
                    s.requests.append(
                        Request(
                            method: "\(head.method)", uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                            body: body, answered: b))
                    return b
                }
                guard case .status(let code) = behaviour else { return }  // stall: never answer
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                headers.add(name: "Connection", value: "close")
                let response = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in ctx.value.close(promise: nil) }
            }
        }
    }
}

/// A self-signed CA and a server certificate for 127.0.0.1 and localhost, made with the
/// openssl command; nil when it is not installed.
func makeTestCertificates(in dir: URL) -> (ca: String, certificate: String, key: String)? {
    let script = """
        set -e
        cd '\(dir.path)'
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=kaudit-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    guard (try? p.run()) != nil else { return nil }
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return (dir.appendingPathComponent("ca.pem").path, dir.appendingPathComponent("server.pem").path, dir.appendingPathComponent("server.key").path)
}
