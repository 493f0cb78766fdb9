import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
import WebhookClient
import WebhookSink

/// The real server over TLS on loopback (ephemeral port), with certificates made by openssl
/// at test time: who gets in, and an end-to-end batch with a client certificate and a token.
// A client waiting for an answer that never comes fails the test instead of hanging CI.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TLSServerTests {
    struct Running {
        let harness: Harness
        let server: WebhookServer
        let port: Int
    }

    /// Deadlines far above the defaults: the whole suite runs in parallel on two loaded cores,
    /// and a handshake may wait seconds for a thread.
    static var patient: RequestLimits {
        var l = RequestLimits()
        l.headerTimeout = .seconds(300)
        l.minBodyBytesPerSecond = 1
        return l
    }

    static func start(_ pki: TestPKI, limits: RequestLimits = patient, allowed: Set<String>? = ["kube-apiserver"]) throws
        -> Running
    {
        let token = try TokenFile(path: pki.file("token"))
        let h = try Harness(policy: AccessPolicy(clientCertificates: true, allowedSubjects: allowed, token: token), limits: limits)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.file("server.crt")).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.file("server.key"), format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.file("ca.crt")))
        tls.applicationProtocols = ["http/1.1"]
        let server = try WebhookServer(endpoint: h.endpoint, tls: tls, threads: 1)
        let port = try server.start(host: "127.0.0.1", port: 0)
        return Running(harness: h, server: server, port: port)
    }

    static func clientTLS(_ pki: TestPKI, cert: String?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.file("ca.crt")))
        if let cert {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.file(cert + ".crt")).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.file(cert + ".key"), format: .pem))
        }
        return tls
    }

    /// Posts one batch; nil when the connection or handshake failed.
    static func post(_ port: Int, _ tls: TLSConfiguration, token: String?, body: String, group: any EventLoopGroup) async
        -> WebhookConnection.Response?
    {
        do {
            let c = try await WebhookConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", group: group).get()
            defer { c.close() }
            var headers = [("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer " + token)) }
            return try await c.request(path: "/audit", headers: headers, body: ByteBuffer(string: body)).get()
        } catch {
            return nil
        }
    }

    @Test func endToEndWithClientCertificateAndToken() async throws {
        let pki = try TestPKI()
        let s = try Self.start(pki)
        defer { s.server.shutdown(grace: 1) }
        let group = MultiThreadedEventLoopGroup.singleton
        let tls = try Self.clientTLS(pki, cert: "client")
        // Several batches over one kept-alive connection.
        let c = try await WebhookConnection.connect(host: "127.0.0.1", port: s.port, tls: tls, serverName: "localhost", group: group).get()
        for i in 0..<3 {
            let r = try await c.request(path: "/audit", headers: [("Authorization", "Bearer s3cret-token")],
                body: ByteBuffer(string: Bodies.batch(400, prefix: "tls\(i)"))).get()
            #expect(r.status == 200)
            #expect(r.body == Array("{}".utf8))
        }
        let metrics = try await c.request(method: .GET, path: "/metrics", headers: [("Authorization", "Bearer s3cret-token")]).get()
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("kaudit_webhook_events_stored_total 1200\n"))
        c.close()
        #expect(try s.harness.storedLines().count == 1200)
        #expect(s.harness.metrics.responses(200) == 4)
    }

    @Test func whoIsRefused() async throws {
        let pki = try TestPKI()
        let s = try Self.start(pki)
        defer { s.server.shutdown(grace: 1) }
        let group = MultiThreadedEventLoopGroup.singleton
        let body = Bodies.batch(5)
        // No client certificate, or one from another CA: the handshake fails.
        #expect(await Self.post(s.port, try Self.clientTLS(pki, cert: nil), token: "s3cret-token", body: body, group: group) == nil)
        #expect(await Self.post(s.port, try Self.clientTLS(pki, cert: "stranger"), token: "s3cret-token", body: body, group: group) == nil)
        // The right CA but a subject that is not allowed: 403.
        let intruder = await Self.post(s.port, try Self.clientTLS(pki, cert: "intruder"), token: "s3cret-token", body: body, group: group)
        #expect(intruder?.status == 403)
        // The right certificate without the token, or with a wrong one: 401.
        let tls = try Self.clientTLS(pki, cert: "client")
        #expect(await Self.post(s.port, tls, token: nil, body: body, group: group)?.status == 401)
        #expect(await Self.post(s.port, tls, token: "s3cret-tokeN", body: body, group: group)?.status == 401)
        #expect(await Self.post(s.port, tls, token: "s3cret-token", body: body, group: group)?.status == 200)
        #expect(try s.harness.storedLines().count == 5)
    }

    @Test func slowHeadersAndChunkedBodiesOverTheCapAreCut() async throws {
        let pki = try TestPKI()
        var limits = Self.patient
        limits.headerTimeout = .seconds(1)
        limits.maxBodyBytes = 1 << 20
        let s = try Self.start(pki, limits: limits)
        defer { s.server.shutdown(grace: 1) }
        let group = MultiThreadedEventLoopGroup.singleton
        // A connection that never completes its headers is closed at the deadline.
        let c = try await WebhookConnection.connect(host: "127.0.0.1", port: s.port, tls: try Self.clientTLS(pki, cert: "client"),
            serverName: "localhost", group: group).get()
        let started = Date()
        for _ in 0..<100 where c.isActive { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!c.isActive)
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(s.harness.metrics.refusals("header_timeout") == 1)
        // A chunked body (no Content-Length) over the cap: 413, the connection closed.
        let c2 = try await WebhookConnection.connect(host: "127.0.0.1", port: s.port, tls: try Self.clientTLS(pki, cert: "client"),
            serverName: "localhost", group: group).get()
        let big = ByteBuffer(repeating: UInt8(ascii: " "), count: (1 << 20) + 10)
        let r = try await c2.request(path: "/audit", headers: [("Authorization", "Bearer s3cret-token"), ("Transfer-Encoding", "chunked")],
            body: big, chunked: true).get()
        #expect(r.status == 413)
        #expect(s.harness.endpoint.inFlightBytes == 0)
    }
}
