// The Sigma condition language: the `condition:` line of a rule's `detection:` block.
//
// Overview
// - A condition combines the rule's named search identifiers ("selections") with `and`, `or`,
//   `not`, parentheses and the quantifiers `1 of <pattern>` / `all of <pattern>`, where the
//   pattern is a selection name with `*` wildcards or the word `them` (every selection whose
//   name does not start with `_`). That is the whole language in the Sigma rules
//   specification (sigma-rules-specification.md, "Condition"); nothing else is accepted.
// - Three stages, each its own file:
//     ConditionLexer.swift       text -> tokens (words, parentheses; bad characters become
//                                error tokens so errors surface in text order)
//     ConditionParser.swift      tokens -> `SigmaCondition`, recursive descent with the spec's
//                                precedence (least to most binding): or, and, not, `x of`, ( )
//     ConditionResolution.swift  `SigmaCondition` + the rule's selection names ->
//                                `ResolvedCondition`, which indexes selections by position and
//                                evaluates with left-to-right short-circuiting
// - Why a separate resolution step: the parser cannot know the rule's selection names (they
//   are YAML keys next to the condition), and `1 of sel*` means nothing until the names are
//   known. Resolving once at rule-load time leaves the per-event path with integer indices
//   and no strings, patterns or lookups.
// - Errors carry an offset into the condition text so the rule loader can report
//   file:line:col. Offsets count UTF-8 bytes; since every non-ASCII character is itself an
//   error, any reported offset also counts characters.
// - Keywords (`and`, `or`, `not`, `of`, `all`, `them`) are case-insensitive because real
//   rules write `AND`, `Or`, `NOT`; selection names are case-sensitive because they are YAML
//   keys, and YAML keys are.

/// A parsed Sigma condition: the boolean structure over named selections.
///
/// `and`/`or` are n-ary and always flattened (`a and (b and c)` is `.and([a, b, c])`), because
/// parentheses only group and the flat form is what evaluation wants: one loop per operator,
/// children in source order, so the engine can short-circuit left to right. Every `and`/`or`
/// the parser produces has at least two children.
public indirect enum SigmaCondition: Equatable, Sendable {
    /// A search identifier by name, exactly as written (case-sensitive).
    case selection(String)
    case not(SigmaCondition)
    /// Two or more operands, none of them itself an `.and`.
    case and([SigmaCondition])
    /// Two or more operands, none of them itself an `.or`.
    case or([SigmaCondition])
    /// `1 of sel*` / `1 of them`: true when at least one matching selection is.
    case oneOf(SelectionPattern)
    /// `all of sel*` / `all of them`: true when every matching selection is.
    case allOf(SelectionPattern)
}

/// What a `1 of` / `all of` quantifier ranges over.
public enum SelectionPattern: Equatable, Sendable {
    /// Every selection whose name does not start with `_` (the spec's convention for helper
    /// selections that `them` must not pick up).
    case them
    /// A selection name in which `*` matches any run of characters (possibly empty). The spec
    /// defines only `*`; a `?` is rejected by the parser rather than given a meaning no other
    /// Sigma tool agrees on.
    case pattern(String)
}

/// A condition that could not be parsed or resolved.
public struct ConditionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, phrased for a rule author (it names the offending token).
    public let message: String
    /// Where, as a 0-based offset into the condition text (UTF-8 bytes, which equal characters
    /// for any position an error can point at). The rule loader adds the condition's position
    /// in the YAML file to turn this into file:line:col. Errors from resolving an AST that was
    /// not parsed from text (`SigmaCondition.resolve`) use offset 0.
    public let offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at offset \(offset))" }
}

extension SigmaCondition {
    /// Parses a condition string.
    ///
    /// Throws the first error in text order. Use `ParsedCondition` instead when the condition
    /// will be resolved, so that resolution errors (unknown selection, pattern matching
    /// nothing) can point into the text as well.
    public static func parse(_ text: String) throws(ConditionError) -> SigmaCondition {
        try ParsedCondition(text).condition
    }

    /// `a and b and …`, flattening operands that are themselves `and`s, so hand-built ASTs
    /// and test expectations compare equal to parsed ones. One operand is returned as is.
    /// - Precondition: `operands` is not empty.
    public static func conjunction(_ operands: [SigmaCondition]) -> SigmaCondition {
        precondition(!operands.isEmpty, "a conjunction needs at least one operand")
        var flat: [SigmaCondition] = []
        for operand in operands {
            if case .and(let inner) = operand { flat.append(contentsOf: inner) } else { flat.append(operand) }
        }
        return flat.count == 1 ? flat[0] : .and(flat)
    }

    /// `a or b or …`, flattened like `conjunction`. Also how a rule's list-valued `condition:`
    /// combines: the spec says the list items "are logically linked with OR".
    /// - Precondition: `operands` is not empty.
    public static func disjunction(_ operands: [SigmaCondition]) -> SigmaCondition {
        precondition(!operands.isEmpty, "a disjunction needs at least one operand")
        var flat: [SigmaCondition] = []
        for operand in operands {
            if case .or(let inner) = operand { flat.append(contentsOf: inner) } else { flat.append(operand) }
        }
        return flat.count == 1 ? flat[0] : .or(flat)
    }
}

extension SigmaCondition: CustomStringConvertible {
    /// Canonical condition text: lower-case keywords, single spaces, parentheses only where
    /// precedence needs them. Parsing it gives back an equal (flattened) condition, which makes
    /// it suitable for diagnostics and for `--explain`-style output.
    public var description: String { render(minimumPrecedence: 0) }

    /// Binding strength, as in the spec's precedence list: or < and < not < `of` and names.
    private var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .not: 3
        case .selection, .oneOf, .allOf: 4
        }
    }

    private func render(minimumPrecedence: Int) -> String {
        let text: String
        switch self {
        case .selection(let name): text = name
        case .not(let operand): text = "not " + operand.render(minimumPrecedence: 3)
        // Operands of an n-ary operator that are the same operator get parentheses, so a
        // hand-built nested `.and` keeps its shape in the text.
        case .and(let operands): text = operands.map { $0.render(minimumPrecedence: 3) }.joined(separator: " and ")
        case .or(let operands): text = operands.map { $0.render(minimumPrecedence: 2) }.joined(separator: " or ")
        case .oneOf(let pattern): text = "1 of " + pattern.description
        case .allOf(let pattern): text = "all of " + pattern.description
        }
        return precedence < minimumPrecedence ? "(" + text + ")" : text
    }
}

extension SelectionPattern: CustomStringConvertible {
    public var description: String {
        switch self {
        case .them: "them"
        case .pattern(let pattern): pattern
        }
    }
}

/// A condition parsed from text, keeping what resolution errors need to point into it.
///
/// `SigmaCondition` stays a plain, comparable AST; the source offsets of its leaves live here
/// instead, so that `resolve(selections:)` can say where an unknown name or an empty pattern
/// is written.
public struct ParsedCondition: Equatable, Sendable {
    /// The condition text as given.
    public let text: String
    /// The parsed condition.
    public let condition: SigmaCondition
    /// The offset of every leaf (`selection`, and the pattern word of `oneOf`/`allOf`) in the
    /// order a left-to-right, depth-first walk of `condition` meets them. Flattening keeps
    /// source order, so this is also the order the leaves appear in the text.
    public let leafOffsets: [Int]

    /// Parses `text`, throwing the first error in text order.
    public init(_ text: String) throws(ConditionError) {
        var parser = ConditionParser(text: text)
        self.condition = try parser.parseCondition()
        self.text = text
        self.leafOffsets = parser.leafOffsets
    }

    /// Resolves the condition against the rule's selection names; errors point into `text`.
    /// See `SigmaCondition.resolve(selections:)`.
    public func resolve(selections: [String]) throws(ConditionError) -> ResolvedCondition {
        var resolver = ConditionResolver(selections: selections, leafOffsets: leafOffsets)
        return try resolver.resolve(condition)
    }
}
