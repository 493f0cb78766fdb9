import AuditJSON
import AuditModel

/// Compiled rules indexed by the event's verb, resource and subresource, so that an event no
/// rule cares about costs almost nothing.
///
/// A rule is filed under the verbs, resources and subresources its condition requires: a
/// selection that tests `verb` (or `objectRef.resource`, `objectRef.subresource`) for a plain list of values (no wildcards, no other
/// modifiers) pins the rule to those values, `and` narrows, `or` widens, `not` gives up.
/// Every (verb, resource, subresource) the rules name gets the list of rules that can fire on it,
/// merged and in rule order once at build time; all other verbs and resources share the
/// lists of rules that are not pinned. Most audit traffic is get/list/watch of resources
/// few rules name, so most events meet a short list, found with two linear scans over a
/// handful of byte strings: no hashing and no allocation per event.
///
/// A class, not a struct: a judge calls it several times per event, and each call on a
/// struct stored in the judge copied its 192 bytes to the stack first.
public final class RuleIndex: Sendable {
    public let rules: [CompiledRule]
    /// Lower-cased verbs, resources and subresources some rule is pinned to.
    let verbs: [[UInt8]]
    let resources: [[UInt8]]
    let subresources: [[UInt8]]
    /// `candidates[(v * (R + 1) + r) * (S + 1) + s]`: the rules to try for verb `v`, resource
    /// `r` and subresource `s`, where index `verbs.count` (`R`, `S`) stands for any other
    /// value or none.
    let candidates: [[Int]]
    /// The keys and candidate lists again, in memory the index owns, for the per-event
    /// lookup: reading the nested arrays retained and released each one it touched.
    private let tables: Tables

    public init(_ rules: [CompiledRule]) {
        self.rules = rules
        let fields: [FieldSource] = [.envelope(.verb), .nested(.refResource), .nested(.refSubresource)]
        let required = fields.map { field in rules.map { Self.requiredValues(field, $0) } }
        let keys = required.map { sets in
            Set(sets.compactMap { $0 }.flatMap { $0 }).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        // Each rule's allowed key positions per dimension (nil: any), as bitmaps.
        let allowed: [[[Bool]?]] = (0..<3).map { f in
            let strings = keys[f].map { String(decoding: $0, as: UTF8.self) }
            return required[f].map { set in set.map { set in strings.map { set.contains($0) } + [false] } }
        }
        var candidates: [[Int]] = []
        candidates.reserveCapacity((keys[0].count + 1) * (keys[1].count + 1) * (keys[2].count + 1))
        for v in 0...keys[0].count {
            let byVerb = rules.indices.filter { allowed[0][$0]?[v] ?? true }
            for r in 0...keys[1].count {
                let byResource = byVerb.filter { allowed[1][$0]?[r] ?? true }
                for sub in 0...keys[2].count {
                    candidates.append(byResource.filter { allowed[2][$0]?[sub] ?? true })
                }
            }
        }
        verbs = keys[0]
        resources = keys[1]
        subresources = keys[2]
        self.candidates = candidates
        tables = Tables(
            verbs: KeyList(keys[0]), resources: KeyList(keys[1]), subresources: KeyList(keys[2]),
            lists: FlatLists(candidates))
    }

    deinit {
        tables.verbs.free()
        tables.resources.free()
        tables.subresources.free()
        tables.lists.free()
    }

    @inline(__always)
    func slot(_ v: Int, _ r: Int, _ s: Int) -> Int { (v * (resources.count + 1) + r) * (subresources.count + 1) + s }

    /// Number of rules pinned to specific verbs, resources or subresources.
    public var indexedRuleCount: Int { rules.count - candidates[candidates.count - 1].count }

    /// The rules an event with this verb, resource and subresource is checked against.
    public func candidates(verb: String?, resource: String?, subresource: String? = nil) -> [Int] {
        func find(_ value: String?, _ keys: [[UInt8]]) -> Int {
            value.flatMap { keys.firstIndex(of: Array($0.lowercased().utf8)) } ?? keys.count
        }
        return candidates[slot(find(verb, verbs), find(resource, resources), find(subresource, subresources))]
    }

    /// Calls `body` with the index of every rule the event matches, in rule order.
    public func forEachMatch(_ event: AuditEvent, _ body: (Int) -> Void) {
        forEachMatch(EventContext(event), body)
    }

    /// Calls `body` with the index of every rule the context's event matches, in rule order.
    /// Allocates nothing.
    public func forEachMatch(_ context: EventContext, _ body: (Int) -> Void) {
        forEachMatch(context, memo: nil, body)
    }

    /// As `forEachMatch(_:_:)`, asking `memo` (built on these rules) first.
    func forEachMatch(_ context: EventContext, memo: VerdictMemo?, _ body: (Int) -> Void) {
        let list = prepare(context, memo: memo)
        forEachMatch(context, list: list, memo: memo, body)
    }

    /// `prepare`'s answer when the memo has keyed the event and its request shape's record
    /// holds the candidate list (see `VerdictMemo.shapeGivesList`).
    static let listInShape = -1

    /// The first half of `forEachMatch(_:memo:_:)`: starts the memo's event, has it prepare
    /// (and prefetch) the event's class, and returns the event's candidate list number:
    /// `listInShape` when the memo will read it from the shape's record (most events: the
    /// lookup of verb, resource and subresource is then made once per shape), nil when a key
    /// has escapes (every rule is checked).
    @inline(__always)
    func prepare(_ context: EventContext, memo: VerdictMemo?) -> Int? {
        guard !rules.isEmpty else { return nil }
        if memo != nil {  // `if let` retained it.
            memo!.begin()  // Safe: checked.
            if memo!.prepareClass(context) && memo!.shapeGivesList { return Self.listInShape }
        }
        return listNumber(context.index)
    }

    /// The candidate list of an event with these envelope values; nil when a key has escapes.
    @inline(__always)
    func listNumber(_ index: EnvelopeIndex) -> Int? {
        let t = tables
        guard let v = t.verbs.slot(index[.verb]), let r = t.resources.slot(index[nested: .refResource]),
            let s = t.subresources.slot(index[nested: .refSubresource])
        else { return nil }
        return slot(v, r, s)
    }

    /// Candidate list `number`'s rules.
    @inline(__always)
    func candidateList(_ number: Int) -> UnsafeBufferPointer<Int> { tables.lists[number] }

    /// The second half: `body` with every rule of candidate list `list` (from `prepare`) the
    /// event matches.
    @inline(__always)
    func forEachMatch(_ context: EventContext, list number: Int?, memo: VerdictMemo?, _ body: (Int) -> Void) {
        guard !rules.isEmpty else { return }
        guard let number else {
            // Escaped text: check every rule.
            for i in rules.indices where memo?.matches(i, context) ?? rules[i].matches(context) { body(i) }
            return
        }
        if memo != nil {
            memo!.forEachMatch(in: self, list: number, context, body)  // Safe: checked.
        } else {
            let list = tables.lists[number]
            rules.withUnsafeBufferPointer { rules in
                for i in list where rules[i].matches(context) { body(i) }
            }
        }
    }

    /// The values of `field` under which the rule can fire, or nil when any value may do.
    static func requiredValues(_ field: FieldSource, _ rule: CompiledRule) -> Set<String>? {
        // A per-element rule's condition is still about the one event: the analysis holds.
        values(field, rule.condition, rule.selections)
    }

    /// The values of `field` under which `condition` can be true: a selection constrains by
    /// its own test of the field; `and` intersects what its operands constrain; `or` unites,
    /// and is unconstrained if any operand is; `not` constrains nothing.
    static func values(_ field: FieldSource, _ condition: ResolvedCondition, _ selections: [CompiledSelection]) -> Set<String>? {
        switch condition {
        case .selection(let i):
            switch selections[i] {
            case .all(let tests):
                return constraint(field, tests)
            case .any(let maps):
                var result = Set<String>()
                for tests in maps {
                    guard let v = constraint(field, tests) else { return nil }
                    result.formUnion(v)
                }
                return result
            case .keywords:
                return nil
            }
        case .not:
            return nil
        case .and(let operands):
            var result: Set<String>?
            for o in operands {
                if let v = values(field, o, selections) { result = result.map { $0.intersection(v) } ?? v }
            }
            return result
        case .or(let operands):
            var result = Set<String>()
            for o in operands {
                guard let v = values(field, o, selections) else { return nil }
                result.formUnion(v)
            }
            return result
        }
    }

    /// What a map of tests (all must pass) requires of `field`.
    static func constraint(_ field: FieldSource, _ tests: [FieldTest]) -> Set<String>? {
        var result: Set<String>?
        for t in tests {
            guard Self.same(t.field.source, field), let m = t.matcher, !m.isNegated, m.existsCheck == nil,
                let values = m.exactLowercasedStrings
            else { continue }
            result = result.map { $0.intersection(values) } ?? Set(values)
        }
        return result
    }

    static func same(_ a: FieldSource, _ b: FieldSource) -> Bool {
        switch (a, b) {
        case (.envelope(let x), .envelope(let y)): return x == y
        case (.nested(let x), .nested(let y)): return x == y
        default: return false
        }
    }
}

extension RuleIndex {
    /// What the per-event lookup reads: plain pointers, read-only once built.
    struct Tables: @unchecked Sendable {
        let verbs: KeyList
        let resources: KeyList
        let subresources: KeyList
        let lists: FlatLists<Int>
    }

    /// Lower-cased byte strings, found by a small open-addressing table over their length and
    /// first and last bytes (a linear scan compared the event's value with every key: the
    /// pack names some fifty resources, and most events' resource is none of them).
    struct KeyList: @unchecked Sendable {
        let keys: FlatLists<UInt8>
        /// A key's position, or -1 for an empty cell; twice as many cells as keys at least.
        let cells: UnsafeMutablePointer<Int32>
        let mask: Int
        /// Whether a key holds a backslash (a raw match then proves nothing: escapes are
        /// looked for first).
        let keysHaveBackslash: Bool
        var count: Int { keys.count }

        init(_ keys: [[UInt8]]) {
            self.keys = FlatLists(keys)
            var size = 8
            while size < 2 * keys.count { size *= 2 }
            cells = .allocate(capacity: size)
            cells.initialize(repeating: -1, count: size)
            mask = size - 1
            keysHaveBackslash = keys.contains { $0.contains(0x5C) }
            for (i, key) in keys.enumerated() {
                var h = key.withUnsafeBufferPointer { Self.hash($0.baseAddress, $0.count) } & mask
                while cells[h] >= 0 { h = (h + 1) & mask }
                cells[h] = Int32(i)
            }
        }

        func free() {
            keys.free()
            cells.deallocate()
        }

        /// The length and the first and last bytes, each with bit 0x20 set so both cases of
        /// a letter hash alike (other bytes that differ only there share cells, harmlessly).
        @inline(__always)
        static func hash(_ p: UnsafePointer<UInt8>?, _ n: Int) -> Int {
            guard let p, n > 0 else { return 0 }
            let x = UInt64(n) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(p[0] | 0x20) &* 0x85EB_CA6B ^ UInt64(p[n - 1] | 0x20) &* 0xC2B2_AE35
            return Int(truncatingIfNeeded: x ^ (x >> 29))
        }

        /// The position of a string value among the keys (compared ASCII case-insensitively),
        /// `count` when it is absent or another value, nil when it has escapes (which the
        /// caller resolves by checking every rule).
        @inline(__always)
        func slot(_ value: JSONValue?) -> Int? {
            guard let value, let b = value.rawStringContents, let p = b.baseAddress else { return count }
            if keysHaveBackslash && JSONScanner.containsBackslash(value.base, value.start + 1, value.end - 1) { return nil }
            var h = Self.hash(p, b.count) & mask
            while true {
                let i = Int(cells[h])
                if i < 0 { break }
                let key = keys[i]
                // No key has a backslash here: raw text equal to one is that key.
                if key.count == b.count && bytesMatch(p, key.baseAddress!, b.count, fold: true) { return i }
                h = (h + 1) & mask
            }
            // Not a key as written; escaped text may still decode to one. Most values have no
            // backslash, so the scan for one is made only here.
            return JSONScanner.containsBackslash(value.base, value.start + 1, value.end - 1) ? nil : count
        }
    }

    /// Lists side by side in one allocation.
    struct FlatLists<Element>: @unchecked Sendable {
        let items: UnsafeMutablePointer<Element>
        /// List `i` is `items[bounds[i]..<bounds[i + 1]]` (`bounds[0]` is 0: no branch for
        /// the first list on a lookup made dozens of times per event).
        let bounds: UnsafeMutablePointer<Int>
        let count: Int

        init(_ lists: [[Element]]) {
            let all = lists.flatMap { $0 }
            items = .allocate(capacity: max(all.count, 1))
            items.initialize(from: all, count: all.count)
            bounds = .allocate(capacity: lists.count + 1)
            bounds[0] = 0
            for (i, l) in lists.enumerated() { bounds[i + 1] = bounds[i] + l.count }
            count = lists.count
        }

        func free() {
            items.deinitialize(count: bounds[count])
            items.deallocate()
            bounds.deallocate()
        }

        @inline(__always)
        subscript(i: Int) -> UnsafeBufferPointer<Element> {
            let start = bounds[i]
            return UnsafeBufferPointer(start: items + start, count: bounds[i + 1] - start)
        }
    }
}
