import AuditJSON
import AuditModel

/// What judging one event found, before any detector state (duplicates, the stage gate,
/// held matches, correlations) is touched: everything `Detector.apply` needs that depends on
/// the event alone.
///
/// Judging is the costly, stateless half of detection, so a replay judges events on several
/// threads (one `EventJudge` each) and applies the verdicts on one thread in input order:
/// the alerts come out as a one-thread run gives them.
public struct EventVerdict: Sendable {
    /// stageTimestamp, else requestReceivedTimestamp (microseconds); nil when neither parses.
    var time: Int64?
    var stage: Detector.Stage
    /// Hashes of the audit ID, and of the audit ID with the stage; 0 when there is no audit ID.
    var requestKey: UInt64
    var duplicateKey: UInt64
    /// `EventIdentity.fingerprint` of the event (0 without an audit ID).
    var fingerprint: UInt32
    /// A ResponseComplete event of a request that may have been judged at ResponseStarted.
    var mayBeLongRunning: Bool
    /// How many of the event's matches (in the buffer given to `judge`) are of rules that do
    /// not name `stage` (they come first), and of rules that do. Each match is its position
    /// in `JudgeRules.gated`/`.staged` shifted left by one, with bit 0 set when no filter
    /// dropped it.
    public internal(set) var gatedCount: Int32
    public internal(set) var stagedCount: Int32

    /// Matches this verdict wrote into the buffer.
    public var matchCount: Int { Int(gatedCount + stagedCount) }
}

/// The compiled rules, split for the stage gate and indexed: read-only, shared by every
/// judge of a detector (on any thread).
final class JudgeRules: Sendable {
    let plan: DetectionPlan
    /// Rules that do not name `stage` (judged once per request), by position in the index,
    /// and the plan's rule number of each position.
    let gated: RuleIndex
    let gatedRules: [Int]
    /// Rules that name `stage` (they see every event they ask for).
    let staged: RuleIndex
    let stagedRules: [Int]
    /// Whether any rule has a filter (else no match needs checking against one).
    let hasFilters: Bool
    /// One more than the highest `FieldTest.resultSlot` of the rules and filters: what a
    /// judge's context keeps results for.
    let resultSlots: Int
    /// The seed of every judge's verdict memos: an event's fingerprint folds in its class
    /// keys' hashes, which must not depend on the thread that judged it.
    let memoSeed = UInt64.random(in: 1...UInt64.max)

    init(plan: DetectionPlan) {
        self.plan = plan
        var gatedRules: [Int] = []
        var stagedRules: [Int] = []
        for (i, r) in plan.rules.enumerated() {
            if r.compiled.namesStage { stagedRules.append(i) } else { gatedRules.append(i) }
        }
        self.gatedRules = gatedRules
        self.stagedRules = stagedRules
        gated = RuleIndex(gatedRules.map { plan.rules[$0].compiled })
        staged = RuleIndex(stagedRules.map { plan.rules[$0].compiled })
        hasFilters = plan.rules.contains { !$0.filters.isEmpty }
        var slots = 0
        for r in plan.rules {
            for c in [r.compiled] + r.filters {
                for t in c.program.tests { slots = max(slots, t.resultSlot + 1) }
            }
        }
        resultSlots = slots
    }
}

/// Judges events against a detector's rules: the indexed rules, their filters and the
/// event's identity. Holds per-thread state only (the event context and verdict memos); make
/// one per thread with `Detector.makeJudge()`.
public final class EventJudge {
    let rules: JudgeRules
    /// The indexes, held here too (one load fewer per use than through `rules`).
    private let gated: RuleIndex
    private let staged: RuleIndex
    /// Whether any rule names `stage` (the bundled pack has none): else the staged index is
    /// not asked about each event (two calls that would only find it empty).
    private let hasStaged: Bool
    let context: EventContext
    let gatedMemo: VerdictMemo?
    let stagedMemo: VerdictMemo?
    /// Where the detector's duplicate table keeps an event's buckets, for the judge the
    /// detector runs itself (set before each run of judging): they are fetched while the
    /// rules run. Judges on other threads ask for nothing. The table's address and size, not
    /// the table: reaching it through a reference called a closure per event.
    var duplicatePrefetcher = RecentKeys.Prefetcher.none
    /// The same for the table of requests seen at ResponseStarted (long-running requests insert
    /// into it and their completions look it up), and whether it may hold any.
    var startedPrefetcher = RecentKeys.Prefetcher.none
    var startedMayHoldKeys = false

    init(rules: JudgeRules, options: DetectorOptions) {
        self.rules = rules
        gated = rules.gated
        staged = rules.staged
        hasStaged = !rules.staged.rules.isEmpty
        context = EventContext(AuditEvent())
        context.keepResults(slots: rules.resultSlots)
        if options.rememberRequestBodies { context.bodyVerdicts = BodyVerdicts(slots: rules.resultSlots) }
        if options.memoizeVerdicts {
            gatedMemo = VerdictMemo(
                rules: rules.gated.rules, candidateLists: rules.gated.candidates, classCapacity: options.eventClassCapacity,
                seed: rules.memoSeed)
            // Most packs have no rule that names `stage`: no memo is then asked about each event.
            stagedMemo =
                !hasStaged
                ? nil
                : VerdictMemo(
                    rules: rules.staged.rules, candidateLists: rules.staged.candidates,
                    classCapacity: options.eventClassCapacity, seed: rules.memoSeed)
        } else {
            gatedMemo = nil
            stagedMemo = nil
        }
    }

    /// Judges `event`: appends its matches to `matches` (see `EventVerdict.gatedCount`) and
    /// returns what else the detector needs. Leaves the event in `context`.
    public func judge(_ event: AuditEvent, into matches: inout [Int32]) -> EventVerdict {
        withUnsafePointer(to: event) { judge(at: $0, into: &matches) }
    }

    /// `judge(_:into:)` for an event read where it lies (a batch's): passed by value it was
    /// copied first, its storage retained and released, per event. Everything below reads the
    /// event through the context's index.
    func judge(at event: UnsafePointer<AuditEvent>, into matches: inout [Int32]) -> EventVerdict {
        context.reset(at: event)
        let index = context.index
        let stage = Detector.Stage(index[.stage])
        var requestKey: UInt64 = 0
        var duplicateKey: UInt64 = 0
        var mayBeLongRunning = false
        if let id = index[.auditID]?.rawStringContents {
            // `fastHash` ends in a full multiply, so its hash is used as it is, and each stage
            // xors in its own multiple of the golden ratio (stages are never 0): no further
            // mixing on the way to the prefetch.
            requestKey = max(fastHash(id, seed: ByteHasher.seed), 1)
            duplicateKey = requestKey ^ UInt64(stage.rawValue) &* 0x9E37_79B9_7F4A_7C15
            // The duplicate table is larger than the caches: its cell arrives while the rules run.
            duplicatePrefetcher.prefetch(duplicateKey)
            // The long-running table is read only for a ResponseStarted and for the completion
            // of what may be a long-running request (`Detector.apply`, `Detector.prefetch`):
            // asked for every completion, its buckets were fetched for nearly every event and
            // most never read (no change measurable on the 1 GiB corpus, session 37).
            mayBeLongRunning = stage == .responseComplete && EventIdentity.mayBeLongRunning(index)
            if stage == .responseStarted || (mayBeLongRunning && startedMayHoldKeys) {
                startedPrefetcher.prefetch(requestKey)
            }
        }
        // The event classes' tables are larger than the first-level caches too: both class
        // keys are made and their cells asked for first, the event's identity is worked out
        // while they arrive, then the class records are asked for, and only then looked up.
        let gatedList = gated.prepare(context, memo: gatedMemo)
        let stagedList = hasStaged ? staged.prepare(context, memo: stagedMemo) : nil
        let stageTime = index.stageMicros
        let time = stageTime ?? index.requestReceivedMicros
        let fingerprint: UInt32
        if requestKey == 0 {
            fingerprint = 0
        } else if let memo = gatedMemo, memo.keysHoldFingerprintValues {
            fingerprint = EventIdentity.fingerprint(
                index, stageTime: stageTime, identityHash: memo.identityHash, shapeHash: memo.shapeHash)
        } else {
            fingerprint = EventIdentity.fingerprint(index, stageTime: stageTime)
        }
        gatedMemo?.prefetchClassRecord()
        stagedMemo?.prefetchClassRecord()
        let first = matches.count
        let unfiltered: Int32 = rules.hasFilters ? 0 : 1
        gated.forEachMatch(context, list: gatedList, memo: gatedMemo) { matches.append(Int32($0) << 1 | unfiltered) }
        let gatedEnd = matches.count
        if hasStaged {
            staged.forEachMatch(context, list: stagedList, memo: stagedMemo) { matches.append(Int32($0) << 1 | unfiltered) }
        }
        if rules.hasFilters { applyFilters(matches: &matches, first: first, gatedEnd: gatedEnd) }
        return EventVerdict(
            time: time, stage: stage, requestKey: requestKey, duplicateKey: duplicateKey, fingerprint: fingerprint,
            mayBeLongRunning: mayBeLongRunning, gatedCount: Int32(gatedEnd - first),
            stagedCount: Int32(matches.count - gatedEnd))
    }

    /// Sets bit 0 of each match no filter of its rule drops.
    private func applyFilters(matches: inout [Int32], first: Int, gatedEnd: Int) {
        for k in first..<matches.count {
            let position = Int(matches[k] >> 1)
            let rule = k < gatedEnd ? rules.gatedRules[position] : rules.stagedRules[position]
            if !rules.plan.rules[rule].filters.contains(where: { $0.matches(context) }) { matches[k] |= 1 }
        }
    }

    /// The verdict memos' figures, for the detector's counters.
    func addMemoCounters(to c: inout DetectorCounters) {
        for memo in [gatedMemo, stagedMemo] {
            guard let memo else { continue }
            c.verdictMemoHits += memo.hits
            c.verdictMemoMisses += memo.misses
            c.verdictMemoResets += memo.resets
            c.eventClassHits += memo.classHits
            c.eventClassMisses += memo.classMisses
        }
        if let memo = context.bodyVerdicts {
            c.requestBodiesRemembered += memo.hits
            c.requestBodiesKept += memo.stores
            c.requestBodiesNotKept += memo.misses
        }
    }
}
