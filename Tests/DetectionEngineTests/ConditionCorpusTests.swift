// The conditions of the 16 real SigmaHQ Kubernetes audit rules parse and resolve against the
// selections their own `detection:` blocks define.
import AuditTestSupport
import DetectionEngine
import Foundation
import Testing

/// Where the SigmaHQ k8s audit rules are: `$KAUDIT_CORPORA/sigma-k8s-audit-rules`, else
/// `../shared/corpora/sigma-k8s-audit-rules` next to the package root. When absent the tests
/// are skipped, except when `CI` is set, where they run and fail.
enum SigmaRuleCorpus {
    static var directory: URL? { SharedCorpora.directory("sigma-k8s-audit-rules") }

    static var onCI: Bool { SharedCorpora.onCI }

    static var shouldRun: Bool { directory != nil || onCI }

    static let skipMessage: Comment =
        "sigma-k8s-audit-rules not found (set KAUDIT_CORPORA or provide ../shared/corpora); skipped (fails when CI is set)"

    /// The rule files, sorted by name.
    static func ruleFiles() throws -> [URL] {
        let dir = try #require(directory, "sigma-k8s-audit-rules missing (required when CI is set)")
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

/// What the tests need from a rule's `detection:` block, found by indentation: the keys one
/// level below `detection:` are the selections, except `condition` (and the legacy
/// `timeframe`). Not a YAML parser; enough for the Sigma layout (block maps, comments,
/// `condition:` as a scalar, a block scalar, or a `- item` list).
struct ConditionDetectionBlock: Equatable {
    var selections: [String] = []
    var conditions: [String] = []

    init(selections: [String], conditions: [String]) {
        self.selections = selections
        self.conditions = conditions
    }

    init?(yaml: String) {
        // `\r\n` is one Character in Swift, so split on any newline rather than on "\n".
        let lines = yaml.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        guard let start = lines.firstIndex(where: { Self.stripComment($0).trimmingCharacters(in: .whitespaces) == "detection:" && !$0.hasPrefix(" ") })
        else { return nil }
        var keyIndent: Int? = nil
        var currentKey = ""
        var blockScalar: [String]? = nil
        for line in lines[(start + 1)...] {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 0 { break }
            if keyIndent == nil { keyIndent = indent }
            if indent == keyIndent {
                if let scalar = blockScalar { conditions.append(scalar.joined(separator: "\n")) }
                blockScalar = nil
                guard let colon = trimmed.firstIndex(of: ":") else { continue }
                currentKey = Self.unquote(String(trimmed[..<colon]))
                let value = Self.stripComment(String(trimmed[trimmed.index(after: colon)...]))
                    .trimmingCharacters(in: .whitespaces)
                switch currentKey {
                case "condition":
                    if ["|", ">", "|-", ">-"].contains(value) {
                        blockScalar = []
                    } else if !value.isEmpty {
                        conditions.append(Self.unquote(value))
                    }
                case "timeframe":
                    break
                default:
                    selections.append(currentKey)
                }
            } else if currentKey == "condition" {
                if blockScalar != nil {
                    blockScalar!.append(trimmed)
                } else if trimmed.hasPrefix("- ") {
                    conditions.append(Self.unquote(Self.stripComment(String(trimmed.dropFirst(2))).trimmingCharacters(in: .whitespaces)))
                }
            }
        }
        if let scalar = blockScalar { conditions.append(scalar.joined(separator: "\n")) }
    }

    private static func unquote(_ text: String) -> String {
        for quote in ["'", "\""] where text.count >= 2 && text.hasPrefix(quote) && text.hasSuffix(quote) {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    /// Drops a ` # comment` (conditions and selection names never contain `#`).
    private static func stripComment(_ text: String) -> String {
        guard let hash = text.range(of: " #") else { return text }
        return String(text[..<hash.lowerBound])
    }
}

@Suite("Sigma conditions of the real SigmaHQ k8s audit rules")
struct ConditionCorpusTests {
    @Test("the extractor reads selections and every condition form")
    func extractor() {
        let yaml = """
            title: x
            detection:
                selection:
                    verb: 'create'  # comment
                # a comment line
                'filter_main':
                    user: x
                _helper:
                    - a
                timeframe: 5m
                condition: selection and not filter_main # trailing
            level: low
            """
        #expect(ConditionDetectionBlock(yaml: yaml) == ConditionDetectionBlock(
            selections: ["selection", "filter_main", "_helper"], conditions: ["selection and not filter_main"]))
        let list = "detection:\n  a:\n    x: 1\n  condition:\n    - 'a'\n    - a and not b\nfields: []\n"
        #expect(ConditionDetectionBlock(yaml: list) == ConditionDetectionBlock(selections: ["a"], conditions: ["a", "a and not b"]))
        let block = "detection:\r\n  a: {x: 1}\r\n  condition: >\r\n    a or\r\n    b\r\n"
        #expect(ConditionDetectionBlock(yaml: block) == ConditionDetectionBlock(selections: ["a"], conditions: ["a or\nb"]))
        #expect(ConditionDetectionBlock(yaml: "title: no detection\n") == nil)
    }

    @Test("all 16 rules parse and resolve against their own selections",
          .enabled(if: SigmaRuleCorpus.shouldRun, SigmaRuleCorpus.skipMessage))
    func realRules() throws {
        let files = try SigmaRuleCorpus.ruleFiles()
        #expect(files.count == 16)
        for file in files {
            let name = file.lastPathComponent
            let yaml = try String(contentsOf: file, encoding: .utf8)
            let block = try #require(ConditionDetectionBlock(yaml: yaml), "\(name): no detection block")
            #expect(!block.selections.isEmpty, "\(name)")
            try #require(!block.conditions.isEmpty, "\(name): no condition")
            var resolved: [ResolvedCondition] = []
            for text in block.conditions {
                let parsed = try ParsedCondition(text)
                resolved.append(try parsed.resolve(selections: block.selections))
                // Canonical text of a real condition parses back to the same AST.
                #expect(try SigmaCondition.parse(parsed.condition.description) == parsed.condition, "\(name)")
            }
            // Every selection these rules define is used by their condition.
            let used = resolved.reduce(into: Set<Int>()) { $0.formUnion($1.referencedSelections) }
            #expect(used == Set(block.selections.indices), "\(name): \(block.selections)")
        }
    }

    @Test("the expected shapes of the real conditions",
          .enabled(if: SigmaRuleCorpus.shouldRun, SigmaRuleCorpus.skipMessage))
    func expectedShapes() throws {
        let files = try SigmaRuleCorpus.ruleFiles()
        var plain = 0
        for file in files {
            let block = try #require(ConditionDetectionBlock(yaml: try String(contentsOf: file, encoding: .utf8)))
            let condition = try SigmaCondition.parse(try #require(block.conditions.first))
            if file.lastPathComponent == "kubernetes_audit_potential_enumeration_activity.yml" {
                #expect(block.selections == ["selection_status", "selection_request_uri", "selection_request_user_agent"])
                #expect(condition == .and([.selection("selection_status"), .oneOf(.pattern("selection_request_*"))]))
                #expect(try condition.resolve(selections: block.selections) == .and([.selection(0), .or([.selection(1), .selection(2)])]))
            } else {
                #expect(block.selections == ["selection"], "\(file.lastPathComponent)")
                #expect(condition == .selection("selection"), "\(file.lastPathComponent)")
                #expect(try condition.resolve(selections: block.selections) == .selection(0))
                plain += 1
            }
        }
        #expect(plain == 15)
    }
}
