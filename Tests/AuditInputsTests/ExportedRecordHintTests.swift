import AuditInputs
import Testing

// Records that carry an audit event inside a wrapper of their own are named in the report,
// with how to take the events out; anything else gets the plain report.

@Suite("Exported record hints")
struct ExportedRecordHintTests {
    static func details(_ text: String) -> [String] {
        // "test.log:LINE: byte N: detail", with the detail kept.
        readStream(utf8(text)).details.map { d in
            var rest = Substring(d)
            for _ in 0..<3 { rest = rest[rest.index(after: rest.firstIndex(of: ":")!)...] }
            return String(rest.dropFirst())
        }
    }

    static let event = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a-1","stage":"ResponseComplete","verb":"get","requestURI":"/api"}"#
    static var escaped: String { String(event.flatMap { $0 == "\"" ? ["\\", "\""] : [$0] }) }

    @Test("Docker's JSON log and CloudWatch records: the event as a string in log or message")
    func stringWrapped() {
        let docker = #"{"log":""# + Self.escaped + #"\n","stream":"stdout","time":"2026-11-22T10:00:00Z"}"#
        let cloudwatch = #"{"timestamp":1763805600000,"message":""# + Self.escaped + #""}"#
        #expect(Self.details(docker + "\n" + cloudwatch + "\n") == [
            "object is not an audit event: it is a shipper's or container runtime's record (CloudWatch, Fluent Bit, Docker's JSON log) with the event as a string in log; take the events out first: jq -c '.log | fromjson'",
            "object is not an audit event: it is a shipper's or container runtime's record (CloudWatch, Fluent Bit, Docker's JSON log) with the event as a string in message; take the events out first: jq -c '.message | fromjson'",
        ])
    }

    @Test("AKS diagnostic records, with the event as an object or as a string")
    func aks() {
        let asObject = #"{"category":"kube-audit","properties":{"log":"# + Self.event + #","pod":"kube-apiserver-1"}}"#
        let asString = #"{"category":"kube-audit","properties":{"log":""# + Self.escaped + #""}}"#
        let details = Self.details(asObject + "\n" + asString + "\n")
        #expect(details.count == 2)
        #expect(details.allSatisfy { $0.hasPrefix("object is not an audit event: it is an Azure diagnostic record (AKS kube-audit)") })
    }

    @Test("a CRI container log line: the event after a time, stream and tag")
    func criPrefix() {
        let line = "2026-11-22T10:00:00.123456789Z stdout F " + Self.event
        #expect(Self.details(line + "\n") == [
            #"not a JSON object: the event follows a 40-byte prefix ("2026-11-22T10:00:00.123456789Z stdout F "), as in a CRI container log or a CloudWatch export; cut it first: sed 's/^[^{]*//'"#
        ])
    }

    @Test("objects and lines that are nothing of the kind get the plain report")
    func plain() {
        let text = [
            #"{"message":"hello","log":"{not an event}"}"#, #"{"properties":{"log":"x"}}"#, #"{"protoPayload":"text"}"#,
            "I1122 10:00:01 server.go:565] {\"auditID\" is mentioned", "plain text without a brace",
            "\"quoted\" {\"auditID\":\"x\"}",
        ].joined(separator: "\n") + "\n"
        #expect(Self.details(text) == [
            "object is not an audit event", "object is not an audit event", "object is not an audit event",
            "not a JSON object", "not a JSON object", "not a JSON object",
        ])
    }
}
