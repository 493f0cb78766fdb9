// Sigma condition parsing: operators, precedence, quantifiers, flattening, keyword case,
// whitespace, canonical rendering, and every syntax error with its offset.
import AuditTestSupport
import DetectionEngine
import Testing

/// Shorthands for expected ASTs.
private func s(_ name: String) -> SigmaCondition { .selection(name) }
private func and(_ operands: SigmaCondition...) -> SigmaCondition { .and(operands) }
private func or(_ operands: SigmaCondition...) -> SigmaCondition { .or(operands) }
private func not(_ operand: SigmaCondition) -> SigmaCondition { .not(operand) }
private func oneOf(_ pattern: String) -> SigmaCondition { .oneOf(pattern == "them" ? .them : .pattern(pattern)) }
private func allOf(_ pattern: String) -> SigmaCondition { .allOf(pattern == "them" ? .them : .pattern(pattern)) }

/// A successful parse: the text and the AST it must give.
struct ConditionParseCase: CustomTestStringConvertible, Sendable {
    let text: String
    let expected: SigmaCondition
    init(_ text: String, _ expected: SigmaCondition) {
        self.text = text
        self.expected = expected
    }
    var testDescription: String { text.debugDescription }
}

/// A failed parse: the text, the offset the error must point at, and a fragment of its message.
struct ConditionErrorCase: CustomTestStringConvertible, Sendable {
    let text: String
    let offset: Int
    let fragment: String
    init(_ text: String, _ offset: Int, _ fragment: String) {
        self.text = text
        self.offset = offset
        self.fragment = fragment
    }
    var testDescription: String { text.debugDescription }
}

@Suite("Sigma condition parser")
struct ConditionParserTests {
    static let operatorsAndPrecedence: [ConditionParseCase] = [
        ConditionParseCase("a", s("a")),
        ConditionParseCase("a and b", and(s("a"), s("b"))),
        ConditionParseCase("a or b", or(s("a"), s("b"))),
        ConditionParseCase("not a", not(s("a"))),
        // not > and > or
        ConditionParseCase("a or b and not c", or(s("a"), and(s("b"), not(s("c"))))),
        ConditionParseCase("a and b or c", or(and(s("a"), s("b")), s("c"))),
        ConditionParseCase("a or b and c", or(s("a"), and(s("b"), s("c")))),
        ConditionParseCase("not a and b", and(not(s("a")), s("b"))),
        ConditionParseCase("not a or b", or(not(s("a")), s("b"))),
        ConditionParseCase("a and not b", and(s("a"), not(s("b")))),
        ConditionParseCase("a or not b", or(s("a"), not(s("b")))),
        ConditionParseCase("a and not b or c and d", or(and(s("a"), not(s("b"))), and(s("c"), s("d")))),
        ConditionParseCase("a or b and c or d", or(s("a"), and(s("b"), s("c")), s("d"))),
        ConditionParseCase("not a and not b or not c", or(and(not(s("a")), not(s("b"))), not(s("c")))),
        ConditionParseCase("not not a", not(not(s("a")))),
        ConditionParseCase("not not not a and b", and(not(not(not(s("a")))), s("b"))),
        // parentheses
        ConditionParseCase("(a)", s("a")),
        ConditionParseCase("((a))", s("a")),
        ConditionParseCase("(a or b) and c", and(or(s("a"), s("b")), s("c"))),
        ConditionParseCase("a and (b or c)", and(s("a"), or(s("b"), s("c")))),
        ConditionParseCase("not (a or b)", not(or(s("a"), s("b")))),
        ConditionParseCase("not (a and b) or c", or(not(and(s("a"), s("b"))), s("c"))),
        ConditionParseCase("(a or b) and (c or d)", and(or(s("a"), s("b")), or(s("c"), s("d")))),
        ConditionParseCase("(a and b) or (c and d)", or(and(s("a"), s("b")), and(s("c"), s("d")))),
        ConditionParseCase("((a or b) and c) or d", or(and(or(s("a"), s("b")), s("c")), s("d"))),
        ConditionParseCase("a and (b or (c and not d))", and(s("a"), or(s("b"), and(s("c"), not(s("d")))))),
        ConditionParseCase("not (not a)", not(not(s("a")))),
    ]

    static let flattening: [ConditionParseCase] = [
        ConditionParseCase("a and b and c", and(s("a"), s("b"), s("c"))),
        ConditionParseCase("a or b or c or d", or(s("a"), s("b"), s("c"), s("d"))),
        ConditionParseCase("(a and b) and c", and(s("a"), s("b"), s("c"))),
        ConditionParseCase("a and (b and c)", and(s("a"), s("b"), s("c"))),
        ConditionParseCase("a and (b and (c and d))", and(s("a"), s("b"), s("c"), s("d"))),
        ConditionParseCase("a or (b or c) or d", or(s("a"), s("b"), s("c"), s("d"))),
        ConditionParseCase("((a or b)) or ((c))", or(s("a"), s("b"), s("c"))),
        // Different operators never merge, and `not` stops flattening.
        ConditionParseCase("a and (b or c) and d", and(s("a"), or(s("b"), s("c")), s("d"))),
        ConditionParseCase("a and not (b and c)", and(s("a"), not(and(s("b"), s("c"))))),
    ]

    static let quantifiers: [ConditionParseCase] = [
        ConditionParseCase("1 of sel*", oneOf("sel*")),
        ConditionParseCase("all of sel*", allOf("sel*")),
        ConditionParseCase("1 of them", oneOf("them")),
        ConditionParseCase("all of them", allOf("them")),
        ConditionParseCase("1 of selection", oneOf("selection")),
        ConditionParseCase("1 of *", oneOf("*")),
        ConditionParseCase("1 of *_request_*", oneOf("*_request_*")),
        ConditionParseCase("all of _filter*", allOf("_filter*")),
        ConditionParseCase("not 1 of filter*", not(oneOf("filter*"))),
        ConditionParseCase("selection and not 1 of filter*", and(s("selection"), not(oneOf("filter*")))),
        // The spec's examples.
        ConditionParseCase("1 of selection* and keywords", and(oneOf("selection*"), s("keywords"))),
        ConditionParseCase("1 of selection* and not 1 of filter*", and(oneOf("selection*"), not(oneOf("filter*")))),
        ConditionParseCase("selection_main and 1 of selection_empty*", and(s("selection_main"), oneOf("selection_empty*"))),
        ConditionParseCase("all of sel* or 1 of them", or(allOf("sel*"), oneOf("them"))),
        ConditionParseCase("(1 of a*)", oneOf("a*")),
        ConditionParseCase("(1 of a* or b) and all of c*", and(or(oneOf("a*"), s("b")), allOf("c*"))),
        // Words that are keywords only in position: `all`/`1` as patterns, `them*` as a pattern.
        ConditionParseCase("1 of all", oneOf("all")),
        ConditionParseCase("1 of them*", oneOf("them*")),
        ConditionParseCase("1 of 1", oneOf("1")),
    ]

    static let keywordCase: [ConditionParseCase] = [
        ConditionParseCase("a AND b", and(s("a"), s("b"))),
        ConditionParseCase("a Or b", or(s("a"), s("b"))),
        ConditionParseCase("NOT a", not(s("a"))),
        ConditionParseCase("a aNd NoT b OR c", or(and(s("a"), not(s("b"))), s("c"))),
        ConditionParseCase("1 OF THEM", oneOf("them")),
        ConditionParseCase("ALL Of sel*", allOf("sel*")),
        ConditionParseCase("All of Them", allOf("them")),
        ConditionParseCase("sel AND NOT 1 Of filter_*", and(s("sel"), not(oneOf("filter_*")))),
    ]

    static let whitespace: [ConditionParseCase] = [
        ConditionParseCase("  a  and\tb\n", and(s("a"), s("b"))),
        ConditionParseCase("(a)and(b)", and(s("a"), s("b"))),
        ConditionParseCase("a and(b or c)", and(s("a"), or(s("b"), s("c")))),
        ConditionParseCase("not(a)", not(s("a"))),
        ConditionParseCase("a\r\nor\r\nb", or(s("a"), s("b"))),
        ConditionParseCase("(\n  a\n  or b\n)\nand c\n", and(or(s("a"), s("b")), s("c"))),
        ConditionParseCase("( ( a ) )", s("a")),
        ConditionParseCase("1\tof\n\tthem", oneOf("them")),
        ConditionParseCase("\t\tselection ", s("selection")),
    ]

    static let identifiers: [ConditionParseCase] = [
        ConditionParseCase("selection_1", s("selection_1")),
        ConditionParseCase("Selection", s("Selection")),
        ConditionParseCase("_filter", s("_filter")),
        ConditionParseCase("1abc", s("1abc")),
        ConditionParseCase("A_B_9 and x", and(s("A_B_9"), s("x"))),
        // Keywords are whole words only.
        ConditionParseCase("android or order", or(s("android"), s("order"))),
        ConditionParseCase("notify and nothing", and(s("notify"), s("nothing"))),
        ConditionParseCase("them1 or allow or ofx or any", or(s("them1"), s("allow"), s("ofx"), s("any"))),
        ConditionParseCase("not_filter", s("not_filter")),
    ]

    static let allSuccesses: [ConditionParseCase] =
        operatorsAndPrecedence + flattening + quantifiers + keywordCase + whitespace + identifiers

    @Test("operators and precedence", arguments: operatorsAndPrecedence)
    func precedence(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("and/or are flattened", arguments: flattening)
    func flatten(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("1 of / all of", arguments: quantifiers)
    func quantifier(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("keywords ignore case", arguments: keywordCase)
    func caseInsensitive(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("whitespace variants", arguments: whitespace)
    func spaces(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("identifiers", arguments: identifiers)
    func names(_ c: ConditionParseCase) throws {
        #expect(try SigmaCondition.parse(c.text) == c.expected)
    }

    @Test("parsed ASTs are flat: no and directly under and, no or under or, n-ary ≥ 2", arguments: allSuccesses)
    func parsedIsFlat(_ c: ConditionParseCase) throws {
        func check(_ node: SigmaCondition) {
            switch node {
            case .and(let operands):
                #expect(operands.count >= 2)
                for operand in operands {
                    if case .and = operand { Issue.record("nested and in \(c.text)") }
                    check(operand)
                }
            case .or(let operands):
                #expect(operands.count >= 2)
                for operand in operands {
                    if case .or = operand { Issue.record("nested or in \(c.text)") }
                    check(operand)
                }
            case .not(let operand): check(operand)
            case .selection, .oneOf, .allOf: break
            }
        }
        check(try SigmaCondition.parse(c.text))
    }

    @Test("canonical text parses back to the same AST", arguments: allSuccesses)
    func roundTrip(_ c: ConditionParseCase) throws {
        let parsed = try SigmaCondition.parse(c.text)
        #expect(try SigmaCondition.parse(parsed.description) == parsed, "\(parsed.description)")
    }

    @Test("canonical text")
    func canonicalText() throws {
        let cases: [(String, String)] = [
            ("A AND (b OR c)", "A and (b or c)"),
            ("  a   or b and not c ", "a or b and not c"),
            ("((a or b)) and not (c and d)", "(a or b) and not (c and d)"),
            ("NOT NOT a", "not not a"),
            ("1 OF THEM or ALL of sel*", "1 of them or all of sel*"),
            ("(a and b) or c", "a and b or c"),
            ("not (1 of f*)", "not 1 of f*"),
        ]
        for (text, canonical) in cases {
            #expect(try SigmaCondition.parse(text).description == canonical, "\(text)")
        }
        // Hand-built nesting keeps its shape in the text.
        let nested = SigmaCondition.and([s("a"), .and([s("b"), s("c")])])
        #expect(nested.description == "a and (b and c)")
        #expect(SigmaCondition.or([s("a"), .or([s("b"), s("c")])]).description == "a or (b or c)")
    }

    @Test("random ASTs survive description -> parse")
    func randomRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5167_4D41)
        let names = ["a", "b", "sel_1", "Filter", "_x"]
        let patterns = ["them", "sel*", "*", "_f*", "a"]
        func random(_ depth: Int) -> SigmaCondition {
            let roll = Int.random(in: 0..<(depth == 0 ? 3 : 6), using: &rng)
            switch roll {
            case 0: return s(names.randomElement(using: &rng)!)
            case 1: return oneOf(patterns.randomElement(using: &rng)!)
            case 2: return allOf(patterns.randomElement(using: &rng)!)
            case 3: return not(random(depth - 1))
            case 4: return SigmaCondition.conjunction((0..<Int.random(in: 2...4, using: &rng)).map { _ in random(depth - 1) })
            default: return SigmaCondition.disjunction((0..<Int.random(in: 2...4, using: &rng)).map { _ in random(depth - 1) })
            }
        }
        for _ in 0..<2000 {
            let condition = random(4)
            let text = condition.description
            #expect(try SigmaCondition.parse(text) == condition, "\(text)")
        }
    }

    @Test("conjunction and disjunction flatten and collapse")
    func builders() throws {
        #expect(SigmaCondition.conjunction([s("a")]) == s("a"))
        #expect(SigmaCondition.conjunction([and(s("a"), s("b")), s("c"), and(s("d"), s("e"))])
            == and(s("a"), s("b"), s("c"), s("d"), s("e")))
        #expect(SigmaCondition.conjunction([or(s("a"), s("b")), s("c")]) == and(or(s("a"), s("b")), s("c")))
        #expect(SigmaCondition.disjunction([s("a")]) == s("a"))
        // A list-valued `condition:` is the OR of its items.
        let items = [try SigmaCondition.parse("sel1 and not f"), try SigmaCondition.parse("sel2 or sel3")]
        #expect(SigmaCondition.disjunction(items) == or(and(s("sel1"), not(s("f"))), s("sel2"), s("sel3")))
    }

    @Test("leaf offsets follow the text")
    func leafOffsets() throws {
        #expect(try ParsedCondition("a and (b or 1 of c*)").leafOffsets == [0, 7, 17])
        #expect(try ParsedCondition("  all of them or not x").leafOffsets == [9, 21])
        let parsed = try ParsedCondition("x")
        #expect(parsed.text == "x" && parsed.condition == s("x"))
    }

    @Test("long flat conditions do not recurse")
    func longCondition() throws {
        let names = (0..<5000).map { "s\($0)" }
        let parsed = try SigmaCondition.parse(names.joined(separator: " or "))
        #expect(parsed == .or(names.map(SigmaCondition.selection)))
    }

    @Test("nesting up to the limit parses")
    func nestingLimit() throws {
        let parens = String(repeating: "(", count: 100) + "a" + String(repeating: ")", count: 100)
        #expect(try SigmaCondition.parse(parens) == s("a"))
        var expected = s("a")
        for _ in 0..<100 { expected = not(expected) }
        #expect(try SigmaCondition.parse(String(repeating: "not ", count: 100) + "a") == expected)
    }

    // MARK: - Errors

    static let errors: [ConditionErrorCase] = [
        // empty
        ConditionErrorCase("", 0, "empty"),
        ConditionErrorCase("   \n\t", 0, "empty"),
        // unbalanced parentheses
        ConditionErrorCase("(", 0, "unbalanced `(`"),
        ConditionErrorCase("(a", 0, "unbalanced `(`"),
        ConditionErrorCase("a and (b or c", 6, "unbalanced `(`"),
        ConditionErrorCase("((a)", 0, "unbalanced `(`"),
        ConditionErrorCase("a)", 1, "unbalanced `)`"),
        ConditionErrorCase(")", 0, "unbalanced `)`"),
        ConditionErrorCase("(a))", 3, "unbalanced `)`"),
        ConditionErrorCase("a and b) or (c", 7, "unbalanced `)`"),
        ConditionErrorCase("()", 0, "empty parentheses"),
        ConditionErrorCase("a and ()", 6, "empty parentheses"),
        // trailing and misplaced operators
        ConditionErrorCase("a and", 2, "`and` is missing its operand"),
        ConditionErrorCase("a or ", 2, "`or` is missing its operand"),
        ConditionErrorCase("a OR", 2, "`OR` is missing its operand"),
        ConditionErrorCase("not", 0, "`not` is missing its operand"),
        ConditionErrorCase("a and not", 6, "`not` is missing its operand"),
        ConditionErrorCase("(a and)", 6, "`and` is missing its operand before `)`"),
        ConditionErrorCase("(not)", 4, "`not` is missing its operand before `)`"),
        ConditionErrorCase("and a", 0, "needs an operand on its left"),
        ConditionErrorCase("(or a)", 1, "needs an operand on its left"),
        ConditionErrorCase("a and or b", 6, "`and` is followed by `or`"),
        ConditionErrorCase("a or and b", 5, "`or` is followed by `and`"),
        ConditionErrorCase("not and a", 4, "`not` is followed by `and`"),
        // missing operators, unknown operator words
        ConditionErrorCase("a b", 2, "expected `and` or `or` before `b`"),
        ConditionErrorCase("a xor b", 2, "expected `and` or `or` before `xor`"),
        ConditionErrorCase("a near b", 2, "only with `and`, `or` and `not`"),
        ConditionErrorCase("a (b)", 2, "expected `and` or `or` before `(`"),
        ConditionErrorCase("(a b)", 3, "expected `and`, `or` or `)` before `b`"),
        ConditionErrorCase("a 1 of b*", 2, "expected `and` or `or` before `1`"),
        // quantifiers
        ConditionErrorCase("2 of sel*", 0, "`2 of` is not Sigma"),
        ConditionErrorCase("0 of them", 0, "`0 of` is not Sigma"),
        ConditionErrorCase("a and 10 of them", 6, "`10 of` is not Sigma"),
        ConditionErrorCase("any of sel*", 0, "`any of` is not in the Sigma specification; write `1 of`"),
        ConditionErrorCase("ANY of them", 0, "`ANY of` is not in the Sigma specification"),
        ConditionErrorCase("none of them", 0, "unknown quantifier `none`"),
        ConditionErrorCase("them of x", 0, "unknown quantifier `them`"),
        ConditionErrorCase("1 of", 2, "`1 of` needs a selection-name pattern or `them`"),
        ConditionErrorCase("all of", 4, "`all of` needs"),
        ConditionErrorCase("a and all of ", 10, "`all of` needs"),
        ConditionErrorCase("1 of (a or b)", 5, "not an expression"),
        ConditionErrorCase("1 of )", 5, "found `)`"),
        ConditionErrorCase("1 of and", 5, "found the keyword `and`"),
        ConditionErrorCase("all of not x", 7, "found the keyword `not`"),
        ConditionErrorCase("1 of sel?", 8, "defines only `*`"),
        ConditionErrorCase("1 of ?*", 5, "defines only `*`"),
        ConditionErrorCase("1 sel", 0, "unexpected number `1`"),
        ConditionErrorCase("a and 5", 6, "unexpected number `5`"),
        ConditionErrorCase("all sel*", 0, "`all` must be followed by `of`"),
        ConditionErrorCase("all", 0, "`all` must be followed by `of`"),
        ConditionErrorCase("of them", 0, "`of` must follow a quantifier"),
        ConditionErrorCase("not of them", 4, "`of` must follow a quantifier"),
        ConditionErrorCase("them", 0, "`them` can only follow a quantifier"),
        ConditionErrorCase("a and THEM", 6, "`THEM` can only follow a quantifier"),
        // wildcards outside quantifiers
        ConditionErrorCase("sel*", 3, "contains a wildcard"),
        ConditionErrorCase("a or se?l", 7, "contains a wildcard"),
        ConditionErrorCase("*", 0, "`1 of *`"),
        // the obsolete pipe syntax and operators from other languages
        ConditionErrorCase("selection | count() > 5", 10, "correlation rule"),
        ConditionErrorCase("selection | count(dst) by src > 10", 10, "pipe syntax"),
        ConditionErrorCase("sel1 | near sel2", 5, "obsolete"),
        ConditionErrorCase("sel|count()", 3, "correlation rule"),
        ConditionErrorCase("a || b", 2, "`||` is not a Sigma operator; write `or`"),
        ConditionErrorCase("a && b", 2, "`&` is not a Sigma operator; write `and`"),
        ConditionErrorCase("!a", 0, "write `not`"),
        // characters names cannot contain
        ConditionErrorCase("sel-1", 3, "unexpected `-`"),
        ConditionErrorCase("sel.x", 3, "unexpected `.`"),
        ConditionErrorCase("a = b", 2, "unexpected `=`"),
        ConditionErrorCase("'sel'", 0, "quotes"),
        ConditionErrorCase("a or \"b\"", 5, "quotes"),
        ConditionErrorCase("séléction", 1, "unexpected character `é`"),
        ConditionErrorCase("a and \u{2003}b", 6, "unexpected character"),
        ConditionErrorCase("a\u{1}", 1, "byte 0x1"),
        // the first error in text order wins
        ConditionErrorCase("a b é", 2, "expected `and` or `or`"),
        ConditionErrorCase("é a b", 0, "unexpected character"),
        ConditionErrorCase("(a | count()", 3, "correlation rule"),
        ConditionErrorCase("1 of | x", 5, "pipe syntax"),
        // nesting limit
        ConditionErrorCase(String(repeating: "(", count: 101) + "a" + String(repeating: ")", count: 101), 100, "nests"),
        ConditionErrorCase(String(repeating: "not ", count: 101) + "a", 400, "nests"),
        ConditionErrorCase(String(repeating: "not (", count: 51) + "a" + String(repeating: ")", count: 51), 250, "nests"),
    ]

    @Test("syntax errors point at the offending token", arguments: errors)
    func syntaxError(_ c: ConditionErrorCase) {
        let error = #expect(throws: ConditionError.self) { try SigmaCondition.parse(c.text) }
        guard let error else { return }
        #expect(error.offset == c.offset, "\(error.message)")
        #expect(error.message.contains(c.fragment), "message: \(error.message)")
    }

    @Test("error offsets stay inside the text (or at its end)", arguments: errors)
    func offsetsInRange(_ c: ConditionErrorCase) {
        do throws(ConditionError) {
            _ = try SigmaCondition.parse(c.text)
            Issue.record("parsed")
        } catch {
            #expect(error.offset >= 0 && error.offset <= c.text.utf8.count)
            #expect(error.description.hasSuffix("(at offset \(error.offset))"))
        }
    }

    @Test("typed throws: parse throws ConditionError")
    func typedThrows() {
        do throws(ConditionError) {
            _ = try SigmaCondition.parse("a and")
        } catch {
            // `error` is statically a ConditionError.
            #expect(error == ConditionError(message: "`and` is missing its operand at the end of the condition", offset: 2))
        }
    }
}
