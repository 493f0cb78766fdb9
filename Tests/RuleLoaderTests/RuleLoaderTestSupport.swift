// Helpers for the RuleLoader tests: the SigmaHQ corpus location, loading snippets, finding
// diagnostics, temporary directories.
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// Where the SigmaHQ Kubernetes audit rules are: `$KAUDIT_CORPORA/sigma-k8s-audit-rules`,
/// else `../shared/corpora/sigma-k8s-audit-rules` beside the package root. When absent the
/// corpus tests are skipped, except when `CI` is set, where they run and fail.
enum LoaderCorpus {
    static var directory: URL? { SharedCorpora.directory("sigma-k8s-audit-rules") }

    static var onCI: Bool { SharedCorpora.onCI }

    static var shouldRun: Bool { directory != nil || onCI }

    static let skipMessage: Comment =
        "sigma-k8s-audit-rules not found (set KAUDIT_CORPORA or provide ../shared/corpora); skipped (fails when CI is set)"

    static func requireDirectory() throws -> URL {
        try #require(directory, "sigma-k8s-audit-rules missing (required when CI is set)")
    }
}

/// Loads one snippet as a file called `test.yml`.
func load(_ yaml: String, file: String = "test.yml") -> RuleFile {
    RuleFile.parse(yaml: yaml, file: file)
}

/// The only document of a snippet that must load without errors.
func loadDocument(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RuleDocument {
    let file = load(yaml)
    #expect(file.errors.isEmpty, "unexpected errors: \(file.errors)", sourceLocation: sourceLocation)
    #expect(file.documents.count == 1, sourceLocation: sourceLocation)
    return try #require(file.documents.first, sourceLocation: sourceLocation)
}

func loadRule(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SigmaRule {
    try #require(try loadDocument(yaml, sourceLocation: sourceLocation).rule, sourceLocation: sourceLocation)
}

extension RuleFile {
    /// Diagnostics with this code.
    func with(_ code: RuleDiagnostic.Code) -> [RuleDiagnostic] { diagnostics.filter { $0.code == code } }

    /// "line:col" of each diagnostic with this code, in order.
    func places(_ code: RuleDiagnostic.Code) -> [String] { with(code).map { "\($0.line):\($0.column)" } }

    var codes: [RuleDiagnostic.Code] { diagnostics.map(\.code) }
}

extension RuleSet {
    func with(_ code: RuleDiagnostic.Code) -> [RuleDiagnostic] { diagnostics.filter { $0.code == code } }
}

/// A fresh temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kaudit-ruleloader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> String {
        try write(relativePath, Data(text.utf8))
    }

    @discardableResult
    func write(_ relativePath: String, _ data: Data) throws -> String {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file.path
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A minimal valid rule with the given id (and optional extra top-level lines).
func minimalRule(id: String, title: String = "Test rule", extra: String = "") -> String {
    """
    title: \(title)
    id: \(id)
    \(extra)logsource:
        product: kubernetes
        service: audit
    detection:
        selection:
            verb: create
        condition: selection

    """
}
