// Condition resolution: binds a parsed condition to the rule's selections and evaluates it.
//
// Resolution happens once per rule at load time. It replaces names by indices into the
// rule's selection list, expands `1 of`/`all of` into the concrete selections their pattern
// matches (an `or`/`and` over them), and rejects what cannot work: names the detection does
// not define and patterns that match nothing (almost always a typo, and silently treating
// `1 of filter_*` as false would turn `selection and not 1 of filter_*` into "never filter").

/// A condition bound to a rule's selections: what the engine evaluates per event.
///
/// Only four cases: quantifiers are expanded and names are indices into the `selections`
/// array given to `resolve`, so evaluation touches no strings. `and`/`or` are flattened with
/// operands in source order (a quantifier's selections in declaration order), which lets a
/// later compiler reorder operands by cost without changing results, since every operand is
/// side-effect free.
public indirect enum ResolvedCondition: Equatable, Sendable {
    /// The selection at this index of the `selections` passed to `resolve`.
    case selection(Int)
    case not(ResolvedCondition)
    /// True when every operand is (vacuously true when empty, which resolution never produces).
    case and([ResolvedCondition])
    /// True when any operand is (false when empty, which resolution never produces).
    case or([ResolvedCondition])

    /// Evaluates the condition, asking `selectionResult` for selections as needed.
    ///
    /// Operands are evaluated left to right and evaluation stops as soon as the result is
    /// known, so `selectionResult` is called only for selections that can still change it:
    /// the caller can put cheap selections first and memoize if a selection is referenced
    /// twice. Errors thrown by `selectionResult` end the evaluation and propagate.
    public func evaluate<E: Error>(_ selectionResult: (Int) throws(E) -> Bool) throws(E) -> Bool {
        switch self {
        case .selection(let index):
            return try selectionResult(index)
        case .not(let operand):
            return try !operand.evaluate(selectionResult)
        case .and(let operands):
            for operand in operands where try !operand.evaluate(selectionResult) { return false }
            return true
        case .or(let operands):
            for operand in operands where try operand.evaluate(selectionResult) { return true }
            return false
        }
    }

    /// Every selection index the condition mentions. The engine evaluates only these; the
    /// rule loader can warn about selections that are defined but never used.
    public var referencedSelections: Set<Int> {
        var result: Set<Int> = []
        collect(into: &result)
        return result
    }

    private func collect(into result: inout Set<Int>) {
        switch self {
        case .selection(let index): result.insert(index)
        case .not(let operand): operand.collect(into: &result)
        case .and(let operands), .or(let operands): for operand in operands { operand.collect(into: &result) }
        }
    }
}

extension SigmaCondition {
    /// Binds the condition to a rule's selection names (the keys of `detection:` other than
    /// `condition`, in file order; that order is the order quantifiers expand in).
    ///
    /// Throws for a name that is not in `selections` and for a quantifier that matches no
    /// selection. This AST carries no source positions, so those errors have offset 0; resolve
    /// a `ParsedCondition` to get offsets into the condition text.
    ///
    /// Pattern matching is case-sensitive (names are YAML keys) and whole-name: `sel*` matches
    /// `sel` and `selection`, `sel` matches only `sel`. `them` and patterns that do not
    /// themselves start with `_` skip names starting with `_`; see `SelectionPattern`.
    /// If a name occurs twice in `selections`, the first occurrence is the one referred to.
    public func resolve(selections: [String]) throws(ConditionError) -> ResolvedCondition {
        var resolver = ConditionResolver(selections: selections, leafOffsets: nil)
        return try resolver.resolve(self)
    }
}

extension SelectionPattern {
    /// Whether the quantifier ranges over the selection called `name`.
    ///
    /// The spec excludes names starting with `_` from `them` ("excluded by convention") and
    /// defines patterns as "the same as 1/all of them, but restricted to matching search
    /// identifiers", so patterns exclude them too; except a pattern that starts with `_`
    /// itself, which can only be meant to reach such names.
    public func matches(_ name: String) -> Bool {
        switch self {
        case .them:
            return !name.utf8.starts(with: [UInt8(ascii: "_")])
        case .pattern(let pattern):
            if name.utf8.first == UInt8(ascii: "_"), pattern.utf8.first != UInt8(ascii: "_") { return false }
            return Self.glob(Array(pattern.utf8), Array(name.utf8))
        }
    }

    /// Whole-string match where `*` matches any run of bytes. Linear-time greedy matching
    /// with backtracking to the last `*` only (enough, since `*` is the only metacharacter).
    static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0
        var t = 0
        var star: Int? = nil  // index in pattern just after the last `*` seen
        var starText = 0  // text index that `*` currently extends to
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                p += 1
                star = p
                starText = t
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let resume = star {
                starText += 1
                t = starText
                p = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

/// Walks a `SigmaCondition`, resolving leaves in source order (the order of `leafOffsets`).
struct ConditionResolver {
    private let selections: [String]
    private let indexByName: [String: Int]
    private let leafOffsets: [Int]?
    private var leafCount = 0

    init(selections: [String], leafOffsets: [Int]?) {
        self.selections = selections
        var index: [String: Int] = [:]
        for (position, name) in selections.enumerated() where index[name] == nil { index[name] = position }
        self.indexByName = index
        self.leafOffsets = leafOffsets
    }

    mutating func resolve(_ condition: SigmaCondition) throws(ConditionError) -> ResolvedCondition {
        switch condition {
        case .selection(let name):
            let offset = nextLeafOffset()
            guard let index = indexByName[name] else {
                throw ConditionError(message: unknownSelectionMessage(name), offset: offset)
            }
            return .selection(index)
        case .not(let operand):
            return .not(try resolve(operand))
        case .and(let operands):
            var flat: [ResolvedCondition] = []
            for operand in operands {
                let resolved = try resolve(operand)
                if case .and(let inner) = resolved { flat.append(contentsOf: inner) } else { flat.append(resolved) }
            }
            return flat.count == 1 ? flat[0] : .and(flat)
        case .or(let operands):
            var flat: [ResolvedCondition] = []
            for operand in operands {
                let resolved = try resolve(operand)
                if case .or(let inner) = resolved { flat.append(contentsOf: inner) } else { flat.append(resolved) }
            }
            return flat.count == 1 ? flat[0] : .or(flat)
        case .oneOf(let pattern):
            let matched = try expand(pattern, quantifier: "1 of").map(ResolvedCondition.selection)
            return matched.count == 1 ? matched[0] : .or(matched)
        case .allOf(let pattern):
            let matched = try expand(pattern, quantifier: "all of").map(ResolvedCondition.selection)
            return matched.count == 1 ? matched[0] : .and(matched)
        }
    }

    private mutating func nextLeafOffset() -> Int {
        defer { leafCount += 1 }
        guard let leafOffsets, leafCount < leafOffsets.count else { return 0 }
        return leafOffsets[leafCount]
    }

    /// The indices of the selections `pattern` matches, in declaration order, each once.
    private mutating func expand(_ pattern: SelectionPattern, quantifier: String) throws(ConditionError) -> [Int] {
        let offset = nextLeafOffset()
        var matched: [Int] = []
        for (position, name) in selections.enumerated() where indexByName[name] == position && pattern.matches(name) {
            matched.append(position)
        }
        guard matched.isEmpty else { return matched }
        switch pattern {
        case .them:
            throw ConditionError(
                message: "`\(quantifier) them` refers to no selection: names starting with `_` do not count"
                    + definedSuffix(),
                offset: offset)
        case .pattern(let text):
            var message = "`\(quantifier) \(text)` matches no selection" + definedSuffix()
            let underscored = SelectionPattern.pattern("_" + text)
            if text.utf8.first != UInt8(ascii: "_"), selections.contains(where: underscored.matches) {
                message += "; names starting with `_` are matched only by patterns that start with `_`"
            }
            throw ConditionError(message: message, offset: offset)
        }
    }

    private func unknownSelectionMessage(_ name: String) -> String {
        var message = "unknown selection `\(name)`"
        if let suggestion = closestName(to: name) { message += "; did you mean `\(suggestion)`?" }
        return message + definedSuffix()
    }

    /// "(the detection defines: a, b, c)", shortened for rules with many selections.
    private func definedSuffix() -> String {
        if selections.isEmpty { return " (the detection defines no selections)" }
        let shown = selections.prefix(8).map { "`\($0)`" }.joined(separator: ", ")
        return " (the detection defines \(shown)\(selections.count > 8 ? ", …" : ""))"
    }

    /// The defined name nearest to `name` by edit distance, if it is plausibly a typo: a case
    /// difference, or one edit (two for names of six or more characters) in a name long enough
    /// that the edits are not a rewrite.
    private func closestName(to name: String) -> String? {
        let target = Array(name.utf8)
        var best: (name: String, distance: Int)? = nil
        for candidate in selections {
            let distance = editDistance(target, Array(candidate.utf8))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let lowered = { (s: String) in s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }
        if lowered(best.name) == lowered(name) { return best.name }
        let allowed = target.count >= 6 ? 2 : (target.count >= 3 ? 1 : 0)
        return best.distance <= allowed ? best.name : nil
    }
}

/// Levenshtein distance between two byte strings, for "did you mean" suggestions (names are
/// short, so the quadratic table is fine).
public func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
