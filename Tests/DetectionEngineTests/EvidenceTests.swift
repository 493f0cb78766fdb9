// Evidence: an event kept with an alert or a correlation input, its audit ID read back
// from its bytes.
@testable import DetectionEngine
import Testing

@Suite("Evidence (an event kept for an alert)")
struct EvidenceTests {
    /// Evidence made from `json` read as an event.
    static func evidence(_ json: String) -> Evidence? {
        Evidence(auditID: "", stage: "", time: 0, raw: Array(json.utf8)).withEvent { event in
            event.map { Evidence($0, time: 42) }
        }
    }

    @Test("the audit ID and stage read back from the event, escaped or not, with its bytes kept as they were")
    func auditIDs() throws {
        let cases: [(json: String, id: String, stage: String)] = [
            (#"{"kind":"Event","auditID":"5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42","stage":"ResponseComplete","verb":"get"}"#,
             "5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42", "ResponseComplete"),
            (#"{"kind":"Event","auditID":"a\u0062c\"d","stage":"Panic","verb":"get"}"#, "abc\"d", "Panic"),
            (#"{"kind":"Event","stage":"ResponseStarted","verb":"get"}"#, "", "ResponseStarted"),
            (#"{"kind":"Event","auditID":"dup","auditID":"last","stage":"Custom\u0053tage","verb":"get"}"#, "last", "CustomStage"),
            (#"{"kind":"Event","auditID":12,"verb":"get"}"#, "", ""),
        ]
        for c in cases {
            let e = try #require(Self.evidence(c.json))
            #expect(e.auditID == c.id, "\(c.json)")
            #expect(e.stage == c.stage, "\(c.json)")
            #expect(e.time == 42 && e.raw == Array(c.json.utf8))
            #expect(e == Evidence(auditID: c.id, stage: c.stage, time: 42, raw: Array(c.json.utf8)))
        }
        #expect(Self.evidence(cases[0].json) != Self.evidence(cases[1].json))
    }
}
