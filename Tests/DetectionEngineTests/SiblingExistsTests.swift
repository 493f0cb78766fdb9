// A selection of sibling `exists` tests (`requestObject.data.<name>|exists: true`, one map
// each) is judged in one pass over each object's members, and one of sibling value tests
// is ruled out in one pass when none of the names is there; either must answer exactly as
// the tests one by one.
import AuditJSON
import AuditModel
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("Sibling exists tests judged in one pass")
struct SiblingExistsTests {
    static let names = ["password", "token", "api_key", "0"]

    /// The selection's maps, one exists test each, under `parent`.
    static func maps(_ parent: String, _ names: [String], exists: Bool = true) throws -> [[FieldTest]] {
        try names.map { [try test("\(parent).\($0)", [.bool(exists)], ["exists"])] }
    }

    /// The selection's maps, one `contains` test each (false on an absent field), under `parent`.
    static func valueMaps(_ parent: String, _ names: [String], contains value: String) throws -> [[FieldTest]] {
        try names.map { [try test("\(parent).\($0)", [.string(value)], ["contains"])] }
    }

    /// An event whose request (or response) body is `body`.
    static func event(body: String, in member: String = "requestObject") -> String {
        #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete","#
            + #""requestURI":"/api/v1/namespaces/ns/configmaps","verb":"create","user":{"username":"u"},"#
            + #""objectRef":{"resource":"configmaps","namespace":"ns","apiVersion":"v1"},"responseStatus":{"code":201},"#
            + #""\#(member)":\#(body),"stageTimestamp":"2025-03-14T09:00:00.000000Z"}"#
    }

    /// The rule's answer and the tests' own, OR'ed one by one, on `text`.
    static func answers(_ maps: [[FieldTest]], _ text: String) throws -> (grouped: Bool, oneByOne: Bool) {
        let r = try rule([("keys", .any(maps))], "keys")
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buf in
            var event = AuditEvent()
            guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
                Issue.record("not an event: \(text)")
                throw CancellationError()
            }
            return (r.matches(event), maps.contains { $0[0].evaluate(event) })
        }
    }

    @Test("a list of sibling exists tests is grouped; other lists are not")
    func grouping() throws {
        let names = ["password", "token", "api_key"]
        #expect(try rule([("k", .any(Self.maps("requestObject.data", names)))], "k").program.siblingSets.count == 1)
        // An array index selects an element, not a member: not grouped.
        #expect(try rule([("k", .any(Self.maps("requestObject.data", ["password", "0"])))], "k").program.siblingSets.isEmpty)
        // Different parents, exists: false, or a second test in a map: not grouped.
        let mixed = try Self.maps("requestObject.data", ["password"]) + Self.maps("requestObject.metadata", ["token"])
        #expect(try rule([("k", .any(mixed))], "k").program.siblingSets.isEmpty)
        #expect(try rule([("k", .any(Self.maps("requestObject.data", names, exists: false)))], "k").program.siblingSets.isEmpty)
        var two = try Self.maps("requestObject.data", names)
        two[0].append(try test("verb", [.string("create")]))
        #expect(try rule([("k", .any(two))], "k").program.siblingSets.isEmpty)
        // A single map is left alone (nothing to share).
        #expect(try rule([("k", .any(Self.maps("requestObject.data", ["password"])))], "k").program.siblingSets.isEmpty)
    }

    @Test("sibling tests that are false on an absent field are grouped as a filter; tests true on an absent field are not")
    func filterGrouping() throws {
        let names = ["password", "token", "api_key"]
        let exists = try rule([("k", .any(Self.maps("requestObject.data", names)))], "k").program.siblingSets
        #expect(exists.count == 1 && exists[0].isExact)
        let contains = try rule([("k", .any(Self.valueMaps("requestObject.data", names, contains: "x")))], "k").program.siblingSets
        #expect(contains.count == 1 && !contains[0].isExact)
        let mixed = try Self.maps("requestObject.data", ["password"]) + Self.valueMaps("requestObject.data", ["token"], contains: "x")
        let mixedSets = try rule([("k", .any(mixed))], "k").program.siblingSets
        #expect(mixedSets.count == 1 && !mixedSets[0].isExact)
        // `null` matches an absent field and `neq` is true on one: such lists are judged one by one.
        let null = try names.map { [try test("requestObject.data.\($0)", [.null])] }
        #expect(try rule([("k", .any(null))], "k").program.siblingSets.isEmpty)
        let negated = try names.map { [try test("requestObject.data.\($0)", [.string("x")], ["neq"])] }
        #expect(try rule([("k", .any(negated))], "k").program.siblingSets.isEmpty)
        // Annotation keys (dots inside one key) are members of the audit annotations.
        let keys = ["mutation.webhook.admission.k8s.io/round_0_index_0", "mutation.webhook.admission.k8s.io/round_0_index_1"]
        let annotations = try rule([("k", .any(Self.valueMaps("annotations", keys, contains: "x")))], "k").program.siblingSets
        #expect(annotations.count == 1 && annotations[0].root == .annotations && annotations[0].names.count == 2)
    }

    @Test(
        "the audit annotations: grouped exists and value tests answer as the tests one by one",
        arguments: [
            "{}", #"{"a/x":"v"}"#, #"{"other":"v"}"#, #"{"a/x":null}"#, #"{"a/x":[]}"#, #"{"a/x":["v"]}"#,
            #"{"a/x":"v","a/x":"w"}"#, #"{"a/x":"w","a/x":"v"}"#, #"{"a\/x":"v"}"#, #"{"b.k8s.io/y":"{\"mutated\":true}"}"#,
            #"{"b.k8s.io/y":"{\"mutated\":false}"}"#, #""a/x""#, "null", #"[{"a/x":"v"}]"#, #"{"A/X":"v"}"#,
        ])
    func annotations(map: String) throws {
        let keys = ["a/x", "b.k8s.io/y", "c"]
        for maps in [
            try Self.maps("annotations", keys), try Self.valueMaps("annotations", keys, contains: "v"),
            try Self.valueMaps("annotations", keys, contains: #""mutated":true"#),
            try Self.maps("annotations", ["a/x"]) + Self.valueMaps("annotations", ["b.k8s.io/y"], contains: "mutated"),
        ] {
            let (grouped, oneByOne) = try Self.answers(maps, Self.event(body: map, in: "annotations"))
            #expect(grouped == oneByOne, "\(map)")
        }
    }

    @Test(
        "the grouped answer is the tests' answer",
        arguments: [
            // present, absent, null present, empty array absent, nested arrays only
            #"{"data":{"password":"x"}}"#,
            #"{"data":{"user":"x"}}"#,
            #"{"data":{"token":null}}"#,
            #"{"data":{"token":[]}}"#,
            #"{"data":{"token":[[1]]}}"#,
            #"{"data":{"token":[[1],2]}}"#,
            // duplicate keys: the last one decides
            #"{"data":{"token":"x","token":[]}}"#,
            #"{"data":{"token":[],"token":"x"}}"#,
            #"{"data":{"token":[],"api_key":[],"token":[]}}"#,
            // an escaped name is its decoded name; a name that only looks similar is not
            #"{"data":{"pass\u0077ord":"x"}}"#,
            #"{"data":{"pass\u0077ord":"x","password":[]}}"#,
            #"{"data":{"Password":"x","passwords":"x"}}"#,
            // data that is not an object, or absent
            #"{"data":"password"}"#,
            #"{"data":null}"#,
            #"{"metadata":{"name":"password"}}"#,
            // arrays on the way and at data are crossed (up to four levels)
            #"{"data":[{"x":1},{"token":"x"}]}"#,
            #"{"data":[[[[{"token":"x"}]]]]}"#,
            #"{"data":[[[[[{"token":"x"}]]]]]}"#,
            #"[{"data":{"token":"x"}},{"data":{}}]"#,
            #"[[{"data":{"token":"x"}}]]"#,
            // an array index name selects an element (not grouped, still answered alike)
            #"{"data":["a","b"]}"#,
            #"{"data":{"0":"x"}}"#,
        ])
    func sameAnswer(body: String) throws {
        for names in [Array(Self.names.prefix(3)), Self.names] {
            let maps = try Self.maps("requestObject.data", names)
            let (grouped, oneByOne) = try Self.answers(maps, Self.event(body: body))
            #expect(grouped == oneByOne, "\(names) on \(body)")
            // The same names as a filter over value tests.
            let valueMaps = try Self.valueMaps("requestObject.data", names, contains: "x")
            let (filtered, valueOneByOne) = try Self.answers(valueMaps, Self.event(body: body))
            #expect(filtered == valueOneByOne, "values of \(names) on \(body)")
            // The response body is a different field: the request's tests do not see it.
            let (inResponse, oneByOneInResponse) = try Self.answers(maps, Self.event(body: body, in: "responseObject"))
            #expect(inResponse == oneByOneInResponse && !inResponse, "\(names) on a response \(body)")
        }
        // Names straight under the body.
        let top = try Self.maps("requestObject", ["data", "metadata", "kind"])
        let (grouped, oneByOne) = try Self.answers(top, Self.event(body: body))
        #expect(grouped == oneByOne, "top-level names on \(body)")
    }

    @Test("random bodies: the grouped answer is the tests' answer")
    func randomBodies() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let keys = [#""token""#, #""api_key""#, #""password""#, #""pass\u0077ord""#, #""other""#, #""data""#]
        func value(_ depth: Int) -> String {
            switch rng.next() % (depth > 3 ? 3 : 6) {
            case 0: return "null"
            case 1: return #""v""#
            case 2: return "1"
            case 3: return "[" + (0..<Int(rng.next() % 3)).map { _ in value(depth + 1) }.joined(separator: ",") + "]"
            default:
                return "{" + (0..<Int(rng.next() % 4)).map { _ in keys[Int(rng.next() % UInt64(keys.count))] + ":" + value(depth + 1) }
                    .joined(separator: ",") + "}"
            }
        }
        let maps = try Self.maps("requestObject.data", Array(Self.names.prefix(3)))
        let valueMaps = try Self.valueMaps("requestObject.data", Array(Self.names.prefix(3)), contains: "v")
        var present = 0
        var valuesFound = 0
        for _ in 0..<2_000 {
            let body = "{" + (0..<Int(rng.next() % 3 + 1)).map { _ in #""data":"# + value(0) }.joined(separator: ",") + "}"
            let (grouped, oneByOne) = try Self.answers(maps, Self.event(body: body))
            #expect(grouped == oneByOne, "\(body)")
            if oneByOne { present += 1 }
            let (filtered, valueOneByOne) = try Self.answers(valueMaps, Self.event(body: body))
            #expect(filtered == valueOneByOne, "values on \(body)")
            if valueOneByOne { valuesFound += 1 }
        }
        #expect(present > 100, "the random bodies should often hold a name")
        #expect(valuesFound > 50, "and often a matching value")
    }
}
