// Evidence: an event kept with an alert or a correlation input, its audit ID read back
// from its bytes.
import AuditJSON
import AuditTestSupport
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

@Suite("Stage recognition")
struct StageRecognitionTests {
    static func stage(_ json: String) -> Detector.Stage {
        Array(json.utf8).withUnsafeBufferPointer { Detector.Stage(JSONValue.parse($0)) }
    }

    @Test("each stage by its raw text, escaped text decoded, anything else other")
    func stages() {
        // The raw length picks the name to compare; an escaped name takes the general way.
        let cases: [(String, Detector.Stage)] = [
            (#""ResponseComplete""#, .responseComplete), (#""ResponseStarted""#, .responseStarted),
            (#""RequestReceived""#, .requestReceived), (#""Panic""#, .panic),
            (#""Response\u0043omplete""#, .responseComplete), (#""Re\u0071uestReceived""#, .requestReceived),
            (#""P\u0061nic""#, .panic), (#""\u0052esponseStarted""#, .responseStarted),
            (#""ResponseCompletE""#, .other), (#""ResponseStarteX""#, .other), (#""RequestReceiveD""#, .other),
            (#""panic""#, .other), (#""Panik""#, .other), (#""""#, .other), (#""ResponseComplete ""#, .other),
            ("16", .other), ("null", .other), (#"["Panic"]"#, .other),
        ]
        for (json, expected) in cases { #expect(Self.stage(json) == expected, "\(json)") }
        #expect(Detector.Stage(nil) == .other)
    }
}

@Suite("Event fingerprints")
struct FingerprintTests {
    @Test("each value's hash covers every byte, at every length around its word sizes")
    func everyByteCounts() {
        // Short values are hashed from overlapping words: a change in any one byte must show.
        var rng = SplitMix64(seed: 0xF1)
        for length in 0...40 {
            var text = Array("\"".utf8) + (0..<length).map { _ in UInt8(0x61 + rng.next() % 26) } + Array("\"".utf8)
            let base = Self.hash(text)
            for i in stride(from: 1, through: length, by: 1) {
                let kept = text[i]
                text[i] = kept == 0x7A ? 0x61 : kept + 1
                #expect(Self.hash(text) != base, "length \(length), byte \(i)")
                text[i] = kept
            }
            #expect(Self.hash(text) == base)
            // The same bytes at another address hash alike.
            #expect(Self.hash([0x20] + text, from: 1) == base)
        }
    }

    static func hash(_ bytes: [UInt8], from start: Int = 0) -> UInt64 {
        bytes.withUnsafeBufferPointer { buffer in
            let value = JSONValue(base: buffer.baseAddress!, start: start, end: buffer.count)
            return Detector.fingerprintHash(value, 0x1234)
        }
    }
}
