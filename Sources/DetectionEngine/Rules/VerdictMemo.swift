import AuditJSON
import AuditModel

/// Remembers what rules concluded from who made a request and what kind of request it was,
/// so that the thousandth request of a controller costs a table lookup, not the rules.
///
/// Most rules start with the identity (user name, groups, user agent, source address) and
/// the shape of the request (verb, resource, subresource, API group, status code, the
/// authorizer's decision), and some with the namespace. On a real cluster these repeat: a
/// few hundred identities make almost every request, each a few kinds of request. For each
/// rule the memo keeps, per distinct combination of those values, the rule's verdict with
/// every other test unknown, in three-valued logic: false (no event with these values can
/// match: skip the rule), true (every such event matches), or unknown (judge the event in
/// full). `not filter_system_users` makes a rule about pod specs false for a controller
/// without looking at the spec.
///
/// Per event, in order of cost:
/// - the identity's and the shape's records (each looked up by its slots' bytes) carry the
///   rules each leaves possible; when together they rule out every candidate of the event's
///   list, the event is done (most events: a controller's request that no rule is about);
/// - else the pair's class (list, identity, shape) says which rules to skip, which match and
///   which to judge in full;
/// - a new class is worked out from its slots' signatures (`signatureClasses`), or rule by
///   rule from the per-group tables below.
///
/// The values a rule may read are `MemoSlot`s; each slot of an event is numbered once
/// (`ValueInterner`, bytes compared, so two different values never share a number), and
/// rules reading the same slots share a table keyed by those numbers, probed once per event.
///
/// Bounded: each slot remembers at most `ValueInterner.maxValues` values of at most
/// `ValueInterner.maxValueBytes` bytes, each table `maxEntries` combinations; a full table
/// is cleared (counted in `resets`) and refilled, and a longer value goes unmemoized (the
/// rules are evaluated). High-cardinality values (URIs, names, timestamps) are never slots,
/// so tests of them stay unknown and are evaluated per event.
final class VerdictMemo {
    /// What the memo says about a rule for the current event.
    enum Verdict: UInt8 {
        case notComputed = 0, no, yes, unknown
    }

    /// Combinations remembered per table before it is cleared.
    static let maxEntries = 4096
    static let rulesPerGroup = 32
    /// Slots one key combines (12 bits of value number each, in two words).
    static let maxSlotsPerKey = 10

    let rules: [CompiledRule]
    /// The rules again, unretained (`rules` keeps them), for judging without a retain and
    /// release of each rule around its evaluation.
    private let unretainedRules: UnsafeMutablePointer<Unmanaged<CompiledRule>>
    /// Per rule, per program test: whether the test reads only the group's slots.
    private let known: [[Bool]]
    /// The same, split: the known tests that read an identity slot, and those that read a
    /// shape slot (see `appendPossibleRules`), with the verdicts worked out from them.
    private var identityHalf: HalfVerdicts
    private var shapeHalf: HalfVerdicts
    private let groupCount: Int
    private var interners: [ValueInterner]

    // Flat tables in memory the memo owns, so lookups touch no reference counts.
    /// Per rule: its group (-1: not memoized) and its bit pair in the group's states.
    private let ruleGroup: UnsafeMutablePointer<Int32>
    private let ruleShift: UnsafeMutablePointer<UInt8>
    /// Per group: the slots its key combines, as a bit set.
    private let groupSlots: UnsafeMutablePointer<UInt32>
    /// Per group: its combinations.
    private let tables: UnsafeMutablePointer<MemoTable>
    /// Per-event caches, valid while their stamp equals `stamp`.
    private var stamp: UInt32 = 1
    private let slotID: UnsafeMutablePointer<Int32>
    private let slotStamp: UnsafeMutablePointer<UInt32>
    private let groupEntry: UnsafeMutablePointer<Int32>
    private let groupStamp: UnsafeMutablePointer<UInt32>

    /// Lookups answered from a table, lookups that had to judge the rule's known tests,
    /// and tables cleared because they were full.
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var ownResets = 0
    /// Tables cleared, this memo's and its event classes'.
    var resets: Int { ownResets + identities.resets + shapes.resets + classes.resets + signatureClasses.resets }
    /// The first level, in two halves: who made the request (`identities`, keyed by the bytes
    /// of the identity slots any rule reads) and what was asked (`shapes`, the other slots).
    /// Each numbers its distinct values and keeps, per slot, the value's signature. A
    /// cluster has a few hundred identities and a thousand or so request shapes, but several
    /// times as many pairs of them: keyed as one, each pair was a new class whose every slot
    /// was numbered and signed again, and whose key bytes were compared on each hit.
    private var identities: EventClasses
    private var shapes: EventClasses
    private let identitySlots: UInt32
    private let shapeSlots: UInt32
    /// The event classes: candidate list, identity number and shape number to the rules
    /// they leave to judge. Forgotten whenever either half is, since the numbers are then
    /// reused.
    private var classes: PairClasses
    /// Per candidate list of the rule index: the slots its rules' groups read.
    private let listSlots: [UInt32]
    /// `MemoSlot.positions`, held here (class keys and value numbers read it): read through
    /// the lazily made global, every read began with a check that it was made.
    private let slotPositions = MemoSlot.positions
    /// Whether `prepareClass` made the current event's half keys (false until it has, or
    /// when a key does not fit).
    private var classKeyed = false
    /// Where the current event's class is looked up in `classes` (see `PairClasses`).
    private var classHome: UInt32 = 0
    /// A new half's record while it is built: its number, the signature of each of its slots
    /// (-1: none), then the rules it leaves possible (see `appendPossibleRules`); a shape's
    /// record ends with its candidate list (-1: none, a key has escapes).
    private var halfRecord: [Int32] = []
    /// Slots in each half: where a record's possible rules start (after number and signatures).
    private let identitySlotCount: Int
    private let shapeSlotCount: Int
    /// 64-bit words in a set of rules.
    private let ruleWords: Int
    /// Per candidate list of the rule index: its rules as a set (`ruleWords` words each),
    /// then one more set with every bit on (`allRules`).
    private let listRules: UnsafeMutablePointer<UInt64>
    /// Every rule, as a set (for a shape whose own rules are already its list's).
    private let allRules: UnsafeMutablePointer<UInt64>
    /// The rules a half leaves possible depend only on its slots' signatures: computed once
    /// per combination of them (on the 64 MiB benchmark corpus 29 for 208 identities, 347 for
    /// 1,230 shapes), keyed by the signatures' bytes.
    private var identityVerdicts: EventClasses
    private var shapeVerdicts: EventClasses
    /// Events whose identity and shape together rule out every candidate (no class lookup).
    private(set) var ruledOut = 0
    /// Whether the shape half holds the verb, resource and subresource, so that one shape
    /// always comes with one candidate list: the shape's record keeps it, and the rule index
    /// looks it up once per shape instead of once per event.
    let shapeGivesList: Bool

    /// The first half of `forEachMatch`: the current event's identity and shape keys, and a
    /// prefetch of where their lookups start (see `EventJudge.judge`). False when a key does
    /// not fit (the event goes rule by rule).
    @inline(__always)
    func prepareClass(_ context: EventContext) -> Bool {
        let index = context.index
        classKeyed =
            identities.prepare(index, slots: identitySlots, positions: slotPositions)
            && shapes.prepare(index, slots: shapeSlots, positions: slotPositions)
        if classKeyed {
            identities.prefetchCell()
            shapes.prefetchCell()
            classHome = PairClasses.home(identityHash: identities.scratchHash, shapeHash: shapes.scratchHash)
            classes.prefetch(classHome)
        }
        return classKeyed
    }

    /// Whether `prepareClass` made the current event's keys and they hold the user name, verb
    /// and status code, so that their hashes (`identityHash`, `shapeHash`) stand for those
    /// values in the event's fingerprint (`EventIdentity.fingerprint(_:stageTime:identityHash:shapeHash:)`).
    @inline(__always)
    var keysHoldFingerprintValues: Bool { classKeyed && coversFingerprintValues }
    private let coversFingerprintValues: Bool
    /// The hashes of the current event's identity and shape keys (after `prepareClass`).
    @inline(__always)
    var identityHash: UInt64 { identities.scratchHash }
    @inline(__always)
    var shapeHash: UInt64 { shapes.scratchHash }

    /// A prefetch of the prepared halves' records, once their cells have had time to arrive.
    @inline(__always)
    func prefetchClassRecord() {
        if classKeyed {
            identities.prefetchRecord()
            shapes.prefetchRecord()
        }
    }

    /// The second level, for events of a new class: classes keyed by what the rules can
    /// tell of each slot value (its signature), not by the bytes. Fifteen namespaces that
    /// no rule names are one signature; a new pod address in a known range is no new class.
    private var signatureClasses: EventClasses
    /// Per slot, every test of the memoized rules that reads only that slot.
    private let slotTests: [[FieldTest]]
    /// Per slot and value number: the value's signature number, -1 until computed.
    private let signatureOfValue: UnsafeMutablePointer<Int32>
    /// Per slot: the signatures seen (which of the slot's tests pass), numbered; at most
    /// `maxSignatures` per slot (values of a slot with more go the rule-by-rule way).
    private var signatureNumbers: [[[Bool]: Int32]]
    /// Per slot: each signature's outcomes again, as bits (in signature order), for
    /// `HalfVerdicts` and `prime`.
    private let outcomes: UnsafeMutablePointer<SignatureOutcomes>
    /// Per rule, its tests whose outcomes `prime` reads from the event's records:
    /// `primes[primeStart[r]..<primeStart[r + 1]]`.
    private let primes: UnsafeMutablePointer<Prime>
    private let primeStart: UnsafeMutablePointer<Int>
    static let maxSignatures = 4096
    private var signatureKey: [UInt16] = []
    private var classList: [Int32] = []
    var classHits: Int { classes.hits + ruledOut }
    var classMisses: Int { classes.misses }

    /// `candidateLists`: the rule index's lists of candidate rules, numbered as the index
    /// numbers them.
    /// `seed`: of the memo's hashes; judges of one detector share it, so that the class keys'
    /// hashes of an event, which its fingerprint folds in (`identityHash`), agree between them.
    init(rules: [CompiledRule], candidateLists: [[Int]], classCapacity: Int = 16_384, seed: UInt64 = .random(in: 1...UInt64.max)) {
        self.rules = rules
        var ruleGroup = [Int32](repeating: -1, count: rules.count)
        var ruleShift = [UInt8](repeating: 0, count: rules.count)
        var known: [[Bool]] = Array(repeating: [], count: rules.count)
        var groups: [UInt32] = []
        var rulesInGroup: [Int] = []
        var openGroup: [UInt32: Int] = [:]
        for (i, rule) in rules.enumerated() {
            var slots: [MemoSlot] = []
            for t in rule.program.tests where t.readsOneField {
                if let s = MemoSlot(t.source), !slots.contains(s) { slots.append(s) }
            }
            guard !slots.isEmpty else { continue }
            // A key holds five slots; tests of the others stay unknown.
            slots = Array(slots.sorted { $0.rawValue < $1.rawValue }.prefix(Self.maxSlotsPerKey))
            let set = slots.reduce(UInt32(0)) { $0 | 1 << UInt32($1.rawValue) }
            known[i] = rule.program.tests.map { t in t.readsOneField && MemoSlot(t.source).map(slots.contains) == true }
            let g: Int
            if let open = openGroup[set], rulesInGroup[open] < Self.rulesPerGroup {
                g = open
            } else {
                g = groups.count
                groups.append(set)
                rulesInGroup.append(0)
                openGroup[set] = g
            }
            ruleGroup[i] = Int32(g)
            ruleShift[i] = UInt8(2 * rulesInGroup[g])
            rulesInGroup[g] += 1
        }
        self.known = known
        func knownIn(identity: Bool) -> [[Bool]] {
            rules.indices.map { i in
                zip(rules[i].program.tests, known[i]).map { test, isKnown in
                    guard isKnown, let slot = MemoSlot(test.source) else { return false }
                    return (MemoSlot.identityMask & 1 << UInt32(slot.rawValue) != 0) == identity
                }
            }
        }
        groupCount = groups.count
        interners = MemoSlot.allCases.map { _ in ValueInterner(seed: seed) }
        // Half numbers must fit the pair key.
        let halfCapacity = min(classCapacity, 1 << PairClasses.numberBits - 1)
        identities = EventClasses(seed: seed, capacity: halfCapacity)
        shapes = EventClasses(seed: seed, capacity: halfCapacity)
        classes = PairClasses(capacity: classCapacity)
        signatureClasses = EventClasses(seed: seed, capacity: classCapacity)
        identityVerdicts = EventClasses(seed: seed, capacity: halfCapacity)
        shapeVerdicts = EventClasses(seed: seed, capacity: halfCapacity)
        var slotTests: [[FieldTest]] = MemoSlot.allCases.map { _ in [] }
        for (i, rule) in rules.enumerated() where ruleGroup[i] >= 0 {
            for t in rule.program.tests where t.readsOneField {
                guard let k = MemoSlot(t.source)?.rawValue, !slotTests[k].contains(where: { $0 === t }) else { continue }
                slotTests[k].append(t)
            }
        }
        self.slotTests = slotTests
        signatureNumbers = MemoSlot.allCases.map { _ in [:] }
        outcomes = .allocate(capacity: slotTests.count)
        for (k, tests) in slotTests.enumerated() { (outcomes + k).initialize(to: SignatureOutcomes(tests: tests.count)) }
        let perSlot = ValueInterner.maxValues + 1
        signatureOfValue = .allocate(capacity: MemoSlot.allCases.count * perSlot)
        signatureOfValue.initialize(repeating: -1, count: MemoSlot.allCases.count * perSlot)
        // A class key holds the slots the list's rules read.
        listSlots = candidateLists.map { list in
            list.reduce(UInt32(0)) { set, r in ruleGroup[r] >= 0 ? set | groups[Int(ruleGroup[r])] : set }
        }
        let read = groups.reduce(UInt32(0), |)
        identitySlots = read & MemoSlot.identityMask
        shapeSlots = read & ~MemoSlot.identityMask
        identitySlotCount = identitySlots.nonzeroBitCount
        shapeSlotCount = shapeSlots.nonzeroBitCount
        func holds(_ slots: UInt32, _ wanted: [MemoSlot]) -> Bool { wanted.allSatisfy { slots & 1 << UInt32($0.rawValue) != 0 } }
        coversFingerprintValues = holds(identitySlots, [.username]) && holds(shapeSlots, [.verb, .statusCode])
        identityHalf = HalfVerdicts(rules: rules, known: knownIn(identity: true), halfSlots: identitySlots, slotTests: slotTests)
        shapeHalf = HalfVerdicts(rules: rules, known: knownIn(identity: false), halfSlots: shapeSlots, slotTests: slotTests)
        var primeList: [Prime] = []
        primeStart = .allocate(capacity: rules.count + 1)
        for (r, rule) in rules.enumerated() {
            primeStart[r] = primeList.count
            var seen = Set<Int>()
            for t in rule.program.tests where t.readsOneField && t.resultSlot >= 0 && seen.insert(t.resultSlot).inserted {
                if let test = SignatureTest(t, halfSlots: identitySlots, slotTests: slotTests) {
                    primeList.append(Prime(inShape: false, test: test, resultSlot: t.resultSlot))
                } else if let test = SignatureTest(t, halfSlots: shapeSlots, slotTests: slotTests) {
                    primeList.append(Prime(inShape: true, test: test, resultSlot: t.resultSlot))
                }
            }
        }
        primeStart[rules.count] = primeList.count
        primes = .allocate(capacity: max(primeList.count, 1))
        primes.initialize(from: primeList, count: primeList.count)
        let listing: [MemoSlot] = [.verb, .resource, .subresource]
        let indexSlots = listing.reduce(UInt32(0)) { $0 | 1 << UInt32($1.rawValue) }
        shapeGivesList = shapeSlots & indexSlots == indexSlots
        let ruleWords = max((rules.count + 63) / 64, 1)
        self.ruleWords = ruleWords
        listRules = .allocate(capacity: (candidateLists.count + 1) * ruleWords)
        listRules.initialize(repeating: 0, count: candidateLists.count * ruleWords)
        for (n, list) in candidateLists.enumerated() {
            for r in list { listRules[n * ruleWords + r >> 6] |= 1 << UInt64(r & 63) }
        }
        allRules = listRules + candidateLists.count * ruleWords
        allRules.initialize(repeating: ~0, count: ruleWords)

        unretainedRules = .allocate(capacity: max(rules.count, 1))
        unretainedRules.initialize(from: rules.map(Unmanaged.passUnretained), count: rules.count)
        self.ruleGroup = .allocate(capacity: max(rules.count, 1))
        self.ruleGroup.initialize(from: ruleGroup, count: rules.count)
        self.ruleShift = .allocate(capacity: max(rules.count, 1))
        self.ruleShift.initialize(from: ruleShift, count: rules.count)
        let n = max(groups.count, 1)
        groupSlots = .allocate(capacity: n)
        groupSlots.initialize(repeating: 0, count: n)
        for (g, slots) in groups.enumerated() { groupSlots[g] = slots }
        tables = .allocate(capacity: n)
        for g in 0..<n { (tables + g).initialize(to: MemoTable()) }
        let slotCount = MemoSlot.allCases.count
        slotID = .allocate(capacity: slotCount)
        slotID.initialize(repeating: 0, count: slotCount)
        slotStamp = .allocate(capacity: slotCount)
        slotStamp.initialize(repeating: 0, count: slotCount)
        groupEntry = .allocate(capacity: n)
        groupEntry.initialize(repeating: -1, count: n)
        groupStamp = .allocate(capacity: n)
        groupStamp.initialize(repeating: 0, count: n)
    }

    deinit {
        for k in 0..<MemoSlot.allCases.count { outcomes[k].free() }
        outcomes.deallocate()
        primes.deallocate()
        primeStart.deallocate()
        unretainedRules.deallocate()
        ruleGroup.deallocate()
        ruleShift.deallocate()
        groupSlots.deallocate()
        for g in 0..<max(groupCount, 1) { tables[g].free() }
        for interner in interners { interner.free() }
        identities.free()
        shapes.free()
        identityVerdicts.free()
        shapeVerdicts.free()
        listRules.deallocate()
        classes.free()
        signatureClasses.free()
        signatureOfValue.deallocate()
        tables.deallocate()
        slotID.deallocate()
        slotStamp.deallocate()
        groupEntry.deallocate()
        groupStamp.deallocate()
    }

    /// Rules the memo can answer for.
    var memoizedRuleCount: Int { (0..<rules.count).reduce(0) { $0 + (ruleGroup[$1] >= 0 ? 1 : 0) } }

    /// Starts a new event: every per-event cache becomes stale.
    @inline(__always)
    func begin() {
        classKeyed = false
        stamp &+= 1
        if stamp == 0 {
            slotStamp.update(repeating: 0, count: MemoSlot.allCases.count)
            groupStamp.update(repeating: 0, count: max(groupCount, 1))
            stamp = 1
        }
    }

    /// Calls `body` with every rule of `index`'s candidate list `given` (in rule order) that
    /// the context's event matches: the event's identity and shape records, or its class, say
    /// which to skip, which match and which to judge; a class seen for the first time is
    /// worked out and remembered. The second half: `prepareClass(_:)` made the event's half
    /// keys first. `given` is `RuleIndex.listInShape` when the shape's record says which list.
    @inline(__always)
    func forEachMatch(in index: RuleIndex, list given: Int, _ context: EventContext, _ body: (Int) -> Void) {
        guard classKeyed else {
            // `prepare` gives `listInShape` only for a keyed event.
            for i in index.candidateList(given) where matches(i, context) { body(i) }
            return
        }
        let identity = identities.lookup() ?? file(identity: true, list: nil, context)
        // The list from the shape's record, or for a new shape from the index (-1: none).
        var list = given
        let shape: UnsafeBufferPointer<Int32>?
        if let known = shapes.lookup() {
            shape = known
            if given == RuleIndex.listInShape { list = Int(known[known.count - 1]) }
        } else {
            if given == RuleIndex.listInShape { list = index.listNumber(context.index) ?? -1 }
            shape = file(identity: false, list: list >= 0 ? list : nil, context)
        }
        guard list >= 0 else {
            for i in 0..<rules.count where matches(i, context) { body(i) }  // escaped text: every rule
            return
        }
        guard let identity, let shape, list < 1 << PairClasses.listBits else {
            for i in index.candidateList(list) where matches(i, context) { body(i) }
            return
        }
        // A shape that gives the list holds only that list's rules (`appendPossibleRules`):
        // the list's own set, a table larger than the first-level cache, is then not read.
        if rulesOut(list: given == RuleIndex.listInShape ? nil : list, identity: identity, shape: shape) {
            ruledOut &+= 1
            return
        }
        let key = PairClasses.key(list: list, identity: identity[0], shape: shape[0])
        if let known = classes.lookup(key, home: classHome) {
            judge(known, identity: identity, shape: shape, context, body)
            return
        }
        let candidates = index.candidateList(list)
        classList.removeAll(keepingCapacity: true)
        let signed = prepareSignatures(list: list, identity: identity, shape: shape)
        if signed, let known = signatureClasses.lookup() {
            classList.append(contentsOf: known)
        } else {
            for i in candidates {
                switch verdict(i, context) {
                case .no: continue
                case .yes: classList.append(Int32(~i))
                default: classList.append(Int32(i))
                }
            }
            if signed { signatureClasses.insert(classList) }
        }
        classes.insert(key, home: classHome, classList)
        classList.withUnsafeBufferPointer { judge($0, identity: identity, shape: shape, context, body) }
    }

    /// Whether the event's identity and shape (their records) between them rule out every
    /// rule of candidate list `list` (nil: the shape's own rules are already the list's):
    /// then no rule can match, and the class need not be looked up. Most events end here.
    @inline(__always)
    private func rulesOut(list: Int?, identity: UnsafeBufferPointer<Int32>, shape: UnsafeBufferPointer<Int32>) -> Bool {
        let fromIdentity = UnsafeRawPointer(identity.baseAddress! + 1 + identitySlotCount)
        let fromShape = UnsafeRawPointer(shape.baseAddress! + 1 + shapeSlotCount)
        let candidates = list.map { listRules + $0 * ruleWords } ?? allRules
        var left: UInt64 = 0
        for w in 0..<ruleWords {
            left |=
                candidates[w] & fromIdentity.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self)
                & fromShape.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self)
        }
        return left == 0
    }

    /// Files the current event's identity or shape (whose key `prepareClass` made) as new:
    /// numbers it, signs each of its slots and works out the rules it leaves possible; a
    /// shape's record ends with `list`, its candidate list (-1: none). Returns the record, nil
    /// when it could not be filed. A half that was full forgets every half value, so the
    /// classes keyed by their numbers are forgotten too.
    private func file(identity: Bool, list: Int?, _ context: EventContext) -> UnsafeBufferPointer<Int32>? {
        halfRecord.removeAll(keepingCapacity: true)
        halfRecord.append(0)
        var set = identity ? identitySlots : shapeSlots
        while set != 0 {
            let k = set.trailingZeroBitCount
            set &= set - 1
            halfRecord.append(signature(k, context) ?? -1)
        }
        let filed: UnsafeMutablePointer<Int32>?
        let forgot: Bool
        let number: Int
        if identity {
            appendPossibleRules(verdicts: &identityVerdicts, half: &identityHalf, list: nil, context)
            (filed, forgot) = identities.insert(halfRecord)
            number = identities.count - 1
        } else {
            appendPossibleRules(verdicts: &shapeVerdicts, half: &shapeHalf, list: shapeGivesList ? list : nil, context)
            halfRecord.append(Int32(truncatingIfNeeded: list ?? -1))
            (filed, forgot) = shapes.insert(halfRecord)
            number = shapes.count - 1
        }
        if forgot { classes.removeAll() }
        guard let filed else { return nil }
        filed[0] = Int32(number)
        return UnsafeBufferPointer(start: filed, count: halfRecord.count)
    }

    /// Appends to `halfRecord` (number and signatures so far) the rules the half leaves
    /// possible, as `ruleWords` 64-bit words in pairs of `Int32`s: every rule but those whose
    /// condition is false whatever the other half holds, judged in three-valued logic with
    /// only the half's own tests known. The events of an identity that no identity rule fits,
    /// asking for a shape no request rule fits, need no class at all.
    ///
    /// The tests of a slot give the same results for values of one signature, so the set is
    /// a function of the signatures and is worked out once per combination of them (in
    /// `verdicts`), each rule's verdict from its tests' outcomes (`HalfVerdicts`); a slot
    /// without a signature leaves every rule possible. A shape holds the values the rule
    /// index picks the candidate list by (`shapeGivesList`), so its events all have the list
    /// `list` and only that list's rules are worked out for it.
    private func appendPossibleRules(verdicts: inout EventClasses, half: inout HalfVerdicts, list: Int?, _ context: EventContext) {
        guard !halfRecord.dropFirst().contains(where: { $0 < 0 }) else {
            // Every rule possible (of the shape's list, when it has one).
            let words = list.map { listRules + $0 * ruleWords } ?? allRules
            for w in 0..<ruleWords {
                let word = words[w]
                halfRecord.append(Int32(truncatingIfNeeded: word))
                halfRecord.append(Int32(truncatingIfNeeded: word >> 32))
            }
            return
        }
        halfRecord[0] = Int32(truncatingIfNeeded: list ?? -1)  // the key: list and signatures
        halfRecord.withUnsafeBytes { verdicts.prepare(key: UnsafeRawBufferPointer($0)) }
        halfRecord[0] = 0
        if let known = verdicts.lookup() {
            halfRecord.append(contentsOf: known)
            return
        }
        var possible = [Int32](repeating: 0, count: 2 * ruleWords)
        for r in 0..<rules.count {
            if let list, listRules[list * ruleWords + r >> 6] & 1 << UInt64(r & 63) == 0 { continue }
            if !half.hasTests[r] || !ruledOut(r, half: &half, context) {
                possible[r >> 5] |= Int32(bitPattern: 1 << UInt32(r & 31))
            }
        }
        verdicts.insert(possible)
        halfRecord.append(contentsOf: possible)
    }

    /// Whether rule `r` is false whatever the other half holds, for the half in `halfRecord`:
    /// looked up by its known tests' outcomes (read from the signatures), worked out by a
    /// three-valued walk of the rule the first time.
    private func ruledOut(_ r: Int, half: inout HalfVerdicts, _ context: EventContext) -> Bool {
        let start = half.start[r]
        var at = -1
        if start >= 0 {
            var passed = 0
            for (n, t) in half.tests[r].enumerated() where passes(t, signature: Int(halfRecord[1 + t.position])) {
                passed |= 1 << n
            }
            at = start + passed
            let state = half.states[at]
            if state != 0 { return state == 1 }
        }
        let out =
            half.known[r].withUnsafeBufferPointer { k in
                unretainedRules[r]._withUnsafeGuaranteedRef { $0.partial(context, known: k) }
            } == false
        if at >= 0 { half.states[at] = out ? 1 : 2 }
        return out
    }

    /// The signature-level key of the current event into `signatureClasses`: the list's
    /// number and the signature number of each slot the list reads, taken from the event's
    /// identity and shape records. False when a slot has no signature (its value is too long
    /// to number, or its slot already has `maxSignatures` signatures).
    private func prepareSignatures(list: Int, identity: UnsafeBufferPointer<Int32>, shape: UnsafeBufferPointer<Int32>) -> Bool {
        signatureKey.removeAll(keepingCapacity: true)
        signatureKey.append(UInt16(truncatingIfNeeded: list))
        signatureKey.append(UInt16(truncatingIfNeeded: list >> 16))
        var set = listSlots[list]
        while set != 0 {
            let k = set.trailingZeroBitCount
            set &= set - 1
            let bit = UInt32(1) << UInt32(k)
            let below = bit - 1
            let signature =
                identitySlots & bit != 0
                ? identity[1 + (identitySlots & below).nonzeroBitCount] : shape[1 + (shapeSlots & below).nonzeroBitCount]
            guard signature >= 0 else { return false }
            signatureKey.append(UInt16(signature))
        }
        signatureKey.withUnsafeBytes { signatureClasses.prepare(key: $0) }
        return true
    }

    /// The signature number of the current event's value in slot `k` (which of the slot's
    /// tests it passes), numbering it if new; nil when the value cannot be numbered (too
    /// long) or the slot already has `maxSignatures` signatures.
    private func signature(_ k: Int, _ context: EventContext) -> Int32? {
        let id = self.id(k, context.index)
        guard id >= 0 else { return nil }
        let at = k * (ValueInterner.maxValues + 1) + id
        if signatureOfValue[at] >= 0 { return signatureOfValue[at] }
        let passes = slotTests[k].map { $0.evaluate(context) }
        let signature: Int32
        if let n = signatureNumbers[k][passes] {
            signature = n
        } else {
            guard signatureNumbers[k].count < Self.maxSignatures else { return nil }
            signature = Int32(signatureNumbers[k].count)
            signatureNumbers[k][passes] = signature
            outcomes[k].append(passes)
        }
        signatureOfValue[at] = signature
        return signature
    }

    @inline(__always)
    private func judge(
        _ list: UnsafeBufferPointer<Int32>, identity: UnsafeBufferPointer<Int32>, shape: UnsafeBufferPointer<Int32>,
        _ context: EventContext, _ body: (Int) -> Void
    ) {
        for code in list {
            if code < 0 {
                body(Int(~code))
                continue
            }
            let r = Int(code)
            prime(r, identity: identity, shape: shape, context)
            if unretainedRules[r]._withUnsafeGuaranteedRef({ $0.matches(context) }) { body(r) }
        }
    }

    /// Gives the context the outcome of each of rule `r`'s tests that reads one identity or
    /// shape slot, read from the slot's signature in the event's records, before the rule is
    /// judged in full: the rule then evaluates only what the memo cannot know (a name, a
    /// body), not again its user filters and its verb, resource and status tests. A slot
    /// without a signature (-1) leaves its tests to be evaluated.
    @inline(__always)
    private func prime(
        _ r: Int, identity: UnsafeBufferPointer<Int32>, shape: UnsafeBufferPointer<Int32>, _ context: EventContext
    ) {
        let start = primeStart[r]
        let end = primeStart[r + 1]
        guard start < end else { return }
        let identityBase = identity.baseAddress! + 1
        let shapeBase = shape.baseAddress! + 1
        for i in start..<end {
            let p = primes[i]
            let signature = Int((p.inShape ? shapeBase : identityBase)[p.test.position])
            guard signature >= 0 else { continue }
            context.keep(passes(p.test, signature: signature), p.resultSlot)
        }
    }

    /// Whether rule `r` matches the context's event: from the memo when it knows, by
    /// evaluating the rule otherwise.
    @inline(__always)
    func matches(_ r: Int, _ context: EventContext) -> Bool {
        switch verdict(r, context) {
        case .no: return false
        case .yes: return true
        default: return unretainedRules[r]._withUnsafeGuaranteedRef { $0.matches(context) }
        }
    }

    /// The memo's verdict on rule `r` for the current event (never `.notComputed`).
    @inline(__always)
    func verdict(_ r: Int, _ context: EventContext) -> Verdict {
        let g = Int(ruleGroup[r])
        guard g >= 0 else { return .unknown }
        let entry = groupStamp[g] == stamp ? Int(groupEntry[g]) : self.entry(g, context.index)
        guard entry >= 0 else { return .unknown }
        let shift = UInt64(ruleShift[r])
        let state = UInt8(truncatingIfNeeded: (tables[g].cells[entry].state &>> shift) & 3)
        if state != 0 {
            hits &+= 1
            return Verdict(rawValue: state)!
        }
        return judge(r, group: g, entry: entry, shift: shift, context)
    }

    /// A combination not seen for rule `r`: evaluates the tests the memo knows.
    private func judge(_ r: Int, group g: Int, entry: Int, shift: UInt64, _ context: EventContext) -> Verdict {
        misses += 1
        let computed: Verdict
        let rule = unretainedRules[r]
        switch known[r].withUnsafeBufferPointer({ known in rule._withUnsafeGuaranteedRef { $0.partial(context, known: known) } }) {
        case .some(false): computed = .no
        case .some(true): computed = .yes
        case .none: computed = .unknown
        }
        tables[g].cells[entry].state |= UInt64(computed.rawValue) << shift
        return computed
    }

    /// The table entry of group `g` for the current event's values, found once per event;
    /// -1 when a value is too long to memoize.
    private func entry(_ g: Int, _ index: EnvelopeIndex) -> Int {
        var key: (UInt64, UInt64) = (1 << 63, 0)
        var slots = groupSlots[g]
        var position: UInt64 = 0
        while slots != 0 {
            let k = slots.trailingZeroBitCount
            slots &= slots - 1
            let id = self.id(k, index)
            if id < 0 {
                groupStamp[g] = stamp
                groupEntry[g] = -1
                return -1
            }
            if position < 5 {
                key.0 |= UInt64(id) << (12 * position)
            } else {
                key.1 |= UInt64(id) << (12 * (position - 5))
            }
            position += 1
        }
        if tables[g].count >= Self.maxEntries {
            ownResets += 1
            clear(group: g)
        }
        let i = tables[g].findOrInsert(key)
        groupStamp[g] = stamp
        groupEntry[g] = Int32(i)
        return i
    }

    private func clear(group g: Int) {
        tables[g].clear()
        groupStamp[g] = 0
    }

    /// The current event's value number in slot `k`, 0 when absent, -1 when the value is
    /// too long to memoize.
    private func id(_ k: Int, _ index: EnvelopeIndex) -> Int {
        if slotStamp[k] == stamp { return Int(slotID[k]) }
        slotStamp[k] = stamp
        var id = 0
        if let v = index[position: slotPositions[k]] {
            id = interners[k].id(v.rawBytes)
            if id == ValueInterner.full {
                // Every number of this slot changes: forget what was keyed by them.
                ownResets += 1
                interners[k].clear()
                // Value numbers are reused: their signatures must be found again.
                (signatureOfValue + k * (ValueInterner.maxValues + 1)).update(repeating: -1, count: ValueInterner.maxValues + 1)
                for g in 0..<groupCount where groupSlots[g] & (1 << UInt32(k)) != 0 { clear(group: g) }
                id = interners[k].id(v.rawBytes)
            }
        }
        slotID[k] = Int32(id)
        return id
    }
}

extension VerdictMemo {
    /// A test whose outcome a slot's signature holds: where the slot's signature sits in a
    /// half's record (after the half's number), the slot, and the test's place among the
    /// slot's tests (`slotTests`).
    struct SignatureTest {
        var position: Int
        var slot: Int
        var test: Int

        /// `test`'s place among the tests of its slot in `halfSlots`, nil when it reads no
        /// slot of that half or is not among its slot's tests.
        init?(_ test: FieldTest, halfSlots: UInt32, slotTests: [[FieldTest]]) {
            guard let k = MemoSlot(test.source)?.rawValue, halfSlots & 1 << UInt32(k) != 0,
                let j = slotTests[k].firstIndex(where: { $0 === test })
            else { return nil }
            position = (halfSlots & (UInt32(1) << UInt32(k) - 1)).nonzeroBitCount
            slot = k
            self.test = j
        }
    }

    /// Whether the test passes for a value of signature `signature` in its slot.
    @inline(__always)
    func passes(_ t: SignatureTest, signature: Int) -> Bool {
        outcomes[t.slot].word(signature, test: t.test) >> UInt64(t.test & 63) & 1 != 0
    }

    /// A test `prime` gives the context the outcome of: in the identity's or the shape's
    /// record, and where the context keeps its result.
    struct Prime {
        var inShape: Bool
        var test: SignatureTest
        var resultSlot: Int
    }

    /// One slot's signatures' outcomes: per signature, a bit per test of the slot
    /// (`slotTests`), in words of memory the memo owns (read per event by `prime`, so no
    /// array is retained there).
    struct SignatureOutcomes {
        let words: Int
        private(set) var bits: UnsafeMutablePointer<UInt64>
        private var capacity: Int
        private(set) var count = 0

        init(tests: Int) {
            words = max((tests + 63) / 64, 1)
            capacity = 16
            bits = .allocate(capacity: capacity * words)
        }

        func free() { bits.deallocate() }

        /// The word of signature `signature` that holds test `test`'s bit.
        @inline(__always)
        func word(_ signature: Int, test: Int) -> UInt64 { bits[signature * words + test >> 6] }

        /// Adds the next signature's outcomes.
        mutating func append(_ passes: [Bool]) {
            if count == capacity {
                let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * capacity * words)
                grown.initialize(from: bits, count: count * words)
                bits.deallocate()
                bits = grown
                capacity *= 2
            }
            let at = bits + count * words
            at.initialize(repeating: 0, count: words)
            for (j, pass) in passes.enumerated() where pass { at[j >> 6] |= 1 << UInt64(j & 63) }
            count += 1
        }
    }
}

extension VerdictMemo {
    /// A rule's verdict with one half's tests known (`appendPossibleRules`) is a function of
    /// whether each of those tests passes, and each outcome is in its slot's signature. So
    /// the verdicts are tabulated per rule and combination of outcomes: a new combination of
    /// signatures costs a few loads per rule, not a walk of each rule's program and the
    /// evaluation of its tests (which learning new halves spent most of its time on).
    struct HalfVerdicts {
        /// Known tests per rule beyond which its verdicts are walked each time (2^n states).
        static let maxTabulated = 10
        /// Per rule and program test: whether the test is one of the half's known tests.
        let known: [[Bool]]
        /// Per rule: whether it has any (else it is always possible).
        let hasTests: [Bool]
        /// Per rule: its known tests, in program order.
        let tests: [[SignatureTest]]
        /// Per rule: where its states start (-1: more than `maxTabulated` tests).
        let start: [Int]
        /// Per rule and combination of outcomes (bit n: its n-th known test passes): 0 not
        /// worked out yet, 1 ruled out, 2 possible.
        var states: [UInt8]

        init(rules: [CompiledRule], known: [[Bool]], halfSlots: UInt32, slotTests: [[FieldTest]]) {
            self.known = known
            hasTests = known.map { $0.contains(true) }
            // A known test not among its slot's tests would have no outcome to read: its
            // rule is walked each time (it cannot happen; `slotTests` holds every one).
            let mapped: [[SignatureTest]?] = rules.indices.map { r in
                var list: [SignatureTest] = []
                // Rules the memo does not key on have no known tests (an empty list).
                for (i, isKnown) in known[r].enumerated() where isKnown {
                    guard let test = SignatureTest(rules[r].program.tests[i], halfSlots: halfSlots, slotTests: slotTests)
                    else { return nil }
                    list.append(test)
                }
                return list
            }
            tests = mapped.map { $0 ?? [] }
            var start: [Int] = []
            var size = 0
            for list in mapped {
                guard let list else {
                    start.append(-1)
                    continue
                }
                if list.isEmpty || list.count > Self.maxTabulated {
                    start.append(-1)
                } else {
                    start.append(size)
                    size += 1 << list.count
                }
            }
            self.start = start
            states = [UInt8](repeating: 0, count: size)
        }
    }
}

/// One group's combinations of value numbers and the verdicts found for them: open
/// addressing, starting small and doubling as it fills, so the tables of a quiet cluster stay
/// in the processor's caches.
struct MemoTable {
    struct Cell {
        var key: UInt64  // 0: empty
        var key2: UInt64
        var state: UInt64  // two bits per rule of the group
    }

    static let initialCapacity = 64
    private(set) var cells: UnsafeMutablePointer<Cell>
    private var mask: Int
    private(set) var count = 0

    init() {
        cells = .allocate(capacity: Self.initialCapacity)
        cells.initialize(repeating: Cell(key: 0, key2: 0, state: 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
    }

    func free() { cells.deallocate() }

    mutating func clear() {
        cells.update(repeating: Cell(key: 0, key2: 0, state: 0), count: mask + 1)
        count = 0
    }

    /// The cell of `key` (its first word non-zero), inserted with no verdicts if new.
    @inline(__always)
    mutating func findOrInsert(_ key: (UInt64, UInt64)) -> Int {
        var i = Self.slot(key.0, key.1) & mask
        while true {
            let k = cells[i].key
            if k == key.0 && cells[i].key2 == key.1 { return i }
            if k == 0 { break }
            i = (i + 1) & mask
        }
        if (count + 1) * 2 > mask + 1 {
            grow()
            return findOrInsert(key)
        }
        cells[i] = Cell(key: key.0, key2: key.1, state: 0)
        count += 1
        return i
    }

    @inline(__always)
    private static func slot(_ a: UInt64, _ b: UInt64) -> Int { Int(truncatingIfNeeded: ByteHasher.mix(a ^ (b &* 0x9E37_79B9_7F4A_7C15))) }

    private mutating func grow() {
        (cells, mask) = doubledTable(
            cells, mask: mask, empty: Cell(key: 0, key2: 0, state: 0), isOccupied: { $0.key != 0 },
            home: { Self.slot($0.key, $0.key2) & $1 })
    }
}

/// An envelope value that rules test and that few events differ in. Tests of a slot are a
/// function of its raw bytes alone, which is what makes their results reusable.
enum MemoSlot: Int, CaseIterable, Hashable {
    case username, groups, uid, userAgent, sourceIPs, impersonatedUser
    case verb, stage, level, apiVersion, kind, resource, subresource, apiGroup, refAPIVersion
    case statusCode, statusStatus, statusReason, decision
    case namespace

    /// The slots that say who made a request (the rest say what was asked).
    static let identityMask: UInt32 = [username, groups, uid, userAgent, sourceIPs, impersonatedUser]
        .reduce(0) { $0 | 1 << UInt32($1.rawValue) }

    /// The slot whose bytes decide every value of `source`, if any.
    init?(_ source: FieldSource) {
        switch source {
        case .envelope(let f):
            switch f {
            case .verb: self = .verb
            case .stage: self = .stage
            case .level: self = .level
            case .apiVersion: self = .apiVersion
            case .kind: self = .kind
            case .userAgent: self = .userAgent
            case .sourceIPs: self = .sourceIPs
            case .impersonatedUser: self = .impersonatedUser
            default: return nil
            }
        case .nested(let f):
            switch f {
            case .userUsername: self = .username
            case .userGroups: self = .groups
            case .userUID: self = .uid
            case .refResource: self = .resource
            case .refSubresource: self = .subresource
            case .refNamespace: self = .namespace
            case .refAPIGroup: self = .apiGroup
            case .refAPIVersion: self = .refAPIVersion
            case .statusCode: self = .statusCode
            case .statusStatus: self = .statusStatus
            case .statusReason: self = .statusReason
            case .annotationDecision: self = .decision
            default: return nil
            }
        case .derived(.sourceIP): self = .sourceIPs
        case .derived(.serviceAccountName), .derived(.serviceAccountNamespace): self = .username
        case .path(let p):
            // `impersonatedUser.username` and friends: the walk starts at the indexed member.
            guard p.segments.first.map({ $0.elementsEqual("impersonatedUser".utf8) }) == true else { return nil }
            self = .impersonatedUser
        default:
            return nil
        }
    }

    /// `position` by raw value, in memory read without reference counting: going through
    /// `MemoSlot(rawValue:)` was a call per slot, a dozen per event.
    /// Written once, when first read, and only read after (hence `nonisolated(unsafe)`).
    nonisolated(unsafe) static let positions: UnsafePointer<Int> = {
        let table = UnsafeMutablePointer<Int>.allocate(capacity: allCases.count)
        for slot in allCases { table[slot.rawValue] = slot.position }
        return UnsafePointer(table)
    }()

    /// The slot's position in the envelope index. A switch of constants compiles to a table
    /// load; a switch of field reads was an indirect jump per slot, mispredicted as the
    /// class key walks a different slot each time.
    @inline(__always)
    var position: Int {
        switch self {
        case .verb: EnvelopeField.verb.rawValue
        case .stage: EnvelopeField.stage.rawValue
        case .level: EnvelopeField.level.rawValue
        case .apiVersion: EnvelopeField.apiVersion.rawValue
        case .kind: EnvelopeField.kind.rawValue
        case .userAgent: EnvelopeField.userAgent.rawValue
        case .sourceIPs: EnvelopeField.sourceIPs.rawValue
        case .impersonatedUser: EnvelopeField.impersonatedUser.rawValue
        case .username: NestedField.userUsername.rawValue
        case .groups: NestedField.userGroups.rawValue
        case .uid: NestedField.userUID.rawValue
        case .resource: NestedField.refResource.rawValue
        case .subresource: NestedField.refSubresource.rawValue
        case .namespace: NestedField.refNamespace.rawValue
        case .apiGroup: NestedField.refAPIGroup.rawValue
        case .refAPIVersion: NestedField.refAPIVersion.rawValue
        case .statusCode: NestedField.statusCode.rawValue
        case .statusStatus: NestedField.statusStatus.rawValue
        case .statusReason: NestedField.statusReason.rawValue
        case .decision: NestedField.annotationDecision.rawValue
        }
    }
}

/// Numbers distinct byte strings: 1, 2, ... in the order first seen (0 is never used).
/// Values are compared byte for byte, so numbers never collide.
struct ValueInterner {
    /// Values numbered before the interner reports `full` (numbers fit in 12 bits).
    static let maxValues = 4000
    /// Longer values are not numbered (`tooLong`): a hostile user agent costs no memory.
    static let maxValueBytes = 512
    static let full = -2
    static let tooLong = -1

    /// Open addressing: value number (0: empty) and hash, in memory the interner owns
    /// (freed by `free`), so lookups touch no reference counts.
    private var table: UnsafeMutablePointer<(hash: UInt64, id: Int32)>
    private var mask: Int
    private var starts: [Int] = [0]
    private var arena: [UInt8] = []
    private let seed: UInt64
    private static let initialCapacity = 64

    init(seed: UInt64) {
        self.seed = seed
        table = .allocate(capacity: Self.initialCapacity)
        table.initialize(repeating: (0, 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
    }

    func free() { table.deallocate() }

    var count: Int { starts.count - 1 }

    mutating func clear() {
        table.deallocate()
        table = .allocate(capacity: Self.initialCapacity)
        table.initialize(repeating: (0, 0), count: Self.initialCapacity)
        mask = Self.initialCapacity - 1
        starts.removeAll(keepingCapacity: true)
        starts.append(0)
        arena.removeAll(keepingCapacity: true)
    }

    /// The number of `bytes` (numbering it if new), `tooLong` or `full`.
    mutating func id(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard bytes.count <= Self.maxValueBytes else { return Self.tooLong }
        let hash = fastHash(bytes, seed: seed)
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let n = Int(table[i].id)
            if n == 0 { break }
            if table[i].hash == hash && equals(n, bytes) { return n }
            i = (i + 1) & mask
        }
        guard count < Self.maxValues else { return Self.full }
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        table[i] = (hash, Int32(count))
        if count * 2 > mask + 1 { grow() }
        return count
    }

    private mutating func grow() {
        (table, mask) = doubledTable(
            table, mask: mask, empty: (0, 0), isOccupied: { $0.id != 0 }, home: { Int(truncatingIfNeeded: $0.hash) & $1 })
    }

    private func equals(_ n: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[n - 1]
        guard starts[n] - start == bytes.count else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        return arena.withUnsafeBufferPointer { a in bytesMatch(a.baseAddress! + start, base, bytes.count, fold: false) }
    }
}
