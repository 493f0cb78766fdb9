import AuditInputs
import AuditJSON
import AuditModel
import AuditTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing
import WebhookClient

#if canImport(Glibc)
    import Glibc
#endif

/// `kaudit serve` as a process: killed with SIGKILL right after acknowledging, restarted on
/// the same state directory, every acknowledged event must be in the spool; batches that
/// were in flight are sent again (as the apiserver retries them) and must be stored once.
///
/// CI runs 3 iterations; the long run is
/// `KAUDIT_CRASH_ITERATIONS=100 swift test --filter ServeCommandTests`.
@Suite(.serialized) struct ServeCommandTests {
    final class Server {
        let process = Process()
        let stderrPath: String
        var port = 0

        init(stateDir: String, scratch: String) throws {
            let exe = try #require(CLI.executable, "kaudit binary not found")
            stderrPath = scratch + "/stderr-\(UUID().uuidString)"
            try #require(FileManager.default.createFile(atPath: stderrPath, contents: nil), "could not create \(stderrPath)")
            process.executableURL = exe
            process.arguments = ["serve", "--state-dir", stateDir, "--insecure-listen", "127.0.0.1:0", "--format", "ndjson"]
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
            for _ in 0..<600 {  // up to 60 s on a loaded machine (the rule pack is compiled first)
                let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                if let range = text.range(of: "listening on http://127.0.0.1:") {
                    port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                    break
                }
                if !process.isRunning { break }
                usleep(100_000)
            }
            guard port > 0 else {
                throw SinkCrashError("kaudit serve did not start: \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
            }
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    struct SinkCrashError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func batch(_ ids: [String]) -> String {
        let items = ids.map { id in
            """
            {"level":"Metadata","auditID":"\(id)","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps",\
            "verb":"list","user":{"username":"system:serviceaccount:kube-system:crash"},"sourceIPs":["10.1.2.3"],\
            "objectRef":{"resource":"configmaps","namespace":"default","apiVersion":"v1"},"responseStatus":{"code":200},\
            "requestReceivedTimestamp":"2026-01-05T00:00:00.000000Z","stageTimestamp":"2026-01-05T00:00:00.001000Z"}
            """
        }
        return "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[\(items.joined(separator: ","))]}"
    }

    /// auditID → how many times it is in the spool.
    static func spoolCounts(_ stateDir: String) throws -> [String: Int] {
        struct Collect: AuditRecordHandler {
            var counts: [String: Int] = [:]
            var issues: [String] = []
            mutating func handle(event: AuditEvent, at location: RecordLocation) {
                if let id = event.auditID?.string { counts[id, default: 0] += 1 }
            }
            mutating func handle(issue: ReadIssue) { issues.append(issue.description) }
        }
        var c = Collect()
        let reader = AuditStreamReader()
        for input in InputPaths.expand([stateDir + "/spool"]).inputs {
            var opened = try InputOpener.open(input.path)
            try reader.read(from: &opened.source, name: input.path, into: &c)
            opened.close()
        }
        #expect(c.issues.isEmpty, "\(c.issues)")
        return c.counts
    }

    @Test func killedRightAfterAnAcknowledgementNothingAcknowledgedIsLost() async throws {
        let iterations = Int(ProcessInfo.processInfo.environment["KAUDIT_CRASH_ITERATIONS"] ?? "") ?? 3
        let scratch = try TempDir()
        let stateDir = scratch.url.appendingPathComponent("state").path
        let group = MultiThreadedEventLoopGroup.singleton
        var acked = Set<String>()
        var sent = Set<String>()
        var unacked: [[String]] = []  // batches in flight at the kill: the apiserver retries them
        var next = 0
        var rng = SystemRandomNumberGenerator()
        for iteration in 0..<iterations {
            let server = try Server(stateDir: stateDir, scratch: scratch.url.path)
            // Retries of what was in flight before the crash.
            let retry = try await WebhookConnection.connect(host: "127.0.0.1", port: server.port, tls: nil, group: group).get()
            for ids in unacked {
                let r = try await retry.request(path: "/audit", body: ByteBuffer(string: Self.batch(ids))).get()
                #expect(r.status == 200)
                acked.formUnion(ids)
            }
            unacked = []
            retry.close()
            // Two connections post concurrently; the process is killed right after the k-th 200.
            let k = Int.random(in: 1...6, using: &rng)
            let connections = try await [0, 1].asyncMap { _ in
                try await WebhookConnection.connect(host: "127.0.0.1", port: server.port, tls: nil, group: group).get()
            }
            var acks = 0
            var inFlight: [(ids: [String], future: EventLoopFuture<WebhookConnection.Response>)] = []
            func send(_ c: WebhookConnection) {
                let ids = (0..<40).map { "crash-\(iteration)-\(next + $0)" }
                next += 40
                sent.formUnion(ids)
                inFlight.append((ids, c.request(path: "/audit", body: ByteBuffer(string: Self.batch(ids)))))
            }
            for c in connections { send(c) }
            while acks < k {
                let (ids, future) = inFlight.removeFirst()
                let r = try await future.get()
                #expect(r.status == 200)
                acked.formUnion(ids)
                acks += 1
                if acks == k { server.kill9() } else { send(connections[acks % 2]) }
            }
            unacked = inFlight.map(\.ids)
            for c in connections { c.close() }
        }
        // A last start: recovery, then the retries of the final crash; then stop cleanly.
        let server = try Server(stateDir: stateDir, scratch: scratch.url.path)
        let retry = try await WebhookConnection.connect(host: "127.0.0.1", port: server.port, tls: nil, group: group).get()
        for ids in unacked {
            #expect(try await retry.request(path: "/audit", body: ByteBuffer(string: Self.batch(ids))).get().status == 200)
            acked.formUnion(ids)
        }
        retry.close()
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let counts = try Self.spoolCounts(stateDir)
        let lost = acked.filter { counts[$0] == nil }
        #expect(lost.isEmpty, "\(lost.count) acknowledged events lost")
        let twice = counts.filter { $0.value > 1 }
        #expect(twice.isEmpty, "\(twice.count) events stored more than once")
        #expect(acked == sent)  // every batch was acknowledged in the end (after its retry)
        #expect(FileManager.default.fileExists(atPath: stateDir + "/detection.checkpoint"))
    }

    @Test func printWebhookConfig() throws {
        let r = try CLI.run(["serve", "--print-webhook-config", "--listen", ":8443", "--client-ca", "/x/ca.crt",
            "--token-file", "/x/token", "--server-url", "https://kaudit.kube-system.svc:8443/audit"])
        #expect(r.status == 0)
        for text in ["kind: Config", "server: https://kaudit.kube-system.svc:8443/audit", "client-certificate: /etc/kubernetes/kaudit/client.crt",
            "tokenFile: /etc/kubernetes/kaudit/token", "--audit-webhook-config-file=", "--audit-webhook-batch-max-size=400"]
        {
            #expect(r.stdout.contains(text), "missing \(text)")
        }
    }

    @Test func plainHTTPOnlyOnLoopbackAndNeverWithoutAuthentication() throws {
        let dir = try TempDir()
        let open = try CLI.run(["serve", "--state-dir", dir.url.path, "--insecure-listen", "0.0.0.0:8080"])
        #expect(open.status == 2)
        #expect(open.stderr.contains("loopback"))
        let noAuth = try CLI.run(["serve", "--state-dir", dir.url.path, "--listen", ":8443", "--tls-cert", "a", "--tls-key", "b"])
        #expect(noAuth.status == 2)
        #expect(noAuth.stderr.contains("no client authentication"))
    }
}

extension Array {
    func asyncMap<T>(_ body: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await body(e)) }
        return out
    }
}
