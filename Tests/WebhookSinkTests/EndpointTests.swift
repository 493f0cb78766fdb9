import AuditModel
import AuditSpool
import Foundation
import NIOHTTP1
import Testing
import WebhookSink

/// The request logic without sockets: what is stored, quarantined, refused and counted.
@Suite struct EndpointTests {
    @Test func batchResentFiveTimesIsStoredOnce() async throws {
        let h = try Harness()
        let body = Bodies.batch(400)
        for _ in 0..<5 {
            let r = await h.post(body)
            #expect(r.status == .ok)
            #expect(String(decoding: r.body, as: UTF8.self) == "{}")
        }
        #expect(try h.storedLines().count == 400)
        let stats = h.spool.stats
        #expect(stats.eventsStored == 400)
        #expect(stats.duplicates == 4 * 400)
        #expect(stats.batches == 5)
        #expect(h.metrics.render(spool: stats).contains("kaudit_webhook_duplicates_total 1600\n"))
    }

    @Test func aDifferentEventWithAReusedAuditIDIsStored() async throws {
        let h = try Harness()
        _ = await h.post(Bodies.list([Bodies.event("same", verb: "get")]))
        _ = await h.post(Bodies.list([Bodies.event("same", verb: "delete")]))
        #expect(try h.storedLines().count == 2)
        #expect(h.spool.stats.duplicates == 0)
    }

    @Test func oneBrokenItemIsQuarantinedAndTheRestStored() async throws {
        let h = try Harness()
        var items = (0..<399).map { Bodies.event("ok-\($0)") }
        let broken = #"{"auditID":"x","stage":5,"verb":{"#  // an object whose JSON is cut off
        items.insert(#"{"kind":"Status","code":1}"#, at: 200)  // an object of the wrong kind
        let r = await h.post(Bodies.list(items))
        #expect(r.status == .ok)
        #expect(try h.storedLines().count == 399)
        let q = try h.quarantine()
        #expect(q.count == 1)
        #expect(q.first?["reason"] as? String == "wrong_kind")
        let raw = try #require(Base64.decode(q.first?["raw_base64"] as? String ?? ""))
        #expect(String(decoding: raw, as: UTF8.self) == #"{"kind":"Status","code":1}"#)
        #expect(h.spool.stats.quarantined == 1)
        // A body cut off inside an item: the items before it are stored, the rest quarantined.
        let cut = "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[\(Bodies.event("c-1")),\(broken)"
        let r2 = await h.post(cut)
        #expect(r2.status == .ok)
        #expect(h.spool.stats.quarantined == 2)
    }

    @Test func emptyAndNullItemsAreAccepted() async throws {
        let h = try Harness()
        for body in [#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}"#,
            #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":null}"#]
        {
            let r = await h.post(body)
            #expect(r.status == .ok)
        }
        #expect(try h.storedLines().isEmpty)
        #expect(h.spool.stats.quarantined == 0)
    }

    @Test func aV1beta1ListKeepsItsVersionAndTimestamps() async throws {
        let h = try Harness()
        let item = #"{"level":"Metadata","timestamp":"2019-01-01T00:00:01Z","auditID":"b1","stage":"ResponseComplete","requestURI":"/api","verb":"get","user":{"username":"u"},"metadata":{"creationTimestamp":"2019-01-01T00:00:02Z"}}"#
        let r = await h.post(Bodies.list([item], apiVersion: "audit.k8s.io/v1beta1"))
        #expect(r.status == .ok)
        let line = try #require(try h.storedLines().first)
        #expect(line.hasPrefix(#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","#))
        let bytes = Array(line.utf8)
        let stage = bytes.withUnsafeBufferPointer { p -> Int64? in
            guard case .event(let e) = AuditEvent.decode(p.baseAddress!, start: 0, end: p.count) else { return nil }
            return e.stageMicros
        }
        #expect(stage == 1_546_300_802_000_000)
    }

    @Test func aSingleEventBodyIsStored() async throws {
        let h = try Harness()
        let r = await h.post("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\(Bodies.event("one").dropFirst())")
        #expect(r.status == .ok)
        #expect(try h.storedLines().count == 1)
    }

    @Test func aPrettyPrintedBodyIsStoredOneEventPerLine() async throws {
        let h = try Harness()
        let pretty = Bodies.list([Bodies.event("p1"), Bodies.event("p2")]).replacingOccurrences(of: ",\"", with: ",\n  \"")
        _ = await h.post(pretty)
        #expect(try h.storedLines().count == 2)
    }

    @Test func aBodyThatIsNotJSONIsQuarantinedWhole() async throws {
        let h = try Harness()
        let r = await h.post("this is not json\u{0}")
        #expect(r.status == .ok)
        #expect(try h.quarantine().first?["bytes"] as? Int == 17)
    }

    @Test func anOversizeBodyGets413BeforeItIsRead() throws {
        var limits = RequestLimits()
        limits.maxBodyBytes = 1 << 20
        let h = try Harness(limits: limits)
        guard case .respond(let r) = h.endpoint.admit(Harness.head(length: (1 << 20) + 1), peerSubject: nil) else {
            Issue.record("admitted an oversize body")
            return
        }
        #expect(r.status == .payloadTooLarge)
        #expect(r.close)
        #expect(h.endpoint.inFlightBytes == 0)
    }

    @Test func requestsBeyondTheActiveBoundGet503WithRetryAfterBeforeTheirBody() async throws {
        var limits = RequestLimits()
        limits.maxActiveRequests = 2
        let h = try Harness(limits: limits)
        var admitted: [Int] = []
        for _ in 0..<2 {
            guard case .readBody(_, _, let reserved) = h.endpoint.admit(Harness.head(length: 100), peerSubject: nil) else {
                Issue.record("refused a request within the bound")
                return
            }
            admitted.append(reserved)
        }
        guard case .respond(let r) = h.endpoint.admit(Harness.head(length: 100), peerSubject: nil) else {
            Issue.record("admitted a third request")
            return
        }
        #expect(r.status == .serviceUnavailable)
        #expect(r.close)
        #expect(r.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
        #expect(h.endpoint.activeRequests == 2)
        #expect(h.metrics.render(spool: h.spool.stats).contains("active_requests"))
        // One answered: room again, and a whole request goes through.
        h.endpoint.abandon(admitted.removeLast())
        let ok = await h.post(Bodies.batch(3))
        #expect(ok.status == .ok)
        h.endpoint.abandon(admitted.removeLast())
        #expect(h.endpoint.activeRequests == 0)
        #expect(h.endpoint.inFlightBytes == 0)
    }

    @Test func aCompressedBodyGets415() throws {
        let h = try Harness()
        for encoding in ["gzip", "zstd", "deflate"] {
            guard case .respond(let r) = h.endpoint.admit(Harness.head(.POST, "/audit", [("Content-Encoding", encoding)], length: 10),
                peerSubject: nil)
            else {
                Issue.record("admitted Content-Encoding \(encoding)")
                continue
            }
            #expect(r.status == .unsupportedMediaType)
        }
    }

    @Test func tokensAreCheckedAndRotationIsPickedUp() async throws {
        let dir = try StateDir()
        let tokenPath = dir.path + "/token"
        try "first-token\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let h = try Harness(policy: AccessPolicy(clientCertificates: false, token: try TokenFile(path: tokenPath)))
        let body = Bodies.batch(3)
        #expect(await h.post(body).status == .unauthorized)
        #expect(await h.post(body, headers: [("Authorization", "Bearer wrong-token")]).status == .unauthorized)
        #expect(await h.post(body, headers: [("Authorization", "Bearer first-toke")]).status == .unauthorized)
        #expect(await h.post(body, headers: [("Authorization", "Basic Zmlyc3QtdG9rZW4=")]).status == .unauthorized)
        #expect(await h.post(body, headers: [("Authorization", "Bearer first-token")]).status == .ok)
        try "second-token\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(1200))  // the file is looked at once a second
        #expect(await h.post(body, headers: [("Authorization", "Bearer first-token")]).status == .unauthorized)
        #expect(await h.post(body, headers: [("Authorization", "Bearer second-token")]).status == .ok)
        #expect(h.metrics.refusals("unauthorized") == 5)
    }

    @Test func refusalsComeBeforeTheBodyAndCloseTheConnection() throws {
        let h = try Harness(policy: AccessPolicy(clientCertificates: true, allowedSubjects: ["kube-apiserver"]))
        guard case .respond(let none) = h.endpoint.admit(Harness.head(length: 10), peerSubject: nil),
            case .respond(let other) = h.endpoint.admit(Harness.head(length: 10), peerSubject: "intruder")
        else {
            Issue.record("an unauthenticated request was admitted")
            return
        }
        #expect(none.status == .unauthorized && none.close)
        #expect(other.status == .forbidden && other.close)
        guard case .readBody = h.endpoint.admit(Harness.head(length: 10), peerSubject: "kube-apiserver") else {
            Issue.record("the allowed subject was refused")
            return
        }
    }

    @Test func constantTimeComparison() {
        #expect(AccessPolicy.constantTimeEquals(Array("abc".utf8), "abc".utf8))
        #expect(!AccessPolicy.constantTimeEquals(Array("abc".utf8), "abd".utf8))
        #expect(!AccessPolicy.constantTimeEquals(Array("abc".utf8), "abcd".utf8))
        #expect(!AccessPolicy.constantTimeEquals(Array("abc".utf8), "".utf8))
        #expect(!AccessPolicy.constantTimeEquals([], "".utf8))
    }

    @Test func aFullSpoolAnswers503WithRetryAfterAndStoresNothing() async throws {
        var options = SpoolOptions()
        options.maxBytes = 1  // full as soon as anything is on disk
        let h = try Harness(options: options)
        #expect(await h.post(Bodies.batch(10, prefix: "a")).status == .ok)
        let r = await h.post(Bodies.batch(10, prefix: "b"))
        #expect(r.status == .serviceUnavailable)
        #expect(r.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
        #expect(!r.close)  // the body was read: the connection can stay
        #expect(try h.storedLines().count == 10)
        // Refused events are not remembered as stored: the retry is stored once there is room.
        #expect(h.spool.stats.refusedDiskFull == 1)
    }

    @Test func healthReadinessAndMetrics() throws {
        let h = try Harness()
        guard case .respond(let health) = h.endpoint.admit(Harness.head(.GET, "/healthz"), peerSubject: nil),
            case .respond(let metrics) = h.endpoint.admit(Harness.head(.GET, "/metrics"), peerSubject: nil)
        else {
            Issue.record("GET endpoints not answered")
            return
        }
        #expect(health.status == .ok)
        let text = String(decoding: metrics.body, as: UTF8.self)
        for name in ["kaudit_webhook_events_received_total", "kaudit_webhook_batches_total", "kaudit_webhook_bytes_received_total",
            "kaudit_webhook_duplicates_total", "kaudit_webhook_quarantined_total", "kaudit_spool_disk_bytes",
            "kaudit_alerts_total", "kaudit_webhook_request_duration_seconds_bucket{le=\"+Inf\"}"]
        {
            #expect(text.contains(name), "\(name) missing")
        }
        h.endpoint.startDraining()
        guard case .respond(let ready) = h.endpoint.admit(Harness.head(.GET, "/readyz"), peerSubject: nil),
            case .respond(let post) = h.endpoint.admit(Harness.head(length: 2), peerSubject: nil)
        else { return }
        #expect(ready.status == .serviceUnavailable)
        #expect(post.status == .serviceUnavailable)
    }
}
