import AuditJSON
import AuditModel

/// The bounds and clocks of a `Detector`. Every time is event time, in microseconds.
public struct DetectorOptions: Sendable {
    /// How late an event may arrive (behind the newest event time seen) and still be
    /// correlated in order. Matches feeding correlations wait this long before they are
    /// applied, and a fifth of it more at most (`applyInSteps`, never more than a second).
    /// 5 s suits a log file; the webhook backend delivers batches up to its
    /// 30 s timeout late, so `kaudit serve` behind a slow apiserver wants 30 s or more.
    public var lateness: Int64 = 5_000_000
    /// How far ahead of the stream's clock (the newest event time) one event's time may lie
    /// and move it. A time further ahead (a node's clock set wrong, a damaged or injected
    /// line) moves the clock only when the next event agrees with it, being ahead as well and
    /// not earlier (a log resuming after a gap): one event stamped next year would otherwise
    /// move every correlation window, the lateness and the duplicate horizon with it, and
    /// every later event would count as late. Such times are counted (`clockJumpsHeld`).
    public var maxClockJump: Int64 = 600_000_000
    /// How long a request may stay at RequestReceived before that event is judged on its
    /// own (the apiserver's default request timeout is 60 s).
    public var requestTimeout: Int64 = 60_000_000
    /// How long an event's identity is remembered to recognise a second delivery of it.
    public var duplicateWindow: Int64 = 300_000_000
    /// Identities the table is sized for (two 16-byte slots each: 8 MiB at the default, in
    /// 2 MiB pages where the kernel allows); beyond it each new identity replaces the oldest
    /// of the eight it could share buckets with (counted in `duplicateTableEvictions`).
    public var duplicateCapacity = 262_144
    /// Long-running requests (watch, exec, attach, port-forward) remembered as judged at
    /// ResponseStarted, and for how long, so their ResponseComplete is not judged again
    /// (a table like the duplicates' one).
    public var longRunningCapacity = 65_536
    public var longRunningWindow: Int64 = 4 * 3_600_000_000
    /// RequestReceived matches held while waiting for the request's later stage.
    public var pendingCapacity = 10_000
    /// Correlation inputs waiting out the lateness, and the bytes of their evidence (or of
    /// their event held in the `EvidenceRing`, which this bound therefore bounds too; an
    /// input queued as a record counts 256 bytes more, its record and key slot): at
    /// 100,000 events/s with a 30 s lateness the queue would otherwise hold minutes of
    /// evidence. Beyond either bound the oldest input is applied early (counted in
    /// `latenessQueueOverflows`); only an input arriving later than it could then be
    /// correlated out of order.
    public var maxQueuedInputs = 200_000
    public var maxQueuedBytes = 64 << 20
    /// Bounds of each correlation's state.
    public var correlationLimits = CorrelationLimits()
    /// Evidence events kept per alert.
    public var maxEvidence = 10
    /// Remember rule verdicts per combination of envelope values (`VerdictMemo`). Off only
    /// to check that the memo changes no result.
    public var memoizeVerdicts = true
    /// Remember the results of tests that read only the request body, per body, so a body
    /// seen again is not walked again (`BodyVerdicts`: at most 512 bodies of up to 16 KiB
    /// per judging thread). Off only to check that it changes no result.
    public var rememberRequestBodies = true
    /// Set aside later steps of sequences that no sequence can be waiting for
    /// (`SequenceWatch`). Off only to check what setting aside changes.
    public var setAsideSequenceSteps = true
    /// Queue the inputs of event_count and value_count correlations as records (`RecordedInput`)
    /// when they are in order. Off only to check that records change no result.
    public var recordCountingInputs = true
    /// Apply queued inputs and advance windows when the watermark (the clock less the
    /// lateness) has moved a fifth of the lateness, at most a second, rather than at every
    /// event. Off only to compare.
    public var applyInSteps = true
    /// Event classes the memo remembers which rules to judge for, per rule index, and as
    /// many distinct identities and request shapes; when full, they are forgotten and
    /// relearnt (counted in `verdictMemoResets`). A class is a 64-byte cell, an identity or
    /// shape a record of its raw bytes (a few hundred bytes), per judging thread.
    public var eventClassCapacity = 8_192

    public init() {}
}

/// What the detector did, and every bound it hit.
public struct DetectorCounters: Sendable, Equatable {
    public var events = 0
    /// Events delivered again (same audit ID, stage and content) and judged only once.
    public var duplicates = 0
    /// Different events sharing an audit ID and stage (each raises a built-in alert).
    public var auditIDReuses = 0
    /// ResponseComplete events of requests already judged at ResponseStarted.
    public var laterStagesSkipped = 0
    /// RequestReceived events that matched and waited for a later stage.
    public var requestReceivedHeld = 0
    /// ...of which the later stage came (and was judged instead).
    public var requestReceivedSuperseded = 0
    /// ...of which none came in time, so the RequestReceived event was judged.
    public var requestReceivedJudged = 0
    /// Held RequestReceived matches judged early because `pendingCapacity` was reached.
    public var pendingOverflows = 0
    /// Identities forgotten early because a table was full.
    public var duplicateTableEvictions = 0
    public var longRunningTableEvictions = 0
    /// Rule matches dropped by a filter.
    public var filtered = 0
    /// Rule matches (before `generate` decides whether they alert).
    public var ruleMatches = 0
    public var correlationFirings = 0
    /// Correlation inputs that arrived later than the lateness allows.
    public var lateInputs = 0
    /// Events whose time lay more than `maxClockJump` ahead of the stream's clock and did not
    /// move it on their own: an outlier, or the first event after a gap in the log (the next
    /// one then moved the clock).
    public var clockJumpsHeld = 0
    public var alerts = 0
    /// Rule verdicts answered by the verdict memo, computed for it, and memo tables cleared
    /// because they were full (many distinct user names, agents or addresses).
    public var verdictMemoHits = 0
    public var verdictMemoMisses = 0
    public var verdictMemoResets = 0
    /// Events settled by their identity's and request shape's records (every candidate rule
    /// ruled out by one or the other, or the pair's class seen before, so one lookup said which
    /// rules to judge), and events of a new class worked out rule by rule.
    public var eventClassHits = 0
    public var eventClassMisses = 0
    /// Events whose request body was judged before, byte for byte, so the tests that read
    /// only the body were answered from memory (`BodyVerdicts`); bodies kept on their second
    /// sighting; and lookups that found nothing kept (first sightings, bodies over the size
    /// bound).
    public var requestBodiesRemembered = 0
    public var requestBodiesKept = 0
    public var requestBodiesNotKept = 0
    /// Correlation inputs applied before their lateness had passed, because the queue was at
    /// `maxQueuedInputs` or `maxQueuedBytes`.
    public var latenessQueueOverflows = 0
    /// Later steps of sequences set aside when matched, as plain records with no group key
    /// made: no sequence could be waiting for them by their turn (see `SequenceWatch`).
    public var sequenceStepsSetAside = 0
    /// ...of which a sequence was there after all at their turn (its first step arrived out
    /// of order, after them, before setting aside was suspended): applied without their event
    /// in the evidence (the alert's `evidence_total` still counts it).
    public var setAsideStepsWithoutEvidence = 0
    /// Inputs of event_count and value_count correlations queued as records (`RecordedInput`:
    /// their key's and value's bytes, no key made unless their state keeps a new group or
    /// value); the others (out of order, or with longer keys) are queued as inputs.
    public var countingInputsRecorded = 0

    public init() {}
}

/// Runs a `DetectionPlan` over a stream of events, in event time.
///
/// Per event: duplicate check, the stage gate, indexed single-event rules and their
/// filters, alerts for matches, and correlation inputs for rules that feed correlations.
/// Correlation inputs wait in a time-ordered queue until the newest event time seen is
/// `lateness` past them, so events out of order within the lateness correlate as if they
/// had arrived in order; they are applied, and windows closed, in steps of the watermark
/// (`applyInSteps`); alerts from correlations come out when their last input is released.
///
/// Judging each request once (the stage gate):
/// - rules that do not test `stage` see a request at ResponseComplete, or at ResponseStarted
///   for long-running requests (whose ResponseComplete is then skipped), or at Panic;
/// - a RequestReceived event is judged only when no later stage of the request arrives within
///   `requestTimeout` (or before the end of input); matches it had wait until then;
/// - rules that test `stage` see every event.
///
/// Duplicates: an event whose audit ID, stage and content (timestamps, verb, user, status
/// code, URI length) were seen within `duplicateWindow` is skipped; one with
/// the same audit ID and stage but other content is judged and raises the built-in
/// "audit ID reused" alert (the Audit-ID header is client-settable).
public final class Detector {
    public let plan: DetectionPlan
    public let options: DetectorOptions
    /// What the detector counted itself; `counters` adds the tables' and correlations' figures.
    private var tally = DetectorCounters()
    /// Matches per rule, after filters (index: `plan.rules`).
    public private(set) var matchesByRule: [Int]
    /// Alerts per correlation (index: `plan.correlations`).
    public private(set) var firingsByCorrelation: [Int]

    /// Built-in finding: two different events with one audit ID and stage.
    public static let auditIDReuseRule = RuleInfo(
        id: "kaudit-audit-id-reuse", title: "Audit ID Reused By A Different Request", level: .medium,
        attack: ["defense-evasion", "t1070"], kind: .builtin,
        description:
            "Two different events carry the same audit ID and stage. Clients can set the Audit-ID header, so a request can hide behind another's ID; review both requests.")

    private let sink: (Alert) -> Void
    /// The rules, shared with every judge made by `makeJudge()`.
    private let rules: JudgeRules
    /// The judge `process` uses; its context holds the event being applied.
    private let judge: EventJudge
    private var context: EventContext { judge.context }
    /// A second context, for judging held events read back from their bytes.
    private let replayContext: EventContext
    private let states: [CorrelationState]
    /// The correlation inputs each rule's match makes.
    private let routes: InputRoutes
    /// Which later steps of sequences may be set aside, and the queued first steps' digests.
    private let watch: SequenceWatch
    /// The clock reading from which steps may be set aside: twice the lateness after the
    /// first correlation input, and again after each first step that arrived out of order
    /// (a stream out of order keeps it suspended). `.min` before the first input.
    private var setAsideResumes = Int64.min
    /// Events whose evidence may never be needed, until their inputs are applied.
    private let ring = EvidenceRing()
    /// The evidence last made from the ring, for the next input of the same event.
    private var lastHeldEvidence: (start: Int, evidence: Evidence)?

    private let duplicates: RecentKeys
    private let startedRequests: RecentKeys
    private var pending: [UInt64: Held] = [:]
    private var pendingOrder: [(key: UInt64, time: Int64)] = []
    private var pendingHead = 0
    /// Which keys may be in `pending` (asked before the dictionary, by nearly every event).
    private var pendingFilter = KeyFilter()
    private var queue = InputQueue()

    /// The newest event time seen; `Int64.min` before the first timed event.
    private var newestTime = Int64.min
    /// The time of the event before (duplicates aside), for `maxClockJump`.
    private var previousTime = Int64.min
    /// The earliest window deadline of any correlation (never later than the truth), lowered
    /// as inputs are applied and recomputed after windows advanced or a chained correlation
    /// took an input, so an event that feeds no correlation checks one number.
    private var earliestDeadline = Int64.max
    private var deadlinesChanged = false
    /// How far the watermark (the clock less the lateness) moves before queued inputs are
    /// applied and windows advanced again: a fifth of the lateness, at most a second (0 when
    /// `applyInSteps` is off). Applied one or two at a time, between events that mostly match
    /// nothing, each input found the correlation code out of the instruction cache; in steps,
    /// a second's inputs are applied in a row (callgrind, 64 MiB corpus: 23% fewer
    /// first-level instruction-cache misses; 1 GiB: 315 -> 308 ns of detection per event,
    /// medians of runs of one binary taking turns with the option off; session 34). Each step
    /// is what the detector did at every event had no event arrived in between, so the
    /// alerts are the same ones, out a step later at most.
    private let applyStep: Int64
    /// The watermark to which inputs were last applied and windows advanced (`.min`: never).
    private var appliedWatermark = Int64.min
    /// The clock reading from which `housekeeping` may have held requests, queued inputs or
    /// correlation windows to see to (`dueTime`); before it, it only moves the tables'
    /// horizons. `.min` (see to them at the next event) whenever a request is held, an input
    /// applied or a correlation fires, and no later than a queued input's due time: nearly
    /// every event needs none of this, and finding that out took more instructions than the
    /// rest of applying its verdict.
    private var nextDue = Int64.min
    /// The rules matched by the event being judged, when it is held.
    private var heldMatches: [Int] = []
    /// The event's matches (see `EventVerdict.gatedCount`), collected before they are applied.
    private var matchBuffer: [Int32] = []
    /// Reused to make each correlation input's group key (one allocation per key), and
    /// value_count's value.
    private let keyBuilder = GroupKey.Builder()
    private let valueBuilder = GroupKey.Builder()
    /// A batch's verdicts, judged before any is applied (`process(batch:afterEach:)`).
    private var batchVerdicts: [EventVerdict] = []
    /// Memo figures of judges that ran on other threads (`absorbCounters(of:)`).
    private var judgedElsewhere = DetectorCounters()

    private struct Held {
        let time: Int64
        let evidence: Evidence
        let rules: [Int]
    }

    public init(plan: DetectionPlan, options: DetectorOptions = .init(), sink: @escaping (Alert) -> Void) {
        self.plan = plan
        self.options = options
        self.sink = sink
        rules = JudgeRules(plan: plan)
        judge = EventJudge(rules: rules, options: options)
        replayContext = EventContext(AuditEvent())
        states = plan.correlations.map { CorrelationState(spec: $0.spec, limits: options.correlationLimits) }
        routes = InputRoutes(plan) { [states] c in options.recordCountingInputs && states[c].takesRecordedInputs }
        watch = SequenceWatch(plan, states: states, enabled: options.setAsideSequenceSteps)
        // Every event inserts a key, so a busy stream fills any smaller size within minutes:
        // the table starts at its full size (8 MiB at the default capacity). Starting at
        // 2 MiB, its two doublings rehashed 400,000 keys on the 1 GiB corpus, 3% of detection
        // (315 -> 307 ns per event, medians of six alternating runs; session 34); the full
        // table's first writing costs a few milliseconds, and a test's detector about as much.
        duplicates = RecentKeys(capacity: options.duplicateCapacity, initialSlots: 2 * options.duplicateCapacity)
        // Every watch's ResponseStarted inserts a key, and a cluster's controllers keep
        // thousands of watches open: the 1 GiB corpus fills the table to its capacity, so it
        // starts there too (2 MiB at the default), sparing its growth (1% of detection).
        startedRequests = RecentKeys(capacity: options.longRunningCapacity, initialSlots: 2 * options.longRunningCapacity)
        matchesByRule = Array(repeating: 0, count: plan.rules.count)
        firingsByCorrelation = Array(repeating: 0, count: plan.correlations.count)
        applyStep = options.applyInSteps ? min(1_000_000, max(0, options.lateness / 5)) : 0
    }

    // MARK: - Events

    /// Judges one event. Alerts go to the sink, now (single-event rules) or when a later
    /// event moves time on (correlations, held RequestReceived matches).
    public func process(_ event: AuditEvent) {
        // The buffer is moved out while in use: reading it through `self` around `apply`
        // retained and released it per event.
        var matches: [Int32] = []
        swap(&matches, &matchBuffer)
        showTablesToJudge()
        let verdict = judge.judge(event, into: &matches)
        matches.withUnsafeBufferPointer { apply(verdict, matches: $0, judged: .inContext) }
        matches.removeAll(keepingCapacity: true)
        swap(&matches, &matchBuffer)
    }

    /// Judges `events` one after another, then applies their verdicts in order, calling
    /// `afterEach` after each event is applied: the same alerts, in the same order, as
    /// `process` on each event in turn. Faster: the judge's code and tables stay in the
    /// processor's caches through the run instead of taking turns with the parser's, and
    /// the table cells each verdict will touch, asked for while it was judged, have arrived
    /// by the time it is applied. The events must stay valid until this returns.
    public func process(batch events: UnsafeBufferPointer<AuditEvent>, afterEach: (() -> Void)? = nil) {
        var matches: [Int32] = []
        swap(&matches, &matchBuffer)
        var verdicts: [EventVerdict] = []
        swap(&verdicts, &batchVerdicts)
        showTablesToJudge()
        // Each event judged where it lies in the batch (passed by value, it was copied).
        let first = events.baseAddress
        for j in events.indices { verdicts.append(judge.judge(at: first.unsafelyUnwrapped + j, into: &matches)) }
        matches.withUnsafeBufferPointer { all in
            var first = 0
            for (j, verdict) in verdicts.enumerated() {
                let count = verdict.matchCount
                // The context holds the batch's last event: an event with matches is shown again.
                apply(verdict, matches: UnsafeBufferPointer(rebasing: all[first..<first + count]), judged: .inBatch(events, j))
                first += count
                afterEach?()
            }
        }
        matches.removeAll(keepingCapacity: true)
        swap(&matches, &matchBuffer)
        verdicts.removeAll(keepingCapacity: true)
        swap(&verdicts, &batchVerdicts)
    }

    /// Tells the judge where the duplicate and long-running tables keep their buckets now
    /// (they move only when a table grows, which applying a verdict can do).
    @inline(__always)
    private func showTablesToJudge() {
        judge.duplicatePrefetcher = duplicates.prefetcher
        judge.startedPrefetcher = startedRequests.prefetcher
        judge.startedMayHoldKeys = startedRequests.mayHoldKeys
    }

    /// A judge for another thread: it shares this detector's compiled rules and has its own
    /// context and memos. Its verdicts are applied here, in input order, with `apply`.
    public func makeJudge() -> EventJudge { EventJudge(rules: rules, options: options) }

    /// Adds the memo figures of a judge made by `makeJudge()` to `counters` (once, when it is done).
    public func absorbCounters(of other: EventJudge) { other.addMemoCounters(to: &judgedElsewhere) }

    /// Starts fetching the duplicate-table buckets a verdict applied a little later will read,
    /// and its buckets in the table of long-running requests when it will touch that: the
    /// tables are larger than the caches, and a caller applying a block of verdicts can hide
    /// the wait behind the verdicts before it.
    @inline(__always)
    public func prefetch(_ verdict: EventVerdict) {
        if verdict.requestKey != 0 {
            duplicates.prefetch(verdict.duplicateKey)
            if verdict.stage == .responseStarted || (verdict.mayBeLongRunning && startedRequests.mayHoldKeys) {
                startedRequests.prefetch(verdict.requestKey)
            }
        }
    }

    /// Applies one event's verdict, in input order: the duplicate check, the stage gate,
    /// held matches, alerts and correlation inputs. `matches` are the verdict's matches;
    /// `reload` gives the judged event again when a match or finding needs it (nil when it
    /// is the event `process` just judged).
    public func apply(_ verdict: EventVerdict, matches: UnsafeBufferPointer<Int32>, reload: (() -> AuditEvent)?) {
        apply(verdict, matches: matches, judged: reload.map(JudgedEvent.reload) ?? .inContext)
    }

    /// Where `apply` finds the event a verdict is about, when a match or finding needs it.
    enum JudgedEvent {
        /// In the judge's context (`process` just judged it).
        case inContext
        /// An event of the batch being processed (read in place: no copy of the event).
        case inBatch(UnsafeBufferPointer<AuditEvent>, Int)
        /// Made again on demand (a verdict judged on another thread).
        case reload(() -> AuditEvent)
    }

    private func apply(_ verdict: EventVerdict, matches: UnsafeBufferPointer<Int32>, judged: JudgedEvent) {
        tally.events += 1
        let time = verdict.time ?? (newestTime == .min ? 0 : newestTime)
        // A time far ahead of the clock is kept out of the tables' clocks (a stamp past their
        // range would make them forget every key) until the clock has followed it.
        let ahead = isFarAhead(time, of: newestTime)
        let tableTime = ahead ? newestTime : time
        var loaded = false  // whether the event is in the context (put there once, when needed)
        let requestKey = verdict.requestKey

        if requestKey != 0 {
            let fingerprint = verdict.fingerprint
            if let seen = duplicates.payloadOrInsert(verdict.duplicateKey, payload: fingerprint, time: tableTime) {
                if seen == fingerprint {
                    // Its first delivery moved the clock (or was held): a second copy of a
                    // time far ahead does not confirm it.
                    tally.duplicates += 1
                    housekeeping()
                    return
                }
                tally.auditIDReuses += 1
                if !loaded { show(judged) }
                loaded = true
                reportReuse(context.event, time: time)
                duplicates.insert(verdict.duplicateKey, payload: fingerprint, time: tableTime)
            }
        }
        advanceClock(to: time, ahead: ahead)

        var judgeOnce = true
        var hold = false
        if requestKey != 0 {
            switch verdict.stage {
            case .requestReceived:
                hold = true
            case .responseStarted:
                startedRequests.insert(requestKey, payload: 1, time: tableTime)
                supersede(requestKey)
            case .responseComplete:
                supersede(requestKey)
                if startedRequests.mayHoldKeys, verdict.mayBeLongRunning, startedRequests.payload(requestKey) != nil {
                    tally.laterStagesSkipped += 1
                    judgeOnce = false
                }
            case .panic:
                supersede(requestKey)
            case .other:
                break
            }
        }

        // Most events match nothing: they end here, and the match handling below (with its
        // large frame and the event's evidence to release) is a call only for the others.
        if verdict.matchCount > 0 {
            applyMatches(
                verdict, matches: matches, judged: judged, loaded: loaded, judgeOnce: judgeOnce, hold: hold,
                time: time, tableTime: tableTime)
        }
        housekeeping()
    }

    /// `apply`'s second half, for an event with matches: alerts, correlation inputs, or the
    /// matches held with a RequestReceived event.
    @inline(never)
    private func applyMatches(
        _ verdict: EventVerdict, matches: UnsafeBufferPointer<Int32>, judged: JudgedEvent, loaded: Bool, judgeOnce: Bool,
        hold: Bool, time: Int64, tableTime: Int64
    ) {
        let gated = UnsafeBufferPointer(rebasing: matches[0..<Int(verdict.gatedCount)])
        let staged = UnsafeBufferPointer(rebasing: matches[Int(verdict.gatedCount)..<verdict.matchCount])
        if !loaded && (judgeOnce && gated.contains { $0 & 1 != 0 } || staged.contains { $0 & 1 != 0 }) { show(judged) }
        var evidence = EventEvidence.none  // the event, copied at its first use and shared
        if judgeOnce {
            for m in gated {
                guard m & 1 != 0 else {
                    tally.filtered += 1
                    continue
                }
                let r = rules.gatedRules[Int(m >> 1)]
                if hold {
                    heldMatches.append(r)
                } else {
                    matched(r, context, time: time, evidence: &evidence)
                }
            }
        }
        for m in staged {
            guard m & 1 != 0 else {
                tally.filtered += 1
                continue
            }
            matched(rules.stagedRules[Int(m >> 1)], context, time: time, evidence: &evidence)
        }
        if !heldMatches.isEmpty {
            self.hold(
                verdict.requestKey, time: time, releaseFrom: tableTime,
                evidence: madeEvidence(&evidence, context, time: time), rules: heldMatches)
            heldMatches.removeAll(keepingCapacity: true)
        }
    }

    /// Puts the event a verdict is about in the context.
    private func show(_ judged: JudgedEvent) {
        switch judged {
        case .inContext: break
        case .inBatch(let events, let j): context.reset(at: events.baseAddress.unsafelyUnwrapped + j)  // read where it lies
        case .reload(let make): context.reset(make())
        }
    }

    /// Whether `time` lies more than `maxClockJump` past `clock` (never before the first event).
    @inline(__always)
    private func isFarAhead(_ time: Int64, of clock: Int64) -> Bool {
        guard clock != .min else { return false }
        let (gap, overflow) = time.subtractingReportingOverflow(clock)
        return overflow ? time > clock : gap > options.maxClockJump
    }

    /// Moves the stream's clock on to `time` (an event's, duplicates aside): at once when it is
    /// within `maxClockJump`, else only when the event before was far ahead too and not later
    /// than this one (see `DetectorOptions.maxClockJump`).
    @inline(__always)
    private func advanceClock(to time: Int64, ahead: Bool) {
        if time > newestTime {
            if !ahead || (isFarAhead(previousTime, of: newestTime) && time >= previousTime) {
                newestTime = time
            } else {
                tally.clockJumpsHeld += 1
            }
        }
        previousTime = time
    }

    /// End of input: judges held RequestReceived events, applies every queued correlation
    /// input, and closes every correlation window.
    public func finish() {
        while pendingHead < pendingOrder.count { releaseOldestPending() }
        while queue.count > 0 { deliverNext() }
        for c in states.indices {
            states[c].flush { firing in fired(c, firing) }
        }
    }

    /// The newest event time seen (microseconds; a time far ahead only once the next event
    /// agrees with it, see `DetectorOptions.maxClockJump`), nil before the first event: the clock that
    /// consumers of alerts (suppression windows) run on, so a replay behaves as the live run.
    public var newestEventTime: Int64? { newestTime == .min ? nil : newestTime }

    /// Correlation state currently kept, summed over correlations.
    public var correlationGroups: Int { states.reduce(0) { $0 + $1.groupCount } }
    public var correlationBytes: Int { states.reduce(0) { $0 + $1.estimatedBytes } }
    /// Each correlation's own counters (index: `plan.correlations`).
    public var correlationCounters: [CorrelationCounters] { states.map(\.counters) }

    // MARK: - Matches

    /// `shared` is the event's evidence, made (or held in the ring) at the event's first use
    /// of it: one copy of the event for all of the event's alerts and correlation inputs.
    private func matched(_ r: Int, _ context: EventContext, time: Int64, evidence shared: inout EventEvidence) {
        tally.ruleMatches += 1
        matchesByRule[r] += 1
        // Fields are read through the arrays, not copies of the rule and correlation structs
        // (a copy retains and releases every reference they hold, per match).
        // The event is read through the context where it is used: a local copy of it retained
        // and released its storage per match.
        if plan.rules[r].emitsAlerts {
            let evidence = madeEvidence(&shared, context, time: time)
            emit(
                Alert(
                    rule: plan.rules[r].compiled.info, time: time, firstTime: time, actor: AlertActor(context.event),
                    object: AlertObject(context.event), evidence: [evidence], evidenceTotal: 1))
        }
        guard routes.feeds(r) else { return }
        routes.forEachRoute(of: r) { route in
            keyBuilder.reset()
            for f in route.groupStart..<(route.groupStart + route.groupCount) {
                _ = routes.withField(f) { Self.append($0, context, to: keyBuilder) }
            }
            // An input (or a step set aside) is queued: it is due once the clock is the
            // lateness past it (`dueTime`), which nothing else queued may be.
            nextDue = min(nextDue, max(Self.due(time, after: options.lateness), nextStepDue))
            let inOrder = queue.takesInOrder(time)
            if setAsideResumes == .min { suspendSetAside() }
            let digest = keyBuilder.digest()
            if route.mayBeDropped, inOrder, newestTime >= setAsideResumes, keyBuilder.byteCount <= InputQueue.RecordRing.maxBytes,
                watch.canSetAside(route.correlation, digest: digest, states: states)
            {
                tally.sequenceStepsSetAside += 1
                queue.pushRecorded(
                    RecordedInput(
                        correlation: Int32(route.correlation), position: Int32(route.position), time: time, digest: digest,
                        evidence: nil),
                    key: keyBuilder.bytes, value: nil)
                applyOverflow()
                return
            }
            var hasValue = false
            if route.value >= 0 {
                valueBuilder.reset()
                hasValue = routes.withField(route.value) { Self.append($0, context, to: valueBuilder) }
            }
            if watch.watches(route.correlation, position: route.position) {
                watch.queued(route.correlation, digest: digest)
                // A first step out of order (older than an event before it): steps set aside
                // may have been waiting for it.
                if time < newestTime { suspendSetAside() }
            }
            if route.recordable, inOrder,
                keyBuilder.byteCount + (hasValue ? valueBuilder.byteCount : 0) <= InputQueue.RecordRing.maxBytes
            {
                tally.countingInputsRecorded += 1
                queue.pushRecorded(
                    RecordedInput(
                        correlation: Int32(route.correlation), position: Int32(route.position), time: time, digest: digest,
                        evidence: madeEvidence(&shared, context, time: time)),
                    key: keyBuilder.bytes, value: hasValue ? valueBuilder.bytes : nil)
                applyOverflow()
                return
            }
            let group = keyBuilder.key(digest: digest)
            let value = hasValue ? valueBuilder.key() : nil
            // Held in the ring only while the input waits in the queue's in-order parts, which
            // release the ring in order.
            if route.mayBeDropped, inOrder, let held = heldInRing(&shared, context, time: time) {
                queue.push(
                    QueuedInput(
                        correlation: route.correlation,
                        input: CorrelationInput(
                            input: route.position, time: time, group: group, valueKey: value, evidence: EvidenceItems([]),
                            evidenceTotal: 1),
                        held: held))
            } else {
                queue.push(
                    QueuedInput(
                        correlation: route.correlation,
                        input: CorrelationInput(
                            input: route.position, time: time, group: group, valueKey: value,
                            evidence: EvidenceItems(madeEvidence(&shared, context, time: time)), evidenceTotal: 1)))
            }
            applyOverflow()
        }
    }

    /// Sets nothing aside until the clock is twice the lateness past where it is (from the
    /// first input, and after a first step out of order: a stream out of order keeps it so).
    private func suspendSetAside() {
        func later(_ time: Int64, _ span: Int64) -> Int64 {
            let (sum, overflow) = time.addingReportingOverflow(span)
            return overflow ? .max : sum
        }
        setAsideResumes = max(setAsideResumes, later(later(newestTime, options.lateness), options.lateness))
    }

    /// `time + span`: when work at `time` is due, `span` later (`.min` when the sum
    /// overflows: the work is then looked at each time).
    @inline(__always)
    private static func due(_ time: Int64, after span: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(span)
        return overflow ? .min : sum
    }

    /// Applies the oldest queued inputs while the queue is over its bounds.
    private func applyOverflow() {
        while queue.count > options.maxQueuedInputs || queue.bytes > options.maxQueuedBytes, queue.count > 0 {
            tally.latenessQueueOverflows += 1
            deliverNext()
        }
    }

    /// An event's evidence while its matches are applied: not made yet, made (one copy of the
    /// event shared by all of the event's alerts and correlation inputs), or its bytes held in
    /// the ring for inputs that may be dropped.
    enum EventEvidence {
        case none
        case kept(Evidence)
        case held(EvidenceRing.Held)
    }

    /// The event's evidence, made at its first use.
    private func madeEvidence(_ shared: inout EventEvidence, _ context: EventContext, time: Int64) -> Evidence {
        let evidence: Evidence
        switch shared {
        case .kept(let made): return made
        case .held(let held): evidence = ring.evidence(held)
        case .none: evidence = Evidence(context.event, time: time)
        }
        shared = .kept(evidence)
        return evidence
    }

    /// The event's bytes held in the ring (nil: its evidence is made already, or needs texts
    /// of its own).
    private func heldInRing(_ shared: inout EventEvidence, _ context: EventContext, time: Int64) -> EvidenceRing.Held? {
        switch shared {
        case .kept: return nil
        case .held(let held): return held
        case .none:
            guard let layout = Evidence.layout(of: context.event) else { return nil }
            let bytes = context.event.object.rawBytes
            let held = EvidenceRing.Held(start: ring.hold(bytes), count: bytes.count, layout: layout, time: time)
            shared = .held(held)
            return held
        }
    }

    /// Appends a field's values to a group key as one value (several values joined with
    /// commas, strings decoded), or an absent value (nil: the source gives none). Returns
    /// whether a value was present.
    @discardableResult
    static func append(_ field: FieldDefinition?, _ context: EventContext, to key: GroupKey.Builder) -> Bool {
        guard let field else {
            key.appendAbsent()
            return false
        }
        // Most group-by fields are envelope strings (user, resource, namespace) in plain ASCII:
        // their raw bytes are the value, without the general walk over a field's values.
        let plain: JSONValue?
        switch field.source {
        case .envelope(let f): plain = context.index[f]
        case .nested(let f): plain = context.index[nested: f]
        default: plain = nil
        }
        if let text = plain?.rawStringContents, isPlainASCII(text, orBackslash: true) {
            key.append(value: text)
            return true
        }
        var opened = false
        forEachText(of: field, context) { text in
            if opened { key.appendByte(UInt8(ascii: ",")) } else { key.open() }
            opened = true
            // As `String(decoding:as:)` would hold it: ASCII (nearly every value) as is, other
            // bytes through a String, which repairs invalid UTF-8, so a key made from the event
            // equals one made from the same values decoded (a chained correlation's).
            if isPlainASCII(text) {
                key.appendBytes(text)
            } else {
                var s = String(decoding: text, as: UTF8.self)
                s.withUTF8 { key.appendBytes($0) }
            }
        }
        if opened { key.close() } else { key.appendAbsent() }
        return opened
    }

    /// Calls `body` with the text of each of a field's values: a string decoded, anything
    /// else as written.
    private static func forEachText(
        of field: FieldDefinition, _ context: EventContext, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        field.source.forEachValue(in: context) { value in
            switch value {
            case .text(let t): body(t)
            case .json(let j):
                if let s = j.jsonString { s.withDecodedBytes(body) } else { body(j.rawBytes) }
            }
            return true
        }
    }

    private func emit(_ alert: Alert) {
        tally.alerts += 1
        sink(alert)
    }

    private func reportReuse(_ event: AuditEvent, time: Int64) {
        let id = event.auditID?.string ?? ""
        let stage = event[.stage]?.string ?? ""
        emit(
            Alert(
                rule: Self.auditIDReuseRule, time: time, firstTime: time, actor: AlertActor(event),
                object: AlertObject(event), evidence: [Evidence(event, time: time)], evidenceTotal: 1,
                detail: "audit ID \(id) at stage \(stage) was already seen on an event with other content"))
    }

    // MARK: - Held RequestReceived matches

    /// `releaseFrom`: the time the request timeout runs from (the event's, or the clock's when
    /// the event's lies far ahead of it: held requests are released in arrival order).
    private func hold(_ key: UInt64, time: Int64, releaseFrom: Int64, evidence: Evidence, rules: [Int]) {
        tally.requestReceivedHeld += 1
        if pending.count >= options.pendingCapacity {
            tally.pendingOverflows += 1
            releaseOldestPending()
        }
        if pending.updateValue(Held(time: time, evidence: evidence, rules: rules), forKey: key) == nil {
            pendingFilter.insert(key)
        }
        pendingOrder.append((key, releaseFrom))
        nextDue = .min
    }

    /// The request reached a later stage: its RequestReceived matches are dropped (the later
    /// stage is judged instead).
    ///
    /// Nearly every event calls this, and a held request waits up to `requestTimeout`: the
    /// filter of held keys answers most calls without a dictionary lookup.
    @inline(__always)
    private func supersede(_ key: UInt64) {
        guard !pending.isEmpty, pendingFilter.mayContain(key) else { return }
        supersedeHeld(key)
    }

    /// `supersede` when the request may be held.
    private func supersedeHeld(_ key: UInt64) {
        guard pending.removeValue(forKey: key) != nil else { return }
        pendingFilter.remove(key)
        tally.requestReceivedSuperseded += 1
    }

    private func releaseOldestPending() {
        let (key, _) = pendingOrder[pendingHead]
        pendingHead += 1
        if pendingHead > 1024 && pendingHead * 2 > pendingOrder.count {
            pendingOrder.removeFirst(pendingHead)
            pendingHead = 0
        }
        guard let held = pending.removeValue(forKey: key) else { return }  // superseded
        pendingFilter.remove(key)
        tally.requestReceivedJudged += 1
        held.evidence.withEvent { event in
            guard let event else { return }
            replayContext.reset(event)
            var evidence = EventEvidence.kept(held.evidence)
            for r in held.rules { matched(r, replayContext, time: held.time, evidence: &evidence) }
        }
    }

    // MARK: - Time

    /// Moves event time on: held events past the request timeout are judged, queued inputs
    /// past the lateness are applied, correlation windows that ended are closed, and old
    /// identities are forgotten.
    private func housekeeping() {
        guard newestTime != .min else { return }
        if newestTime >= nextDue { seeToDueWork() }
        duplicates.forget(before: newestTime &- options.duplicateWindow)
        startedRequests.forget(before: newestTime &- options.longRunningWindow)
    }

    /// `housekeeping`'s work on held requests, queued inputs and correlation windows, then
    /// the next time it may have some.
    private func seeToDueWork() {
        let watermark = newestTime &- options.lateness
        while pendingHead < pendingOrder.count, pendingOrder[pendingHead].time &+ options.requestTimeout < watermark {
            releaseOldestPending()
        }
        if appliedWatermark == .min || watermark >= Self.due(appliedWatermark, after: applyStep) {
            appliedWatermark = watermark
            while let next = queue.peekTime, next <= watermark { deliverNext() }
            if !states.isEmpty {
                refreshEarliestDeadline()
                if earliestDeadline < watermark {
                    for c in states.indices {
                        if let deadline = states[c].nextDeadline, deadline < watermark {
                            states[c].advance(to: watermark) { firing in fired(c, firing) }
                        }
                    }
                    deadlinesChanged = true
                }
            }
        }
        nextDue = dueTime()
    }

    /// The clock reading from which the watermark has moved `applyStep` past where inputs were
    /// last applied (`.min`: at once).
    private var nextStepDue: Int64 {
        appliedWatermark == .min ? .min : Self.due(Self.due(appliedWatermark, after: applyStep), after: options.lateness)
    }

    /// The earliest clock reading at which `seeToDueWork` would find something to do, as things
    /// stand: the oldest held request's timeout, the oldest queued input or the earliest
    /// correlation deadline, each past the lateness (`.min` when a sum overflows: the work is
    /// then looked at each time, as before).
    private func dueTime() -> Int64 {
        @inline(__always) func after(_ t: Int64, _ d: Int64) -> Int64 { Self.due(t, after: d) }
        let lateness = options.lateness
        var due = Int64.max
        if pendingHead < pendingOrder.count {
            // Released once `time + requestTimeout < clock - lateness`.
            due = min(due, after(after(pendingOrder[pendingHead].time, options.requestTimeout), after(lateness, 1)))
        }
        // Applied once `time <= clock - lateness`, at the next step.
        let step = nextStepDue
        if let next = queue.peekTime { due = min(due, max(after(next, lateness), step)) }
        if !states.isEmpty {
            refreshEarliestDeadline()
            // Advanced once `deadline < clock - lateness`, at the next step.
            if earliestDeadline != .max { due = min(due, max(after(earliestDeadline, after(lateness, 1)), step)) }
        }
        return due
    }

    /// Works `earliestDeadline` out again when windows advanced or a chained correlation took
    /// an input since it was.
    @inline(__always)
    private func refreshEarliestDeadline() {
        guard deadlinesChanged else { return }
        deadlinesChanged = false
        earliestDeadline = states.reduce(Int64.max) { min($0, $1.nextDeadline ?? .max) }
    }

    /// Applies the queued input, or recorded input, that comes first (of a queue not empty).
    private func deliverNext() {
        if queue.nextIsRecorded {
            queue.popRecorded { input, key, value in
                if let evidence = input.evidence {
                    deliverRecorded(input, evidence: evidence, key: key, value: value)
                } else {
                    deliverSetAside(input, key: key)
                }
            }
        } else {
            deliver(queue.popFirst())
        }
    }

    /// A counting correlation's input queued as a record, at its turn.
    private func deliverRecorded(
        _ input: RecordedInput, evidence: Evidence, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>?
    ) {
        nextDue = .min
        let c = Int(input.correlation)
        let state = states[c]
        if watch.watches(c, position: Int(input.position)) { watch.applied(c, digest: input.digest) }
        state.ingestRecorded(
            time: input.time, position: Int(input.position), key: key, digest: input.digest, value: value, evidence: evidence
        ) { firing in fired(c, firing) }
        lowerEarliestDeadline(to: state)
    }

    private func deliver(_ queued: QueuedInput) {
        nextDue = .min
        let c = queued.correlation  // the closure captures the number, not a copy of the input
        let state = states[c]
        if watch.watches(c, position: queued.input.input) { watch.applied(c, digest: queued.input.group.digest) }
        if let held = queued.held {
            ring.release(before: held.start)  // inputs held in the ring are applied in order
            state.ingest(queued.input, evidence: { EvidenceItems(evidenceFromRing(held)) }) { firing in fired(c, firing) }
        } else {
            state.ingest(queued.input) { firing in fired(c, firing) }
        }
        lowerEarliestDeadline(to: state)
    }

    /// A set-aside step at its turn: counted, unless a group for its key may have been made
    /// after all (by a first step that arrived out of order, after it), when it is applied
    /// as the input it stands for, without its event's evidence (counted if a group took it).
    private func deliverSetAside(_ step: RecordedInput, key: UnsafeBufferPointer<UInt8>) {
        nextDue = .min
        let c = Int(step.correlation)
        let state = states[c]
        guard state.mayHaveGroup(step.digest) else {
            state.countStepWithoutGroup(time: step.time)
            return
        }
        let input = CorrelationInput(
            input: Int(step.position), time: step.time, group: GroupKey(encodedBytes: key, digest: step.digest), valueKey: nil,
            evidence: EvidenceItems([]), evidenceTotal: 1)
        state.ingest(
            input,
            evidence: {
                tally.setAsideStepsWithoutEvidence += 1
                return EvidenceItems([])
            }
        ) { firing in fired(c, firing) }
        lowerEarliestDeadline(to: state)
    }

    /// After an input was applied to `state`: only that state's deadlines moved. An input can
    /// move its earliest one earlier (a new group) or later (a group done); taking the
    /// minimum keeps the earliest deadline never later than the truth, and one too early only
    /// costs the check in `housekeeping`, which then recomputes it.
    @inline(__always)
    private func lowerEarliestDeadline(to state: CorrelationState) {
        if let deadline = state.nextDeadline, deadline < earliestDeadline { earliestDeadline = deadline }
    }

    /// A held event's evidence, made once for the inputs of one event applied in a row.
    private func evidenceFromRing(_ held: EvidenceRing.Held) -> Evidence {
        if let last = lastHeldEvidence, last.start == held.start { return last.evidence }
        let made = ring.evidence(held)
        lastHeldEvidence = (held.start, made)
        return made
    }

    private func fired(_ c: Int, _ firing: CorrelationFiring) {
        nextDue = .min
        tally.correlationFirings += 1
        firingsByCorrelation[c] += 1
        let correlation = plan.correlations[c]
        let firingValues = firing.group.values  // decoded once
        if correlation.emitsAlerts {
            var actor = AlertActor()
            var object = AlertObject()
            firing.evidence.last?.withEvent { event in
                if let event {
                    actor = AlertActor(event)
                    object = AlertObject(event)
                }
            }
            let group = zip(correlation.groupBy, firingValues).map { (field: $0, value: $1) }
            emit(
                Alert(
                    rule: correlation.info, time: firing.lastTime, firstTime: firing.firstTime, actor: actor,
                    object: object, evidence: firing.evidence, evidenceTotal: firing.evidenceTotal, group: group,
                    count: firing.count))
        }
        for feed in correlation.feeds {
            let outer = plan.correlations[feed.correlation]
            for position in feed.positions {
                let input = outer.inputs[position]
                let group = GroupKey(
                    input.groupValues.map { source in
                        if case .group(let k) = source, k < firingValues.count { return firingValues[k] }
                        return nil
                    })
                var value: GroupKey?
                if case .group(let k)? = input.value, k < firingValues.count, let v = firingValues[k] { value = GroupKey([v]) }
                states[feed.correlation].ingest(
                    CorrelationInput(
                        input: position, time: firing.lastTime, group: group, valueKey: value,
                        evidence: EvidenceItems(firing.evidence), evidenceTotal: firing.evidenceTotal)
                ) { outerFiring in fired(feed.correlation, outerFiring) }
                deadlinesChanged = true  // the outer correlation's deadlines moved too
            }
        }
    }

    /// Everything counted so far, with the tables' and correlations' own figures folded in.
    public var counters: DetectorCounters {
        var c = tally
        judge.addMemoCounters(to: &c)
        c.verdictMemoHits += judgedElsewhere.verdictMemoHits
        c.verdictMemoMisses += judgedElsewhere.verdictMemoMisses
        c.verdictMemoResets += judgedElsewhere.verdictMemoResets
        c.eventClassHits += judgedElsewhere.eventClassHits
        c.eventClassMisses += judgedElsewhere.eventClassMisses
        c.requestBodiesRemembered += judgedElsewhere.requestBodiesRemembered
        c.requestBodiesKept += judgedElsewhere.requestBodiesKept
        c.requestBodiesNotKept += judgedElsewhere.requestBodiesNotKept
        c.lateInputs = states.reduce(0) { $0 + $1.counters.lateInputs }
        c.duplicateTableEvictions = duplicates.evicted
        c.longRunningTableEvictions = startedRequests.evicted
        return c
    }

    // MARK: - Stages

    /// The stages, recognised from the raw value.
    enum Stage: UInt8 {
        case requestReceived = 1, responseStarted, responseComplete, panic, other

        /// Every event's stage is recognised, so the raw length picks the one name to compare
        /// (an escaped name is longer than its text and takes the general way).
        @inline(__always)
        init(_ value: JSONValue?) {
            guard let value else {
                self = .other
                return
            }
            if let raw = value.rawStringContents {
                let p = raw.baseAddress!  // Safe: a string's contents lie inside its quotes.
                let named: Stage? =
                    switch raw.count {
                    case 16: bytesEqual(p, 16, "ResponseComplete") ? .responseComplete : nil
                    case 15:
                        bytesEqual(p, 15, "ResponseStarted")
                            ? .responseStarted : bytesEqual(p, 15, "RequestReceived") ? .requestReceived : nil
                    case 5: bytesEqual(p, 5, "Panic") ? .panic : nil
                    default: nil
                    }
                if let named {
                    self = named
                    return
                }
            }
            self = Self(named: value)
        }

        private init(named value: JSONValue) {
            if value.stringEquals("ResponseComplete") {
                self = .responseComplete
            } else if value.stringEquals("ResponseStarted") {
                self = .responseStarted
            } else if value.stringEquals("RequestReceived") {
                self = .requestReceived
            } else if value.stringEquals("Panic") {
                self = .panic
            } else {
                self = .other
            }
        }
    }
}
