// The bundled pack on benign traffic: AuditSynth's synthetic cluster without injected attacks
// must raise no alert except those listed, with a reason, in
// Detections/known-false-positives.tsv.
import AuditModel
import AuditSynth
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite("Benign baseline: the bundled pack stays quiet")
struct BenignBaselineTests {
    static let knownFalsePositivesFile = PackagePaths.detections.appendingPathComponent("known-false-positives.tsv")

    /// One line of the known-false-positives file.
    struct KnownFalsePositive {
        let ruleID: String
        let title: String
        let reason: String
        let line: Int
    }

    /// The entries of the file; malformed lines are recorded as issues.
    static func knownFalsePositives() throws -> [KnownFalsePositive] {
        let text = try String(contentsOf: knownFalsePositivesFile, encoding: .utf8)
        var entries: [KnownFalsePositive] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 3, !columns[0].isEmpty, !columns[2].isEmpty else {
                Issue.record("known-false-positives.tsv:\(index + 1): want rule id, title and reason, tab-separated")
                continue
            }
            entries.append(KnownFalsePositive(ruleID: columns[0], title: columns[1], reason: columns[2], line: index + 1))
        }
        return entries
    }

    /// Alerts of the bundled pack over `count` benign events, by rule id.
    static func alerts(events count: Int, seed: UInt64, attackEvery: Int? = nil)
        -> (byRule: [String: (title: String, count: Int)], events: Int, injected: Int)
    {
        let pack = RulePack.load(paths: [PackagePaths.detections.path])
        #expect(pack.errors.isEmpty, "\(pack.errors)")
        var byRule: [String: (title: String, count: Int)] = [:]
        let detector = Detector(plan: pack.plan) { alert in
            byRule[alert.rule.id, default: (alert.rule.title, 0)].count += 1
        }
        var log = SyntheticAuditLog(.init(seed: seed, injectAttacks: attackEvery != nil, attackInterval: attackEvery ?? 25_000))
        let bytes = log.makeEvents(count)
        var events = 0
        bytes.withUnsafeBufferPointer { buf in
            var start = 0
            var event = AuditEvent()
            while let newline = buf[start...].firstIndex(of: 0x0A) {
                if case .event = event.load(buf.baseAddress!, start: start, end: newline) {
                    detector.process(event)
                    events += 1
                }
                start = newline + 1
            }
        }
        detector.finish()
        return (byRule, events, log.injected.total)
    }

    @Test("no alert outside known-false-positives.tsv on 25,000 benign events", arguments: [UInt64(42), 7])
    func quiet(seed: UInt64) throws {
        let known = Dictionary(try Self.knownFalsePositives().map { ($0.ruleID, $0) }, uniquingKeysWith: { a, _ in a })
        let (byRule, events, injected) = Self.alerts(events: 25_000, seed: seed)
        #expect(events == 25_000)
        #expect(injected == 0)
        let unexpected = byRule.filter { known[$0.key] == nil }
        let report = unexpected.sorted { $0.value.count > $1.value.count }
            .map { "  \($0.value.count)\t\($0.key)\t\($0.value.title)" }.joined(separator: "\n")
        #expect(
            unexpected.isEmpty,
            "alerts on benign traffic (seed \(seed)); tune the rule or lists/, or list it with a reason:\n\(report)")
        let listed = byRule.filter { known[$0.key] != nil }.map { "\($0.value.count) \($0.value.title)" }
        print("benign baseline seed \(seed): \(events) events, \(byRule.values.reduce(0) { $0 + $1.count }) alerts;"
            + " known false positives: \(listed.isEmpty ? "none" : listed.sorted().joined(separator: ", "))")
    }

    @Test("the same run sees injected attacks: the baseline is not quiet by accident")
    func attacksAreSeen() {
        let (byRule, _, injected) = Self.alerts(events: 5_000, seed: 42, attackEvery: 500)
        #expect(injected == 10)
        let alerts = byRule.values.reduce(0) { $0 + $1.count }
        #expect(alerts >= injected, "\(byRule)")
    }

    @Test("every known false positive names a rule of the pack, with its title")
    func entriesAreRules() throws {
        let pack = RulePack.load(paths: [PackagePaths.detections.path])
        var titles: [String: String] = [:]
        for r in pack.plan.rules { titles[r.compiled.info.id] = r.compiled.info.title }
        for c in pack.plan.correlations { titles[c.info.id] = c.info.title }
        for entry in try Self.knownFalsePositives() {
            #expect(titles[entry.ruleID] == entry.title, "line \(entry.line): \(entry.ruleID) is \(titles[entry.ruleID] ?? "no rule of the pack")")
        }
    }
}
