import AuditInputs
import AuditModel
import AuditTestSupport
import DetectionEngine
import Foundation
@testable import RuleLoader
import Testing

/// One case of Falco's falco_k8s_audit_tests.yaml, as the file states it.
struct FalcoCase: CustomStringConvertible {
    let name: String
    let traceFile: String
    let detect: Bool
    /// Falco rule name and expected count, for the positive cases.
    let counts: [(rule: String, count: Int)]
    /// The test-only override files, relative to ./rules/k8s_audit/.
    let overrides: [String]
    /// Whether Falco's own rule files are loaded (all but the JSON Pointer case).
    let loadsFalcoRules: Bool
    let stderrContains: String?

    var description: String { name }

    /// Reads every case of the suite file.
    static func load(_ url: URL) throws -> [FalcoCase] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let documents = YAMLReader.documents(in: text, file: url.lastPathComponent)
        let root = try #require(documents.first?.root, "\(url.lastPathComponent) does not parse: \(documents.first?.diagnostics.diagnostics ?? [])")
        let cases = try #require(root["trace_files"]?.pairs, "trace_files is not a mapping")
        return try cases.map { pair in
            let (key, node) = (pair.key, pair.value)
            let name = try #require(key.string)
            let options = try #require(node["addl_cmdline_opts"]?.string, "\(name): no trace file")
            let trace = try #require(options.split(separator: "/").last.map(String.init), "\(name): no trace file")
            let files = node["rules_file"]?.items?.compactMap(\.string) ?? []
            let prefix = "./rules/k8s_audit/"
            let counts = try (node["detect_counts"]?.items ?? []).flatMap { item -> [(rule: String, count: Int)] in
                let pairs = try #require(item.pairs, "\(name): a count is not a mapping")
                return try pairs.map { pair in
                    (try #require(pair.key.string), try #require(pair.value.int, "\(name): count is not a number"))
                }
            }
            return FalcoCase(
                name: name, traceFile: trace, detect: node["detect"]?.bool ?? false, counts: counts,
                overrides: files.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) },
                loadsFalcoRules: files.contains { $0.hasSuffix("/falco_rules.yaml") || $0.hasSuffix("/k8s_audit_rules.yaml") },
                stderrContains: node["stderr_contains"]?.string)
        }
    }
}

/// Reading the suite file with the rule loader's own YAML reader.
extension YNode {
    subscript(key: String) -> YNode? { pairs?.first { $0.key.string == key }?.value }
    var string: String? { scalar?.text }
    var int: Int? {
        guard let s = scalar, case .int(let v) = ScalarTyping.value(of: s).value else { return nil }
        return Int(v)
    }
    var bool: Bool? {
        guard let s = scalar, case .bool(let v) = ScalarTyping.value(of: s).value else { return nil }
        return v
    }
}

/// Falco's k8s_audit test suite replayed through kaudit: each case's trace goes through the
/// bundled pack (with the case's overrides in kaudit form, SampleLogs/falco-overrides), and
/// the kaudit rule mapped to the case's Falco rule must fire exactly Falco's count, or, in a
/// negative case, not at all. The mapping and its reasons are in FalcoSuiteMapping.swift.
@Suite("Falco k8s_audit test suite through the rule pack", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct FalcoSuiteTests {
    static let overridesRoot = PackagePaths.sampleLogs.appendingPathComponent("falco-overrides")

    /// What one case's replay produced.
    struct Replay {
        var run = PackReplay()
        var ruleErrors: [RuleDiagnostic] = []
        var firings: [String: Int] { run.firings }
        var alerts: Int { run.alerts.count }
        var issues: [ReadIssue] { run.issues }
    }

    /// The rule paths and activity setting a case asks for; throws on an unmapped override.
    static func configuration(of c: FalcoCase) throws -> (paths: [String], activity: Bool) {
        var paths: [String] = []
        var activity = c.loadsFalcoRules  // Falco's activity rules are on unless disallowed.
        if c.loadsFalcoRules { paths.append(overridesRoot.appendingPathComponent(FalcoSuiteMapping.defaultsFolder).path) }
        for file in c.overrides {
            let o = try #require(FalcoSuiteMapping.override(file), "\(c.name): override \(file) has no kaudit form")
            if let folder = o.folder { paths.append(overridesRoot.appendingPathComponent(folder).path) }
            if o.activityOff { activity = false }
        }
        if c.loadsFalcoRules { paths.append(PackagePaths.detections.path) }
        return (paths, activity)
    }

    static func replay(_ c: FalcoCase) throws -> Replay {
        let (paths, activity) = try configuration(of: c)
        let pack = RulePack.load(paths: paths, activity: activity)
        let trace = try Corpus.url("\(Corpus.falcoDirectory)/\(c.traceFile)")
        return Replay(run: try PackReplay.run(pack, over: trace), ruleErrors: pack.errors)
    }

    /// Why a case fails, or nil when it passes.
    static func problems(_ c: FalcoCase, _ r: Replay) -> [String] {
        var problems = r.ruleErrors.map { "rule error: \($0.description)" }
        func kaudit(_ falcoRule: String) -> String? {
            guard let m = FalcoSuiteMapping.rules[falcoRule] else {
                problems.append("no kaudit rule mapped to Falco's `\(falcoRule)`")
                return nil
            }
            return m.kaudit
        }
        if c.detect {
            if c.counts.isEmpty { problems.append("a positive case without counts") }
            for (rule, count) in c.counts {
                guard let id = kaudit(rule) else { continue }
                let fired = r.firings[id, default: 0]
                if fired != count { problems.append("`\(rule)` (\(id)) fired \(fired) times, Falco expects \(count)") }
            }
        } else if c.name == FalcoSuiteMapping.malformedCase {
            if r.alerts != 0 { problems.append("\(r.alerts) alerts on input that is not an audit event") }
            if r.issues.map(\.kind) != [.wrongKind] { problems.append("expected one wrong-kind record error, got \(r.issues)") }
        } else if let guarded = FalcoSuiteMapping.guarded[c.name] {
            for rule in guarded {
                guard let id = kaudit(rule) else { continue }
                let fired = r.firings[id, default: 0]
                if fired != 0 { problems.append("`\(rule)` (\(id)) fired \(fired) times in a negative case") }
            }
        } else {
            problems.append("a negative case without the Falco rules it is about (FalcoSuiteMapping.guarded)")
        }
        if c.name != FalcoSuiteMapping.malformedCase && !r.issues.isEmpty { problems.append("record errors: \(r.issues)") }
        return problems
    }

    static let cases: [FalcoCase] = {
        guard let root = SharedCorpora.root else { return [] }
        return (try? FalcoCase.load(root.appendingPathComponent("falco-k8s-audit/falco_k8s_audit_tests.yaml"))) ?? []
    }()

    @Test("the suite file: 66 cases, 45 positive, every Falco rule and override mapped")
    func suiteFile() throws {
        let root = try Corpus.require()
        let cases = try FalcoCase.load(root.appendingPathComponent("falco-k8s-audit/falco_k8s_audit_tests.yaml"))
        #expect(cases.count == 66)
        #expect(cases.filter(\.detect).count == 45)
        let falcoRules = Set(cases.flatMap { $0.counts.map(\.rule) } + FalcoSuiteMapping.guarded.values.flatMap { $0 })
        #expect(falcoRules.subtracting(FalcoSuiteMapping.rules.keys).isEmpty)
        #expect(cases.flatMap(\.overrides).allSatisfy { FalcoSuiteMapping.override($0) != nil })
        let negatives = Set(cases.filter { !$0.detect }.map(\.name)).subtracting([FalcoSuiteMapping.malformedCase])
        #expect(negatives == Set(FalcoSuiteMapping.guarded.keys))
        // Every mapped kaudit rule exists, in the pack (with its activity rules) or the overrides.
        let pack = RulePack.load(
            paths: [PackagePaths.detections.path, Self.overridesRoot.appendingPathComponent("json_pointer").path],
            activity: true)
        let ids = Set(pack.plan.rules.map(\.compiled.info.id))
        for (falco, m) in FalcoSuiteMapping.rules { #expect(ids.contains(m.kaudit), "`\(falco)` -> \(m.kaudit)") }
    }

    /// Each case's problems (empty when it passes), replayed once for both tests below.
    static let outcomes: [String: [String]] = {
        var outcomes: [String: [String]] = [:]
        for c in cases {
            do {
                outcomes[c.name] = problems(c, try replay(c))
            } catch {
                outcomes[c.name] = ["replay failed: \(error)"]
            }
        }
        return outcomes
    }()

    @Test("every case passes", arguments: FalcoSuiteTests.cases)
    func falcoCase(_ c: FalcoCase) throws {
        let problems = try #require(Self.outcomes[c.name])
        #expect(problems.isEmpty, "\(c.name) (\(c.traceFile)): \(problems.joined(separator: "; "))")
    }

    @Test("pass count")
    func passCount() throws {
        _ = try Corpus.require()
        let failing = Self.cases.compactMap { c -> String? in
            let problems = Self.outcomes[c.name] ?? ["not replayed"]
            return problems.isEmpty ? nil : "\(c.name): \(problems.joined(separator: "; "))"
        }
        let passed = Self.cases.count - failing.count
        print("Falco k8s_audit suite: \(passed) of \(Self.cases.count) cases pass")
        for f in failing { print("  FAIL \(f)") }
        #expect(Self.cases.count == 66)
        #expect(failing.isEmpty)
    }
}
