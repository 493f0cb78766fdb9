import AuditJSON
import AuditModel
import DetectionEngine
import Foundation
import Testing

/// Builds a field test from a catalogue name, values and modifiers.
func test(_ field: String, _ values: [SigmaValue], _ modifiers: [String] = []) throws -> FieldTest {
    let definition = try #require(FieldCatalogue.standard.resolve(field), "unknown field \(field)")
    return FieldTest(field: definition, matcher: try ValueMatcher(values: values, modifiers: modifiers))
}

/// Compiles a rule from named selections and a condition.
func rule(_ selections: [(String, CompiledSelection)], _ condition: String) throws -> CompiledRule {
    let names = selections.map(\.0)
    let resolved = try ParsedCondition(condition).resolve(selections: names)
    return CompiledRule(id: "test", title: "test", selectionNames: names, selections: selections.map(\.1), condition: resolved)
}

/// Whether `rule` matches the event in `text`.
func fires(_ rule: CompiledRule, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buf in
        var event = AuditEvent()
        guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else { return false }
        return rule.matches(event)
    }
}

@Suite("Compiled single-event rules")
struct CompiledRuleTests {
    @Test("exec into a pod, over SPDY (create) or WebSocket (get)")
    func execRule() throws {
        let r = try rule(
            [
                ("selection", .all([
                    try test("verb", [.string("create"), .string("get")]),
                    try test("objectRef.resource", [.string("pods")]),
                    try test("objectRef.subresource", [.string("exec")]),
                ]))
            ], "selection")
        #expect(fires(r, FieldFixtures.exec))
        #expect(!fires(r, FieldFixtures.cronJob))
        let websocket = FieldFixtures.exec.replacingOccurrences(of: #""verb":"create""#, with: #""verb":"get""#)
        #expect(fires(r, websocket))
    }

    @Test("a privileged container anywhere in a workload, unless the image is allow-listed")
    func privilegedWorkload() throws {
        let r = try rule(
            [
                ("selection", .all([try test("pod.containers.privileged", [.bool(true)])])),
                ("filter_allowed", .all([try test("pod.containers.image", [.string("registry.example.com/backup:*")])])),
            ], "selection and not filter_allowed")
        #expect(!fires(r, FieldFixtures.cronJob))  // allow-listed image
        let other = FieldFixtures.cronJob.replacingOccurrences(of: "registry.example.com/backup:2.1", with: "evil/miner:latest")
        #expect(fires(r, other))
    }

    @Test("SigmaHQ-style mapped names: hostPath and capabilities present with any value")
    func mappedNames() throws {
        let hostPath = try rule([("selection", .all([try test("hostPath", [.string("*")])]))], "selection")
        let caps = try rule([("selection", .all([try test("capabilities", [.string("*")])]))], "selection")
        #expect(fires(hostPath, FieldFixtures.cronJob))
        #expect(!fires(hostPath, FieldFixtures.exec))
        #expect(fires(caps, FieldFixtures.cronJob))
    }

    @Test("exists, neq, null-or-absent")
    func presence() throws {
        let hasBody = try rule([("s", .all([try test("requestObject", [.bool(true)], ["exists"])]))], "s")
        #expect(fires(hasBody, FieldFixtures.cronJob))
        #expect(!fires(hasBody, FieldFixtures.exec))
        let noImpersonation = try rule([("s", .all([try test("impersonatedUser.username", [.null])]))], "s")
        #expect(fires(noImpersonation, FieldFixtures.exec))  // absent counts as null
        let notCreate = try rule([("s", .all([try test("verb", [.string("create")], ["neq"])]))], "s")
        #expect(!fires(notCreate, FieldFixtures.exec))
        let groupsNotMasters = try rule([("s", .all([try test("user.groups", [.string("system:masters")], ["neq"])]))], "s")
        #expect(fires(groupsNotMasters, FieldFixtures.exec))
    }

    @Test("a list of maps is an OR of ANDs; keywords search the raw event")
    func listsAndKeywords() throws {
        let r = try rule(
            [
                ("selection", .any([
                    [try test("verb", [.string("delete")])],
                    [try test("objectRef.subresource", [.string("exec")]), try test("exec.tty", [.bool(true)])],
                ]))
            ], "selection")
        #expect(fires(r, FieldFixtures.exec))
        #expect(!fires(r, FieldFixtures.cronJob))
        let keywords = try rule([("keywords", .keywords(try ValueMatcher(values: [.string("SYS_ADMIN")], modifiers: ["contains"])))], "keywords")
        #expect(fires(keywords, FieldFixtures.cronJob))
        #expect(!fires(keywords, FieldFixtures.exec))
    }

    @Test("1 of / all of over selections, with short-circuit evaluation")
    func quantifiers() throws {
        let r = try rule(
            [
                ("sel_exec", .all([try test("objectRef.subresource", [.string("exec")])])),
                ("sel_token", .all([try test("exec.commandLine", [.string("*/serviceaccount/token*")])])),
                ("filter_system", .all([try test("user.username", [.string("system:*")])])),
            ], "all of sel_* and not 1 of filter_*")
        #expect(fires(r, FieldFixtures.exec))
        #expect(!fires(r, FieldFixtures.cronJob))
    }
}
