import AuditTestSupport
import Foundation
import Testing

@Suite("kaudit rules")
struct RulesCommandTests {
    static var sigmaHQ: URL {
        PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpora/sigma-k8s-audit-rules")
    }
    static var haveSigmaHQ: Bool { FileManager.default.fileExists(atPath: sigmaHQ.path) }

    /// A temporary directory holding `files`.
    static func ruleDirectory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kaudit-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    static let goodRule = """
        title: Exec into a pod
        id: 0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c
        threat_matrix: [MS-TA9006]
        tags: [attack.execution, attack.t1609]
        logsource:
            product: kubernetes
            service: audit
        detection:
            selection:
                objectRef.subresource: exec
            condition: selection
        level: high

        """

    @Test("lint passes the SigmaHQ rules", .enabled(if: haveSigmaHQ || ProcessInfo.processInfo.environment["CI"] != nil))
    func lintSigmaHQ() throws {
        let r = try CLI.run(["rules", "lint", Self.sigmaHQ.path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("(16 rules), 0 errors"), "\(r)")
    }

    @Test("lint reports every problem with file:line:column and exits 1")
    func lintErrors() throws {
        let dir = try Self.ruleDirectory([
            "good.yml": Self.goodRule,
            "bad.yml": """
                title: Broken
                id: not-a-uuid
                logsource:
                    product: kubernetes
                detection:
                    selection:
                        Image|endswith: evil.exe
                    condition: selection and not filter
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["rules", "lint", dir.path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("bad.yml:2:5: error:"), "\(r)")  // the id
        #expect(r.stdout.contains("bad.yml:8:34: error:"), "\(r)")  // the unknown selection
        #expect(!r.stdout.contains("good.yml"), "\(r)")
    }

    @Test("--strict turns warnings into a failure")
    func strict() throws {
        let dir = try Self.ruleDirectory(["noid.yml": Self.goodRule.replacingOccurrences(of: "id: 0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c\n", with: "")])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["rules", "lint", dir.path]).status == 0)
        #expect(try CLI.run(["rules", "lint", "--strict", dir.path]).status == 1)
    }

    @Test("list gives id, title, level, techniques and kind, as text or JSON")
    func list() throws {
        let dir = try Self.ruleDirectory(["good.yml": Self.goodRule])
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try CLI.run(["rules", "list", dir.path])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("0f6c3c0a-8d6e-4f7a-9b1c-2d3e4f5a6b7c  high  single  MS-TA9006,attack.t1609  Exec into a pod"), "\(text)")
        let json = try CLI.run(["rules", "list", "--format", "json", dir.path])
        let rows = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["techniques"] as? [String] == ["MS-TA9006", "attack.t1609"])
        #expect(rows.first?["kind"] as? String == "single")
    }
}
