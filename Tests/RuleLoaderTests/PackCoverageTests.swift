// The bundled pack as a whole: its coverage of the threat matrix (and Detections/COVERAGE.md),
// its value lists, and the rule pairs that were made disjoint.
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite("The bundled pack: coverage, lists, overlaps")
struct PackCoverageTests {
    static let pack = RulePack.load(paths: [PackagePaths.detections.path])

    /// Technique id -> titles of the rules and correlations that can raise an alert for it.
    static var rulesByTechnique: [String: [String]] {
        var infos = pack.plan.rules.filter(\.emitsAlerts).map(\.compiled.info)
        infos += pack.plan.correlations.filter(\.emitsAlerts).map(\.info)
        var result: [String: [String]] = [:]
        for info in infos { for id in Set(info.threatMatrix) { result[id, default: []].append(info.title) } }
        return result
    }

    @Test("every technique the audit log shows (visibility yes) has a rule")
    func yesTechniquesCovered() {
        #expect(Self.pack.errors.isEmpty, "\(Self.pack.errors)")
        let covered = Self.rulesByTechnique
        let missing = ThreatMatrix.techniques.filter { $0.visibility == .yes && covered[$0.id] == nil }
        #expect(missing.isEmpty, "no rule for: \(missing.map { "\($0.id) \($0.name)" })")
    }

    @Test("COVERAGE.md lists every technique and says why each technique without a rule has none")
    func coverageDocument() throws {
        let text = try String(contentsOf: PackagePaths.detections.appendingPathComponent("COVERAGE.md"), encoding: .utf8)
        for t in ThreatMatrix.techniques {
            #expect(text.contains("| \(t.id) | \(t.name) |"), "\(t.id) missing from the table")
        }
        let section = try #require(text.range(of: "## Techniques without a rule"), "the section is missing")
        let explained = text[section.upperBound...].split(separator: "\n")
            .prefix { !$0.hasPrefix("## ") }
            .filter { $0.hasPrefix("- MS-TA") }
        let covered = Self.rulesByTechnique
        for t in ThreatMatrix.techniques where covered[t.id] == nil {
            let line = explained.first { $0.hasPrefix("- \(t.id) ") }
            #expect(line.map { $0.count > 60 } == true, "\(t.id) \(t.name) has no rule and no written reason")
        }
    }

    @Test("every value list says what belongs in it, has values, and is used by a rule")
    func valueLists() throws {
        let folder = PackagePaths.detections.appendingPathComponent("lists")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".txt") }
        #expect(names.count >= 8)
        var ruleText = ""
        let enumerator = FileManager.default.enumerator(at: PackagePaths.detections, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "yml" { ruleText += try String(contentsOf: url, encoding: .utf8) }
        }
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            let header = text.split(separator: "\n").prefix { $0.hasPrefix("#") }
            #expect(header.count >= 3, "\(name): a header comment says what belongs in the list and why")
            #expect(!ValueLists.parse(text).isEmpty, "\(name) has no values")
            let list = String(name.dropLast(4))
            #expect(ruleText.contains("%\(list)%"), "\(name) is used by no rule")
        }
    }

    /// Rule pairs made disjoint: an event fires at most one of the two.
    static let disjointPairs: [(String, String)] = [
        ("workload_anonymous_write", "anonymous_resource_access_allowed"),
        ("ingress_without_tls", "ingress_created"),
        ("workload_pod_in_system_namespace", "pod_system_component_name_mimic"),
    ]

    @Test("overlapping rule pairs never fire on the same event; each keeps its own fixtures", arguments: 0..<3)
    func disjoint(pair index: Int) throws {
        let (a, b) = Self.disjointPairs[index]
        let fixtures = PackagePaths.sampleLogs.appendingPathComponent("detections/kaudit")
        func rule(_ file: String) throws -> String {
            let found = Self.pack.set.documents.first { $0.metadata.origin.file.hasSuffix("/\(file).yml") }
            return try #require(found?.metadata.id, "\(file).yml not in the pack")
        }
        let ids = (try rule(a), try rule(b))
        var events: [String] = []
        for name in [a, b] {
            for kind in ["match", "nomatch"] {
                let text = try String(contentsOf: fixtures.appendingPathComponent("\(name).\(kind).ndjson"), encoding: .utf8)
                events += text.split(separator: "\n").map(String.init)
            }
        }
        var firedA = 0, firedB = 0
        for event in events {
            let fired = Set(run(Self.pack, [event]).alerts.map(\.rule.id))
            #expect(!(fired.contains(ids.0) && fired.contains(ids.1)), "both \(a) and \(b) fire on \(event.prefix(300))")
            if fired.contains(ids.0) { firedA += 1 }
            if fired.contains(ids.1) { firedB += 1 }
        }
        #expect(firedA > 0 && firedB > 0, "each rule of the pair still fires on its fixtures")
    }
}
