// Helpers for engine tests: rule packs from YAML snippets, audit events from a few facts,
// and a run of the whole engine collecting alerts.
import AuditJSON
import AuditModel
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// A rule pack from YAML documents (each a file of its own).
func pack(_ documents: [String], lists: ValueLists = .empty, sourceLocation: SourceLocation = #_sourceLocation) -> RulePack {
    let set = RuleSet(sources: documents.enumerated().map { (file: "rule\($0.offset).yml", yaml: $0.element) })
    let p = RulePack(set: set, lists: lists)
    #expect(p.errors.isEmpty, "rule errors: \(p.errors)", sourceLocation: sourceLocation)
    return p
}

/// A single-event rule's YAML.
func ruleYAML(
    id: String = UUID().uuidString.lowercased(), name: String? = nil, title: String = "Test rule", level: String = "high",
    extra: String = "", detection: String
) -> String {
    """
    title: \(title)
    id: \(id)
    \(name.map { "name: \($0)\n" } ?? "")status: test
    level: \(level)
    tags:
      - attack.execution
      - attack.t1609
    threat_matrix:
      - MS-TA9006
    logsource:
      product: kubernetes
      service: audit
    \(extra)detection:
    \(detection.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    """
}

/// A compact audit event.
struct Ev {
    var verb = "get"
    var resource = "pods"
    var subresource: String?
    var namespace: String? = "default"
    var name: String? = "web-1"
    var user = "alice"
    var groups = ["system:authenticated"]
    var sourceIPs = ["10.0.0.9"]
    var stage = "ResponseComplete"
    var auditID = UUID().uuidString.lowercased()
    /// Seconds after 2026-11-02T10:00:00Z.
    var at: Double = 0
    var code = 200
    var requestURI: String?
    var requestObject: String?
    var responseObject: String?

    var json: String {
        let micros = Int64((at * 1_000_000).rounded())
        let t = RFC3339.format(microseconds: 1_793_613_600_000_000 + micros)
        var ref = "\"resource\":\"\(resource)\""
        if let namespace { ref += ",\"namespace\":\"\(namespace)\"" }
        if let name { ref += ",\"name\":\"\(name)\"" }
        if let subresource { ref += ",\"subresource\":\"\(subresource)\"" }
        ref += ",\"apiVersion\":\"v1\""
        let uri = requestURI ?? "/api/v1/namespaces/\(namespace ?? "-")/\(resource)/\(name ?? "")" + (subresource.map { "/" + $0 } ?? "")
        var s = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Request\",\"auditID\":\"\(auditID)\","
        s += "\"stage\":\"\(stage)\",\"requestURI\":\"\(uri)\",\"verb\":\"\(verb)\","
        s += "\"user\":{\"username\":\"\(user)\",\"groups\":[\(groups.map { "\"\($0)\"" }.joined(separator: ","))]},"
        s += "\"sourceIPs\":[\(sourceIPs.map { "\"\($0)\"" }.joined(separator: ","))],\"userAgent\":\"kubectl/v1.31.2\","
        s += "\"objectRef\":{\(ref)},\"responseStatus\":{\"metadata\":{},\"code\":\(code)},"
        if let requestObject { s += "\"requestObject\":\(requestObject)," }
        if let responseObject { s += "\"responseObject\":\(responseObject)," }
        s += "\"requestReceivedTimestamp\":\"\(t)\",\"stageTimestamp\":\"\(t)\","
        s += "\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"
        return s
    }
}

/// Runs events (JSON text, in order) through a detector; returns the alerts and the detector.
@discardableResult
func run(
    _ pack: RulePack, _ events: [String], options: DetectorOptions = .init()
) -> (alerts: [Alert], detector: Detector) {
    var alerts: [Alert] = []
    let detector = Detector(plan: pack.plan, options: options) { alerts.append($0) }
    for text in events {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buf in
            var event = AuditEvent()
            guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
                Issue.record("not an event: \(text)")
                return
            }
            detector.process(event)
        }
    }
    detector.finish()
    return (alerts, detector)
}

/// Titles of the alerts, in order.
func titles(_ alerts: [Alert]) -> [String] { alerts.map(\.rule.title) }
