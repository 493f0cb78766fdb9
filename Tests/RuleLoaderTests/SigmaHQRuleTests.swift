// The 16 SigmaHQ Kubernetes audit rules, loaded and compiled, on project-written audit
// events: every line of `SampleLogs/detections/sigmahq/<rule>.match.ndjson` must fire the
// rule and every line of `<rule>.nomatch.ndjson` must not (the README there says what the
// events are). The fixtures document what the rules' text does, including where it differs
// from what the titles promise.
import AuditModel
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// Rules whose text cannot match any event kube-apiserver writes; their match file is empty.
///
/// `kubernetes_audit_potential_enumeration_activity`: its `selection_status` is
/// `responseStatus.code: 'ALLOW'`, ANDed with the URI and user-agent selections. The code is
/// the HTTP status, an integer (101, 200, 403, ...), so the string `ALLOW` never equals it
/// and the rule never fires. (`allow` is a value of the `authorization.k8s.io/decision`
/// annotation, which is presumably what was meant: see `enumerationStatusNeverHolds`.)
private let rulesThatCannotMatch: Set<String> = ["kubernetes_audit_potential_enumeration_activity"]

private enum SigmaHQFixtures {
    static let directory = PackagePaths.sampleLogs.appendingPathComponent("detections/sigmahq")

    /// The whole corpus, loaded once (nil when it is absent).
    static let ruleSet: RuleSet? = LoaderCorpus.directory.map { RuleSet.load(paths: [$0.path]) }

    /// The rule files' stems (`kubernetes_audit_hostpath_mount`), in corpus order.
    static let stems = corpusExpectations.map { stem(of: $0.file) }

    static func stem(of file: String) -> String {
        file.hasSuffix(".yml") ? String(file.dropLast(4)) : file
    }

    struct Line {
        /// 1-based line number in the file.
        let number: Int
        let text: String
    }

    /// The non-blank lines of a fixture file, with their line numbers.
    static func lines(_ name: String) throws -> [Line] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
            line.allSatisfy(\.isWhitespace) ? nil : Line(number: i + 1, text: String(line))
        }
    }

    /// Whether `rule` fires on the event in `line`; nil when the line is not an audit event.
    static func fires(_ rule: CompiledRule, _ line: String) -> Bool? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { buf -> Bool? in
            guard let base = buf.baseAddress else { return nil }
            var event = AuditEvent()
            guard case .event = event.load(base, start: 0, end: buf.count) else { return nil }
            return rule.matches(event)
        }
    }

    /// The loaded rule from `file` (by file name), checking that the file loaded without errors.
    static func rule(_ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SigmaRule {
        _ = try LoaderCorpus.requireDirectory()
        let set = try #require(ruleSet, sourceLocation: sourceLocation)
        func named(_ path: String) -> Bool { (path as NSString).lastPathComponent == file }
        let errors = set.diagnostics.filter { $0.isError && named($0.file) }
        #expect(
            errors.isEmpty, "\(file) loads with errors:\n\(errors.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        let rules = set.rules.filter { named($0.origin.file) }
        #expect(rules.count == 1, "\(file): \(rules.count) rules loaded", sourceLocation: sourceLocation)
        return try #require(rules.first, "\(file) did not load", sourceLocation: sourceLocation)
    }

    /// `rule` compiled against the standard catalogue, checking there is no error.
    static func compile(_ rule: SigmaRule, sourceLocation: SourceLocation = #_sourceLocation) throws -> CompiledRule {
        let (compiled, diagnostics) = RuleCompiler.compile(rule)
        let errors = diagnostics.filter(\.isError)
        #expect(
            errors.isEmpty,
            "\(rule.origin.file) compiles with errors:\n\(errors.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        return try #require(compiled, "\(rule.origin.file) did not compile", sourceLocation: sourceLocation)
    }
}

@Suite("SigmaHQ Kubernetes rules on audit events")
struct SigmaHQRuleTests {
    @Test("every rule has a match and a nomatch fixture, and nothing else is in the folder")
    func fixtureFolder() throws {
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: SigmaHQFixtures.directory.path))
        let expected = Set(
            SigmaHQFixtures.stems.flatMap { ["\($0).match.ndjson", "\($0).nomatch.ndjson"] } + ["README.md"])
        #expect(expected.subtracting(names).isEmpty, "missing: \(expected.subtracting(names).sorted())")
        #expect(names.subtracting(expected).isEmpty, "unexpected: \(names.subtracting(expected).sorted())")
        #expect(SigmaHQFixtures.stems.count == 16)
    }

    @Test(
        "the rule fires on every match line and on no nomatch line",
        .enabled(if: LoaderCorpus.shouldRun, LoaderCorpus.skipMessage),
        arguments: corpusExpectations.map(\.file))
    func fixtures(_ file: String) throws {
        let rule = try SigmaHQFixtures.rule(file)
        let compiled = try SigmaHQFixtures.compile(rule)
        let stem = SigmaHQFixtures.stem(of: file)

        let matchFile = "\(stem).match.ndjson"
        let nomatchFile = "\(stem).nomatch.ndjson"
        let match = try SigmaHQFixtures.lines(matchFile)
        let nomatch = try SigmaHQFixtures.lines(nomatchFile)
        if rulesThatCannotMatch.contains(stem) {
            // No event kube-apiserver writes can satisfy the rule (see `rulesThatCannotMatch`):
            // the match file stays empty, and the near misses below include what the rule is after.
            #expect(match.isEmpty, "\(matchFile) must be empty: `\(rule.title)` cannot match a real event")
        } else {
            #expect(match.count >= 2, "\(matchFile) needs at least 2 events, has \(match.count)")
        }
        #expect(nomatch.count >= 2, "\(nomatchFile) needs at least 2 events, has \(nomatch.count)")

        for (name, lines, expected) in [(matchFile, match, true), (nomatchFile, nomatch, false)] {
            for line in lines {
                guard let fired = SigmaHQFixtures.fires(compiled, line.text) else {
                    Issue.record("\(name):\(line.number): not an audit event")
                    continue
                }
                #expect(
                    fired == expected,
                    "\(name):\(line.number): `\(rule.title)` \(expected ? "should fire but does not" : "fires but should not")"
                )
            }
        }
    }

    /// The enumeration rule's status selection is `responseStatus.code: 'ALLOW'`. Evaluated as
    /// written it never holds on a real event; with the decision annotation in its place, the
    /// rule fires on the allowed requests of its nomatch file (lines 1-4: an exec of
    /// `/bin/bash`, an exec of `/usr/bin/curl`, Rakkess, TruffleHog) and still not on the
    /// refused exec (line 5) or the plain `kubectl get pods` (line 6). So the status selection
    /// is the only thing keeping the rule from firing.
    @Test(
        "enumeration rule: responseStatus.code 'ALLOW' never equals an HTTP status",
        .enabled(if: LoaderCorpus.shouldRun, LoaderCorpus.skipMessage))
    func enumerationStatusNeverHolds() throws {
        let file = "kubernetes_audit_potential_enumeration_activity.yml"
        let rule = try SigmaHQFixtures.rule(file)
        let status = try #require(rule.detection.selections.first { $0.name == "selection_status" })
        guard case .fieldMap(let conditions) = status.identifier else {
            Issue.record("selection_status is not a field map")
            return
        }
        #expect(conditions.map(\.field) == ["responseStatus.code"])
        #expect(conditions.first?.modifiers == [])
        #expect(conditions.first?.values == [.string("ALLOW")])

        let original = try SigmaHQFixtures.compile(rule)
        let lines = try SigmaHQFixtures.lines("kubernetes_audit_potential_enumeration_activity.nomatch.ndjson")
        #expect(lines.map(\.number) == Array(1...6))

        // Only a body with a string code (which kube-apiserver never writes) would satisfy it.
        let exec = try #require(lines.first).text
        let stringCode = exec.replacingOccurrences(of: #""code":101"#, with: #""code":"ALLOW""#)
        #expect(stringCode != exec)
        #expect(SigmaHQFixtures.fires(original, stringCode) == true)

        // The rule with the decision annotation in place of the status code.
        let dir = try LoaderCorpus.requireDirectory()
        let yaml = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
        let rewritten = yaml.replacingOccurrences(
            of: "responseStatus.code: 'ALLOW'", with: "authorization.decision: 'allow'")
        #expect(rewritten != yaml)
        let variantFile = load(rewritten, file: "enumeration-variant.yml")
        #expect(variantFile.errors.isEmpty, "\(variantFile.errors)")
        let variant = try SigmaHQFixtures.compile(try #require(variantFile.documents.first?.rule))
        let fired = lines.filter { SigmaHQFixtures.fires(variant, $0.text) == true }.map(\.number)
        #expect(fired == [1, 2, 3, 4])
    }
}
