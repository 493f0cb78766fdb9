// libyaml's events -> `YNode` trees.
//
// libyaml (the reference C parser) tokenizes and parses; this file composes its event stream
// into nodes, which is where the limits hostile rule files need live:
// - aliases are expanded into copies (copy-on-write arrays, so cheap), but every copy is
//   counted against a node budget: a few nested anchors can stand for billions of nodes;
// - nesting deeper than `maximumDepth` stops the document (the composer recurses);
// - a mapping with two equal keys is an error for the whole document;
// - an alias to an anchor not (yet) defined is an error.
import CLibYAML
import DetectionEngine

/// Why composing stopped; the position is already in file coordinates.
struct YAMLFailure: Error {
    var code: RuleDiagnostic.Code
    var message: String
    var position: SourcePosition

    init(_ code: RuleDiagnostic.Code, _ message: String, at position: SourcePosition) {
        self.code = code
        self.message = message
        self.position = position
    }
}

/// One libyaml event, copied out of the C struct (which is freed at once).
private struct YAMLEvent {
    var type: yaml_event_type_t
    /// Where the event's node starts, in file coordinates.
    var position: SourcePosition
    var anchor: String?
    /// Scalars only.
    var text = ""
    var style = YScalar.Style.plain
    var tag = ""
    /// Alias events: the anchor they name.
    var alias: String?
}

/// Pulls events from a libyaml parser over UTF-8 bytes.
private final class YAMLEventStream {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let lineOffset: Int

    init?(_ text: Substring, lineOffset: Int) {
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(text.utf8.count, 1))
        // One copy of the contiguous UTF-8 (the generic copy went byte by byte).
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            _ = input.initialize(fromContentsOf: bytes)
        }
        if copied == nil { _ = input.initialize(from: text.utf8) }
        self.input = input
        self.lineOffset = lineOffset
        guard yaml_parser_initialize(parser) == 1 else {
            input.deallocate()
            parser.deallocate()
            return nil
        }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, text.utf8.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// A libyaml mark (0-based line and column, columns in Unicode scalars) in file coordinates.
    func position(line: Int, column: Int) -> SourcePosition {
        SourcePosition(line: line + 1 + lineOffset, column: column + 1)
    }

    func next() throws(YAMLFailure) -> YAMLEvent {
        var raw = yaml_event_t()
        guard yaml_parser_parse(parser, &raw) == 1 else { throw failure() }
        defer { yaml_event_delete(&raw) }
        var event = YAMLEvent(
            type: raw.type, position: position(line: Int(raw.start_mark.line), column: Int(raw.start_mark.column)))
        switch raw.type {
        case YAML_SCALAR_EVENT:
            let s = raw.data.scalar
            event.anchor = Self.string(s.anchor)
            // The value may hold NUL characters: use the length, not the terminator.
            event.text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: event.style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: event.style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: event.style = .literal
            case YAML_FOLDED_SCALAR_STYLE: event.style = .folded
            default: event.style = .plain
            }
            // Quoted and block scalars without a tag are strings; otherwise the tag as written
            // (libyaml expands `!!str` to its full form), "" for none.
            event.tag = s.quoted_implicit != 0 ? "tag:yaml.org,2002:str" : Self.string(s.tag) ?? ""
        case YAML_SEQUENCE_START_EVENT:
            event.anchor = Self.string(raw.data.sequence_start.anchor)
        case YAML_MAPPING_START_EVENT:
            event.anchor = Self.string(raw.data.mapping_start.anchor)
        case YAML_ALIAS_EVENT:
            event.alias = Self.string(raw.data.alias.anchor)
        default:
            break
        }
        return event
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: $0) }
    }

    /// The parser's error as a diagnostic, worded as libyaml words it.
    private func failure() -> YAMLFailure {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown YAML error"
        switch p.error {
        case YAML_MEMORY_ERROR:
            return YAMLFailure(.yamlSyntax, "libyaml ran out of memory", at: position(line: 0, column: 0))
        case YAML_READER_ERROR:
            // The offset counts bytes of the input.
            let offset = min(Int(p.problem_offset), input.count)
            var line = 0
            var column = 0
            var i = 0
            while i < offset {
                let c = input[i]
                if c == UInt8(ascii: "\n") {
                    line += 1
                    column = 0
                } else if c & 0xC0 != 0x80 {
                    column += 1
                }
                i += 1
            }
            let detail = p.problem_value >= 0 ? " (character U+\(String(p.problem_value, radix: 16, uppercase: true)))" : ""
            return YAMLFailure(.yamlSyntax, problem + detail, at: position(line: line, column: column))
        default:
            var message = problem
            if let context = p.context.map({ String(cString: $0) }) {
                let at = position(line: Int(p.context_mark.line), column: Int(p.context_mark.column))
                message += " (\(context) at line \(at.line), column \(at.column))"
            }
            return YAMLFailure(.yamlSyntax, message, at: position(line: Int(p.problem_mark.line), column: Int(p.problem_mark.column)))
        }
    }
}

/// Composes the documents of one chunk of a file.
struct YAMLComposer {
    /// Deeper nesting than this stops the document (libyaml's own later releases stop at 1000).
    static let maximumDepth = 1000

    private let events: YAMLEventStream
    private let nodeBudget: Int
    /// Anchored nodes of the current document, with their sizes in nodes.
    private var anchors: [String: (node: YNode, size: Int)] = [:]
    private var nodesLeft = 0

    /// nil when libyaml cannot start (out of memory).
    init?(_ text: Substring, lineOffset: Int, nodeBudget: Int) {
        guard let events = YAMLEventStream(text, lineOffset: lineOffset) else { return nil }
        self.events = events
        self.nodeBudget = nodeBudget
    }

    /// The chunk's documents in order; stops at the first failure (the documents before it
    /// are kept by `onDocument`). A document over the node budget is reported through
    /// `onLimit` with its root's position and skipped; the next one is still read.
    mutating func documents(
        onDocument: (YNode) -> Void, onLimit: (SourcePosition) -> Void
    ) throws(YAMLFailure) {
        while true {
            let event = try events.next()
            switch event.type {
            case YAML_STREAM_START_EVENT:
                continue
            case YAML_STREAM_END_EVENT, YAML_NO_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]
                nodesLeft = nodeBudget
                let first = try events.next()
                let root = try node(from: first, depth: 1)
                // The document counts only once it has ended: a syntax error right after
                // the root (a plain scalar followed by `key:`) fails the whole document.
                let end = try events.next()
                guard end.type == YAML_DOCUMENT_END_EVENT else {
                    throw YAMLFailure(.yamlSyntax, "expected the end of the document", at: end.position)
                }
                if nodesLeft < 0 {
                    onLimit(first.position)
                } else {
                    onDocument(root)
                }
            default:
                // libyaml produces nodes only inside documents.
                throw YAMLFailure(.yamlSyntax, "unexpected YAML event", at: event.position)
            }
        }
    }

    /// Composes the node `event` starts. Once the budget is spent, nodes are still read (so
    /// the parser stays in step) but aliases are no longer copied.
    private mutating func node(from event: YAMLEvent, depth: Int) throws(YAMLFailure) -> YNode {
        let position = event.position
        guard depth <= Self.maximumDepth else {
            throw YAMLFailure(.yamlSyntax, "the document is nested too deeply (more than \(Self.maximumDepth) levels)", at: position)
        }
        let before = nodesLeft
        nodesLeft -= 1
        let built: YNode
        switch event.type {
        case YAML_SCALAR_EVENT:
            built = YNode(kind: .scalar(YScalar(text: event.text, style: event.style, tag: event.tag)), position: position)
        case YAML_ALIAS_EVENT:
            guard let name = event.alias, let target = anchors[name] else {
                throw YAMLFailure(.yamlSyntax, "found undefined alias", at: position)
            }
            nodesLeft -= target.size - 1
            return nodesLeft < 0 ? Self.placeholder(at: position) : target.node
        case YAML_SEQUENCE_START_EVENT:
            var items: [YNode] = []
            while true {
                let next = try events.next()
                if next.type == YAML_SEQUENCE_END_EVENT { break }
                let item = try node(from: next, depth: depth + 1)
                if nodesLeft >= 0 { items.append(item) }
            }
            built = YNode(kind: .sequence(items), position: position)
        case YAML_MAPPING_START_EVENT:
            var pairs: [YPair] = []
            while true {
                let next = try events.next()
                if next.type == YAML_MAPPING_END_EVENT { break }
                let key = try node(from: next, depth: depth + 1)
                let value = try node(from: try events.next(), depth: depth + 1)
                if nodesLeft >= 0 { pairs.append(YPair(key: key, value: value)) }
            }
            if nodesLeft >= 0 { try Self.checkUniqueKeys(pairs) }
            built = YNode(kind: .mapping(pairs), position: position)
        default:
            throw YAMLFailure(.yamlSyntax, "unexpected YAML event", at: position)
        }
        if let anchor = event.anchor {
            // Over budget, the anchor still exists (later aliases are not "undefined").
            anchors[anchor] = nodesLeft >= 0 ? (built, before - nodesLeft) : (Self.placeholder(at: position), 1)
        }
        return built
    }

    private static func placeholder(at position: SourcePosition) -> YNode {
        YNode(kind: .scalar(YScalar(text: "", style: .plain, tag: "")), position: position)
    }

    /// Two scalar keys are equal when they have the same text and the same type (`1` and
    /// `"1"` differ); collections as keys are left alone. The error names every duplicated
    /// key and sits at the first occurrence of the first one (in sorted order).
    private static func typeName(_ s: YScalar) -> String {
        switch ScalarTyping.value(of: s).value {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        }
    }

    private static func checkUniqueKeys(_ pairs: [YPair]) throws(YAMLFailure) {
        guard pairs.count > 1 else { return }
        var firstSeen: [String: SourcePosition] = [:]
        var duplicated: [String: (text: String, position: SourcePosition)] = [:]
        for pair in pairs {
            guard let s = pair.key.scalar else { continue }
            let identity = "\(typeName(s))\u{0}\(s.text)"
            if let first = firstSeen[identity] {
                duplicated[identity] = (s.text, first)
            } else {
                firstSeen[identity] = pair.key.position
            }
        }
        guard !duplicated.isEmpty else { return }
        let sorted = duplicated.values.sorted { $0.text < $1.text }
        let keys = sorted.map { "`\($0.text)`" }.joined(separator: ", ")
        throw YAMLFailure(.duplicateKey, "duplicate key \(keys) in one mapping (YAML keys must be unique)", at: sorted[0].position)
    }
}
