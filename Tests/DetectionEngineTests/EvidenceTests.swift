// Evidence: an event kept with an alert or a correlation input, its audit ID read back
// from its bytes.
import AuditJSON
import AuditModel
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
            return EventIdentity.fingerprintHash(value, 0x1234)
        }
    }
}

@Suite("Evidence of a correlation input (one event inline, or several)")
struct EvidenceItemsTests {
    static func evidence(_ n: Int, stage: String = "ResponseComplete") -> Evidence {
        Evidence(auditID: "id-\(n)", stage: stage, time: Int64(n), raw: Array(repeating: UInt8(n), count: 10 + n))
    }

    @Test("one event and a list of events read back alike; the cap keeps the first cap-1 and the newest")
    func itemsAndCap() {
        let one = EvidenceItems(Self.evidence(1))
        #expect(one.count == 1 && !one.isEmpty && one[0] == Self.evidence(1) && one.last == Self.evidence(1))
        #expect(Array(EvidenceItems([Self.evidence(7)])) == [Self.evidence(7)])
        let none = EvidenceItems([])
        #expect(none.count == 0 && none.isEmpty && none.last == nil && Array(none).isEmpty)
        let five = EvidenceItems((1...5).map { Self.evidence($0) })
        #expect(five.count == 5 && Array(five).map(\.time) == [1, 2, 3, 4, 5])
        #expect(Array(five.capped(3)).map(\.time) == [1, 2, 5])
        #expect(Array(five.capped(1)).map(\.time) == [5])
        #expect(five.capped(0).isEmpty)
        #expect(Array(five.capped(5)).map(\.time) == [1, 2, 3, 4, 5])
        #expect(Array(one.capped(1)).map(\.time) == [1] && one.capped(0).isEmpty)
        // The byte estimate is the sum of the events' own.
        #expect(five.estimatedBytes == (1...5).reduce(0) { $0 + Self.evidence($1).estimatedBytes })
        #expect(one.estimatedBytes == Self.evidence(1).estimatedBytes && none.estimatedBytes == 0)
    }

    @Test("an event's byte estimate counts its bytes, its stage's name and its audit ID when kept apart")
    func estimatedBytes() throws {
        let json = #"{"kind":"Event","auditID":"abc","stage":"ResponseComplete","verb":"get"}"#
        let e = try #require(EvidenceTests.evidence(json))
        #expect(e.estimatedBytes == json.utf8.count + "ResponseComplete".utf8.count + 64)
        // Each standard stage read from an event, and none.
        for stage in ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"] {
            let text = #"{"kind":"Event","auditID":"abc","stage":"\#(stage)","verb":"get"}"#
            let read = try #require(EvidenceTests.evidence(text))
            #expect(read.stage == stage && read.estimatedBytes == text.utf8.count + stage.utf8.count + 64)
        }
        let stageless = #"{"kind":"Event","auditID":"abc","verb":"get"}"#
        let noStage = try #require(EvidenceTests.evidence(stageless))
        #expect(noStage.stage == "" && noStage.estimatedBytes == stageless.utf8.count + 64)
        for stage in ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic", "Custom", ""] {
            let apart = Evidence(auditID: "xyz", stage: stage, time: 0, raw: [1, 2, 3])
            #expect(apart.stage == stage && apart.auditID == "xyz")
            #expect(apart.estimatedBytes == 3 + 3 + stage.utf8.count + 64)
        }
        let escaped = #"{"kind":"Event","auditID":"a\u0062","stage":"Stage\u0058","verb":"get"}"#
        let f = try #require(EvidenceTests.evidence(escaped))
        #expect(f.auditID == "ab" && f.stage == "StageX")
        #expect(f.estimatedBytes == escaped.utf8.count + 2 + 6 + 64)
    }
}

@Suite("Group keys as bytes: read back, estimated, made from events")
struct GroupKeyBytesTests {
    @Test("values read back as given; keys are equal exactly when their values are")
    func roundTripAndEquality() {
        let cases: [[String?]] = [
            [], [nil], [""], ["", nil], [nil, ""], ["alice", "secrets", "default"], ["a", "bc"], ["ab", "c"],
            ["abc"], ["a,b"], ["a", "b"], ["système:ünïcode", nil, "命名空间"], [String(repeating: "x", count: 300)],
            [nil, nil], ["\u{0}", "\u{1}"],
        ]
        for values in cases { #expect(GroupKey(values).values == values, "\(values)") }
        for (i, a) in cases.enumerated() {
            for (j, b) in cases.enumerated() {
                #expect((GroupKey(a) == GroupKey(b)) == (i == j), "\(a) vs \(b)")
                if i == j { #expect(GroupKey(a).hashValue == GroupKey(b).hashValue) }
            }
        }
        var table: [GroupKey: Int] = [:]
        for (i, values) in cases.enumerated() { table[GroupKey(values)] = i }
        #expect(table.count == cases.count)
        for (i, values) in cases.enumerated() { #expect(table[GroupKey(values)] == i) }
    }

    @Test("the byte estimate is 16 per value plus the values' UTF-8 bytes")
    func estimatedBytes() {
        #expect(GroupKey([]).estimatedBytes == 0)
        #expect(GroupKey([nil, "abc", "é"]).estimatedBytes == 48 + 3 + 2)
    }

    @Test("a key made from an event's bytes equals the key of the same values as strings (escapes decoded, invalid UTF-8 repaired, lists joined)")
    func builtFromEvents() throws {
        let bad = "\u{FFFD}"  // what `String(decoding:)` makes of an invalid byte
        let cases: [(json: [UInt8], values: [String?])] = [
            (Array(#"{"kind":"Event","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"prod"}}"#.utf8),
             ["alice", "pods", "prod"]),
            (Array(#"{"kind":"Event","verb":"get","user":{"username":"b\u00f6b\"x"},"objectRef":{"resource":"pods"}}"#.utf8),
             ["böb\"x", "pods", nil]),
            (Array(#"{"kind":"Event","verb":"get","user":{"username":"caf"#.utf8) + [0xC3, 0x28]
                + Array(#""},"objectRef":{"resource":"pods","namespace":"x"}}"#.utf8),
             ["caf\(bad)(", "pods", "x"]),
        ]
        var all = cases.map { (json: $0.json, fields: ["user.username", "objectRef.resource", "objectRef.namespace"], values: $0.values) }
        // A field with several values is one value of the key, joined with commas.
        all.append(
            (Array(#"{"kind":"Event","verb":"get","user":{"username":"u","groups":["a","b\u0063","d"]}}"#.utf8),
             ["user.groups", "user.username"], ["a,bc,d", "u"]))
        // An empty string is a value; a number is its text.
        all.append(
            (Array(#"{"kind":"Event","verb":"get","objectRef":{"resource":"pods","namespace":""},"responseStatus":{"code":403}}"#.utf8),
             ["objectRef.namespace", "responseStatus.code", "verb"], ["", "403", "get"]))
        for c in all {
            let fields = c.fields
            let key = try c.json.withUnsafeBufferPointer { buffer -> GroupKey in
                let object = try #require(JSONValue.parse(buffer))
                var event = AuditEvent()
                guard case .event = event.load(object: object) else { throw GroupKeyBytesError.notAnEvent }
                let context = EventContext(event)
                let builder = GroupKey.Builder()
                for name in fields {
                    let field = try #require(FieldCatalogue.standard.resolve(name))
                    Detector.append(field, context, to: builder)
                }
                return builder.key()
            }
            #expect(key == GroupKey(c.values), "\(String(decoding: c.json, as: UTF8.self))")
            #expect(key.values == c.values)
        }
    }

    enum GroupKeyBytesError: Error { case notAnEvent }
}
