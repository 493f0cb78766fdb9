import AuditJSON
import AuditModel
import DetectionEngine
import Foundation
import Testing

@Suite("Rule index")
struct RuleIndexTests {
    static func rules() throws -> [CompiledRule] {
        [
            // 0: create of a privileged workload (indexed under create)
            try rule(
                [
                    ("selection", .all([try test("verb", [.string("create")]), try test("pod.containers.privileged", [.bool(true)])]))
                ], "selection"),
            // 1: exec over either transport (indexed under create and get)
            try rule(
                [("selection", .all([try test("verb", [.string("create"), .string("get")]), try test("objectRef.subresource", [.string("exec")])]))],
                "selection"),
            // 2: no verb at all (checked for every event)
            try rule([("selection", .all([try test("exec.tty", [.bool(true)])]))], "selection"),
            // 3: the verb appears only under `not` (checked for every event)
            try rule(
                [("sel", .all([try test("objectRef.resource", [.string("cronjobs")])])), ("filter", .all([try test("verb", [.string("delete")])]))],
                "sel and not filter"),
            // 4: an OR of two verb-pinned selections (create or delete)
            try rule(
                [
                    ("sel_a", .all([try test("verb", [.string("create")]), try test("objectRef.resource", [.string("cronjobs")])])),
                    ("sel_b", .all([try test("verb", [.string("delete")]), try test("objectRef.resource", [.string("cronjobs")])])),
                ], "1 of sel_*"),
            // 5: a wildcard verb cannot be indexed
            try rule([("selection", .all([try test("verb", [.string("cre*")])]))], "selection"),
        ]
    }

    @Test("rules are filed under the verbs they require, or checked for every event")
    func filing() throws {
        let index = RuleIndex(try Self.rules())
        // 0, 1 and 4 (create or delete, through two selections) are pinned to verbs, 3 to its
        // resource (cronjobs); 2 and 5 are not pinned.
        #expect(index.indexedRuleCount == 4)
        #expect(index.candidates(verb: "get", resource: "secrets") == [2, 5])
        #expect(index.candidates(verb: "get", resource: "secrets", subresource: "exec") == [1, 2, 5])
        #expect(index.candidates(verb: "get", resource: "cronjobs") == [2, 3, 5])
        #expect(index.candidates(verb: "delete", resource: "cronjobs") == [2, 3, 4, 5])
    }

    @Test("the index finds exactly what checking every rule finds, in rule order")
    func sameAsBruteForce() throws {
        let rules = try Self.rules()
        let index = RuleIndex(rules)
        var events = [FieldFixtures.exec, FieldFixtures.cronJob]
        events.append(FieldFixtures.exec.replacingOccurrences(of: #""verb":"create""#, with: #""verb":"get""#))
        events.append(FieldFixtures.exec.replacingOccurrences(of: #""verb":"create""#, with: #""verb":"CREATE""#))
        events.append(FieldFixtures.cronJob.replacingOccurrences(of: #""verb":"create""#, with: #""verb":"delete""#))
        events.append(FieldFixtures.cronJob.replacingOccurrences(of: #""verb":"create""#, with: #""verb":"cre\u0061te""#))
        events.append(FieldFixtures.cronJob.replacingOccurrences(of: #""verb":"create","#, with: ""))
        for text in events {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { buf in
                var event = AuditEvent()
                guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
                    Issue.record("not an event")
                    return
                }
                var indexed: [Int] = []
                index.forEachMatch(event) { indexed.append($0) }
                let brute = rules.indices.filter { rules[$0].matches(event) }
                #expect(indexed == brute, "\(String(text.prefix(200)))")
            }
        }
    }

    @Test("the verbs a condition requires follow and/or/not")
    func required() throws {
        let names = ["a", "b", "c"]
        func verbsFor(_ condition: String) throws -> Bool {
            let r = CompiledRule(
                id: "x", title: "x", selectionNames: names,
                selections: [
                    .all([try test("verb", [.string("create")])]), .all([try test("verb", [.string("create")])]),
                    .all([try test("objectRef.resource", [.string("pods")])]),
                ],
                condition: try ParsedCondition(condition).resolve(selections: names))
            // Pinned to its verb: not a candidate for another verb on the resource it may name.
            return !RuleIndex([r]).candidates(verb: "get", resource: "pods").contains(0)
        }
        #expect(try verbsFor("a and (b or c)"))
        #expect(try verbsFor("(a and c) or (b and c)"))
        #expect(try !verbsFor("a or c"))
        #expect(try !verbsFor("not a and c"))
        #expect(try verbsFor("all of them"))
        #expect(try !verbsFor("1 of them"))
    }
}
