// One rule file: bytes -> text -> documents -> typed rules, correlations and filters.
//
// Overview of the RuleLoader target
// - RuleFile.swift        a file (or a string) into documents and diagnostics
// - RuleSet.swift         many files, directories walked; duplicate ids/names and the
//                         references of correlations and filters checked across them
// - YAMLReader.swift      splitting into `---` documents, parsing each, positions
// - YAMLComposer.swift    libyaml's events into nodes, under limits (aliases, depth, keys)
// - ScalarTyping.swift    which unquoted scalars are null, booleans, numbers
// - DocumentDecoder.swift the Sigma rules, correlation and filter specifications (v2.1) as checks
// - Model.swift           the typed model the engine consumes
// - RuleDiagnostic.swift  diagnostics and their codes
// - FileSystem.swift      POSIX file reading and directory listing
//
// No Foundation anywhere in the loader: libyaml (C) parses, POSIX calls read the files.
//
// Decisions where the specifications (v2.1) are silent or contradict themselves
// - Kind: `correlation:` makes a correlation, `filter:` a filter, otherwise a rule; a document
//   with two of detection/correlation/filter is an error. `action: global` (Sigma 1) is an error.
// - Errors reject their document, warnings keep it. Missing `id` warns for every kind; a
//   non-UUID id is an error in rules, a warning elsewhere (UUID version and case unchecked).
//   Unknown status warns (ignored); unknown level errs. Wrong types in optional metadata
//   warn (a string where a list belongs is read as a one-element list); in structure they err.
// - Scalars: YAML 1.2 core schema; where YAML 1.1 (PyYAML, pySigma) differs (`yes`, `0755`,
//   `1_000`, `1:30`, `1e5`) the string as written, with an `ambiguous-scalar` warning. Dates
//   stay strings (YYYY-MM-DD checked, warning).
// - Detection: a lone scalar selection is one keyword (as pySigma); a map whose only key is
//   `'|all'` is `.keywords(all: true)`; other empty-field keys in a map stay field conditions
//   with `field == ""`. Keywords must be strings or numbers and compile with `contains` (what
//   the engine does with them). `null` listed with other values is an error at the null.
//   Matcher errors go to the modifiers when no value could satisfy the chain, else to the
//   first value failing alone, else to the key. Time modifiers: `unsupported-modifier`.
//   `expand`/`fieldref`: no matcher, no diagnostic (the other modifiers are still checked).
//   Selections no condition uses warn; `timeframe` warns; `| count()` gets a hint.
// - Correlations: the v2.1 metric types (value_sum/avg/percentile) are accepted; `group-by`
//   is optional ("Use: mandatory" but "optionally defines"); `rules`/`group-by` may be one
//   string; `condition` is optional for temporal types (nil: all rules); `field` may be a
//   list; `generate` is read inside `correlation:` (pySigma) and at the top level (the spec's
//   component list); timespans are only `<n>[smhd]`; aliases must name listed rules (error)
//   and should be used by `group-by` (warning); an empty comparison range warns.
// - Filters: every key of `filter:` but `rules` and `condition` is a selection (the spec
//   shows one called `selection`); `rules` is required.
// - Files: documents are split at `---` before parsing, so a syntax error costs one document.
//   Invalid UTF-8 is reported where it is (first ten), its document rejected, the rest loaded;
//   UTF-16/32 is refused; a UTF-8 BOM is skipped. Anchors may expand to 200,000 nodes.

/// The documents of one file and everything found wrong with it.
public struct RuleFile: Sendable {
    /// The path (or name) the file was loaded as; diagnostics use it.
    public let file: String
    /// The documents that loaded without errors, in file order.
    public let documents: [RuleDocument]
    /// All diagnostics, ordered by position.
    public let diagnostics: [RuleDiagnostic]
    /// Positions of each document's top-level keys, and of their values under `value:<key>`
    /// (parallel to `documents`), for rule-set checks.
    let keyPositions: [[String: SourcePosition]]
    /// Documents rejected for errors that declared an id or a name, for rule-set messages.
    var rejected: [(id: String?, name: String?, origin: DocumentOrigin)] = []

    /// Loads Sigma YAML given as a string. `file` names it in diagnostics.
    public static func parse(yaml: String, file: String = "<string>") -> RuleFile {
        load(text: yaml, file: file, encodingErrors: [])
    }

    /// Loads Sigma YAML given as bytes: UTF-8 is required (a leading byte order mark is
    /// skipped). Invalid bytes are reported as `bad-encoding` at their line and column; the
    /// documents containing them are rejected, the rest of the file still loads.
    public static func parse(bytes: [UInt8], file: String) -> RuleFile {
        var bytes = bytes[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var sink = DiagnosticSink(file: file)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF])
            || bytes.starts(with: [0, 0, 0xFE, 0xFF])
        {
            sink.error(
                .badEncoding, "the file is UTF-16 or UTF-32; Sigma rules are UTF-8",
                at: SourcePosition(line: 1, column: 1))
            return RuleFile(file: file, documents: [], diagnostics: sink.diagnostics, keyPositions: [])
        }
        // Valid UTF-8 (every rule file that loads) is taken as it is, in one pass.
        if let text = String(validating: bytes, as: UTF8.self) {
            return load(text: text, file: file, encodingErrors: [])
        }
        // Decode, replacing invalid sequences (U+FFFD) and noting where they are: the column of
        // a replacement character is the one libyaml will report for what follows it.
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        var errors: [SourcePosition] = []
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                scalars.append(scalar)
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .error:
                errors.append(SourcePosition(line: line, column: column))
                scalars.append("\u{FFFD}")
                column += 1
            case .emptyInput:
                break decoding
            }
        }
        var reported = errors.prefix(10).map {
            RuleDiagnostic(.error, .badEncoding, "invalid UTF-8 (Sigma rules are UTF-8)", file: file, at: $0)
        }
        if errors.count > 10 {
            reported.append(
                RuleDiagnostic(
                    .error, .badEncoding, "\(errors.count - 10) more invalid UTF-8 sequences", file: file,
                    at: errors[10]))
        }
        return load(text: String(scalars), file: file, encodingErrors: reported)
    }

    /// Loads the file at `path` (any extension). A file that cannot be read gives an
    /// `io-error` diagnostic.
    public static func read(path: String) -> RuleFile {
        switch FileSystem.readFile(path) {
        case .success(let bytes):
            return parse(bytes: bytes, file: path)
        case .failure(let failure):
            return RuleFile(
                file: path, documents: [],
                diagnostics: [RuleDiagnostic(.error, .ioError, failure.message, file: path, at: .file)],
                keyPositions: [])
        }
    }

    private static func load(text: String, file: String, encodingErrors: [RuleDiagnostic]) -> RuleFile {
        let source = SourceText(text)
        var documents: [RuleDocument] = []
        var keyPositions: [[String: SourcePosition]] = []
        var diagnostics: [RuleDiagnostic] = []
        var unassigned = encodingErrors
        var rejected: [(id: String?, name: String?, origin: DocumentOrigin)] = []
        for parsed in YAMLReader.documents(in: text, file: file) {
            var docDiagnostics = parsed.diagnostics.diagnostics
            // Encoding errors reject the document they are in.
            let mine = unassigned.filter { $0.line >= parsed.firstLine && $0.line <= parsed.lastLine }
            unassigned.removeAll { $0.line >= parsed.firstLine && $0.line <= parsed.lastLine }
            docDiagnostics += mine
            if let root = parsed.root, parsed.diagnostics.diagnostics.isEmpty {
                let origin = DocumentOrigin(file: file, index: parsed.index, position: root.position)
                var decoder = DocumentDecoder(source: source, origin: origin, file: file)
                let document = decoder.decode(root)
                docDiagnostics += decoder.sink.diagnostics
                if let document, mine.isEmpty {
                    documents.append(document)
                    keyPositions.append(
                        decoder.keyPositions.merging(
                            decoder.valuePositions.map { ("value:" + $0.key, $0.value) },
                            uniquingKeysWith: { a, _ in a }))
                } else if decoder.declaredID != nil || decoder.declaredName != nil {
                    rejected.append((decoder.declaredID, decoder.declaredName, origin))
                }
            }
            diagnostics += docDiagnostics
        }
        diagnostics += unassigned
        if documents.isEmpty && diagnostics.isEmpty {
            diagnostics.append(
                RuleDiagnostic(.warning, .emptyDocument, "the file has no YAML documents", file: file, at: .file))
        }
        var result = RuleFile(
            file: file, documents: documents, diagnostics: sorted(diagnostics), keyPositions: keyPositions)
        result.rejected = rejected
        return result
    }

    /// Stable sort by position.
    static func sorted(_ diagnostics: [RuleDiagnostic]) -> [RuleDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            a.element.position != b.element.position ? a.element.position < b.element.position : a.offset < b.offset
        }.map(\.element)
    }

    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains(where: \.isError) }
    public var errors: [RuleDiagnostic] { diagnostics.filter(\.isError) }
    public var warnings: [RuleDiagnostic] { diagnostics.filter { !$0.isError } }
}
