import AuditJSON
import AuditModel

/// A rule's condition and selections laid out flat for evaluation: plain integers in
/// contiguous memory, walked through unsafe buffers, so judging an event touches no
/// reference counts and no enum payloads.
///
/// The arrays are what the program was built from (and what keeps its tests alive); judging
/// reads `frame`, copies of them in memory the program owns, with the tests and keyword
/// matchers held unretained. Reading the arrays themselves retained and released each of
/// them per evaluation, and each test around its call.
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
    /// `maps[start..<start+count]`; 2 keywords `keywords[start]`; 3 as 1, judged by
    /// `siblingSets[set]` (the maps are sibling `exists` tests, see `SiblingExistsTest`);
    /// 4 as 1 once `siblingSets[set]` finds one of the maps' names present (the maps are
    /// sibling tests that are false on an absent field).
    struct Selection: Sendable {
        var kind: UInt8
        var start: Int32
        var count: Int32
        var set: Int32 = 0
    }

    var nodes: [Node] = []
    var children: [Int32] = []
    var selections: [Selection] = []
    /// Every field test of every selection, selection after selection.
    var tests: [FieldTest] = []
    /// For `any` selections: each map's range in `tests`.
    var maps: [(start: Int32, count: Int32)] = []
    var keywords: [ValueMatcher] = []
    var siblingSets: [SiblingExistsTest] = []
    /// What evaluation reads (see the type's comment), and the object that frees it.
    private var frame: Frame
    private var frameOwner: FrameOwner

    init(condition: ResolvedCondition, selections compiled: [CompiledSelection]) {
        frame = Frame()
        frameOwner = FrameOwner()
        for s in compiled {
            switch s {
            case .all(let t):
                selections.append(Selection(kind: 0, start: Int32(tests.count), count: Int32(t.count)))
                tests += t
            case .any(let list):
                if let set = SiblingExistsTest(maps: list) {
                    selections.append(
                        Selection(
                            kind: set.isExact ? 3 : 4, start: Int32(maps.count), count: Int32(list.count),
                            set: Int32(siblingSets.count)))
                    siblingSets.append(set)
                } else {
                    selections.append(Selection(kind: 1, start: Int32(maps.count), count: Int32(list.count)))
                }
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
        frame = Frame(
            nodes: Self.copy(nodes), children: Self.copy(children), selections: Self.copy(selections),
            tests: Self.copy(tests.map(Unmanaged.passUnretained)), maps: Self.copy(maps),
            keywords: Self.copy(keywords.map(Unmanaged.passUnretained)),
            siblingSets: Self.copy(siblingSets.map(Unmanaged.passUnretained)))
        frameOwner = FrameOwner(frame)
    }

    private static func copy<T>(_ array: [T]) -> UnsafeBufferPointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
        p.initialize(from: array, count: array.count)
        return UnsafeBufferPointer(start: p, count: array.count)
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
            case 3: return 20 + Int(s.count)  // one walk to the objects, a pass over their members
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
        // The response body holds the stored object (status, managed fields): usually
        // several times the request's size, and every member is listed to find one.
        case .envelope(let f): c = f == .responseObject ? 90 : f == .requestObject ? 30 : 1
        case .nested: c = 1
        case .derived: c = 10
        case .element, .containerKind: c = 5
        case .path: c = 5
        case .body(let body, _): c = body == .response ? 60 : 20
        }
        if let m = t.valueMatcher, m.usesRegex { c += 20 }
        if case .reference = t.check { c += 5 }
        return c
    }

    /// Runs the program on the context's event (and current element).
    @inline(__always)
    func evaluate(_ context: EventContext) -> Bool { frame.evaluate(0, context) }

    /// Three-valued evaluation for `VerdictMemo`: the tests marked in `known` are evaluated,
    /// every other test is unknown. Returns true or false when the condition has that value
    /// whatever the unknown tests say (Kleene logic), nil otherwise.
    func partial(_ context: EventContext, known: UnsafeBufferPointer<Bool>) -> Bool? {
        frame.partial(0, context, known)
    }
}

/// Frees a program's frame when the last copy of the program goes.
private final class FrameOwner: Sendable {
    private let frame: RuleProgram.Frame?

    init(_ frame: RuleProgram.Frame? = nil) { self.frame = frame }

    deinit {
        guard let frame else { return }
        frame.nodes.deallocate()
        frame.children.deallocate()
        frame.selections.deallocate()
        frame.tests.deallocate()
        frame.maps.deallocate()
        frame.keywords.deallocate()
        frame.siblingSets.deallocate()
    }
}

extension RuleProgram {
    /// The program's memory, read-only once built.
    struct Frame: @unchecked Sendable {
        var nodes = UnsafeBufferPointer<Node>(start: nil, count: 0)
        var children = UnsafeBufferPointer<Int32>(start: nil, count: 0)
        var selections = UnsafeBufferPointer<Selection>(start: nil, count: 0)
        var tests = UnsafeBufferPointer<Unmanaged<FieldTest>>(start: nil, count: 0)
        var maps = UnsafeBufferPointer<(start: Int32, count: Int32)>(start: nil, count: 0)
        var keywords = UnsafeBufferPointer<Unmanaged<ValueMatcher>>(start: nil, count: 0)
        var siblingSets = UnsafeBufferPointer<Unmanaged<SiblingExistsTest>>(start: nil, count: 0)

        @inline(__always)
        func test(_ i: Int, _ context: EventContext) -> Bool {
            tests[i]._withUnsafeGuaranteedRef { $0.evaluate(context) }
        }

        func partial(_ index: Int, _ context: EventContext, _ known: UnsafeBufferPointer<Bool>) -> Bool? {
            let node = nodes[index]
            switch node.kind {
            case 0:
                let s = selections[Int(node.a)]
                switch s.kind {
                case 0:
                    return partialAll(Int(s.start), Int(s.count), context, known)
                case 1, 3, 4:
                    return Self.threeValued(absorbing: true, Int(s.start)..<Int(s.start + s.count)) { m in
                        partialAll(Int(maps[m].start), Int(maps[m].count), context, known)
                    }
                default:
                    return nil  // keywords search the whole event
                }
            case 1:
                return partial(Int(node.a), context, known).map { !$0 }
            default:
                // 2: and (false absorbs), 3: or (true absorbs).
                return Self.threeValued(absorbing: node.kind != 2, Int(node.a)..<Int(node.a + node.b)) { k in
                    partial(Int(children[k]), context, known)
                }
            }
        }

        /// The tests `start..<start+count`, all of which must hold; a test that reads what the
        /// memo does not key on is unknown.
        private func partialAll(_ start: Int, _ count: Int, _ context: EventContext, _ known: UnsafeBufferPointer<Bool>) -> Bool? {
            Self.threeValued(absorbing: false, start..<(start + count)) { i in known[i] ? test(i, context) : nil }
        }

        /// Three-valued AND (`absorbing` false) or OR (`absorbing` true) of the operands in
        /// `range`, left to right: the absorbing value as soon as an operand has it, else
        /// unknown when an operand was, else the other value.
        @inline(__always)
        private static func threeValued(absorbing: Bool, _ range: Range<Int>, _ operand: (Int) -> Bool?) -> Bool? {
            var result: Bool? = !absorbing
            for k in range {
                guard let value = operand(k) else {
                    result = nil
                    continue
                }
                if value == absorbing { return absorbing }
            }
            return result
        }

        func evaluate(_ index: Int, _ context: EventContext) -> Bool {
            let node = nodes[index]
            switch node.kind {
            case 0:
                return selection(Int(node.a), context)
            case 1:
                return !evaluate(Int(node.a), context)
            case 2:
                var k = Int(node.a)
                let end = k + Int(node.b)
                while k < end {
                    if !evaluate(Int(children[k]), context) { return false }
                    k += 1
                }
                return true
            default:
                var k = Int(node.a)
                let end = k + Int(node.b)
                while k < end {
                    if evaluate(Int(children[k]), context) { return true }
                    k += 1
                }
                return false
            }
        }

        @inline(__always)
        private func selection(_ index: Int, _ context: EventContext) -> Bool {
            let s = selections[index]
            switch s.kind {
            case 0:
                return all(Int(s.start), Int(s.count), context)
            case 1:
                return any(s, context)
            case 3:
                return siblingSets[Int(s.set)]._withUnsafeGuaranteedRef { $0.evaluate(context) }
            case 4:
                guard siblingSets[Int(s.set)]._withUnsafeGuaranteedRef({ $0.anyNamePresent(context) }) else { return false }
                return any(s, context)
            default:
                return keywords[Int(s.start)]._withUnsafeGuaranteedRef { $0.matches(utf8: context.event.object.rawBytes) }
            }
        }

        /// Whether one of selection `s`'s maps holds.
        @inline(__always)
        private func any(_ s: Selection, _ context: EventContext) -> Bool {
            var m = Int(s.start)
            let end = m + Int(s.count)
            while m < end {
                let range = maps[m]
                if all(Int(range.start), Int(range.count), context) { return true }
                m += 1
            }
            return false
        }

        @inline(__always)
        private func all(_ start: Int, _ count: Int, _ context: EventContext) -> Bool {
            var i = start
            let end = start + count
            while i < end {
                if !test(i, context) { return false }
                i += 1
            }
            return true
        }
    }
}
