import AuditJSON
import AuditModel

/// Compiled rules indexed by the event's verb, so that an event no rule cares about costs
/// almost nothing.
///
/// A rule is filed under the verbs its condition requires: a selection that tests `verb` for
/// a plain list of values (no wildcards, no other modifiers) pins the rule to those verbs,
/// `and` narrows, `or` widens, `not` gives up. Rules the analysis cannot pin down go in a
/// list every event is checked against. Most audit traffic is
/// get/list/watch, which few rules name, so most events meet only that short list.
public struct RuleIndex: Sendable {
    public let rules: [CompiledRule]
    /// Rules for each lower-cased verb (a handful of verbs: a linear scan, no hashing and no
    /// allocation per event).
    let byVerb: [(verb: [UInt8], rules: [Int])]
    /// Rules that may fire whatever the verb.
    let anyVerb: [Int]

    public init(_ rules: [CompiledRule]) {
        self.rules = rules
        var byVerb: [[UInt8]: [Int]] = [:]
        var anyVerb: [Int] = []
        for (i, rule) in rules.enumerated() {
            if let verbs = Self.requiredVerbs(rule) {
                for v in verbs { byVerb[Array(v.utf8), default: []].append(i) }
            } else {
                anyVerb.append(i)
            }
        }
        self.byVerb = byVerb.map { (verb: $0.key, rules: $0.value) }.sorted { $0.verb.lexicographicallyPrecedes($1.verb) }
        self.anyVerb = anyVerb
    }

    /// Number of rules that are filed under specific verbs.
    public var indexedRuleCount: Int { rules.count - anyVerb.count }

    /// Calls `body` with the index of every rule the event matches, in rule order.
    /// Allocates nothing: the verb's rules and the any-verb rules are merged as they go.
    public func forEachMatch(_ event: AuditEvent, _ body: (Int) -> Void) {
        guard let verbValue = event.verb else {
            for i in anyVerb where rules[i].matches(event) { body(i) }
            return
        }
        guard let verb = verbValue.jsonString, !verb.hasEscapes else {
            for i in rules.indices where rules[i].matches(event) { body(i) }  // an odd verb: check all
            return
        }
        var specific: [Int] = []
        for entry in byVerb where entry.verb.count == verb.rawCount && Self.equalFolded(entry.verb, verb.rawBytes) {
            specific = entry.rules  // shares the stored array: no copy
            break
        }
        var a = 0
        var b = 0
        while a < anyVerb.count || b < specific.count {
            let i: Int
            if b >= specific.count || (a < anyVerb.count && anyVerb[a] < specific[b]) {
                i = anyVerb[a]
                a += 1
            } else {
                i = specific[b]
                b += 1
            }
            if rules[i].matches(event) { body(i) }
        }
    }

    /// ASCII case-insensitive equality (matchers compare verbs case-insensitively too).
    static func equalFolded(_ lower: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for (x, y) in zip(lower, bytes) where x != (y >= 0x41 && y <= 0x5A ? y | 0x20 : y) { return false }
        return true
    }

    /// The verbs a rule requires, or nil when it may fire for any verb.
    static func requiredVerbs(_ rule: CompiledRule) -> Set<String>? {
        verbs(rule.condition, rule.selections)
    }

    /// The verbs under which `condition` can be true: a selection constrains by its own
    /// `verb` test; `and` intersects what its operands constrain; `or` unites, and is
    /// unconstrained if any operand is; `not` constrains nothing.
    static func verbs(_ condition: ResolvedCondition, _ selections: [CompiledSelection]) -> Set<String>? {
        switch condition {
        case .selection(let i):
            guard case .all(let tests) = selections[i] else { return nil }
            var result: Set<String>?
            for t in tests {
                guard case .envelope(.verb) = t.field.source, !t.matcher.isNegated, t.matcher.existsCheck == nil,
                    let values = t.matcher.exactLowercasedStrings
                else { continue }
                result = result.map { $0.intersection(values) } ?? Set(values)
            }
            return result
        case .not:
            return nil
        case .and(let operands):
            var result: Set<String>?
            for o in operands {
                if let v = verbs(o, selections) { result = result.map { $0.intersection(v) } ?? v }
            }
            return result
        case .or(let operands):
            var result = Set<String>()
            for o in operands {
                guard let v = verbs(o, selections) else { return nil }
                result.formUnion(v)
            }
            return result
        }
    }
}
