import AuditTestSupport
import Foundation
import Testing

@Suite("kaudit matrix and scan --matrix", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct MatrixCommandTests {
    /// A rule YAML with a title and threat-matrix ids.
    static func rule(_ title: String, _ ids: [String], subresource: String = "exec") -> String {
        """
        title: \(title)
        id: \(UUID().uuidString.lowercased())
        threat_matrix: [\(ids.joined(separator: ", "))]
        tags: [attack.execution, attack.t1609]
        logsource: {product: kubernetes, service: audit}
        detection:
            selection:
                objectRef.subresource: \(subresource)
            condition: selection
        level: high

        """
    }

    /// Two exec rules, one privileged-container rule, one naming an id the matrix does not have.
    static func smallPack() throws -> TempDir {
        try RulesCommandTests.ruleDirectory([
            "a.yml": rule("Exec A", ["MS-TA9006"]),
            "b.yml": rule("Exec B", ["MS-TA9006", "MS-TA9007"]),
            "c.yml": rule("Privileged", ["MS-TA9018"], subresource: "attach"),
            "d.yml": rule("Retired id", ["MS-TA9032"], subresource: "portforward"),
        ])
    }

    static func techniques(_ json: [String: Any]) -> [String: [String: Any]] {
        let list = (json["techniques"] as? [[String: Any]]) ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as? String ?? "?", $0) })
    }

    @Test("--format json: every technique with its tactics, visibility and the rules mapped to it")
    func json() throws {
        let dir = try Self.smallPack()
        let r = try CLI.run(["matrix", "--rules", dir.path, "--format", "json"])
        #expect(r.status == 0, "\(r)")
        let j = try r.json()
        #expect(j["measure"] as? String == "rules")
        let tactics = try #require(j["tactics"] as? [[String: Any]])
        #expect(tactics.map { $0["name"] as? String ?? "" } == [
            "Initial Access", "Execution", "Persistence", "Privilege Escalation", "Defense Evasion",
            "Credential Access", "Discovery", "Lateral Movement", "Collection", "Impact",
        ])
        let byID = Self.techniques(j)
        #expect(byID.count == 40)
        for tactic in tactics {
            for id in tactic["techniques"] as? [String] ?? [] {
                #expect((byID[id]?["tactics"] as? [String])?.contains(tactic["name"] as? String ?? "") == true, "\(id)")
            }
        }
        #expect(byID["MS-TA9006"]?["rules"] as? Int == 2)
        #expect(byID["MS-TA9007"]?["rules"] as? Int == 1)
        #expect(byID["MS-TA9018"]?["rules"] as? Int == 1)
        #expect(byID["MS-TA9001"]?["rules"] as? Int == 0)
        #expect(byID["MS-TA9006"]?["visibility"] as? String == "yes")
        #expect(byID["MS-TA9031"]?["visibility"] as? String == "no")
        let titles = (byID["MS-TA9006"]?["mapped_rules"] as? [[String: Any]])?.compactMap { $0["title"] as? String }
        #expect(titles?.sorted() == ["Exec A", "Exec B"])
        let unknown = try #require(j["unknown_ids"] as? [[String: Any]])
        #expect(unknown.count == 1 && unknown.first?["id"] as? String == "MS-TA9032" && unknown.first?["count"] as? Int == 1)
    }

    @Test("--add-rules counts the bundled rules and the extra ones")
    func addRules() throws {
        let bundled = Self.techniques(try CLI.run(["matrix", "--format", "json"]).json())
        let dir = try Self.smallPack()
        let both = Self.techniques(try CLI.run(["matrix", "--add-rules", dir.path, "--format", "json"]).json())
        let before = try #require(bundled["MS-TA9006"]?["rules"] as? Int)
        #expect(before > 0)
        #expect(both["MS-TA9006"]?["rules"] as? Int == before + 2)
        #expect(both["MS-TA9022"]?["rules"] as? Int == bundled["MS-TA9022"]?["rules"] as? Int)
    }

    @Test("--activity counts the activity rules as scan --activity loads them")
    func activity() throws {
        func total(_ args: [String]) throws -> Int {
            Self.techniques(try CLI.run(["matrix", "--format", "json"] + args).json()).values.reduce(0) { $0 + ($1["rules"] as? Int ?? 0) }
        }
        #expect(try total(["--activity"]) > total([]))
    }

    @Test("the text grid: plain when piped, within --width, every tactic and technique drawn")
    func grid() throws {
        let dir = try Self.smallPack()
        let json = Self.techniques(try CLI.run(["matrix", "--rules", dir.path, "--format", "json"]).json())
        for width in [60, 80, 132, 300] {
            let r = try CLI.run(["matrix", "--rules", dir.path, "--width", String(width)])
            #expect(r.status == 0, "\(r)")
            #expect(!r.stdout.contains("\u{1B}"), "no ANSI codes when stdout is not a terminal")
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.allSatisfy { $0.count <= width }, "width \(width):\n\(r.stdout)")
            #expect(lines.allSatisfy { $0.last != " " }, "no trailing blanks")
            for name in ["Initial Access", "Privilege Escalation", "Lateral Movement", "Impact"] {
                #expect(r.stdout.contains(name))
            }
            for technique in json.values {
                #expect(r.stdout.contains(technique["short_name"] as? String ?? "?"))
            }
            #expect(r.stdout.contains("Y 2 Exec into container"), "\(r.stdout)")
            #expect(r.stdout.contains("N - Network mapping"))
            #expect(r.stdout.contains("Not in the matrix (rules naming them): MS-TA9032 (1)"))
        }
        let wide = try CLI.run(["matrix", "--rules", dir.path, "--width", "300"])
        #expect(wide.stdout.hasPrefix("Initial Access"))
        #expect(wide.stdout.split(separator: "\n").first?.contains("Impact") == true, "all tactics side by side")
        let narrow = try CLI.run(["matrix", "--rules", dir.path, "--width", "40"])
        #expect(narrow.stdout.split(separator: "\n").first == "Initial Access", "one tactic per band")
        #expect(try CLI.run(["matrix", "--width", "5"]).status == 2)
    }

    @Test("--format list: one line per technique")
    func list() throws {
        let pack = try Self.smallPack()
        let r = try CLI.run(["matrix", "--format", "list", "--rules", pack.path])
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("MS-TA") }
        #expect(lines.count == 40)
        #expect(lines.contains { $0.hasPrefix("MS-TA9006  yes     2  Exec into container") }, "\(r.stdout)")
    }

    @Test("scan --matrix: alerts by technique on stderr (text) or in the JSON summary; stdout keeps only alerts")
    func scanMatrix() throws {
        let log = CLI.sample("streams/sample.ndjson").path
        let text = try CLI.run(["scan", "--matrix", log])
        #expect(text.status == 0, "\(text)")
        #expect(text.stderr.contains("threat matrix: alerts by technique"))
        #expect(!text.stdout.contains("threat matrix"))
        for line in text.stdout.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any])
        }

        let r = try CLI.run(["scan", "--matrix", "--summary", "json", log])
        var expected: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n") {
            let alert = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for id in Set((alert["rule"] as? [String: Any])?["threat_matrix"] as? [String] ?? []) { expected[id, default: 0] += 1 }
        }
        #expect(!expected.isEmpty, "the sample log raises alerts")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
        let matrix = try #require(summary["threat_matrix"] as? [String: Any])
        #expect(matrix["measure"] as? String == "alerts")
        var reported: [String: Int] = [:]
        for (id, t) in Self.techniques(matrix) where (t["alerts"] as? Int ?? 0) > 0 { reported[id] = t["alerts"] as? Int }
        #expect(reported == expected)
        for (id, n) in expected {
            let short = try #require(Self.techniques(matrix)[id]?["short_name"] as? String)
            #expect(text.stderr.contains(" \(n) \(short)"), "\(id)")
        }

        let without = try CLI.run(["scan", "--summary", "json", log])
        let plain = try #require(try JSONSerialization.jsonObject(with: Data(without.stderr.utf8)) as? [String: Any])
        #expect(plain["threat_matrix"] == nil)
        #expect(!(try CLI.run(["scan", log]).stderr.contains("threat matrix")))
    }
}
