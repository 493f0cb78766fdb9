import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// crowdsecurity/hub's two k8s-audit scenario tests (.tests/*/scenario.assert): each file
/// must raise its scenario's alert once. kaudit's rules that answer the two scenarios must
/// fire exactly once, about the same identity and pod.
@Suite("CrowdSec scenarios through the rule pack", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct CrowdSecAlertTests {
    static let pack = RulePack.load(paths: [PackagePaths.detections.path])

    @Test(
        "each scenario's alert once",
        arguments: [
            // crowdsecurity/k8s-audit-pod-exec -> Command Run In A Pod Through The API
            ("k8s-audit-pod-exec-file", "ccbd5453-7c10-49ad-a312-9c531d3d0c27", "exec"),
            // crowdsecurity/k8s-audit-privileged-pod-creation -> Privileged Container In A Pod Or Workload
            ("k8s-audit-priv-pod-file", "08f441a7-892b-4312-a19c-1dc85bad7773", nil),
        ] as [(String, String, String?)])
    func scenario(_ test: String, rule: String, subresource: String?) throws {
        #expect(Self.pack.errors.isEmpty, "\(Self.pack.errors)")
        let file = try Corpus.url("crowdsec-hub-k8s-audit/.tests/\(test)/\(test).log")
        let replay = try PackReplay.run(Self.pack, over: file)
        #expect(replay.issues.isEmpty)
        let alerts = replay.alerts.filter { $0.rule.id == rule }
        #expect(alerts.count == 1, "\(test): \(alerts.count) alerts of \(rule)")
        let alert = try #require(alerts.first)
        #expect(alert.actor.user == "minikube-user")
        #expect(alert.actor.sourceIP == "192.168.49.1")
        #expect(alert.object.namespace == "foo")
        #expect(alert.object.name == "test-pod-1")
        #expect(alert.object.subresource == subresource)
    }
}
