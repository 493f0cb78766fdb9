import AnalyzerKit
import AuditTestSupport
import DetectionEngine
import Foundation
import Testing

/// The Falco-compatible form and the terminal line.
struct AlertFormatTests {
    static func object(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], "not an object: \(s)")
    }

    /// §1.1 of the project's detection landscape: the members of Falco's JSON output and its
    /// core `ka.*` field names, read from the text (braces and slashes expanded).
    static func falcoReference() -> (members: [String], fields: Set<String>)? {
        let path = PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/reference/detection-landscape.md")
        guard let text = try? String(contentsOf: path, encoding: .utf8) else { return nil }
        func backticked(after marker: String) -> String? {
            guard let r = text.range(of: marker), let open = text[r.upperBound...].firstIndex(of: "`") else { return nil }
            let rest = text[text.index(after: open)...]
            guard let close = rest.firstIndex(of: "`") else { return nil }
            return String(rest[..<close])
        }
        guard let members = backticked(after: "`json_output` gives"), let core = backticked(after: "Core:") else { return nil }
        var fields = Set<String>()
        // Commas inside braces separate alternatives, not items: split on ", " only.
        for item in core.components(separatedBy: ", ") {
            if let open = item.firstIndex(of: "{"), let close = item.firstIndex(of: "}") {
                let stem = String(item[..<open])
                for part in item[item.index(after: open)..<close].split(separator: ",") { fields.insert(stem + String(part)) }
            } else if let slash = item.firstIndex(of: "/"), let dot = item[..<slash].lastIndex(of: ".") {
                fields.insert(String(item[..<slash]))
                fields.insert(String(item[...dot]) + String(item[item.index(after: slash)...]))
            } else {
                fields.insert(item)
            }
        }
        return (members.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, fields)
    }

    static let falcoPriorities: Set<String> = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]

    @Test func falcoShapeMatchesTheReferenceFieldList() throws {
        guard let reference = Self.falcoReference() else {
            #expect(!SharedCorpora.onCI, "../shared/reference/detection-landscape.md §1.1 is needed on CI")
            print("skipped: ../shared/reference/detection-landscape.md not found")
            return
        }
        // The reference as read: members and the fields this test relies on.
        #expect(reference.members == ["output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname"])
        #expect(reference.fields.isSuperset(of: ["ka.user.name", "ka.target.namespace", "ka.response.reason"]))

        let alert = Fixtures.alert()
        let o = try Self.object(AlertFormat.falco(alert, hostname: "node-a"))
        #expect(Set(o.keys) == Set(reference.members))
        let fields = try #require(o["output_fields"] as? [String: Any])
        let falcoNames = fields.keys.filter { $0.hasPrefix("ka.") }
        #expect(falcoNames.count >= 14)
        for name in falcoNames {
            // `ka.uri.param[k]` stands for any parameter name.
            let known = reference.fields.contains(name)
                || (name.hasPrefix("ka.uri.param[") && reference.fields.contains("ka.uri.param[k]"))
            #expect(known, "\(name) is not one of Falco's k8s_audit fields")
        }
        #expect(fields.keys.allSatisfy { $0.hasPrefix("ka.") || $0.hasPrefix("kaudit.") })
    }

    @Test func falcoValues() throws {
        let alert = Fixtures.alert()
        let o = try Self.object(AlertFormat.falco(alert, hostname: "node-a"))
        #expect(o["rule"] as? String == alert.rule.title)
        #expect(o["priority"] as? String == "Error")
        #expect(o["source"] as? String == "k8s_audit")
        #expect(o["hostname"] as? String == "node-a")
        #expect(o["time"] as? String == "2026-11-02T10:00:00.000000000Z")
        let tags = try #require(o["tags"] as? [String])
        #expect(Set(tags).isSuperset(of: ["k8s", "MS-TA9006", "T1609", "mitre_execution"]))
        let f = try #require(o["output_fields"] as? [String: Any])
        #expect(f["ka.user.name"] as? String == "alice")
        #expect(f["ka.user.groups"] as? [String] == ["system:authenticated"])
        #expect(f["ka.sourceips"] as? [String] == ["203.0.113.7", "10.0.0.4"])
        #expect(f["ka.verb"] as? String == "create")
        #expect(f["ka.target.resource"] as? String == "pods")
        #expect(f["ka.target.subresource"] as? String == "exec")
        #expect(f["ka.target.namespace"] as? String == "prod")
        #expect(f["ka.target.name"] as? String == "web-1")
        #expect(f["ka.auth.decision"] as? String == "allow")
        #expect(f["ka.response.code"] as? Int == 101)
        #expect(f["ka.stage"] as? String == "ResponseStarted")
        // Falco's own field has the first argv element; the whole command is kaudit's.
        #expect(f["ka.uri.param[command]"] as? String == "sh")
        #expect(f["ka.uri.param[container]"] as? String == "app")
        #expect(f["kaudit.exec.command"] as? String == "sh -c id;cat /etc/shadow")
        #expect(f["kaudit.rule.id"] as? String == "rule-exec")
        #expect(f["ka.impuser.name"] is NSNull, "absent values are null, not left out")
        let output = try #require(o["output"] as? String)
        #expect(output.hasPrefix("2026-11-02T10:00:00.000000000Z: Error Command Run In A Pod"))
        #expect(output.contains("user=alice") && output.contains("command=sh -c id;cat /etc/shadow"))
        for level in AlertLevel.allCases { #expect(Self.falcoPriorities.contains(AlertFormat.falcoPriority(level))) }
        #expect(AlertFormat.falcoPriority(.critical) == "Critical" && AlertFormat.falcoPriority(.informational) == "Informational")
    }

    @Test func falcoCarriesCorrelationGroupsAndSuppressionSummaries() throws {
        let a = Fixtures.alert(Fixtures.secretsRule, at: 30, group: [("user.username", "mallory"), ("objectRef.namespace", nil)], count: 40)
        let summary = Alert(
            rule: a.rule, time: a.time, firstTime: Fixtures.base, actor: a.actor, object: a.object, evidence: a.evidence,
            evidenceTotal: 9, group: a.group, count: 40, repeats: 9)
        let f = try #require(try Self.object(AlertFormat.falco(summary))["output_fields"] as? [String: Any])
        #expect(f["kaudit.group.user.username"] as? String == "mallory")
        #expect(f["kaudit.group.objectRef.namespace"] is NSNull)
        #expect(f["kaudit.repeats"] as? Int == 9)
        #expect(f["kaudit.first_time"] as? String == "2026-11-02T10:00:00.000000Z")
        #expect(f["kaudit.count"] as? Int == 40)
        let json = try Self.object(AlertFormat.json(summary))
        #expect(json["repeats"] as? Int == 9 && json["first_time"] as? String == "2026-11-02T10:00:00.000000Z")
        #expect(try Self.object(AlertFormat.json(a))["repeats"] == nil, "only summaries carry repeats")
    }

    @Test func textIsOneReadableLine() {
        let line = AlertFormat.text(Fixtures.alert(), color: false)
        #expect(line == "2026-11-02T10:00:00.000000Z  HIGH           Command Run In A Pod Through The API [MS-TA9006, T1609]  alice@10.0.0.4 → create pods/exec prod/web-1")
        let colored = AlertFormat.text(Fixtures.alert(), color: true)
        #expect(colored.contains("\u{1B}[1;31mHIGH"))
        #expect(!line.contains("\u{1B}"))
        // The longest level keeps two spaces before the title, in the same column as the others.
        let info = RuleInfo(id: "rule-info", title: "Cluster-Wide Role Binding Created", level: .informational, threatMatrix: [], attack: [])
        let infoLine = AlertFormat.text(Fixtures.alert(info), color: false)
        #expect(infoLine.hasPrefix("2026-11-02T10:00:00.000000Z  INFORMATIONAL  Cluster-Wide Role Binding Created  alice"), "\(infoLine)")
    }

    @Test func textShowsImpersonationFailureAndPathOfNonResourceRequests() throws {
        // audit2rbac's demo: an administrator impersonating a service account, refused.
        let refused = Fixtures.event(
            user: "system:admin", verb: "list", subresource: nil, uri: "/api/v1/namespaces/prod/pods?limit=500",
            impersonating: "system:serviceaccount:ns1:sa1",
            status: #"{"metadata":{},"status":"Failure","reason":"Forbidden","code":403}"#)
        let line = AlertFormat.text(Fixtures.alert(raw: refused), color: false)
        #expect(line.hasSuffix("system:admin@10.0.0.4 (as system:serviceaccount:ns1:sa1) → list pods prod/web-1  [403 Forbidden]"))
        // Falco's one-line message says the same.
        let falco = try #require(try Self.object(AlertFormat.falco(Fixtures.alert(raw: refused)))["output"] as? String)
        #expect(falco.contains("user=system:admin impuser=system:serviceaccount:ns1:sa1 ip=10.0.0.4"))
        #expect(falco.hasSuffix("resp=403)"))

        // A discovery request names no resource: its path (without the query) stands in.
        let discovery = Fixtures.event(verb: "get", uri: "/apis/apps/v1?timeout=32s", objectRef: false)
        #expect(AlertFormat.text(Fixtures.alert(raw: discovery), color: false).hasSuffix("alice@10.0.0.4 → get /apis/apps/v1"))

        // Success says nothing more; a long path is cut.
        let long = Fixtures.event(
            verb: "get", uri: "/" + String(repeating: "a", count: 200), status: #"{"code":404}"#, objectRef: false)
        let cut = AlertFormat.text(Fixtures.alert(raw: long), color: false)
        #expect(cut.hasSuffix("→ get /" + String(repeating: "a", count: 78) + "…  [404]"))
        #expect(!AlertFormat.text(Fixtures.alert(), color: false).contains("[101"))
    }

    @Test func textShowsRepeatsAndCorrelationCounts() {
        let a = Fixtures.alert(Fixtures.secretsRule, at: 30, group: [("user.username", "mallory")], count: 40)
        #expect(AlertFormat.text(a, color: false).hasSuffix("{user.username=mallory}  count=40"))
        let summary = Alert(
            rule: Fixtures.execRule, time: a.time, firstTime: Fixtures.base, actor: a.actor, object: a.object, evidence: a.evidence,
            evidenceTotal: 3, count: 3, repeats: 3)
        #expect(AlertFormat.text(summary, color: false).hasSuffix("prod/web-1  (3 repeats since 2026-11-02T10:00:00.000000Z)"))
    }

    @Test func hostileValuesCannotReachTheTerminal() {
        // A user name with an escape sequence (clear screen, forge a line) and a bidi override.
        let a = Fixtures.alert(user: "x\u{1B}[2J\nFAKE ALERT\u{202E}", name: "p\u{7}")
        let line = AlertFormat.text(a, color: false)
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x202E })
        #expect(line.contains("x\\u{1b}[2J\\u{a}FAKE ALERT\\u{202e}"))
        let colored = AlertFormat.text(a, color: true)
        #expect(colored.unicodeScalars.filter { $0 == "\u{1B}" }.count == 2, "only the level's colour codes")
    }
}
