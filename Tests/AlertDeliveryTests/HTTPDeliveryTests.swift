import AlertDelivery
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Delivery against a real HTTP server on loopback that fails, stalls and recovers.
@Suite(.serialized) struct HTTPDeliveryTests {
    /// Fast retries and timeouts, so failure paths run in well under a second each.
    static func options(batch: Int = 10, queue: Int = 1_000) -> DeliveryOptions {
        var o = DeliveryOptions()
        o.batchSize = batch
        o.queueCapacity = queue
        o.initialBackoff = 0.02
        o.maxBackoff = 0.2
        o.requestTimeout = 0.5
        o.connectTimeout = 0.5
        return o
    }

    static func document(_ i: Int) -> [UInt8] { Array("{\"n\":\(i)}".utf8) }

    static func numbers(_ docs: [[String: Any]]) -> [Int] { docs.compactMap { $0["n"] as? Int } }

    final class Notices: Sendable {
        let lines = NIOLockedValueBox<[String]>([])
        var all: [String] { lines.withLockedValue { $0 } }
        func add(_ s: String) { lines.withLockedValue { $0.append(s) } }
    }

    @Test func failsThenRecoversAndDeliversEverythingOnceInOrder() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        server.script { $0 < 3 ? .status(503) : .status(200) }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        let notices = Notices()
        let d = try HTTPDelivery(
            target: try DeliveryTarget("http://127.0.0.1:\(server.port)/alerts?x=1"), options: Self.options(), loop: loop,
            notice: notices.add)
        for i in 0..<45 { #expect(d.enqueue(Self.document(i))) }
        let c = d.finish(timeout: 20)
        #expect(Self.numbers(server.delivered) == Array(0..<45))
        #expect(c.sent == 45)
        #expect(c.retried == 3)
        #expect(c.dropped == 0 && c.failed == 0 && c.unsent == 0)
        #expect(c.batches == server.requests.filter { $0.answered == .status(200) }.count)
        // One notice when it started failing, one when it recovered: not one per retry.
        #expect(notices.all.count == 2, "\(notices.all)")
        let first = try #require(server.requests.first)
        #expect(first.method == "POST" && first.uri == "/alerts?x=1")
        #expect(first.header("Content-Type") == "application/json")
        #expect(first.header("Authorization") == nil)
    }

    @Test func aStalledReceiverTimesOutAndTheBatchIsSentAgain() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        server.script { $0 < 2 ? .stall : .status(204) }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        var o = Self.options()
        o.requestTimeout = 0.3
        let d = try HTTPDelivery(target: try DeliveryTarget("http://127.0.0.1:\(server.port)/"), options: o, loop: loop) { _ in }
        for i in 0..<5 { d.enqueue(Self.document(i)) }
        let started = Date()
        let c = d.finish(timeout: 20)
        #expect(Self.numbers(server.delivered) == Array(0..<5))
        #expect(c.sent == 5 && c.retried == 2)
        // Two stalls cost two request timeouts, not the flush timeout.
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aFullQueueDropsAndCountsWhileTheReceiverIsDown() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        let down = NIOLockedValueBox(true)
        server.script { _ in down.withLockedValue { $0 } ? .status(500) : .status(200) }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        let d = try HTTPDelivery(
            target: try DeliveryTarget("http://127.0.0.1:\(server.port)/"), options: Self.options(batch: 5, queue: 20), loop: loop
        ) { _ in }
        var accepted: [Int] = []
        for i in 0..<200 where d.enqueue(Self.document(i)) { accepted.append(i) }
        // At most the queue and the batch in flight fit; the rest was refused at once.
        #expect(accepted.count <= 25 && accepted.count >= 20)
        #expect(d.counters.dropped == 200 - accepted.count)
        let deadline = Date().addingTimeInterval(10)
        while server.requests.count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(server.requests.count >= 2, "the receiver was retried while down")
        down.withLockedValue { $0 = false }
        let c = d.finish(timeout: 20)
        #expect(Self.numbers(server.delivered) == accepted)
        #expect(c.sent == accepted.count && c.dropped == 200 - accepted.count && c.failed == 0 && c.unsent == 0)
        #expect(c.retried >= 2)
    }

    @Test func aRejectedBatchIsGivenUpNotRetried() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        server.script { $0 == 0 ? .status(400) : .status(200) }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        let d = try HTTPDelivery(
            target: try DeliveryTarget("http://127.0.0.1:\(server.port)/"), options: Self.options(batch: 3), loop: loop) { _ in }
        for i in 0..<6 { d.enqueue(Self.document(i)) }
        let c = d.finish(timeout: 20)
        // The first batch holds what was queued when the delivery thread woke (1 to 3
        // documents, depending on timing); it is refused and given up, the rest delivered.
        let requests = server.requests
        try #require(!requests.isEmpty)
        let refused = Self.numbers(TestReceiver.documents(in: requests[0].body))
        #expect((1...3).contains(refused.count) && refused == Array(0..<refused.count))
        #expect(c.failed == refused.count && c.sent == 6 - refused.count && c.retried == 0)
        #expect(Self.numbers(server.delivered) == Array(refused.count..<6))
        // Not retried: no later request carries a refused document.
        let later = requests.dropFirst().flatMap { Self.numbers(TestReceiver.documents(in: $0.body)) }
        #expect(Set(later).isDisjoint(with: refused))
    }

    @Test func theFlushWaitIsBoundedAndWhatIsLeftIsCountedUnsent() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        server.script { _ in .status(502) }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        let d = try HTTPDelivery(
            target: try DeliveryTarget("http://127.0.0.1:\(server.port)/"), options: Self.options(batch: 4), loop: loop) { _ in }
        for i in 0..<10 { d.enqueue(Self.document(i)) }
        let started = Date()
        let c = d.finish(timeout: 0.5)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.4 && waited < 3, "waited \(waited) s")
        #expect(c.sent == 0 && c.unsent == 10 && c.failed == 0)
        #expect(!d.enqueue(Self.document(99)), "a stopped delivery takes nothing more")
    }

    @Test func noReceiverListeningIsRetriedLikeAFailure() throws {
        // A port that was just bound and released: nothing listens there.
        let probe = try TestReceiver()
        let port = probe.port
        probe.stop()
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        var o = Self.options()
        o.maxAttempts = 3
        let d = try HTTPDelivery(target: try DeliveryTarget("http://127.0.0.1:\(port)/"), options: o, loop: loop) { _ in }
        d.enqueue(Self.document(1))
        let c = d.finish(timeout: 10)
        #expect(c.failed == 1 && c.retried == 2 && c.sent == 0)
    }

    @Test func singleDocumentBodiesAndBearerToken() throws {
        let server = try TestReceiver()
        defer { server.stop() }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        var o = Self.options(batch: 1)
        o.singleDocumentBodies = true
        o.bearerToken = "s3cret-token"
        let d = try HTTPDelivery(target: try DeliveryTarget("http://127.0.0.1:\(server.port)/falco"), options: o, loop: loop) { _ in }
        for i in 0..<3 { d.enqueue(Self.document(i)) }
        #expect(d.finish(timeout: 10).sent == 3)
        #expect(server.requests.map { String(decoding: $0.body, as: UTF8.self) } == ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"])
        #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer s3cret-token" })
    }

    @Test func httpsWithAPrivateCAAndHostnameChecks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kaudit-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let certs = makeTestCertificates(in: dir) else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "openssl is needed to make test certificates")
            print("skipped: openssl not found, HTTPS delivery not tested")
            return
        }
        let server = try TestReceiver(tls: (certs.certificate, certs.key))
        defer { server.stop() }
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        var o = Self.options()
        o.caFile = certs.ca
        for host in ["localhost", "127.0.0.1"] {
            let d = try HTTPDelivery(target: try DeliveryTarget("https://\(host):\(server.port)/"), options: o, loop: loop) { _ in }
            d.enqueue(Self.document(7))
            let c = d.finish(timeout: 10)
            #expect(c.sent == 1, "over \(host)")
        }
        // Without the CA the certificate is not trusted: the batch fails and is retried.
        var untrusted = Self.options()
        untrusted.maxAttempts = 2
        let d = try HTTPDelivery(target: try DeliveryTarget("https://localhost:\(server.port)/"), options: untrusted, loop: loop) { _ in }
        d.enqueue(Self.document(8))
        let c = d.finish(timeout: 10)
        #expect(c.sent == 0 && c.failed == 1)
        #expect(Self.numbers(server.delivered) == [7, 7])
    }

    @Test func targetsAreParsedStrictly() throws {
        let t = try DeliveryTarget("https://[::1]:8443/a/b?c=d")
        #expect(t.tls && t.host == "::1" && t.port == 8443 && t.path == "/a/b?c=d")
        #expect(t.description == "https://[::1]:8443/…", "the path (often a secret) is not shown")
        let plain = try DeliveryTarget("http://example.test")
        #expect(plain.port == 80 && plain.path == "/" && plain.description == "http://example.test")
        for bad in ["ftp://x/", "http://", "http://u:p@host/", "http://host:0/", "http://host:99999/", "http://host/a b", "http://h/#f"] {
            #expect(throws: DeliveryTarget.InvalidURL.self, "\(bad)") { try DeliveryTarget(bad) }
        }
    }

    @Test func anUnreadableCAFileIsASetupError() throws {
        let loop = DeliveryLoop()
        defer { loop.shutdown() }
        var o = Self.options()
        o.caFile = "/nonexistent/ca.pem"
        #expect(throws: HTTPDelivery.SetupError.self) {
            try HTTPDelivery(target: try DeliveryTarget("https://localhost:1/"), options: o, loop: loop) { _ in }
        }
    }
}
