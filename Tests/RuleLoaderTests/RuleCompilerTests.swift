import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite("Rule compiler")
struct RuleCompilerTests {
    @Test("identical field lines in different rules share one compiled test; different ones do not")
    func sharedFieldTests() throws {
        func tests(of rule: CompiledRule) -> [FieldTest] {
            rule.selections.flatMap { selection -> [FieldTest] in
                switch selection {
                case .all(let tests): return tests
                case .any(let maps): return maps.flatMap { $0 }
                case .keywords: return []
                }
            }
        }
        let a = ruleYAML(detection: "sel: {verb: create, user.username|startswith: 'system:serviceaccount:'}\ncondition: sel")
        let b = ruleYAML(detection: "sel: {verb: [create], user.username|startswith: 'system:serviceaccount:'}\ncondition: sel")
        let c = ruleYAML(detection: "sel: {verb: create, user.username|startswith|cased: 'system:serviceaccount:'}\ncondition: sel")
        let p = pack([a, b, c])
        let compiled = p.plan.rules.map { tests(of: $0.compiled) }
        try #require(compiled.count == 3 && compiled.allSatisfy { $0.count == 2 })
        // `verb: create` and `verb: [create]` are the same line; so is the username test.
        #expect(compiled[0][0] === compiled[1][0])
        #expect(compiled[0][1] === compiled[1][1])
        // `cased` makes another test.
        #expect(compiled[0][0] === compiled[2][0])
        #expect(compiled[0][1] !== compiled[2][1])
    }

    @Test("a rule compiles into an engine rule with its selections and condition")
    func compiles() throws {
        let rule = try loadRule(
            """
            title: Exec into a pod
            id: 0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c
            logsource:
                product: kubernetes
                service: audit
            detection:
                selection:
                    verb: [create, get]
                    objectRef.subresource: exec
                filter_system:
                    user.username|startswith: 'system:'
                condition: selection and not filter_system
            level: medium
            """)
        let (compiled, diagnostics) = RuleCompiler.compile(rule)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let engineRule = try #require(compiled)
        #expect(engineRule.id == "0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c")
        #expect(engineRule.selectionNames == ["selection", "filter_system"])
    }

    @Test("an unknown field is an error at its position")
    func unknownField() throws {
        let rule = try loadRule(minimalRule(id: "1f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c").replacingOccurrences(of: "verb: create", with: "Image: evil.exe"))
        let (compiled, diagnostics) = RuleCompiler.compile(rule)
        #expect(compiled == nil)
        #expect(diagnostics.map(\.code) == [.unknownField])
        #expect(diagnostics.first.map { "\($0.line):\($0.column)" } == "8:9")
    }

    @Test("expand needs its value list; fieldref needs a known field")
    func expandAndFieldref() throws {
        let expand = try loadRule(
            minimalRule(id: "2f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c").replacingOccurrences(
                of: "verb: create", with: "objectRef.name|expand: '%Admins%'"))
        let missing = RuleCompiler.compile(expand)
        #expect(missing.rule == nil)
        #expect(missing.diagnostics.map(\.code) == [.badValue])
        #expect(RuleCompiler.compile(expand, lists: ValueLists(lists: ["Admins": ["root"]])).rule != nil)

        let fieldref = try loadRule(
            minimalRule(id: "2f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c").replacingOccurrences(
                of: "verb: create", with: "objectRef.name|fieldref: user.username"))
        #expect(RuleCompiler.compile(fieldref).rule != nil)
        let unknown = try loadRule(
            minimalRule(id: "2f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c").replacingOccurrences(
                of: "verb: create", with: "objectRef.name|fieldref: user.nickname"))
        #expect(RuleCompiler.compile(unknown).diagnostics.map(\.code) == [.unknownField])
    }

    @Test("text compared with an integer field is a warning: it can never match")
    func neverMatches() throws {
        let rule = try loadRule(
            minimalRule(id: "3f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c").replacingOccurrences(
                of: "verb: create", with: "responseStatus.code: ['ALLOW', 403, '401', '4*']"))
        let (compiled, diagnostics) = RuleCompiler.compile(rule)
        #expect(compiled != nil)  // a warning, not an error
        #expect(diagnostics.map(\.code) == [.neverMatches])
        #expect(diagnostics.first.map { "\($0.line):\($0.column)" } == "8:31")
    }

    @Test("every SigmaHQ Kubernetes rule compiles", .enabled(if: LoaderCorpus.shouldRun, LoaderCorpus.skipMessage))
    func sigmaHQRulesCompile() throws {
        let directory = try LoaderCorpus.requireDirectory()
        let set = RuleSet.load(paths: [directory.path])
        #expect(set.rules.count == 16)
        for rule in set.rules {
            let (compiled, diagnostics) = RuleCompiler.compile(rule)
            #expect(compiled != nil, "\(rule.metadata.title): \(diagnostics)")
            let errors = diagnostics.filter(\.isError)
            #expect(errors.isEmpty, "\(rule.metadata.title): \(errors)")
        }
    }
}
