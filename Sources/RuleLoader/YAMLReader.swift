// The YAML layer: rule file text -> documents of `YNode`s with file positions.
//
// - A file is split into its documents at column-0 `---` lines (and after `...` lines) before
//   any YAML parsing, and each document is parsed by itself. A syntax error therefore costs
//   only its own document: the others in the file still load and are still checked. The
//   split is exact: YAML forbids `---` at the start of a line inside content (libyaml ends
//   any scalar there), and directives (`%YAML`) may only follow `...` or start the stream.
// - Yams (libyaml) parses; its `Node`s are copied into `YNode`, which carries positions in the
//   whole file (a document's lines are offset by where it starts), keeps the scalar style
//   needed to type scalars (see ScalarTyping.swift), and is built under a node budget, since
//   Yams expands aliases into copies and a few nested anchors can stand for billions of nodes.
// - Yams checks duplicate keys itself (an error for the whole document) and nesting depth
//   (libyaml stops at 1000 levels), so neither needs code here.
import DetectionEngine
import Yams

/// A YAML node as the loader uses it.
struct YNode {
    enum Kind {
        case scalar(YScalar)
        case sequence([YNode])
        case mapping([YPair])
    }

    var kind: Kind
    /// Where the node starts (for a quoted scalar, its opening quote).
    var position: SourcePosition

    var scalar: YScalar? {
        if case .scalar(let s) = kind { return s }
        return nil
    }

    var pairs: [YPair]? {
        if case .mapping(let p) = kind { return p }
        return nil
    }

    var items: [YNode]? {
        if case .sequence(let i) = kind { return i }
        return nil
    }

    /// "a string", "a list", "a map", "null", ... for messages.
    var kindName: String {
        switch kind {
        case .sequence: return "a list"
        case .mapping: return "a map"
        case .scalar(let s):
            switch ScalarTyping.value(of: s).value {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int, .double: return "a number"
            case .string: return "a string"
            }
        }
    }
}

struct YPair {
    var key: YNode
    var value: YNode
}

struct YScalar {
    enum Style { case plain, singleQuoted, doubleQuoted, literal, folded }
    var text: String
    var style: Style
    /// The tag as written (`tag:yaml.org,2002:str` for `!!str` and for every quoted or block
    /// scalar, `!` for the non-specific tag), "" for a plain scalar without one.
    var tag: String

    var isQuotedOrBlock: Bool { style != .plain }
}

/// The lines of a file, for placing offsets inside scalars.
struct SourceText {
    /// Each line without its line break (and without a trailing `\r`).
    let lines: [Substring]

    init(_ text: String) {
        // Split on the scalar "\n": as Characters, "\r\n" is one grapheme and not a "\n".
        var lines: [Substring] = []
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            if scalars[i] == "\n" {
                var end = i
                if end > start, scalars[scalars.index(before: end)] == "\r" { end = scalars.index(before: end) }
                lines.append(text[start..<end])
                start = scalars.index(after: i)
            }
            i = scalars.index(after: i)
        }
        lines.append(text[start..<scalars.endIndex])
        self.lines = lines
    }

    func line(_ number: Int) -> Substring? {
        number >= 1 && number <= lines.count ? lines[number - 1] : nil
    }

    /// The position of UTF-8 byte `offset` of `scalar`'s text, when the scalar is written so
    /// that its text can be found in the source unchanged: plain or quoted on one line without
    /// escapes, or a literal block (`|`). Otherwise the scalar's own position.
    func position(of scalar: YScalar, at start: SourcePosition, offset: Int) -> SourcePosition {
        let text = scalar.text
        let utf8 = Array(text.utf8)
        let clamped = max(0, min(offset, utf8.count))
        // Unicode scalars before the offset (columns count scalars).
        let prefixScalars = String(decoding: utf8[..<clamped], as: UTF8.self).unicodeScalars.count
        switch scalar.style {
        case .plain, .singleQuoted, .doubleQuoted:
            guard !text.contains("\n"), let line = line(start.line) else { return start }
            let quote = scalar.style == .plain ? 0 : 1
            let scalars = line.unicodeScalars
            guard
                let from = scalars.index(
                    scalars.startIndex, offsetBy: start.column - 1 + quote, limitedBy: scalars.endIndex)
            else { return start }
            guard Substring.UnicodeScalarView(scalars[from...]).starts(with: text.unicodeScalars) else { return start }
            return SourcePosition(line: start.line, column: start.column + quote + prefixScalars)
        case .literal:
            // Content starts on the line after the `|` header; each content line is a source
            // line with the block's indentation removed.
            let before = String(decoding: utf8[..<clamped], as: UTF8.self)
            let lineIndex = before.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            let column =
                before.split(separator: "\n", omittingEmptySubsequences: false).last.map {
                    $0.unicodeScalars.count
                } ?? 0
            let contentLines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard lineIndex < contentLines.count, let source = line(start.line + 1 + lineIndex) else { return start }
            let indent = source.unicodeScalars.count - contentLines[lineIndex].unicodeScalars.count
            guard indent >= 0 else { return start }
            return SourcePosition(line: start.line + 1 + lineIndex, column: indent + column + 1)
        case .folded:
            return start
        }
    }
}

/// One document of a file, parsed.
struct ParsedDocument {
    /// 0-based index of the document in its file.
    var index: Int
    /// The document's lines in the file (inclusive), for assigning file-level diagnostics.
    var firstLine: Int
    var lastLine: Int
    /// nil for a document that failed to parse (see `diagnostics`).
    var root: YNode?
    var diagnostics: DiagnosticSink
}

enum YAMLReader {
    /// At most this many nodes per document, counting alias expansions: far beyond any real
    /// rule (the largest SigmaHQ rules have a few thousand), small enough to stop a billion
    /// laughs in milliseconds.
    static let nodeBudget = 200_000

    /// Splits `text` into documents and parses each.
    static func documents(in text: String, file: String) -> [ParsedDocument] {
        var results: [ParsedDocument] = []
        for chunk in split(text) {
            var sink = DiagnosticSink(file: file)
            // One root per chunk, except in files whose only line breaks are `\r` (which the
            // split does not see, but libyaml does).
            let roots = parse(chunk.text, lineOffset: chunk.firstLine - 1, sink: &sink)
            for root in roots {
                results.append(
                    ParsedDocument(
                        index: results.count, firstLine: chunk.firstLine, lastLine: chunk.lastLine, root: root,
                        diagnostics: DiagnosticSink(file: file)))
            }
            if sink.hasErrors {
                results.append(
                    ParsedDocument(
                        index: results.count, firstLine: chunk.firstLine, lastLine: chunk.lastLine, root: nil,
                        diagnostics: sink))
            }
        }
        return results
    }

    struct Chunk {
        var text: Substring
        var firstLine: Int
        var lastLine: Int
    }

    /// Cuts the text at document boundaries, keeping every byte (so positions stay exact).
    static func split(_ text: String) -> [Chunk] {
        var chunks: [Chunk] = []
        let utf8 = text.utf8
        var lineStart = utf8.startIndex
        var lineNumber = 1
        var chunkStart = utf8.startIndex
        var chunkFirstLine = 1
        var hasContent = false  // anything but comments, blank lines, directives and markers
        var hasMarker = false
        var afterDocumentEnd = false

        func flush(upTo end: String.Index, lastLine: Int) {
            if chunkStart < end || hasContent || hasMarker {
                chunks.append(
                    Chunk(
                        text: text[chunkStart..<end], firstLine: chunkFirstLine, lastLine: max(chunkFirstLine, lastLine)
                    ))
            }
            chunkStart = end
            chunkFirstLine = lastLine + 1
            hasContent = false
            hasMarker = false
        }

        while lineStart < utf8.endIndex {
            let lineEnd = utf8[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? utf8.endIndex
            let next = lineEnd < utf8.endIndex ? utf8.index(after: lineEnd) : lineEnd
            let line = utf8[lineStart..<lineEnd]
            if isMarker(line, "---") {
                if hasContent || hasMarker {
                    flush(upTo: lineStart, lastLine: lineNumber - 1)
                }
                hasMarker = true
                afterDocumentEnd = false
                // `--- value` puts content on the marker line itself (`--- # note` does not).
                if !isBlankOrComment(line.dropFirst(3)) { hasContent = true }
            } else if isMarker(line, "...") {
                // The document ends here; what follows (directives, comments) belongs to the next.
                flush(upTo: next, lastLine: lineNumber)
                afterDocumentEnd = true
            } else if !isBlankOrComment(line) {
                if line.first == UInt8(ascii: "%") && (afterDocumentEnd || (!hasContent && !hasMarker)) {
                    // A directive: part of the next document's prologue.
                } else {
                    hasContent = true
                }
            }
            lineStart = next
            lineNumber += 1
        }
        flush(upTo: utf8.endIndex, lastLine: lineNumber - 1)
        return chunks
    }

    private static func isMarker(_ line: Substring.UTF8View.SubSequence, _ marker: String) -> Bool {
        guard line.starts(with: marker.utf8) else { return false }
        let rest = line.dropFirst(3)
        guard let c = rest.first else { return true }
        return c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
    }

    private static func isBlankOrComment(_ line: Substring.UTF8View.SubSequence) -> Bool {
        for c in line {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { continue }
            return c == UInt8(ascii: "#")
        }
        return true
    }

    /// Parses a chunk's documents (normally one); positions are shifted by `lineOffset` lines.
    /// Documents before a syntax error are returned; the error goes to `sink`.
    static func parse(_ text: Substring, lineOffset: Int, sink: inout DiagnosticSink) -> [YNode] {
        var roots: [YNode] = []
        do {
            let parser = try Parser(yaml: String(text))
            while let node = try parser.nextRoot() {
                var budget = nodeBudget
                guard let converted = convert(node, lineOffset: lineOffset, budget: &budget) else {
                    sink.error(
                        .yamlLimit,
                        "the document expands to more than \(nodeBudget) YAML nodes (anchors and aliases)",
                        at: node.mark.map { shift($0, lineOffset) } ?? SourcePosition(line: lineOffset + 1, column: 1))
                    continue
                }
                roots.append(converted)
            }
        } catch let error as YamlError {
            report(error, lineOffset: lineOffset, sink: &sink)
        } catch {
            sink.error(.yamlSyntax, "YAML error: \(error)", at: SourcePosition(line: lineOffset + 1, column: 1))
        }
        return roots
    }

    private static func shift(_ mark: Mark, _ lineOffset: Int) -> SourcePosition {
        SourcePosition(line: mark.line + lineOffset, column: mark.column)
    }

    private static func report(_ error: YamlError, lineOffset: Int, sink: inout DiagnosticSink) {
        func message(_ context: YamlError.Context?, _ problem: String) -> String {
            if problem.hasPrefix("Maximum nesting level reached") {
                return "the document is nested too deeply (libyaml stops at 1000 levels)"
            }
            guard let context else { return problem }
            return
                "\(problem) (\(context.text) at line \(context.mark.line + lineOffset), column \(context.mark.column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            sink.error(.yamlSyntax, message(context, problem), at: shift(mark, lineOffset))
        case .reader(let problem, let offset, let value, let yaml):
            // `offset` counts Characters of the document text.
            var position = SourcePosition(line: lineOffset + 1, column: 1)
            if let offset {
                var line = 1
                var column = 1
                for character in yaml.prefix(offset) {
                    if character == "\n" || character == "\r\n" {
                        line += 1
                        column = 1
                    } else {
                        column += character.unicodeScalars.count
                    }
                }
                position = SourcePosition(line: line + lineOffset, column: column)
            }
            let detail = value >= 0 ? " (character U+\(String(value, radix: 16, uppercase: true)))" : ""
            sink.error(.yamlSyntax, "\(problem)\(detail)", at: position)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            sink.error(
                .duplicateKey, "duplicate key \(keys) in one mapping (YAML keys must be unique)",
                at: shift(context.mark, lineOffset))
        default:
            sink.error(.yamlSyntax, "\(error)", at: SourcePosition(line: lineOffset + 1, column: 1))
        }
    }

    /// Copies a Yams node; nil when the budget runs out.
    private static func convert(_ node: Node, lineOffset: Int, budget: inout Int) -> YNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let position = node.mark.map { shift($0, lineOffset) } ?? SourcePosition(line: lineOffset + 1, column: 1)
        switch node {
        case .scalar(let s):
            let style: YScalar.Style
            switch s.style {
            case .singleQuoted: style = .singleQuoted
            case .doubleQuoted: style = .doubleQuoted
            case .literal: style = .literal
            case .folded: style = .folded
            case .plain, .any: style = .plain
            }
            // Quoted and block scalars carry the `str` tag from the parser; `tag.rawValue` is
            // the tag as written (not resolved), "" for a plain scalar without one.
            let tag = s.tag.rawValue
            return YNode(kind: .scalar(YScalar(text: s.string, style: style, tag: tag)), position: position)
        case .sequence(let seq):
            var items: [YNode] = []
            items.reserveCapacity(seq.count)
            for item in seq {
                guard let converted = convert(item, lineOffset: lineOffset, budget: &budget) else { return nil }
                items.append(converted)
            }
            return YNode(kind: .sequence(items), position: position)
        case .mapping(let map):
            var pairs: [YPair] = []
            pairs.reserveCapacity(map.count)
            for (key, value) in map {
                guard let k = convert(key, lineOffset: lineOffset, budget: &budget),
                    let v = convert(value, lineOffset: lineOffset, budget: &budget)
                else { return nil }
                pairs.append(YPair(key: k, value: v))
            }
            return YNode(kind: .mapping(pairs), position: position)
        case .alias:
            // Yams resolves aliases while composing; an unresolved one is not expected.
            return YNode(kind: .scalar(YScalar(text: "", style: .plain, tag: "")), position: position)
        }
    }
}
