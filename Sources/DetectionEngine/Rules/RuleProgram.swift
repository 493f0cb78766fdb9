import AuditJSON
import AuditModel

/// A rule's condition and selections laid out flat for evaluation: plain integers in
/// contiguous arrays, walked through unsafe buffers, so judging an event touches no
/// reference counts and no enum payloads.
///
/// Built once from `ResolvedCondition` and `CompiledSelection`s; `CompiledRule.matches`
/// runs it. Evaluation order and short-circuiting are the condition's (left to right).
struct RuleProgram: Sendable {
    /// Condition nodes; node 0 is the root.
    ///   kind 0: selection `a`; 1: not (child node `a`); 2: and, 3: or (children
    ///   `children[a..<a+b]`).
    struct Node: Sendable {
        var kind: UInt8
        var a: Int32
        var b: Int32
    }

    /// One selection: kind 0 all tests `tests[start..<start+count]`; 1 any of the maps
    /// `maps[start..<start+count]`; 2 keywords `keywords[start]`.
    struct Selection: Sendable {
        var kind: UInt8
        var start: Int32
        var count: Int32
    }

    var nodes: [Node] = []
    var children: [Int32] = []
    var selections: [Selection] = []
    /// Every field test of every selection, selection after selection.
    var tests: [FieldTest] = []
    /// For `any` selections: each map's range in `tests`.
    var maps: [(start: Int32, count: Int32)] = []
    var keywords: [ValueMatcher] = []

    init(condition: ResolvedCondition, selections compiled: [CompiledSelection]) {
        for s in compiled {
            switch s {
            case .all(let t):
                selections.append(Selection(kind: 0, start: Int32(tests.count), count: Int32(t.count)))
                tests += t
            case .any(let list):
                selections.append(Selection(kind: 1, start: Int32(maps.count), count: Int32(list.count)))
                for t in list {
                    maps.append((Int32(tests.count), Int32(t.count)))
                    tests += t
                }
            case .keywords(let m):
                selections.append(Selection(kind: 2, start: Int32(keywords.count), count: 1))
                keywords.append(m)
            }
        }
        nodes.append(Node(kind: 0, a: 0, b: 0))
        nodes[0] = node(condition)
    }

    private mutating func node(_ c: ResolvedCondition) -> Node {
        switch c {
        case .selection(let i):
            return Node(kind: 0, a: Int32(i), b: 0)
        case .not(let inner):
            nodes.append(node(inner))
            return Node(kind: 1, a: Int32(nodes.count - 1), b: 0)
        case .and(let operands), .or(let operands):
            // Cheap operands first: every operand is free of side effects, so the order
            // changes only how soon the result is known (a filter on the user name before a
            // walk through the request body).
            let ordered = operands.enumerated().sorted { a, b in
                let (ca, cb) = (cost(a.element), cost(b.element))
                return ca != cb ? ca < cb : a.offset < b.offset
            }.map(\.element)
            var built: [Node] = []
            for o in ordered { built.append(node(o)) }
            let first = nodes.count
            nodes += built
            let start = children.count
            for k in 0..<built.count { children.append(Int32(first + k)) }
            if case .and = c { return Node(kind: 2, a: Int32(start), b: Int32(built.count)) }
            return Node(kind: 3, a: Int32(start), b: Int32(built.count))
        }
    }

    /// A rough cost of evaluating `c`: indexed envelope fields are cheap, derived views
    /// more, walks through bodies and keyword searches of the whole event the most.
    private func cost(_ c: ResolvedCondition) -> Int {
        switch c {
        case .selection(let i):
            let s = selections[i]
            switch s.kind {
            case 2: return 400
            case 0:
                var total = 0
                for k in Int(s.start)..<Int(s.start + s.count) { total += Self.cost(tests[k]) }
                return total
            default:
                var total = 0
                for m in Int(s.start)..<Int(s.start + s.count) {
                    for k in Int(maps[m].start)..<Int(maps[m].start + maps[m].count) { total += Self.cost(tests[k]) }
                }
                return total
            }
        case .not(let inner): return cost(inner)
        case .and(let operands), .or(let operands): return operands.reduce(0) { $0 + cost($1) }
        }
    }

    private static func cost(_ t: FieldTest) -> Int {
        var c: Int
        switch t.source {
        case .envelope(let f): c = (f == .requestObject || f == .responseObject) ? 30 : 1
        case .nested: c = 1
        case .derived: c = 10
        case .element, .containerKind: c = 5
        case .path: c = 5
        case .body: c = 20
        }
        if let m = t.valueMatcher, m.usesRegex { c += 20 }
        if case .reference = t.check { c += 5 }
        return c
    }

    /// Runs the program on the context's event (and current element).
    @inline(__always)
    func evaluate(_ context: EventContext) -> Bool {
        nodes.withUnsafeBufferPointer { n in
            children.withUnsafeBufferPointer { ch in
                selections.withUnsafeBufferPointer { sel in
                    tests.withUnsafeBufferPointer { t in
                        let frame = Frame(nodes: n, children: ch, selections: sel, tests: t)
                        return evaluate(frame, 0, context)
                    }
                }
            }
        }
    }

    /// Three-valued evaluation for `VerdictMemo`: the tests marked in `known` are evaluated,
    /// every other test is unknown. Returns true or false when the condition has that value
    /// whatever the unknown tests say (Kleene logic), nil otherwise.
    func partial(_ context: EventContext, known: UnsafeBufferPointer<Bool>) -> Bool? {
        nodes.withUnsafeBufferPointer { n in
            children.withUnsafeBufferPointer { ch in
                selections.withUnsafeBufferPointer { sel in
                    tests.withUnsafeBufferPointer { t in
                        let frame = Frame(nodes: n, children: ch, selections: sel, tests: t)
                        return partial(frame, 0, context, known)
                    }
                }
            }
        }
    }

    private func partial(_ f: Frame, _ index: Int, _ context: EventContext, _ known: UnsafeBufferPointer<Bool>) -> Bool? {
        let node = f.nodes[index]
        switch node.kind {
        case 0:
            let s = f.selections[Int(node.a)]
            switch s.kind {
            case 0:
                return partialAll(f, Int(s.start), Int(s.count), context, known)
            case 1:
                var result: Bool? = false
                for m in Int(s.start)..<Int(s.start + s.count) {
                    switch partialAll(f, Int(maps[m].start), Int(maps[m].count), context, known) {
                    case .some(true): return true
                    case .none: result = nil
                    case .some(false): break
                    }
                }
                return result
            default:
                return nil  // keywords search the whole event
            }
        case 1:
            return partial(f, Int(node.a), context, known).map { !$0 }
        case 2:
            var result: Bool? = true
            for k in Int(node.a)..<Int(node.a + node.b) {
                switch partial(f, Int(f.children[k]), context, known) {
                case .some(false): return false
                case .none: result = nil
                case .some(true): break
                }
            }
            return result
        default:
            var result: Bool? = false
            for k in Int(node.a)..<Int(node.a + node.b) {
                switch partial(f, Int(f.children[k]), context, known) {
                case .some(true): return true
                case .none: result = nil
                case .some(false): break
                }
            }
            return result
        }
    }

    private func partialAll(
        _ f: Frame, _ start: Int, _ count: Int, _ context: EventContext, _ known: UnsafeBufferPointer<Bool>
    ) -> Bool? {
        var result: Bool? = true
        for i in start..<(start + count) {
            if !known[i] {
                result = nil
            } else if !f.tests[i].evaluate(context) {
                return false
            }
        }
        return result
    }

    private struct Frame {
        let nodes: UnsafeBufferPointer<Node>
        let children: UnsafeBufferPointer<Int32>
        let selections: UnsafeBufferPointer<Selection>
        let tests: UnsafeBufferPointer<FieldTest>
    }

    private func evaluate(_ f: Frame, _ index: Int, _ context: EventContext) -> Bool {
        let node = f.nodes[index]
        switch node.kind {
        case 0:
            return selection(f, Int(node.a), context)
        case 1:
            return !evaluate(f, Int(node.a), context)
        case 2:
            var k = Int(node.a)
            let end = k + Int(node.b)
            while k < end {
                if !evaluate(f, Int(f.children[k]), context) { return false }
                k += 1
            }
            return true
        default:
            var k = Int(node.a)
            let end = k + Int(node.b)
            while k < end {
                if evaluate(f, Int(f.children[k]), context) { return true }
                k += 1
            }
            return false
        }
    }

    @inline(__always)
    private func selection(_ f: Frame, _ index: Int, _ context: EventContext) -> Bool {
        let s = f.selections[index]
        switch s.kind {
        case 0:
            return all(f, Int(s.start), Int(s.count), context)
        case 1:
            var m = Int(s.start)
            let end = m + Int(s.count)
            while m < end {
                let range = maps[m]
                if all(f, Int(range.start), Int(range.count), context) { return true }
                m += 1
            }
            return false
        default:
            return keywords[Int(s.start)].matches(utf8: context.event.object.rawBytes)
        }
    }

    @inline(__always)
    private func all(_ f: Frame, _ start: Int, _ count: Int, _ context: EventContext) -> Bool {
        var i = start
        let end = start + count
        while i < end {
            if !f.tests[i].evaluate(context) { return false }
            i += 1
        }
        return true
    }
}
