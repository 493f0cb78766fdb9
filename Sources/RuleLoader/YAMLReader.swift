// The YAML layer: rule file text -> documents of `YNode`s with file positions.
//
// - A file is split into its documents at column-0 `---` lines (and after `...` lines) before
//   any YAML parsing, and each document is parsed by itself. A syntax error therefore costs
//   only its own document: the others in the file still load and are still checked. The
//   split is exact: YAML forbids `---` at the start of a line inside content (libyaml ends
//   any scalar there), and directives (`%YAML`) may only follow `...` or start the stream.
// - libyaml parses and YAMLComposer.swift builds `YNode`s from its events: positions in the
//   whole file (a document's lines are offset by where it starts), the scalar style needed to
//   type scalars (see ScalarTyping.swift), and the limits (node budget over alias copies,
//   nesting depth, duplicate keys, undefined aliases).
// - Not Yams: it pulls in all of Foundation and ICU (about 7 MiB of resident memory in every
//   kaudit process, for a parser used once at startup).
import DetectionEngine

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        // Split at the byte "\n" (never part of another UTF-8 sequence); as Characters,
        // "\r\n" is one grapheme and not a "\n".
        var lines: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        while let newline = utf8.firstIndex(ofByte: UInt8(ascii: "\n"), from: start) {
            var end = newline
            if end > start, utf8[utf8.index(before: end)] == UInt8(ascii: "\r") { end = utf8.index(before: end) }
            lines.append(text[start..<end])
            start = utf8.index(after: newline)
        }
        lines.append(text[start..<utf8.endIndex])
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
            guard scalars[from...].starts(with: text.unicodeScalars) else { return start }
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
            let lineEnd = utf8.firstIndex(ofByte: UInt8(ascii: "\n"), from: lineStart) ?? utf8.endIndex
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
        guard var composer = YAMLComposer(text, lineOffset: lineOffset, nodeBudget: nodeBudget) else {
            sink.error(.yamlSyntax, "libyaml could not start (out of memory)", at: SourcePosition(line: lineOffset + 1, column: 1))
            return roots
        }
        var limited: [SourcePosition] = []
        do {
            try composer.documents(onDocument: { roots.append($0) }, onLimit: { limited.append($0) })
        } catch {
            sink.error(error.code, error.message, at: error.position)
        }
        for position in limited {
            sink.error(.yamlLimit, "the document expands to more than \(nodeBudget) YAML nodes (anchors and aliases)", at: position)
        }
        return roots
    }
}

extension String.UTF8View {
    /// The first `byte` at or after `from`: `memchr` over a native string's contiguous
    /// UTF-8 (rule files are split into lines and documents this way; stepping through the
    /// view byte by byte was a tenth of loading the bundled pack), a byte loop otherwise.
    func firstIndex(ofByte byte: UInt8, from: String.Index) -> String.Index? {
        let offset = distance(from: startIndex, to: from)
        let found: Int?? = withContiguousStorageIfAvailable { buffer -> Int? in
            guard offset < buffer.count, let base = buffer.baseAddress,
                let p = memchr(base + offset, Int32(byte), buffer.count - offset)
            else { return nil }
            return UnsafeRawPointer(p) - UnsafeRawPointer(base)
        }
        if let found { return found.map { index(startIndex, offsetBy: $0) } }
        return self[from...].firstIndex(of: byte)
    }
}
