// Sigma condition resolution and evaluation: binding names to selection indices, expanding
// `1 of`/`all of`, resolution errors with offsets, and truth tables against two independent
// oracles (hand-written Swift expressions and a reference evaluator on the unresolved AST).
import AuditTestSupport
import DetectionEngine
import Foundation
import Testing

private func sel(_ index: Int) -> ResolvedCondition { .selection(index) }

/// The reference semantics, written independently of the library: evaluates the unresolved
/// AST directly, matching quantifier patterns with a Foundation regular expression.
private func reference(_ condition: SigmaCondition, names: [String], values: [Bool]) -> Bool {
    func members(_ pattern: SelectionPattern) -> [Int] {
        names.indices.filter { i in
            let name = names[i]
            switch pattern {
            case .them:
                return !name.hasPrefix("_")
            case .pattern(let p):
                if name.hasPrefix("_") && !p.hasPrefix("_") { return false }
                let regex = "^" + NSRegularExpression.escapedPattern(for: p).replacingOccurrences(of: "\\*", with: ".*") + "$"
                return name.range(of: regex, options: .regularExpression) != nil
            }
        }
    }
    switch condition {
    case .selection(let name): return values[names.firstIndex(of: name)!]
    case .not(let operand): return !reference(operand, names: names, values: values)
    case .and(let operands): return operands.allSatisfy { reference($0, names: names, values: values) }
    case .or(let operands): return operands.contains { reference($0, names: names, values: values) }
    case .oneOf(let pattern): return members(pattern).contains { values[$0] }
    case .allOf(let pattern): return members(pattern).allSatisfy { values[$0] }
    }
}

/// Every assignment of truth values to `count` selections.
private func assignments(_ count: Int) -> [[Bool]] {
    (0..<(1 << count)).map { bits in (0..<count).map { bits & (1 << $0) != 0 } }
}

/// A truth-table case: a condition, the rule's selections, and the meaning written in Swift.
struct ConditionTruthCase: CustomTestStringConvertible, Sendable {
    let text: String
    let names: [String]
    let oracle: @Sendable ([Bool]) -> Bool
    var testDescription: String { text }
}

@Suite("Sigma condition resolution and evaluation")
struct ConditionResolutionTests {
    // MARK: - Resolution

    static let resolutions: [(String, [String], ResolvedCondition)] = [
        ("a", ["a"], sel(0)),
        ("b and a", ["a", "b"], .and([sel(1), sel(0)])),
        ("not b", ["a", "b"], .not(sel(1))),
        ("1 of sel*", ["sel1", "filter", "sel2"], .or([sel(0), sel(2)])),
        ("all of sel*", ["sel1", "filter", "sel2"], .and([sel(0), sel(2)])),
        ("1 of sel*", ["sel1", "x"], sel(0)),
        ("all of sel*", ["sel1", "x"], sel(0)),
        ("1 of sel", ["sel", "sel2"], sel(0)),
        ("1 of them", ["a", "_h", "b"], .or([sel(0), sel(2)])),
        ("all of them", ["a", "_h"], sel(0)),
        ("all of them", ["a", "b", "c"], .and([sel(0), sel(1), sel(2)])),
        ("1 of _h*", ["a", "_h1", "_h2"], .or([sel(1), sel(2)])),
        ("1 of *", ["a", "_h", "b"], .or([sel(0), sel(2)])),
        ("1 of *h*", ["a", "_h", "bh"], sel(2)),
        ("1 of s*_*", ["s_1", "s2", "sx_y", "t_1"], .or([sel(0), sel(2)])),
        // Expansion flattens into the surrounding operator when it is the same one.
        ("a and all of s*", ["a", "s1", "s2"], .and([sel(0), sel(1), sel(2)])),
        ("a or 1 of s*", ["a", "s1", "s2"], .or([sel(0), sel(1), sel(2)])),
        ("a and 1 of s*", ["a", "s1", "s2"], .and([sel(0), .or([sel(1), sel(2)])])),
        ("a or all of s*", ["a", "s1", "s2"], .or([sel(0), .and([sel(1), sel(2)])])),
        ("not all of s*", ["a", "s1", "s2"], .not(.and([sel(1), sel(2)]))),
        ("1 of s* or 1 of s*", ["s1", "s2"], .or([sel(0), sel(1), sel(0), sel(1)])),
        ("1 of sel* and not 1 of filter*", ["sel_a", "filter_x", "sel_b", "filter_y"],
         .and([.or([sel(0), sel(2)]), .not(.or([sel(1), sel(3)]))])),
        // A duplicated name refers to its first occurrence, and quantifiers take it once.
        ("x", ["x", "x"], sel(0)),
        ("1 of x*", ["x", "x", "x2"], .or([sel(0), sel(2)])),
        // Names are case-sensitive, so these are two different selections.
        ("Sel or sel", ["sel", "Sel"], .or([sel(1), sel(0)])),
    ]

    @Test("names become indices and quantifiers expand", arguments: 0..<resolutions.count)
    func resolves(_ index: Int) throws {
        let (text, names, expected) = Self.resolutions[index]
        #expect(try ParsedCondition(text).resolve(selections: names) == expected, "\(text)")
        #expect(try SigmaCondition.parse(text).resolve(selections: names) == expected, "\(text)")
    }

    static let resolutionErrors: [(text: String, names: [String], offset: Int, fragments: [String])] = [
        ("a and not filtr", ["a", "filter"], 10, ["unknown selection `filtr`", "did you mean `filter`?"]),
        ("Selection", ["selection"], 0, ["unknown selection `Selection`", "did you mean `selection`?"]),
        ("x", ["a", "b"], 0, ["unknown selection `x`", "the detection defines `a`, `b`"]),
        ("a", [], 0, ["defines no selections"]),
        ("a or b or zz", ["a", "b"], 10, ["unknown selection `zz`"]),
        ("a and not 1 of filter_*", ["a", "filter"], 15, ["`1 of filter_*` matches no selection"]),
        ("all of them", ["_a", "_b"], 7, ["`all of them` refers to no selection", "`_`"]),
        ("1 of them", [], 5, ["`1 of them` refers to no selection"]),
        ("1 of x* or 1 of f*", ["_f1", "x1"], 16, ["`1 of f*` matches no selection", "start with `_`"]),
        ("1 of sel", ["sel1"], 5, ["matches no selection"]),
        ("all of Sel*", ["sel1"], 7, ["`all of Sel*` matches no selection"]),
        ("(a and (b or\n  c))", ["a", "b"], 15, ["unknown selection `c`"]),
        ("s1 and sX", (1...12).map { "s\($0)" }, 7, ["`s7`, `s8`, …)"]),
    ]

    @Test("resolution errors point at the name or pattern", arguments: 0..<resolutionErrors.count)
    func resolutionError(_ index: Int) throws {
        let c = Self.resolutionErrors[index]
        let parsed = try ParsedCondition(c.text)
        let error = #expect(throws: ConditionError.self) { try parsed.resolve(selections: c.names) }
        #expect(error?.offset == c.offset, "\(c.text): \(error?.message ?? "")")
        for fragment in c.fragments {
            #expect(error?.message.contains(fragment) == true, "\(c.text): \(error?.message ?? "")")
        }
        // Without source positions the same error is reported at offset 0.
        let bare = #expect(throws: ConditionError.self) { try parsed.condition.resolve(selections: c.names) }
        #expect(bare == ConditionError(message: error?.message ?? "", offset: 0))
    }

    @Test("a far-off name gets no suggestion")
    func noSuggestion() throws {
        let error = #expect(throws: ConditionError.self) {
            try ParsedCondition("keywords").resolve(selections: ["selection", "filter"])
        }
        #expect(error?.message.contains("did you mean") == false)
    }

    @Test("referenced selections")
    func referenced() throws {
        let resolved = try ParsedCondition("a and not 1 of f*").resolve(selections: ["a", "f1", "unused", "f2"])
        #expect(resolved.referencedSelections == [0, 1, 3])
        #expect(try ParsedCondition("1 of them").resolve(selections: ["x", "_y", "z"]).referencedSelections == [0, 2])
        #expect(try ParsedCondition("a or a").resolve(selections: ["a"]).referencedSelections == [0])
    }

    @Test("pattern matching: whole name, `*` anywhere, `_` names only for `_` patterns")
    func patternMatching() {
        let cases: [(String, String, Bool)] = [
            ("sel*", "sel", true), ("sel*", "selection", true), ("sel*", "asel", false), ("sel*", "Sel", false),
            ("*sel", "sel", true), ("*sel", "my_sel", true), ("*sel", "sel2", false),
            ("a*b*c", "abc", true), ("a*b*c", "aXbYc", true), ("a*b*c", "acbc", true), ("a*b*c", "acb", false),
            ("*aab", "aaab", true), ("*a*a*", "banana", true), ("**", "x", true), ("*", "", true),
            ("sel", "sel", true), ("sel", "sel1", false), ("sel", "se", false),
            ("*", "_h", false), ("*h", "_h", false), ("_*", "_h", true), ("_h", "_h", true), ("_*", "h", false),
        ]
        for (pattern, name, expected) in cases {
            #expect(SelectionPattern.pattern(pattern).matches(name) == expected, "\(pattern) ~ \(name)")
        }
        #expect(SelectionPattern.them.matches("selection"))
        #expect(!SelectionPattern.them.matches("_helper"))
    }

    // MARK: - Evaluation

    static let truthTables: [ConditionTruthCase] = [
        ConditionTruthCase(text: "a or b and not c", names: ["a", "b", "c"]) { v in v[0] || (v[1] && !v[2]) },
        ConditionTruthCase(text: "a and b or c", names: ["a", "b", "c"]) { v in (v[0] && v[1]) || v[2] },
        ConditionTruthCase(text: "not a and b", names: ["a", "b", "c"]) { v in !v[0] && v[1] },
        ConditionTruthCase(text: "not (a or b) and c", names: ["a", "b", "c"]) { v in !(v[0] || v[1]) && v[2] },
        ConditionTruthCase(text: "not a or b and c", names: ["a", "b", "c"]) { v in !v[0] || (v[1] && v[2]) },
        ConditionTruthCase(text: "a and not b or c and d", names: ["a", "b", "c", "d"]) { v in (v[0] && !v[1]) || (v[2] && v[3]) },
        ConditionTruthCase(text: "(a or b) and (c or not d)", names: ["a", "b", "c", "d"]) { v in (v[0] || v[1]) && (v[2] || !v[3]) },
        ConditionTruthCase(text: "not not a or not b and c", names: ["a", "b", "c"]) { v in v[0] || (!v[1] && v[2]) },
        ConditionTruthCase(text: "a and (b or (c and not d))", names: ["a", "b", "c", "d"]) { v in v[0] && (v[1] || (v[2] && !v[3])) },
        ConditionTruthCase(text: "NOT (a AND b) OR (c AND NOT d)", names: ["a", "b", "c", "d"]) { v in !(v[0] && v[1]) || (v[2] && !v[3]) },
        ConditionTruthCase(text: "1 of sel* and not 1 of filter*", names: ["sel1", "sel2", "filter1", "filter2"]) { v in
            (v[0] || v[1]) && !(v[2] || v[3])
        },
        ConditionTruthCase(text: "all of sel* and not all of filter*", names: ["sel1", "sel2", "filter1", "filter2"]) { v in
            (v[0] && v[1]) && !(v[2] && v[3])
        },
        ConditionTruthCase(text: "all of them", names: ["a", "b", "_h", "c"]) { v in v[0] && v[1] && v[3] },
        ConditionTruthCase(text: "1 of them", names: ["a", "b", "_h", "c"]) { v in v[0] || v[1] || v[3] },
        ConditionTruthCase(text: "1 of them and not _h", names: ["a", "b", "_h", "c"]) { v in (v[0] || v[1] || v[3]) && !v[2] },
        ConditionTruthCase(text: "1 of *1", names: ["sel1", "sel2", "filter1", "filter2"]) { v in v[0] || v[2] },
        ConditionTruthCase(text: "not 1 of sel* or all of filter*", names: ["sel1", "sel2", "filter1", "filter2"]) { v in
            !(v[0] || v[1]) || (v[2] && v[3])
        },
        ConditionTruthCase(text: "selection_status and 1 of selection_request_*",
                  names: ["selection_status", "selection_request_uri", "selection_request_user_agent"]) { v in
            v[0] && (v[1] || v[2])
        },
    ]

    @Test("truth tables: exhaustive, against a Swift oracle and the reference evaluator", arguments: truthTables)
    func truthTable(_ c: ConditionTruthCase) throws {
        let parsed = try SigmaCondition.parse(c.text)
        let resolved = try parsed.resolve(selections: c.names)
        for values in assignments(c.names.count) {
            let got = resolved.evaluate { values[$0] }
            #expect(got == c.oracle(values), "\(c.text) with \(values)")
            #expect(got == reference(parsed, names: c.names, values: values), "\(c.text) with \(values)")
        }
    }

    @Test("random conditions agree with the reference evaluator")
    func randomAgreement() throws {
        var rng = SplitMix64(seed: 0xC0DE_5167)
        let names = ["a", "b", "sel1", "sel2", "_h"]
        // Every pattern matches at least one name, so every random condition resolves.
        let patterns = ["them", "sel*", "*", "_*", "a", "*1", "s*l*"]
        func random(_ depth: Int) -> SigmaCondition {
            switch Int.random(in: 0..<(depth == 0 ? 3 : 6), using: &rng) {
            case 0: return .selection(names.randomElement(using: &rng)!)
            case 1: return .oneOf(Self.pattern(patterns.randomElement(using: &rng)!))
            case 2: return .allOf(Self.pattern(patterns.randomElement(using: &rng)!))
            case 3: return .not(random(depth - 1))
            case 4: return .conjunction((0..<Int.random(in: 2...3, using: &rng)).map { _ in random(depth - 1) })
            default: return .disjunction((0..<Int.random(in: 2...3, using: &rng)).map { _ in random(depth - 1) })
            }
        }
        let table = assignments(names.count)
        for _ in 0..<500 {
            let condition = random(3)
            let resolved = try ParsedCondition(condition.description).resolve(selections: names)
            for values in table {
                #expect(resolved.evaluate { values[$0] } == reference(condition, names: names, values: values),
                        "\(condition) with \(values)")
            }
        }
    }

    private static func pattern(_ text: String) -> SelectionPattern { text == "them" ? .them : .pattern(text) }

    @Test("evaluation short-circuits left to right")
    func shortCircuit() throws {
        func calls(_ text: String, _ names: [String], _ values: [Bool]) throws -> [Int] {
            let resolved = try ParsedCondition(text).resolve(selections: names)
            var asked: [Int] = []
            _ = resolved.evaluate { index in
                asked.append(index)
                return values[index]
            }
            return asked
        }
        let abc = ["a", "b", "c"]
        #expect(try calls("a and b", abc, [false, true, true]) == [0])
        #expect(try calls("a and b", abc, [true, true, true]) == [0, 1])
        #expect(try calls("a or b", abc, [true, false, false]) == [0])
        #expect(try calls("a or b", abc, [false, true, false]) == [0, 1])
        #expect(try calls("c or b or a", abc, [false, false, false]) == [2, 1, 0])
        #expect(try calls("c and b and a", abc, [false, true, true]) == [2, 1, 0])
        #expect(try calls("not a and b", abc, [true, true, true]) == [0])
        #expect(try calls("(a or b) and c", abc, [true, true, false]) == [0, 2])
        #expect(try calls("a and b or c", abc, [false, true, true]) == [0, 2])
        #expect(try calls("1 of them", abc, [false, true, true]) == [0, 1])
        #expect(try calls("all of them", abc, [true, false, true]) == [0, 1])
    }

    struct Boom: Error, Equatable {}

    @Test("errors from the selection callback propagate, unless short-circuiting skips it")
    func throwingCallback() throws {
        let resolved = try ParsedCondition("a or b").resolve(selections: ["a", "b"])
        let failOnB = { (index: Int) throws(Boom) -> Bool in
            if index == 1 { throw Boom() }
            return false
        }
        #expect(throws: Boom.self) { try resolved.evaluate(failOnB) }
        let andResolved = try ParsedCondition("a and b").resolve(selections: ["a", "b"])
        #expect(try andResolved.evaluate(failOnB) == false)
    }

    @Test("empty operator lists (never produced by resolution) are the identities")
    func emptyOperands() {
        #expect(ResolvedCondition.and([]).evaluate { _ in false })
        #expect(!ResolvedCondition.or([]).evaluate { _ in true })
        #expect(ResolvedCondition.and([]).referencedSelections.isEmpty)
    }
}
