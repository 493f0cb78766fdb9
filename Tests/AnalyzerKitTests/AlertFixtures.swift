import AnalyzerKit
import AuditModel
import DetectionEngine
import Foundation

/// Alerts built the way the detector builds them: from a real audit event's bytes.
enum Fixtures {
    /// 2026-11-02T10:00:00Z in microseconds.
    static let base: Int64 = 1_793_613_600_000_000

    static let execRule = RuleInfo(
        id: "rule-exec", title: "Command Run In A Pod Through The API", level: .high, threatMatrix: ["MS-TA9006"],
        attack: ["execution", "t1609"])
    static let secretsRule = RuleInfo(
        id: "rule-secrets", title: "Secrets Enumerated", level: .medium, threatMatrix: ["MS-TA9025"],
        attack: ["credential-access", "t1552.007"], kind: .correlation)

    /// An audit event's JSON.
    static func event(
        user: String = "alice", verb: String = "create", resource: String = "pods", subresource: String? = "exec",
        namespace: String = "prod", name: String = "web-1", at seconds: Double = 0, auditID: String = UUID().uuidString,
        uri: String? = nil, impersonating: String? = nil, status: String = #"{"metadata":{},"code":101}"#,
        objectRef: Bool = true
    ) -> String {
        let micros = base + Int64(seconds * 1_000_000)
        let time = RFC3339.format(microseconds: micros)
        let path = uri ?? "/api/v1/namespaces/\(namespace)/pods/\(name)/exec?command=sh&command=-c&command=id%3Bcat%20%2Fetc%2Fshadow&container=app&stdin=true"
        func q(_ s: String) -> String {
            var out = ""
            JSONWriter.escape(s, into: &out)
            return out
        }
        return """
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":\(q(auditID)),"stage":"ResponseStarted",\
            "requestURI":\(q(path)),"verb":\(q(verb)),"user":{"username":\(q(user)),"groups":["system:authenticated"]},\
            \(impersonating.map { #""impersonatedUser":{"username":"# + q($0) + "}," } ?? "")\
            "sourceIPs":["203.0.113.7","10.0.0.4"],"userAgent":"kubectl/v1.31.0",\
            \(objectRef ? #""objectRef":{"resource":"# + q(resource) + #","namespace":"# + q(namespace) + #","name":"# + q(name) + (subresource.map { ",\"subresource\":" + q($0) } ?? "") + "}," : "")\
            "responseStatus":\(status),"requestReceivedTimestamp":"\(time)","stageTimestamp":"\(time)",\
            "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}
            """
    }

    /// A single-event alert on `event(...)`, with its actor and object read from the event.
    static func alert(
        _ rule: RuleInfo = execRule, user: String = "alice", namespace: String = "prod", name: String = "web-1",
        at seconds: Double = 0, group: [(field: String, value: String?)] = [], count: Int = 1, uri: String? = nil,
        raw: String? = nil
    ) -> Alert {
        let raw = raw ?? event(user: user, namespace: namespace, name: name, at: seconds, uri: uri)
        let time = base + Int64(seconds * 1_000_000)
        let evidence = Evidence(auditID: "id-\(seconds)", stage: "ResponseStarted", time: time, raw: Array(raw.utf8))
        var actor = AlertActor()
        var object = AlertObject()
        evidence.withEvent { e in
            if let e {
                actor = AlertActor(e)
                object = AlertObject(e)
            }
        }
        return Alert(
            rule: rule, time: time, firstTime: time, actor: actor, object: object, evidence: [evidence], evidenceTotal: 1,
            group: group, count: count)
    }
}
