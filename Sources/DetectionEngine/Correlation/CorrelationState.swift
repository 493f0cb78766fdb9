// The state machine of one Sigma correlation (spec v2.1): groups inputs by their group key,
// keeps what the correlation type needs within the timespan, and fires.
//
// Two ways to judge a condition:
// - early (a lower bound only: `gt`/`gte`, or a temporal correlation without a condition):
//   the window slides with the inputs; the state fires the moment the condition holds for
//   some window of `timespan` (both ends included) and clears the group.
// - at window close (an upper bound, `eq`, `neq`): a tumbling window per group opens at its
//   first input t0 and covers [t0, t0 + timespan]; it is judged when an input or
//   `advance(to:)` passes t0 + timespan, or at `flush`.
//
// Data structures, chosen so that `ingest` is O(1) amortized for in-order inputs:
// - groups: a dictionary from the key to a slot in a slab of group objects, and an
//   intrusive doubly-linked list over the slots in update order (least recently updated
//   first) for eviction;
// - deadlines: a binary min-heap of (deadline, sequence, slot) with lazy invalidation. A
//   group has at most one live entry; when its deadline moves later (the usual case, as
//   inputs arrive) nothing is pushed, and the stale entry is re-pushed with the real
//   deadline when it surfaces. The heap is rebuilt when dead entries outnumber live groups.
// - event_count: per group a time-sorted queue (array with a moving head) of entries;
// - value_count: per group a map from value to a node of a time-sorted linked list (a value
//   moves to the tail when it is seen again), so pruning pops from the head;
// - temporal: per group one slot per referenced rule; temporal_ordered: per group one
//   chain per step.
// Out-of-order inputs (older than what the group holds, yet inside the window) are inserted
// in time order and judged against the windows of `timespan` that contain them: O(entries)
// for that input, which is rare since the engine orders inputs within its lateness. (Since
// inputs older than the newest time seen minus the timespan are late and ignored, and each
// input prunes its group to its own window, what a group keeps always fits one window with
// a non-late input; the window search is a safeguard, the sorted insert is what matters.)
//
// Choices the spec leaves open:
// - Firing clears the group (early) or its window; the group is then removed, so
//   `groupsExpired` counts only groups dropped unfired by `advance(to:)` (not by `flush`,
//   and not a window closed by the group's next input, which opens the next window).
// - evidenceTotal: event_count and the window modes count every input counted; value_count
//   and temporal (early) keep the latest input per value / per rule and count those;
//   temporal_ordered counts the chain's steps. Inputs carry their own evidenceTotal
//   (chained correlations), which is summed.
// - A tumbling window counts an out-of-order input older than its start (the window stays
//   anchored at the first input to arrive).
// - temporal_ordered with a lower-bound condition fires when the first rules in order reach
//   it (gte 2: rule 0 then rule 1); with an upper bound it judges the longest in-order chain
//   of the window at close.
// - maxBytes is checked after each input and may evict the group just updated when it alone
//   exceeds the budget. A value_count window over maxEntriesPerGroup still counts the values
//   it dropped (a dropped value seen again is counted twice).
//
// Not thread-safe and not reentrant: `emit` must not call back into the same state.
// `ingest` does not close other groups' windows: the engine calls `advance(to:)` for that.

public final class CorrelationState {
    public let spec: CorrelationSpec
    public let limits: CorrelationLimits
    public private(set) var counters = CorrelationCounters()

    /// Groups currently holding state.
    public var groupCount: Int { index.count }

    /// Current state size estimate: kept evidence (`Evidence.estimatedBytes`) plus
    /// per-entry and per-group bookkeeping.
    public var estimatedBytes: Int { totalBytes }

    private enum Mode {
        /// event_count with a lower-bound condition: sliding entries, fire early.
        case eventCount
        /// value_count with a lower-bound condition: sliding distinct values, fire early.
        case valueCount
        /// temporal with no condition or a lower-bound one: latest time per rule, fire early.
        case temporal
        /// temporal_ordered with no condition or a lower-bound one: chains, fire early.
        case ordered
        /// Any type with an upper bound, eq or neq: tumbling window judged at close.
        case window
    }

    private let mode: Mode
    /// Early modes: the smallest count at which the condition holds (`Int.max`: never).
    private let need: Int
    /// Early counting modes: entries a group keeps between inputs (one fewer than `need`,
    /// within `maxEntriesPerGroup`).
    private var entriesToKeep: Int { min(maxEntries, need == Int.max ? Int.max : max(0, need - 1)) }
    private let condition: CountCondition
    private let timespan: Int64
    private let maxEvidence: Int
    private let maxEntries: Int

    private var index = KeyIndex()
    /// The groups' digests: a later step of an ordered sequence (most of its inputs) usually
    /// finds no group, and is then answered without hashing its key into `index`.
    private var groupFilter = KeyFilter()
    private var slots: [Group?] = []
    private var freeSlots: [Int32] = []
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private var heap: [Deadline] = []
    private var nextSeq: UInt64 = 1
    private var totalBytes = 0
    /// The newest time seen (inputs and `advance(to:)`), nil before any.
    private var newest: Int64?

    public init(spec: CorrelationSpec, limits: CorrelationLimits = .init()) {
        self.spec = spec
        self.limits = limits
        timespan = max(0, spec.timespan)
        maxEvidence = max(0, limits.maxEvidence)
        maxEntries = max(1, limits.maxEntriesPerGroup)
        let rules = max(1, spec.inputCount)
        switch spec.kind {
        case .eventCount, .valueCount:
            // The loader requires a condition; without one every input satisfies it.
            let cond = spec.condition ?? CountCondition([])
            condition = cond
            if cond.firesEarly {
                mode = spec.kind == .eventCount ? .eventCount : .valueCount
                need = Self.smallestCount(cond)
            } else {
                mode = .window
                need = Int.max
            }
        case .temporal, .temporalOrdered:
            let early: Mode = spec.kind == .temporal ? .temporal : .ordered
            if let cond = spec.condition {
                condition = cond
                if cond.firesEarly {
                    mode = early
                    need = (1...rules).first { cond.holds(Double($0)) } ?? Int.max
                } else {
                    mode = .window
                    need = Int.max
                }
            } else {
                condition = CountCondition([(.gte, Double(rules))])
                mode = early
                need = rules
            }
        }
    }

    /// The smallest count >= 1 satisfying a lower-bound-only condition (`Int.max`: none).
    private static func smallestCount(_ cond: CountCondition) -> Int {
        var n = 1
        for c in cond.comparisons {
            let x = c.threshold
            if x.isNaN || x == .infinity { return Int.max }
            if x == -.infinity { continue }
            let m = c.op == .gte ? x.rounded(.up) : x.rounded(.down) + 1
            if m >= 1e15 { return Int.max }
            if m > Double(n) { n = Int(m) }
        }
        return n
    }

    // MARK: - Public operations

    /// Inputs arrive in non-decreasing `time` order except for occasional late ones (older
    /// than what was seen).
    public func ingest(_ input: CorrelationInput, emit: (CorrelationFiring) -> Void) {
        guard let g = admit(input) else { return }
        apply(input, to: g, emit)
    }

    /// As `ingest(_:emit:)` for an input made without its evidence: `evidence` gives it, and
    /// is called only when the state keeps something of the input (most later steps of an
    /// ordered sequence find no sequence to extend and are only counted).
    func ingest(_ input: CorrelationInput, evidence: () -> EvidenceItems, emit: (CorrelationFiring) -> Void) {
        guard let g = admit(input) else { return }
        apply(
            CorrelationInput(
                input: input.input, time: input.time, group: input.group, valueKey: input.valueKey, evidence: evidence(),
                evidenceTotal: input.evidenceTotal),
            to: g, emit)
    }

    /// Whether inputs may come as records (`ingestRecorded`): event_count and value_count
    /// firing early, which nearly every counting correlation does.
    var takesRecordedInputs: Bool { mode == .eventCount || mode == .valueCount }

    /// As `ingest` for an input of a correlation that `takesRecordedInputs`, given as the
    /// bytes of its group key (`GroupKey.Builder.bytes`) and digest, and of its value
    /// (value_count; nil: the event had none, and the input only counts). A `GroupKey` is
    /// made only for a new group, a value key only for a new value: most inputs update a
    /// group and a value already kept, and each made key was an allocation and a copy.
    func ingestRecorded(
        time t: Int64, position: Int, key: UnsafeBufferPointer<UInt8>, digest: UInt64, value: UnsafeBufferPointer<UInt8>?,
        evidence: Evidence, emit: (CorrelationFiring) -> Void
    ) {
        guard let g = admit(time: t, position: position, hasValue: value != nil, key: key, digest: digest, made: nil) else { return }
        let before = g.bytes
        let fired =
            if mode == .valueCount, let value {
                ingestValueCount(g, time: t, value: value, evidence: EvidenceItems(evidence), total: 1, emit)
            } else {
                ingestEventCount(g, time: t, evidence: EvidenceItems(evidence), total: 1, emit)
            }
        settle(g, before: before, fired: fired)
    }

    /// Whether a later step of a sequence that finds no group is dropped when applied
    /// (temporal_ordered firing early): only then may the engine set such steps aside.
    var dropsLaterStepsWithoutGroup: Bool { mode == .ordered }

    /// Whether a group with this key digest may be held (never false for one that is).
    func mayHaveGroup(_ digest: UInt64) -> Bool { groupFilter.mayContain(digest) }

    /// Counts a later step of a sequence that has no group (`mayHaveGroup` said no), as
    /// `ingest` counts one: an input, late or not, and the newest time seen.
    func countStepWithoutGroup(time t: Int64) {
        if countIsLate(t) { return }
        see(t)
    }

    /// Counts an input at `t`; whether it is late (older than the newest input's window),
    /// counted as such.
    private func countIsLate(_ t: Int64) -> Bool {
        counters.inputs += 1
        guard let n = newest, t < sub(n, timespan) else { return false }
        counters.lateInputs += 1
        return true
    }

    /// The newest time seen moves on to `t`.
    private func see(_ t: Int64) {
        if newest == nil || t > newest! { newest = t }
    }

    /// Counts `input` and finds (or makes) its group; nil for an input that only counts: late
    /// (older than the newest input's window), value_count's without a value (it refreshes
    /// nothing either), at no position of a temporal correlation, or a later step of an
    /// ordered sequence with no group (no chain to extend: the group would be made only to
    /// be removed again).
    private func admit(_ input: CorrelationInput) -> Group? {
        input.group.withEncodedBytes {
            admit(
                time: input.time, position: input.input, hasValue: input.valueKey != nil, key: $0, digest: input.group.digest,
                made: input.group)
        }
    }

    /// `admit` for an input given by its parts: its group key's encoded bytes and digest, and
    /// the key itself when the input has one already (else one is made for a new group).
    private func admit(
        time t: Int64, position: Int, hasValue: Bool, key: UnsafeBufferPointer<UInt8>, digest: UInt64, made: GroupKey?
    ) -> Group? {
        if countIsLate(t) { return nil }
        if spec.kind == .valueCount, !hasValue { return nil }
        if (spec.kind == .temporal || spec.kind == .temporalOrdered), position < 0 || position >= spec.inputCount {
            return nil
        }
        see(t)
        let laterStep = mode == .ordered && position > 0
        if laterStep && !groupFilter.mayContain(digest) { return nil }
        if let s = index.find(digest, isKey: { slots[Int($0)]!.key.hasEncoding(key) }) { return slots[Int(s)]! }
        if laterStep { return nil }
        return makeGroup(made ?? GroupKey(encodedBytes: key, digest: digest))
    }

    private func apply(_ input: CorrelationInput, to g: Group, _ emit: (CorrelationFiring) -> Void) {
        let before = g.bytes
        let fired: Bool
        switch mode {
        case .eventCount:
            fired = ingestEventCount(g, time: input.time, evidence: input.evidence, total: input.evidenceTotal, emit)
        case .valueCount:
            fired = input.valueKey!.withEncodedBytes {
                ingestValueCount(g, time: input.time, value: $0, evidence: input.evidence, total: input.evidenceTotal, emit)
            }
        case .temporal: fired = ingestTemporal(g, input, emit)
        case .ordered: fired = ingestOrdered(g, input, emit)
        case .window: fired = ingestWindow(g, input, emit)
        }
        settle(g, before: before, fired: fired)
    }

    /// After an input changed group `g` (of `before` bytes): the group is removed when it
    /// fired or keeps nothing, else marked as updated and its deadline scheduled; the state
    /// is brought within its byte budget.
    private func settle(_ g: Group, before: Int, fired: Bool) {
        totalBytes += g.bytes - before
        if fired || (mode == .ordered && g.chainCount == 0) {
            removeGroup(g)  // fired, or an ordered step with no chain to extend: nothing to keep
        } else {
            touch(g)
            schedule(g)
        }
        while totalBytes > limits.maxBytes, lruHead >= 0 {
            evict(slots[Int(lruHead)]!)
        }
        compactHeapIfNeeded()
    }

    /// Event time has reached `time` (no input older than time - lateness will come except
    /// late ones): close windows that end before `time` (judging non-early conditions),
    /// expire groups whose state is entirely older than time - timespan.
    public func advance(to time: Int64, emit: (CorrelationFiring) -> Void) {
        if newest == nil || time > newest! { newest = time }
        while let top = heap.first, top.deadline <= time {
            popHeap()
            guard let g = liveGroup(top) else { continue }
            g.scheduleSeq = 0
            g.scheduledAt = .max
            if g.deadline > time {
                schedule(g)  // the deadline moved later since this entry was pushed
                continue
            }
            var fired = false
            if mode == .window { fired = judgeWindow(g, emit) }
            if !fired { counters.groupsExpired += 1 }
            removeGroup(g)
        }
        compactHeapIfNeeded()
    }

    /// End of input: judge every open window (non-early conditions) and drop all state.
    /// Groups are judged in update order, least recently updated first.
    public func flush(emit: (CorrelationFiring) -> Void) {
        if mode == .window {
            var s = lruHead
            while s >= 0 {
                let g = slots[Int(s)]!
                _ = judgeWindow(g, emit)
                s = g.next
            }
        }
        index.removeAll()
        groupFilter = KeyFilter()
        slots = []
        freeSlots = []
        lruHead = -1
        lruTail = -1
        heap = []
        totalBytes = 0
        newest = nil
    }

    /// The earliest time at which `advance(to:)` would do something (a window close or an
    /// expiry), or nil; lets the engine skip calls.
    public var nextDeadline: Int64? {
        while let top = heap.first {
            guard let g = liveGroup(top) else {
                popHeap()
                continue
            }
            if g.deadline > top.deadline {
                popHeap()
                g.scheduleSeq = 0
                g.scheduledAt = .max
                schedule(g)
                continue
            }
            return top.deadline
        }
        return nil
    }

    // MARK: - event_count, early

    private func ingestEventCount(
        _ g: Group, time t: Int64, evidence: EvidenceItems, total: Int, _ emit: (CorrelationFiring) -> Void
    ) -> Bool {
        let cutoff = sub(t, timespan)
        while let first = g.entries.firstTime, first < cutoff {
            g.bytes -= g.entries.removeFirst().bytes
        }
        let ev = evidence.capped(maxEvidence)
        let entry = Entry(time: t, evidence: ev, total: total, bytes: Cost.entry + ev.estimatedBytes)
        let inOrder = g.entries.lastTime.map { t >= $0 } ?? true
        let at = g.entries.insert(entry)
        g.bytes += entry.bytes

        var range: (Int, Int)? = nil
        if inOrder {
            if condition.holds(Double(g.entries.count)) { range = (0, g.entries.count - 1) }
        } else {
            var times: [Int64] = []
            times.reserveCapacity(g.entries.count)
            for i in 0..<g.entries.count { times.append(g.entries.time(at: i)) }
            let (l, r) = bestWindow(times, containing: at)
            if condition.holds(Double(r - l + 1)) { range = (l, r) }
        }
        if let (l, r) = range {
            var list = EvidenceList()
            for i in l...r { list.append(g.entries[i].evidence, total: g.entries[i].total, cap: maxEvidence) }
            fire(g, first: g.entries.time(at: l), last: g.entries.time(at: r), count: r - l + 1, list, emit)
            return true
        }
        // Keep no more than the threshold needs, nor maxEntriesPerGroup (counted).
        let count = g.entries.count
        if count > maxEntries { counters.entriesDropped += count - maxEntries }
        while g.entries.count > entriesToKeep {
            g.bytes -= g.entries.removeFirst().bytes
        }
        g.deadline = g.entries.lastTime.map { deadline(after: $0) } ?? .max
        return false
    }

    // MARK: - value_count, early

    /// `value`: the value's key, encoded (`GroupKey.Builder.bytes`).
    private func ingestValueCount(
        _ g: Group, time t: Int64, value: UnsafeBufferPointer<UInt8>, evidence: EvidenceItems, total: Int,
        _ emit: (CorrelationFiring) -> Void
    ) -> Bool {
        let cutoff = sub(t, timespan)
        while let h = g.values.oldest, h.time < cutoff {
            g.bytes -= h.bytes
            g.values.removeOldest()
        }
        let inOrder = g.values.newest.map { t >= $0.time } ?? true
        let ev = evidence.capped(maxEvidence)
        g.bytes += g.values.upsert(
            value, digest: GroupKey.digest(of: value), time: t, evidence: ev, total: total,
            cost: Cost.value + GroupKey.estimatedBytes(encoded: value) + ev.estimatedBytes)

        var nodes: [Int32] = []
        if inOrder {
            if condition.holds(Double(g.values.count)) { nodes = g.values.orderedNodes() }
        } else {
            let all = g.values.orderedNodes()
            let times = all.map { g.values.nodes[Int($0)].time }
            let at = all.firstIndex { g.values.nodes[Int($0)].key?.hasEncoding(value) == true }!
            let (l, r) = bestWindow(times, containing: at)
            if condition.holds(Double(r - l + 1)) { nodes = Array(all[l...r]) }
        }
        if !nodes.isEmpty {
            var list = EvidenceList()
            for n in nodes {
                let node = g.values.nodes[Int(n)]
                list.append(node.evidence, total: node.total, cap: maxEvidence)
            }
            let first = g.values.nodes[Int(nodes.first!)].time
            let last = g.values.nodes[Int(nodes.last!)].time
            fire(g, first: first, last: last, count: nodes.count, list, emit)
            return true
        }
        let count = g.values.count
        if count > maxEntries { counters.entriesDropped += count - maxEntries }
        while g.values.count > entriesToKeep {
            g.bytes -= g.values.oldest!.bytes
            g.values.removeOldest()
        }
        g.deadline = g.values.newest.map { deadline(after: $0.time) } ?? .max
        return false
    }

    // MARK: - temporal, early

    private func ingestTemporal(_ g: Group, _ input: CorrelationInput, _ emit: (CorrelationFiring) -> Void) -> Bool {
        let t = input.time
        let p = input.input
        let cutoff = sub(t, timespan)
        for i in g.positions.indices {
            if let e = g.positions[i], e.time < cutoff {
                g.bytes -= e.bytes
                g.positions[i] = nil
                g.present -= 1
            }
        }
        if g.positions[p] == nil || t >= g.positions[p]!.time {
            let ev = input.evidence.capped(maxEvidence)
            let e = Entry(time: t, evidence: ev, total: input.evidenceTotal, bytes: Cost.entry + ev.estimatedBytes)
            if let old = g.positions[p] { g.bytes -= old.bytes } else { g.present += 1 }
            g.positions[p] = e
            g.bytes += e.bytes
        }
        // Present rules in time order (ties by position); judge the best window holding p.
        var order: [Int] = []
        for i in g.positions.indices where g.positions[i] != nil { order.append(i) }
        order.sort { a, b in
            let ta = g.positions[a]!.time
            let tb = g.positions[b]!.time
            return ta != tb ? ta < tb : a < b
        }
        let times = order.map { g.positions[$0]!.time }
        let (l, r) = bestWindow(times, containing: order.firstIndex(of: p)!)
        if r - l + 1 >= need {
            var list = EvidenceList()
            for i in l...r {
                let e = g.positions[order[i]]!
                list.append(e.evidence, total: e.total, cap: maxEvidence)
            }
            fire(g, first: times[l], last: times[r], count: r - l + 1, list, emit)
            return true
        }
        while g.present > maxEntries {
            let oldest = order.removeFirst()
            g.bytes -= g.positions[oldest]!.bytes
            g.positions[oldest] = nil
            g.present -= 1
            counters.entriesDropped += 1
        }
        g.deadline = g.positions.compactMap { $0?.time }.max().map { deadline(after: $0) } ?? .max
        return false
    }

    // MARK: - temporal_ordered (early, and the chain bookkeeping of its window mode)

    /// Applies one input to the chains. Returns the step completed (chain index), if any.
    private func advanceChains(_ g: Group, _ input: CorrelationInput) -> Int? {
        let t = input.time
        let k = input.input
        let cutoff = sub(t, timespan)
        for i in g.chains.indices {
            if let c = g.chains[i], c.start < cutoff {
                g.bytes -= c.bytes
                g.chains[i] = nil
                g.chainCount -= 1
            }
        }
        var candidate: Chain
        if k == 0 {
            if let c0 = g.chains[0], c0.start > t { return nil }
            candidate = Chain(start: t, last: t, evidence: EvidenceList())
        } else {
            guard let prev = g.chains[k - 1], prev.last <= t, prev.start >= cutoff else { return nil }
            candidate = prev
            candidate.last = t
        }
        candidate.evidence.append(input.evidence, total: input.evidenceTotal, cap: maxEvidence)
        if let existing = g.chains[k] {
            // Keep the latest-starting chain (on a tie, the one that can be extended sooner).
            if candidate.start < existing.start || (candidate.start == existing.start && candidate.last >= existing.last) {
                return nil
            }
            g.bytes -= existing.bytes
        } else {
            g.chainCount += 1
        }
        g.chains[k] = candidate
        g.bytes += candidate.bytes
        return k
    }

    private func dropChainsOverLimit(_ g: Group) {
        while g.chainCount > maxEntries {
            var oldest = -1
            for i in g.chains.indices {
                if let c = g.chains[i], oldest < 0 || c.start < g.chains[oldest]!.start { oldest = i }
            }
            g.bytes -= g.chains[oldest]!.bytes
            g.chains[oldest] = nil
            g.chainCount -= 1
            counters.entriesDropped += 1
        }
    }

    private func chainDeadline(_ g: Group) -> Int64 {
        g.chains.compactMap { $0?.start }.max().map { deadline(after: $0) } ?? .max
    }

    private func ingestOrdered(_ g: Group, _ input: CorrelationInput, _ emit: (CorrelationFiring) -> Void) -> Bool {
        if let k = advanceChains(g, input), k + 1 >= need {
            let c = g.chains[k]!
            fire(g, first: c.start, last: c.last, count: k + 1, c.evidence, emit)
            return true
        }
        dropChainsOverLimit(g)
        g.deadline = chainDeadline(g)
        return false
    }

    // MARK: - tumbling windows (conditions judged at close)

    private func ingestWindow(_ g: Group, _ input: CorrelationInput, _ emit: (CorrelationFiring) -> Void) -> Bool {
        let t = input.time
        if g.windowOpen && t > plus(g.windowStart, timespan) {
            _ = judgeWindow(g, emit)
            resetWindow(g)
        }
        if !g.windowOpen {
            g.windowOpen = true
            g.windowStart = t
            g.firstTime = t
            g.lastTime = t
        } else {
            g.firstTime = min(g.firstTime, t)
            g.lastTime = max(g.lastTime, t)
        }
        g.windowInputs += 1
        g.bytes -= g.evidence.bytes
        g.evidence.append(input.evidence, total: input.evidenceTotal, cap: maxEvidence)
        g.bytes += g.evidence.bytes
        switch spec.kind {
        case .eventCount:
            break
        case .valueCount:
            let value = input.valueKey!
            g.bytes += value.withEncodedBytes {
                g.values.upsert(
                    $0, digest: value.digest, time: t, evidence: EvidenceItems([]), total: 1,
                    cost: Cost.value + value.estimatedBytes)
            }
            while g.values.count > maxEntries {
                g.bytes -= g.values.oldest!.bytes
                g.values.removeOldest()
                g.droppedValues += 1
                counters.entriesDropped += 1
            }
        case .temporal:
            if !g.seen[input.input] {
                g.seen[input.input] = true
                g.seenCount += 1
            }
        case .temporalOrdered:
            if let k = advanceChains(g, input) { g.bestLen = max(g.bestLen, k + 1) }
            dropChainsOverLimit(g)
        }
        g.deadline = deadline(after: g.windowStart)
        return false
    }

    /// Judges a group's window; emits when the condition holds. Returns whether it fired.
    private func judgeWindow(_ g: Group, _ emit: (CorrelationFiring) -> Void) -> Bool {
        guard g.windowOpen else { return false }
        let count: Int
        switch spec.kind {
        case .eventCount: count = g.windowInputs
        case .valueCount: count = g.values.count + g.droppedValues
        case .temporal: count = g.seenCount
        case .temporalOrdered: count = g.bestLen
        }
        guard condition.holds(Double(count)) else { return false }
        fire(g, first: g.firstTime, last: g.lastTime, count: count, g.evidence, emit)
        return true
    }

    private func resetWindow(_ g: Group) {
        g.windowOpen = false
        g.windowInputs = 0
        g.evidence = EvidenceList()
        g.values.removeAll()
        g.droppedValues = 0
        for i in g.seen.indices { g.seen[i] = false }
        g.seenCount = 0
        for i in g.chains.indices { g.chains[i] = nil }
        g.chainCount = 0
        g.bestLen = 0
        g.bytes = g.baseBytes
    }

    // MARK: - Firing

    private func fire(
        _ g: Group, first: Int64, last: Int64, count: Int, _ evidence: EvidenceList,
        _ emit: (CorrelationFiring) -> Void
    ) {
        counters.firings += 1
        emit(
            CorrelationFiring(
                group: g.key, firstTime: first, lastTime: last, count: count, evidence: evidence.items,
                evidenceTotal: evidence.total))
    }

    /// The largest run of `times` (sorted ascending) spanning at most `timespan` that
    /// includes index `i`, as an inclusive index range; the earliest on a tie.
    private func bestWindow(_ times: [Int64], containing i: Int) -> (Int, Int) {
        let low = sub(times[i], timespan)
        var lo = i
        while lo > 0 && times[lo - 1] >= low { lo -= 1 }
        var best = (i, i)
        var r = i
        for l in lo...i {
            let high = plus(times[l], timespan)
            while r + 1 < times.count && times[r + 1] <= high { r += 1 }
            if r - l > best.1 - best.0 { best = (l, r) }
        }
        return best
    }

    // MARK: - Groups, LRU and deadlines

    private func makeGroup(_ key: GroupKey) -> Group {
        while index.count >= max(1, limits.maxGroups), lruHead >= 0 {
            evict(slots[Int(lruHead)]!)
        }
        let slot = storeInFreeSlot(nil, in: &slots, free: &freeSlots)
        let g = Group(key: key, slot: slot, baseBytes: Cost.group + key.estimatedBytes)
        switch mode {
        case .temporal:
            g.positions = Array(repeating: nil, count: spec.inputCount)
            g.bytes += 16 * spec.inputCount
        case .ordered:
            g.chains = Array(repeating: nil, count: spec.inputCount)
            g.bytes += 16 * spec.inputCount
        case .window where spec.kind == .temporal:
            g.seen = Array(repeating: false, count: spec.inputCount)
            g.bytes += spec.inputCount
        case .window where spec.kind == .temporalOrdered:
            g.chains = Array(repeating: nil, count: spec.inputCount)
            g.bytes += 16 * spec.inputCount
        default:
            break
        }
        g.baseBytes = g.bytes
        slots[Int(slot)] = g
        index.insert(key.digest, slot: slot)
        groupFilter.insert(key.digest)
        totalBytes += g.bytes
        // Link at the tail (most recently updated).
        g.prev = lruTail
        if lruTail >= 0 { slots[Int(lruTail)]!.next = slot } else { lruHead = slot }
        lruTail = slot
        return g
    }

    private func evict(_ g: Group) {
        counters.groupsEvicted += 1
        removeGroup(g)
    }

    private func removeGroup(_ g: Group) {
        unlink(g)
        index.remove(g.key.digest, slot: g.slot)
        groupFilter.remove(g.key.digest)
        slots[Int(g.slot)] = nil
        freeSlots.append(g.slot)
        totalBytes -= g.bytes
        g.scheduleSeq = 0
    }

    private func unlink(_ g: Group) {
        if g.prev >= 0 { slots[Int(g.prev)]!.next = g.next } else { lruHead = g.next }
        if g.next >= 0 { slots[Int(g.next)]!.prev = g.prev } else { lruTail = g.prev }
        g.prev = -1
        g.next = -1
    }

    /// Marks a group as the most recently updated.
    private func touch(_ g: Group) {
        guard lruTail != g.slot else { return }
        unlink(g)
        g.prev = lruTail
        if lruTail >= 0 { slots[Int(lruTail)]!.next = g.slot } else { lruHead = g.slot }
        lruTail = g.slot
    }

    /// Makes sure the heap has an entry no later than the group's deadline.
    private func schedule(_ g: Group) {
        guard g.deadline != .max else { return }
        if g.scheduleSeq != 0 && g.scheduledAt <= g.deadline { return }
        let seq = nextSeq
        nextSeq += 1
        g.scheduleSeq = seq
        g.scheduledAt = g.deadline
        pushHeap(Deadline(deadline: g.deadline, seq: seq, slot: g.slot))
    }

    private func liveGroup(_ d: Deadline) -> Group? {
        guard let g = slots[Int(d.slot)], g.scheduleSeq == d.seq else { return nil }
        return g
    }

    private func compactHeapIfNeeded() {
        guard heap.count > 2 * index.count + 64 else { return }
        let live = heap.filter { liveGroup($0) != nil }
        heap = live
        if heap.count > 1 {
            for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
    }

    private func pushHeap(_ d: Deadline) {
        heap.append(d)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i] < heap[parent] else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func popHeap() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            guard l < n else { return }
            var m = l
            if l + 1 < n && heap[l + 1] < heap[l] { m = l + 1 }
            guard heap[m] < heap[i] else { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    // MARK: - Saturating time arithmetic

    /// a - b, saturating.
    private func sub(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.subtractingReportingOverflow(b)
        return o ? .min : r
    }

    /// a + b, saturating.
    private func plus(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b > 0 ? .max : .min) : r
    }

    /// The first time past the window that starts (or whose newest state is) at `t`:
    /// t + timespan + 1, saturating.
    private func deadline(after t: Int64) -> Int64 { plus(plus(t, timespan), 1) }
}

// MARK: - Storage

/// Bookkeeping costs for the byte estimate, on top of kept evidence.
private enum Cost {
    static let group = 192
    static let entry = 48
    /// With the value key's own estimate (16 bytes plus its bytes): 80 bytes and the value's.
    static let value = 64
    static let chain = 64
}

private struct Deadline: Comparable {
    var deadline: Int64
    var seq: UInt64
    var slot: Int32

    static func < (a: Deadline, b: Deadline) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq
    }

    static func == (a: Deadline, b: Deadline) -> Bool { a.deadline == b.deadline && a.seq == b.seq }
}

/// Evidence capped at `cap` items: the oldest cap-1 and always the newest; `total` counts all.
private struct EvidenceList {
    var items: [Evidence] = []
    var total = 0
    var bytes = 0

    mutating func append(_ evidence: EvidenceItems, total count: Int, cap: Int) {
        total += count
        guard cap > 0, !evidence.isEmpty else { return }
        var i = 0
        while i < evidence.count && items.count < cap - 1 {
            items.append(evidence[i])
            bytes += evidence[i].estimatedBytes
            i += 1
        }
        guard i < evidence.count else { return }
        let newest = evidence[evidence.count - 1]
        if items.count < cap {
            items.append(newest)
        } else {
            bytes -= items[cap - 1].estimatedBytes
            items[cap - 1] = newest
        }
        bytes += newest.estimatedBytes
    }
}

private struct Entry: EventTimed {
    var time: Int64
    var evidence: EvidenceItems
    var total: Int
    var bytes: Int
}

private struct Chain {
    var start: Int64
    var last: Int64
    var evidence: EvidenceList
    var bytes: Int { Cost.chain + evidence.bytes }
}

/// Values (as one-value keys) with a time, in a linked list sorted by time (oldest at the
/// head); seeing a value again moves it toward the tail. O(1) for in-order updates.
private struct RecencyMap {
    typealias Key = GroupKey
    struct Node {
        var key: Key?
        var time: Int64
        var evidence: EvidenceItems
        var total: Int
        var bytes: Int
        var prev: Int32
        var next: Int32
    }

    private var index = KeyIndex()
    private(set) var nodes: [Node] = []
    private var free: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1

    var count: Int { index.count }
    var oldest: Node? { head >= 0 ? nodes[Int(head)] : nil }
    var newest: Node? { tail >= 0 ? nodes[Int(tail)] : nil }

    /// Records the key encoded in `encoded` (with that `digest`) at `time`; a key already
    /// present keeps its latest time and that input's evidence. A key is made only for a new
    /// value. Returns the change in bytes (`cost`: what the value now costs).
    mutating func upsert(
        _ encoded: UnsafeBufferPointer<UInt8>, digest: UInt64, time: Int64, evidence: EvidenceItems, total: Int, cost bytes: Int
    ) -> Int {
        if let i = index.find(digest, isKey: { nodes[Int($0)].key?.hasEncoding(encoded) == true }) {
            let n = Int(i)
            guard time >= nodes[n].time else { return 0 }
            let delta = bytes - nodes[n].bytes
            nodes[n].time = time
            nodes[n].evidence = evidence
            nodes[n].total = total
            nodes[n].bytes = bytes
            if tail != i {
                unlink(i)
                insertSorted(i)
            }
            return delta
        }
        let node = Node(
            key: GroupKey(encodedBytes: encoded, digest: digest), time: time, evidence: evidence, total: total, bytes: bytes,
            prev: -1, next: -1)
        let i = storeInFreeSlot(node, in: &nodes, free: &free)
        index.insert(digest, slot: i)
        insertSorted(i)
        return bytes
    }

    mutating func removeOldest() {
        guard head >= 0 else { return }
        let i = head
        unlink(i)
        if let key = nodes[Int(i)].key { index.remove(key.digest, slot: i) }
        nodes[Int(i)] = Node(key: nil, time: 0, evidence: EvidenceItems([]), total: 0, bytes: 0, prev: -1, next: -1)
        free.append(i)
    }

    mutating func removeAll() {
        index.removeAll()
        nodes = []
        free = []
        head = -1
        tail = -1
    }

    /// Node indices, oldest first.
    func orderedNodes() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        var i = head
        while i >= 0 {
            out.append(i)
            i = nodes[Int(i)].next
        }
        return out
    }

    private mutating func unlink(_ i: Int32) {
        let n = Int(i)
        let p = nodes[n].prev
        let x = nodes[n].next
        if p >= 0 { nodes[Int(p)].next = x } else { head = x }
        if x >= 0 { nodes[Int(x)].prev = p } else { tail = p }
        nodes[n].prev = -1
        nodes[n].next = -1
    }

    /// Links node i after the last node whose time is <= its own (searching from the tail).
    private mutating func insertSorted(_ i: Int32) {
        let n = Int(i)
        let t = nodes[n].time
        var p = tail
        while p >= 0 && nodes[Int(p)].time > t { p = nodes[Int(p)].prev }
        nodes[n].prev = p
        if p >= 0 {
            nodes[n].next = nodes[Int(p)].next
            nodes[Int(p)].next = i
        } else {
            nodes[n].next = head
            head = i
        }
        if nodes[n].next >= 0 { nodes[Int(nodes[n].next)].prev = i } else { tail = i }
    }
}

private final class Group {
    let key: GroupKey
    let slot: Int32
    /// LRU links (slots), least recently updated at the state's head.
    var prev: Int32 = -1
    var next: Int32 = -1
    /// The time from which `advance(to:)` acts on this group (`.max`: none).
    var deadline: Int64 = .max
    /// The live heap entry: its sequence number (0: none) and deadline.
    var scheduleSeq: UInt64 = 0
    var scheduledAt: Int64 = .max
    /// Estimated bytes of this group, and of its empty form.
    var bytes: Int
    var baseBytes: Int

    // event_count (early)
    var entries = TimeOrderedQueue<Entry>()
    // value_count: values with their latest time (early: with evidence; window: values only)
    var values = RecencyMap()
    var droppedValues = 0
    // temporal (early): the latest input per rule
    var positions: [Entry?] = []
    var present = 0
    // temporal_ordered: per step, the latest-starting chain that completed it
    var chains: [Chain?] = []
    var chainCount = 0
    var bestLen = 0
    // tumbling window
    var windowOpen = false
    var windowStart: Int64 = 0
    var firstTime: Int64 = 0
    var lastTime: Int64 = 0
    var windowInputs = 0
    var evidence = EvidenceList()
    var seen: [Bool] = []
    var seenCount = 0

    init(key: GroupKey, slot: Int32, baseBytes: Int) {
        self.key = key
        self.slot = slot
        self.bytes = baseBytes
        self.baseBytes = baseBytes
    }
}
