// A selection of sibling `exists` tests (`requestObject.data.<name>|exists: true`, one map
// each) is judged in one pass over each object's members; it must answer exactly as the
// tests one by one.
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
        var present = 0
        for _ in 0..<2_000 {
            let body = "{" + (0..<Int(rng.next() % 3 + 1)).map { _ in #""data":"# + value(0) }.joined(separator: ",") + "}"
            let (grouped, oneByOne) = try Self.answers(maps, Self.event(body: body))
            #expect(grouped == oneByOne, "\(body)")
            if oneByOne { present += 1 }
        }
        #expect(present > 100, "the random bodies should often hold a name")
    }
}
