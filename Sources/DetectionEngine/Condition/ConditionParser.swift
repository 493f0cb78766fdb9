// Condition parser: recursive descent over the lexer's tokens.
//
// Grammar (precedence from the spec, least to most binding: or, and, not, `x of`, parentheses):
//
//   condition  := orExpr END
//   orExpr     := andExpr ("or" andExpr)*
//   andExpr    := unary ("and" unary)*
//   unary      := "not" unary | primary
//   primary    := "(" orExpr ")"
//              |  ("1" | "all") "of" (pattern | "them")
//              |  name
//
// Words are classified by position rather than by the lexer: `and`, `or`, `not` and `of` are
// always keywords; `them` only means something after `of`; `all` and numbers only before `of`.
// All keyword comparisons ignore ASCII case. A name is `[A-Za-z0-9_]+` (not all digits); a
// pattern additionally allows `*`.
//
// Everything the spec does not define is an error with a message that says what to write
// instead: `2 of` (only `1 of`/`all of` exist), `any of` (pySigma accepts it, the spec does
// not), `?` in patterns, wildcards in plain names, `||`/`&&`/`!`, and the obsolete pipe
// aggregations.

struct ConditionParser {
    /// Deepest nesting of parentheses and `not` accepted. Real conditions nest two or three
    /// levels; the limit keeps a hostile rule from exhausting the stack in the parser and in
    /// the recursive resolve/evaluate walks (flattening never makes the tree deeper).
    static let maximumDepth = 100

    private let tokens: [ConditionToken]
    private var position = 0
    private var depth = 0
    /// Offsets of the leaves in source order; becomes `ParsedCondition.leafOffsets`.
    private(set) var leafOffsets: [Int] = []

    init(text: String) {
        tokens = ConditionLexer.tokenize(text)
    }

    private enum Keyword: String {
        case and, or, not, of, all, them
    }

    private var current: ConditionToken { tokens[position] }
    private var previous: ConditionToken? { position > 0 ? tokens[position - 1] : nil }

    private func peek(_ distance: Int = 1) -> ConditionToken {
        tokens[min(position + distance, tokens.count - 1)]
    }

    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private static func keyword(_ token: ConditionToken) -> Keyword? {
        guard token.kind == .word else { return nil }
        return Keyword(rawValue: asciiLowercased(token.text))
    }

    private static func isKeyword(_ token: ConditionToken, _ keyword: Keyword) -> Bool {
        Self.keyword(token) == keyword
    }

    private static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private static func isNumber(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    // MARK: - Grammar

    mutating func parseCondition() throws(ConditionError) -> SigmaCondition {
        if current.kind == .end {
            throw ConditionError(message: "the condition is empty", offset: 0)
        }
        let condition = try parseOr()
        switch current.kind {
        case .end:
            return condition
        case .rightParen:
            throw ConditionError(message: "unbalanced `)`: there is no `(` for it to close", offset: current.offset)
        case .invalid(let message):
            throw ConditionError(message: message, offset: current.offset)
        case .word, .leftParen:
            throw missingOperator(expectingParen: false)
        }
    }

    private mutating func parseOr() throws(ConditionError) -> SigmaCondition {
        var operands = [try parseAnd()]
        while Self.isKeyword(current, .or) {
            advance()
            operands.append(try parseAnd())
        }
        return SigmaCondition.disjunction(operands)
    }

    private mutating func parseAnd() throws(ConditionError) -> SigmaCondition {
        var operands = [try parseUnary()]
        while Self.isKeyword(current, .and) {
            advance()
            operands.append(try parseUnary())
        }
        return SigmaCondition.conjunction(operands)
    }

    private mutating func parseUnary() throws(ConditionError) -> SigmaCondition {
        guard Self.isKeyword(current, .not) else { return try parsePrimary() }
        let notToken = current
        try enter(at: notToken)
        defer { depth -= 1 }
        advance()
        return .not(try parseUnary())
    }

    private mutating func parsePrimary() throws(ConditionError) -> SigmaCondition {
        let token = current
        switch token.kind {
        case .leftParen:
            try enter(at: token)
            defer { depth -= 1 }
            advance()
            let inner = try parseOr()
            switch current.kind {
            case .rightParen:
                advance()
                return inner
            case .end:
                throw ConditionError(message: "unbalanced `(`: it is never closed", offset: token.offset)
            case .invalid(let message):
                throw ConditionError(message: message, offset: current.offset)
            case .word, .leftParen:
                throw missingOperator(expectingParen: true)
            }
        case .word:
            return try parseWord()
        case .rightParen, .end, .invalid:
            throw missingOperand()
        }
    }

    /// A word where an operand starts: a quantifier (`1 of`, `all of`) or a selection name.
    private mutating func parseWord() throws(ConditionError) -> SigmaCondition {
        let token = current
        let keyword = Self.keyword(token)
        if Self.isKeyword(peek(), .of) {
            return try parseQuantifier()
        }
        switch keyword {
        case .and, .or, .not:
            // `not` never gets here (parseUnary takes it); and/or with no left operand.
            throw missingOperand()
        case .of:
            throw ConditionError(
                message: "`\(token.text)` must follow a quantifier: write `1 of …` or `all of …`", offset: token.offset)
        case .them:
            throw ConditionError(
                message: "`\(token.text)` can only follow a quantifier: write `1 of them` or `all of them`",
                offset: token.offset)
        case .all:
            throw ConditionError(
                message: "`\(token.text)` must be followed by `of`, as in `all of selection*`", offset: token.offset)
        case nil:
            break
        }
        if Self.isNumber(token.text) {
            throw ConditionError(
                message: "unexpected number `\(token.text)`: a number can only start a quantifier, as in `1 of selection*`",
                offset: token.offset)
        }
        if let wildcard = token.text.utf8.firstIndex(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }) {
            let at = token.offset + token.text.utf8.distance(from: token.text.utf8.startIndex, to: wildcard)
            throw ConditionError(
                message: "`\(token.text)` contains a wildcard, but a plain selection name cannot: write "
                    + "`1 of \(token.text)` or `all of \(token.text)` to refer to several selections",
                offset: at)
        }
        leafOffsets.append(token.offset)
        advance()
        return .selection(token.text)
    }

    /// `<quantifier> of <pattern | them>`; the current token is the quantifier and the next is `of`.
    private mutating func parseQuantifier() throws(ConditionError) -> SigmaCondition {
        let quantifier = current
        let isAll: Bool
        switch Self.keyword(quantifier) {
        case .all:
            isAll = true
        case .and, .or, .not, .of:
            throw missingOperand()
        case .them, nil:
            if quantifier.text == "1" {
                isAll = false
            } else if Self.isNumber(quantifier.text) {
                throw ConditionError(
                    message: "`\(quantifier.text) of` is not Sigma: the only quantifiers are `1 of` and `all of` "
                        + "(thresholds over events belong in a correlation rule)",
                    offset: quantifier.offset)
            } else if Self.asciiLowercased(quantifier.text) == "any" {
                throw ConditionError(
                    message: "`\(quantifier.text) of` is not in the Sigma specification; write `1 of`",
                    offset: quantifier.offset)
            } else {
                throw ConditionError(
                    message: "unknown quantifier `\(quantifier.text)` before `of`: Sigma has `1 of` and `all of`",
                    offset: quantifier.offset)
            }
        }
        advance()  // the quantifier
        let ofToken = current
        advance()  // `of`
        let phrase = (isAll ? "all" : "1") + " of"
        let target = current
        guard target.kind == .word else {
            if case .invalid(let message) = target.kind {
                throw ConditionError(message: message, offset: target.offset)
            }
            if target.kind == .end {
                throw ConditionError(
                    message: "`\(phrase)` needs a selection-name pattern or `them` after it", offset: ofToken.offset)
            }
            let found = target.kind == .leftParen ? "`(` (a quantifier takes a name pattern, not an expression)" : "`)`"
            throw ConditionError(
                message: "expected a selection-name pattern or `them` after `\(phrase)`, found \(found)", offset: target.offset)
        }
        let pattern: SelectionPattern
        switch Self.keyword(target) {
        case .them:
            pattern = .them
        case .and, .or, .not, .of:
            throw ConditionError(
                message: "expected a selection-name pattern or `them` after `\(phrase)`, found the keyword `\(target.text)`",
                offset: target.offset)
        case .all, nil:
            if let question = target.text.utf8.firstIndex(of: UInt8(ascii: "?")) {
                let at = target.offset + target.text.utf8.distance(from: target.text.utf8.startIndex, to: question)
                throw ConditionError(
                    message: "`?` in `\(target.text)`: the Sigma specification defines only `*` as a wildcard in "
                        + "selection-name patterns",
                    offset: at)
            }
            pattern = .pattern(target.text)
        }
        leafOffsets.append(target.offset)
        advance()
        return isAll ? .allOf(pattern) : .oneOf(pattern)
    }

    // MARK: - Errors

    private mutating func enter(at token: ConditionToken) throws(ConditionError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw ConditionError(
                message: "the condition nests parentheses and `not` more than \(Self.maximumDepth) levels deep",
                offset: token.offset)
        }
    }

    /// The current token cannot start an operand. Points at what is missing its operand when
    /// that is clearer than pointing at the token (`sel and` points at `and`).
    private func missingOperand() -> ConditionError {
        let token = current
        let previousKeyword = previous.flatMap(Self.keyword)
        let operatorBefore: ConditionToken? =
            (previousKeyword == .and || previousKeyword == .or || previousKeyword == .not) ? previous : nil
        switch token.kind {
        case .invalid(let message):
            return ConditionError(message: message, offset: token.offset)
        case .end:
            if let op = operatorBefore {
                return ConditionError(
                    message: "`\(op.text)` is missing its operand at the end of the condition", offset: op.offset)
            }
            // Only `(` can precede the end here (an empty text is reported before parsing).
            return ConditionError(message: "unbalanced `(`: it is never closed", offset: previous?.offset ?? 0)
        case .rightParen:
            if let op = operatorBefore {
                return ConditionError(message: "`\(op.text)` is missing its operand before `)`", offset: token.offset)
            }
            if let open = previous, open.kind == .leftParen {
                return ConditionError(message: "empty parentheses: `()` must contain a condition", offset: open.offset)
            }
            return ConditionError(message: "unbalanced `)`: there is no `(` for it to close", offset: token.offset)
        case .word:
            if let op = operatorBefore {
                return ConditionError(
                    message: "`\(op.text)` is followed by `\(token.text)`; expected a selection name, `not`, `1 of`, "
                        + "`all of` or `(` between them",
                    offset: token.offset)
            }
            return ConditionError(
                message: "`\(token.text)` needs an operand on its left, as in `selection \(token.text) filter`",
                offset: token.offset)
        case .leftParen:
            return ConditionError(message: "expected an operand", offset: token.offset)  // unreachable: `(` starts one
        }
    }

    /// Two operands in a row (`sel1 sel2`, `sel (…)`): an operator is missing. Also where an
    /// unknown operator word such as `xor` or `near` ends up.
    private func missingOperator(expectingParen: Bool) -> ConditionError {
        let token = current
        let found = token.kind == .leftParen ? "`(`" : "`\(token.text)`"
        let expected = expectingParen ? "`and`, `or` or `)`" : "`and` or `or`"
        var message = "expected \(expected) before \(found)"
        if token.kind == .word, Self.keyword(token) == nil, !Self.isKeyword(peek(), .of) {
            message += ": Sigma combines selections only with `and`, `or` and `not`"
        }
        return ConditionError(message: message, offset: token.offset)
    }
}
