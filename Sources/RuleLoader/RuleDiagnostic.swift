/// A place in a rule file: 1-based line and column, columns counted in Unicode scalars (as
/// libyaml counts them). Line 0 means "the file as a whole" (it could not be opened,
/// or the problem has no better place).
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// No position: a problem with the whole file.
    public static let file = SourcePosition(line: 0, column: 0)

    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// One problem found while loading rules.
///
/// Errors reject the document they are in (it is not in `RuleSet.documents`); warnings keep
/// it. `description` renders the familiar compiler form `file:line:col: error: message [code]`
/// (`file: error: message [code]` for whole-file problems).
public struct RuleDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning
    }

    public let severity: Severity
    public let code: Code
    public let message: String
    public let file: String
    public let line: Int
    public let column: Int

    public init(_ severity: Severity, _ code: Code, _ message: String, file: String, at position: SourcePosition) {
        self.severity = severity
        self.code = code
        self.message = message
        self.file = file
        self.line = position.line
        self.column = position.column
    }

    public var position: SourcePosition { SourcePosition(line: line, column: column) }
    public var isError: Bool { severity == .error }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return "\(place): \(severity.rawValue): \(message) [\(code.rawValue)]"
    }
}

extension RuleDiagnostic {
    /// Stable short codes, for tests, suppression lists and documentation. The severity a code
    /// is reported with is listed with it; where it depends on the document kind, both are.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        // Files and YAML
        /// error: a path cannot be opened or read, or is not a file or directory.
        case ioError = "io-error"
        /// error: the file is not UTF-8 (or is UTF-16/32). The documents it touches are rejected.
        case badEncoding = "bad-encoding"
        /// error: the YAML scanner, parser or composer failed (the message is libyaml's).
        case yamlSyntax = "yaml-syntax"
        /// error: the same key twice in one mapping (two `selection:` blocks, say).
        case duplicateKey = "duplicate-key"
        /// error: anchors and aliases expand into too many nodes (a "billion laughs" document).
        case yamlLimit = "yaml-limit"
        /// warning: a document with no content (`---` with nothing after it).
        case emptyDocument = "empty-document"
        /// error: a document whose root is not a mapping.
        case notAMapping = "not-a-mapping"
        /// error: a document that is more than one of rule (`detection`), correlation
        /// (`correlation`) and filter (`filter`).
        case ambiguousDocument = "ambiguous-document"
        /// error: Sigma 1 rule collections (`action: global|reset|repeat`), removed from the spec.
        case unsupportedAction = "unsupported-action"

        // Required attributes
        case missingTitle = "missing-title"
        case missingLogsource = "missing-logsource"
        case missingDetection = "missing-detection"
        /// error: no `condition` in a rule's `detection`, a filter's `filter`, or a
        /// count-based correlation.
        case missingCondition = "missing-condition"
        /// warning: no `id` (optional in the spec, but needed to refer to the rule).
        case missingID = "missing-id"
        /// error: another required attribute is missing (correlation `type`, `rules`,
        /// `timespan`; filter `rules`).
        case missingAttribute = "missing-attribute"

        // Attribute values
        /// error for structural attributes (detection, logsource, correlation parts); warning
        /// for optional metadata (which is then ignored or, for a string where a list is
        /// expected, read as a one-element list).
        case badType = "bad-type"
        /// error in rules (the spec says ids are UUIDs); warning in correlations and filters
        /// (UUIDs are "recommended but not mandatory" there).
        case badUUID = "bad-uuid"
        /// warning: a status outside stable/test/experimental/deprecated/unsupported (ignored).
        case unknownStatus = "unknown-status"
        /// warning: status `deprecated` or `unsupported`.
        case inactiveStatus = "inactive-status"
        /// error: a level outside informational/low/medium/high/critical.
        case unknownLevel = "unknown-level"
        /// warning: a tag not of the form `namespace.value` in lower-case letters, digits,
        /// `_`, `-` (nested namespaces allowed).
        case badTag = "bad-tag"
        /// warning: `date`/`modified` not written YYYY-MM-DD.
        case badDate = "bad-date"
        /// warning: a malformed `related` entry.
        case badRelated = "bad-related"
        /// warning: a title over 256 characters.
        case titleTooLong = "title-too-long"
        /// warning: an unknown key where the spec allows no custom keys (inside `correlation`,
        /// `filter`, `related` entries), or a top-level key that looks like a misspelt
        /// attribute (`falsepositive`).
        case unknownAttribute = "unknown-attribute"
        /// warning: `logsource` has none of category, product, service.
        case emptyLogsource = "empty-logsource"

        // Detection
        /// error: a search identifier that is not a map, a list of maps, or a list of values.
        case badSelection = "bad-selection"
        /// error: a search identifier with nothing in it (`{}`, `[]`, null).
        case emptySelection = "empty-selection"
        /// error: a value the field condition cannot take (a map, null listed with other values,
        /// an invalid regular expression or CIDR, a string for `gt`, ...).
        case badValue = "bad-value"
        /// warning: an unquoted scalar that YAML 1.1 (PyYAML, hence pySigma) and YAML 1.2
        /// read differently (`yes`, `on`, `0755`); kaudit reads it as the string written.
        case ambiguousScalar = "ambiguous-scalar"
        /// error: a modifier Sigma does not define (or an empty one, from `||`).
        case unknownModifier = "unknown-modifier"
        /// error: modifiers that cannot be combined or ordered so (`re|contains`, `i` without
        /// `re`, `exists` with others).
        case badModifier = "bad-modifier"
        /// error: a Sigma modifier kaudit cannot evaluate (the time modifiers).
        case unsupportedModifier = "unsupported-modifier"
        /// error: a field the field catalogue does not know (`RuleCompiler`).
        case unknownField = "unknown-field"
        /// warning: a value that can never match its field, such as text compared with the
        /// integer `responseStatus.code` (`RuleCompiler`).
        case neverMatches = "never-matches"
        /// error: the condition does not parse.
        case conditionSyntax = "condition-syntax"
        /// error: the condition names a selection the detection does not define, or a
        /// `1 of`/`all of` pattern matches none.
        case unknownSelection = "unknown-selection"
        /// warning: a selection no condition refers to.
        case unusedSelection = "unused-selection"
        /// warning: the Sigma 1 `timeframe` in `detection` (ignored; use a correlation).
        case deprecatedTimeframe = "deprecated-timeframe"

        // Correlations
        case unknownCorrelationType = "unknown-correlation-type"
        /// error: a timespan not written `<number><s|m|h|d>`.
        case badTimespan = "bad-timespan"
        /// error: a correlation condition that is not a map of gt/gte/lt/lte/eq/neq to numbers
        /// (plus `field` where the type needs it); warning for one that can never hold.
        case badCorrelationCondition = "bad-correlation-condition"
        /// error: a malformed alias, or one naming a rule the correlation does not use.
        case badAlias = "bad-alias"
        /// warning: an alias `group-by` does not use.
        case unusedAlias = "unused-alias"

        // Rule sets
        /// error: an id used by an earlier document (the later document is rejected).
        case duplicateID = "duplicate-id"
        /// error: a name used by an earlier document (the later document is rejected).
        case duplicateName = "duplicate-name"
        /// error in correlations (the correlation cannot work and is rejected); warning in
        /// filters: a referenced id or name that no loaded document has.
        case unknownRuleReference = "unknown-rule-reference"
    }
}

/// Collects diagnostics for one file.
struct DiagnosticSink {
    let file: String
    var diagnostics: [RuleDiagnostic] = []

    init(file: String) { self.file = file }

    mutating func error(_ code: RuleDiagnostic.Code, _ message: String, at position: SourcePosition) {
        diagnostics.append(RuleDiagnostic(.error, code, message, file: file, at: position))
    }

    mutating func warning(_ code: RuleDiagnostic.Code, _ message: String, at position: SourcePosition) {
        diagnostics.append(RuleDiagnostic(.warning, code, message, file: file, at: position))
    }

    mutating func report(
        _ severity: RuleDiagnostic.Severity, _ code: RuleDiagnostic.Code, _ message: String, at position: SourcePosition
    ) {
        diagnostics.append(RuleDiagnostic(severity, code, message, file: file, at: position))
    }

    var hasErrors: Bool { diagnostics.contains(where: \.isError) }
}
