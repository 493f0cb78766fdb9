// The threat-matrix table: consistent with itself, with its source (the reference TSV), and
// the one list of ids that rule loading accepts.
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite("Threat matrix table")
struct ThreatMatrixTests {
    static var referenceTSV: URL {
        PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/reference/threat-matrix.tsv")
    }
    static var haveReference: Bool { FileManager.default.fileExists(atPath: referenceTSV.path) }

    @Test("ids are unique and in order, every tactic has techniques, short names fit a cell")
    func shape() {
        let ids = ThreatMatrix.techniques.map(\.id)
        #expect(ids.count == 40)
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ThreatMatrix.technique("MS-TA9032") == nil, "the matrix has no MS-TA9032")
        for t in ThreatMatrix.techniques {
            #expect(!t.tactics.isEmpty, "\(t.id)")
            #expect(t.shortName.count <= 20 && !t.shortName.isEmpty, "\(t.id): \(t.shortName)")
            #expect(ThreatMatrix.technique(t.id)?.name == t.name)
        }
        for tactic in ThreatMatrix.Tactic.allCases {
            #expect(!ThreatMatrix.techniques(of: tactic).isEmpty, "\(tactic)")
        }
        #expect(ThreatMatrix.techniques(of: .lateralMovement).map(\.id).contains("MS-TA9013"))
    }

    @Test("matches ../shared/reference/threat-matrix.tsv", .enabled(if: haveReference, "../shared/reference not found"))
    func matchesReference() throws {
        let text = try String(contentsOf: Self.referenceTSV, encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == ThreatMatrix.techniques.count)
        let abbreviations = ["PrivEsc": "Privilege Escalation", "Lateral": "Lateral Movement"]
        for row in rows {
            let t = try #require(ThreatMatrix.technique(row[0]), "\(row[0]) is missing from the table")
            #expect(t.name == row[1])
            let tactics = row[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map { abbreviations[$0] ?? $0 }
            #expect(t.tactics.map(\.rawValue) == tactics, "\(t.id)")
            #expect(row[4].lowercased().hasPrefix(t.visibility.rawValue), "\(t.id): \(row[4]) vs \(t.visibility)")
            #expect(t.auditSignal == row[5], "\(t.id)")
        }
    }

    @Test("rule loading accepts exactly the table's ids")
    func loaderUsesTheTable() {
        let yaml = ruleYAML(detection: "sel:\n  verb: create\ncondition: sel")
            .replacingOccurrences(of: "  - MS-TA9006", with: "  - MS-TA9006\n  - MS-TA9032\n  - MS-TA9099\n  - ms-ta9006")
        let p = RulePack(set: RuleSet(sources: [(file: "r.yml", yaml: yaml)]), lists: .empty)
        let flagged = p.diagnostics.filter { $0.message.contains("is not a technique of the threat matrix") }
        #expect(flagged.count == 3, "\(p.diagnostics)")
        #expect(!flagged.contains { $0.message.contains("`MS-TA9006`") })
        #expect(flagged.allSatisfy { !$0.isError }, "unknown ids are warnings; the rule still loads")
        #expect(p.plan.rules.count == 1)
    }
}
