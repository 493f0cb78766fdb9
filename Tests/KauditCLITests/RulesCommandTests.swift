import AuditTestSupport
import Foundation
import Testing

@Suite("kaudit rules")
struct RulesCommandTests {
    static var sigmaHQ: URL {
        PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpora/sigma-k8s-audit-rules")
    }
    static var haveSigmaHQ: Bool { FileManager.default.fileExists(atPath: sigmaHQ.path) }

    /// A temporary directory holding `files`, removed when the value goes away.
    static func ruleDirectory(_ files: [String: String]) throws -> TempDir {
        let dir = try TempDir()
        for (name, text) in files { _ = try dir.file(name, text) }
        return dir
    }

    static let goodRule = """
        title: Exec into a pod
        id: 0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c
        threat_matrix: [MS-TA9006]
        tags: [attack.execution, attack.t1609]
        logsource:
            product: kubernetes
            service: audit
        detection:
            selection:
                objectRef.subresource: exec
            condition: selection
        level: high

        """

    @Test("lint passes the SigmaHQ rules", .enabled(if: haveSigmaHQ || ProcessInfo.processInfo.environment["CI"] != nil))
    func lintSigmaHQ() throws {
        let r = try CLI.run(["rules", "lint", Self.sigmaHQ.path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("(16 rules), 0 errors"), "\(r)")
    }

    @Test("lint reports every problem with file:line:column and exits 1")
    func lintErrors() throws {
        let dir = try Self.ruleDirectory([
            "good.yml": Self.goodRule,
            "bad.yml": """
                title: Broken
                id: not-a-uuid
                logsource:
                    product: kubernetes
                detection:
                    selection:
                        Image|endswith: evil.exe
                    condition: selection and not filter
                """,
        ])
        let r = try CLI.run(["rules", "lint", dir.path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("bad.yml:2:5: error:"), "\(r)")  // the id
        #expect(r.stdout.contains("bad.yml:8:34: error:"), "\(r)")  // the unknown selection
        #expect(!r.stdout.contains("good.yml"), "\(r)")
    }

    @Test("--strict turns warnings into a failure")
    func strict() throws {
        let dir = try Self.ruleDirectory(["noid.yml": Self.goodRule.replacingOccurrences(of: "id: 0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c\n", with: "")])
        #expect(try CLI.run(["rules", "lint", dir.path]).status == 0)
        #expect(try CLI.run(["rules", "lint", "--strict", dir.path]).status == 1)
    }

    @Test("list gives id, title, level, techniques and kind, as text or JSON")
    func list() throws {
        let dir = try Self.ruleDirectory(["good.yml": Self.goodRule])
        let text = try CLI.run(["rules", "list", dir.path])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c  high  single  MS-TA9006,T1609  Exec into a pod"), "\(text)")
        let json = try CLI.run(["rules", "list", "--format", "json", dir.path])
        let rows = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["techniques"] as? [String] == ["MS-TA9006", "T1609"])
        #expect(rows.first?["kind"] as? String == "single")
    }

    @Test("test runs each rule on its fixtures and reports pass or fail per rule")
    func testCommand() throws {
        let exec = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"stageTimestamp":"2026-01-05T10:00:00.000000Z"}"#
        let logs = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web/log","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1","subresource":"log"},"responseStatus":{"metadata":{},"code":200},"stageTimestamp":"2026-01-05T10:00:01.000000Z"}"#
        let dir = try Self.ruleDirectory([
            "exec_into_pod.yml": Self.goodRule,
            "exec_into_pod.match.ndjson": exec + "\n",
            "exec_into_pod.nomatch.ndjson": logs + "\n",
        ])
        let ok = try CLI.run(["rules", "test", dir.path, "--fixtures", dir.path])
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout.contains("PASS  Exec into a pod (1 match, 1 nomatch)"), "\(ok)")

        // A near miss that fires is named with its file and line.
        try (logs + "\n" + exec + "\n").write(
            to: dir.url.appendingPathComponent("exec_into_pod.nomatch.ndjson"), atomically: true, encoding: .utf8)
        let bad = try CLI.run(["rules", "test", dir.path, "--fixtures", dir.path])
        #expect(bad.status == 1, "\(bad)")
        #expect(bad.stdout.contains("FAIL  Exec into a pod"), "\(bad)")
        #expect(bad.stdout.contains("exec_into_pod.nomatch.ndjson:2: fires but should not"), "\(bad)")
        #expect(bad.stderr.contains("0 passed, 1 failed"), "\(bad)")
    }

    @Test("test on SigmaHQ's rules with the project's fixtures: the enumeration rule can never fire",
          .enabled(if: haveSigmaHQ || ProcessInfo.processInfo.environment["CI"] != nil))
    func testSigmaHQ() throws {
        let fixtures = PackagePaths.sampleLogs.appendingPathComponent("detections").path
        let r = try CLI.run(["rules", "test", Self.sigmaHQ.path, "--fixtures", fixtures])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("15 passed, 1 failed"), "\(r)")
        #expect(r.stdout.contains("FAIL  Kubernetes Potential Enumeration Activity"), "\(r)")
    }
}

@Suite("The bundled rule pack", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct BundledPackTests {
    static var detections: String { CLI.packageRoot.appendingPathComponent("Detections").path }

    @Test("lints clean with --strict")
    func lint() throws {
        let r = try CLI.run(["rules", "lint", "--strict", Self.detections])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    }

    @Test("one tactic folder loads with the pack's value lists (lists/ of the parent)")
    func tacticFolder() throws {
        for folder in ["privilege_escalation", "initial_access", "correlations"] {
            let r = try CLI.run(["rules", "lint", "--strict", Self.detections + "/" + folder])
            #expect(r.status == 0, "\(folder): \(r.stdout)\n\(r.stderr)")
        }
    }

    @Test("every rule and correlation passes its fixtures")
    func fixtures() throws {
        let r = try CLI.run([
            "rules", "test", Self.detections, "--fixtures", CLI.sample("detections/kaudit").path,
        ])
        #expect(r.status == 0, "\(r.stdout.split(separator: "\n").filter { !$0.hasPrefix("PASS") && !$0.hasPrefix("SKIP") }.joined(separator: "\n"))")
        #expect(r.stderr.contains(" 0 failed"), "\(r.stderr)")
    }

    @Test("scan runs the pack over the sample log: alerts as NDJSON on stdout, the summary on stderr")
    func scanSample() throws {
        let r = try CLI.run(["scan", "--summary", "json", CLI.sample("streams/sample.ndjson").path])
        #expect(r.status == 0, "\(r)")
        for line in r.stdout.split(separator: "\n") {
            let alert = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((alert["rule"] as? [String: Any])?["id"] != nil)
            #expect(alert["evidence"] is [Any])
        }
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
        let detection = try #require(summary["detection"] as? [String: Any])
        #expect((detection["rules"] as? Int ?? 0) >= 100)
        #expect((detection["correlations"] as? Int ?? 0) >= 10)
        #expect(detection["events"] as? Int == 228)
    }

    @Test("the summary's fired table counts the alerts; building blocks that only feed correlations are listed apart")
    func firedAndBuildingBlocks() throws {
        let binding = CLI.sample("detections/kaudit/rbac_cluster_admin_binding.match.ndjson").path
        let r = try CLI.run(["scan", "--summary", "json", "--no-suppress", binding])
        #expect(r.status == 0, "\(r)")
        let alerts = try Self.alerts(r)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
        let detection = try #require(summary["detection"] as? [String: Any])
        let fired = try #require(detection["fired"] as? [[String: Any]])
        let blocks = try #require(detection["building_blocks_matched"] as? [[String: Any]])
        var alertsByTitle: [String: Int] = [:]
        for a in alerts { alertsByTitle[((a["rule"] as? [String: Any])?["title"] as? String) ?? "", default: 0] += 1 }
        var firedByTitle: [String: Int] = [:]
        for row in fired { firedByTitle[row["title"] as? String ?? ""] = row["count"] as? Int }
        #expect(firedByTitle == alertsByTitle)
        let blockTitles = Set(blocks.compactMap { $0["title"] as? String })
        #expect(blockTitles.contains("Sensitive Request Allowed"), "\(blockTitles)")
        #expect(blockTitles.isDisjoint(with: alertsByTitle.keys))

        // In text, the levels are padded so the titles line up.
        let text = try CLI.run(["scan", "--format", "ndjson", "--summary", "text", binding])
        #expect(text.stderr.contains("\nfired\n"), "\(text)")
        #expect(text.stderr.contains("  high           Binding To The cluster-admin Role Created Or Changed\n"), "\(text)")
        #expect(text.stderr.contains(
            "\nbuilding blocks matched (they feed correlations and raise no alert of their own)\n"), "\(text)")
        #expect(text.stderr.contains("  informational  Sensitive Request Allowed\n"), "\(text)")
    }

    /// The alerts of an NDJSON scan output.
    static func alerts(_ r: CLI.Result) throws -> [[String: Any]] {
        try r.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// The first three events of the sample log, the second stamped 20 minutes ahead: the
    /// default 10-minute guard holds it (counted, and the summary says the bound), a
    /// larger `--max-clock-jump` lets it move the clock; out-of-range values are usage errors.
    @Test("--max-clock-jump: the bound on one event moving the event-time clock")
    func maxClockJump() throws {
        let lines = try String(contentsOf: CLI.sample("streams/sample.ndjson"), encoding: .utf8).split(separator: "\n").prefix(3).map(String.init)
        let stamp = #/"stageTimestamp":"2025-03-14T09:(\d\d)/#
        let minute = try #require(lines[1].firstMatch(of: stamp)).1
        let ahead = lines[1].replacing(stamp, with: { _ in #""stageTimestamp":"2025-03-14T09:\#(Int(minute)! + 20)"# })
        #expect(ahead != lines[1])
        let dir = try TempDir()
        let log = try dir.file("ahead.ndjson", [lines[0], ahead, lines[2]].joined(separator: "\n") + "\n")
        func held(_ extra: [String]) throws -> (Int?, String) {
            let r = try CLI.run(["scan", "--summary", "json", "--format", "ndjson"] + extra + [log.path])
            #expect(r.status == 0, "\(r)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
            let detection = try #require(summary["detection"] as? [String: Any])
            let text = try CLI.run(["scan", "--summary", "text", "--format", "ndjson"] + extra + [log.path]).stderr
            return (detection["clock_jumps_held"] as? Int, text)
        }
        let (byDefault, text) = try held([])
        #expect(byDefault == 1)
        #expect(text.contains("clock_jumps_held  1  (event times over 10 minutes ahead"), "\(text)")
        let (wider, _) = try held(["--max-clock-jump", "3600"])
        #expect(wider == nil, "not held: the counter is not reported")
        let (_, narrowText) = try held(["--max-clock-jump", "90"])
        #expect(narrowText.contains("over 90 seconds ahead"), "\(narrowText)")
        for bad in ["0", "-5", "40000000", "soon"] {
            let r = try CLI.run(["scan", "--max-clock-jump", bad, log.path])
            #expect(r.status == 2, "\(bad): \(r)")
            #expect(r.stderr.contains("max-clock-jump"), "\(bad): \(r)")
        }
    }

    @Test("activity rules are off by default and on with --activity (scan, rules list, lint, test)")
    func activityFlag() throws {
        let created = CLI.sample("detections/kaudit/activity_deployment_created.match.ndjson").path
        func titles(_ r: CLI.Result) throws -> [String] {
            try Self.alerts(r).compactMap { ($0["rule"] as? [String: Any])?["title"] as? String }
        }
        let off = try CLI.run(["scan", "--summary", "none", created])
        #expect(off.status == 0, "\(off)")
        #expect(try titles(off).filter { $0.hasSuffix("(activity)") }.isEmpty)
        let on = try CLI.run(["scan", "--summary", "none", "--activity", created])
        #expect(on.status == 0, "\(on)")
        #expect(try titles(on).filter { $0.hasSuffix("(activity)") } == ["Deployment Created (activity)"])
        let rule = try #require(try Self.alerts(on).compactMap { $0["rule"] as? [String: Any] }.first { ($0["title"] as? String)?.hasSuffix("(activity)") == true })
        #expect(rule["level"] as? String == "informational")

        let listed = try CLI.run(["rules", "list", Self.detections]).stdout
        let listedWith = try CLI.run(["rules", "list", "--activity", Self.detections]).stdout
        #expect(!listed.contains("(activity)"))
        #expect(listedWith.split(separator: "\n").filter { $0.hasSuffix("(activity)") }.count == 16)
        let lint = try CLI.run(["rules", "lint", "--strict", "--activity", Self.detections])
        #expect(lint.status == 0, "\(lint)")
        let test = try CLI.run(["rules", "test", "--activity", Self.detections])
        #expect(test.status == 0 && test.stderr.contains(" 0 failed"), "\(test.stderr)")
        #expect(test.stdout.contains("PASS  Secret Created (activity)"))
    }

    @Test("managed-cluster quirks: an impersonated request names both identities; v1beta1 times; exec as get")
    func managedClusterQuirks() throws {
        let binding = CLI.sample("detections/kaudit/rbac_cluster_admin_binding.match.ndjson").path
        let alerts = try Self.alerts(try CLI.run(["scan", "--summary", "none", binding]))
        let actors = alerts.compactMap { $0["actor"] as? [String: Any] }
        #expect(actors.contains {
            $0["user"] as? String == "platform-admin@example.com"
                && $0["impersonated_user"] as? String == "system:serviceaccount:ci:deployer"
        })
        // The v1beta1 event has no stageTimestamp: its time is metadata.creationTimestamp.
        #expect(alerts.contains { ($0["time"] as? String)?.hasPrefix("2026-11-02T13:07:00") == true })

        let shell = CLI.sample("detections/kaudit/exec_reverse_shell.match.ndjson").path
        let execAlerts = try Self.alerts(try CLI.run(["scan", "--summary", "none", shell]))
        #expect(execAlerts.contains {
            ($0["rule"] as? [String: Any])?["title"] as? String == "Reverse Shell Command Run In A Pod"
                && ($0["evidence"] as? [[String: Any]])?.first.flatMap { ($0["event"] as? [String: Any])?["verb"] as? String } == "get"
        })
    }

    @Test("--fail-on exits 1 when an alert at the level fired, 0 otherwise")
    func failOn() throws {
        let exec = CLI.sample("detections/kaudit/exec_reverse_shell.match.ndjson").path
        let high = try CLI.run(["scan", "--summary", "none", "--fail-on", "high", exec])
        #expect(high.status == 1, "\(high)")
        let critical = try CLI.run(["scan", "--summary", "none", "--fail-on", "critical", CLI.sample("streams/sample.ndjson").path])
        #expect(critical.status == 0, "\(critical)")
        #expect(try CLI.run(["scan", "--fail-on", "severe", exec]).status == 2)
    }
}
