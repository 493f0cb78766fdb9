import DetectionEngine

/// Folds repeated alerts so a responder gets the first one at once and then at most one
/// summary per window, instead of a flood.
///
/// Alerts are grouped by rule and, for correlations, their group-by values; for single-event
/// rules by the actor's user name and the object (namespace, resource, subresource, name).
/// The first alert of a group is passed on immediately and opens a window of `window`
/// (event time). Repeats inside it are folded; when the window closes, one summary alert
/// carries how many there were (`repeats`), the first and last of their times, and their
/// evidence. If there were repeats, a new window follows at once, so a condition that goes
/// on yields one summary per window; a window without repeats ends the group, and the next
/// alert is passed on immediately again.
///
/// Windows close when the newest event time (`advance(to:)`) passes their end by `grace`
/// (the detector's lateness, since correlations fire that late): everything runs on event
/// time, so a replay gives the output the live run gave.
public final class AlertSuppressor {
    public struct Options: Sendable {
        /// Window length, microseconds of event time.
        public var window: Int64 = 60_000_000
        /// How long after its end a window stays open for alerts released late.
        public var grace: Int64 = 5_000_000
        /// Groups with an open window; at the bound the window closing first is closed early
        /// (its summary sent then), so no alert is lost, only folded less.
        public var maxGroups = 10_000
        /// Evidence events kept per summary (as alerts keep).
        public var maxEvidence = 10
        /// Evidence bytes kept across all open windows; beyond it repeats are counted in
        /// `evidence_total` but their events are not kept.
        public var maxEvidenceBytes = 32 << 20

        public init() {}
    }

    /// What suppression did; every bound it hit is here.
    public struct Counters: Sendable, Equatable {
        /// Alerts passed on as they came (the first of a group).
        public var passed = 0
        /// Alerts folded into summaries.
        public var folded = 0
        /// Summary alerts sent.
        public var summaries = 0
        /// Windows closed before their time because `maxGroups` groups were open.
        public var windowsClosedEarly = 0
        /// Evidence events not kept because of `maxEvidenceBytes`.
        public var evidenceNotKept = 0

        public init() {}
    }

    public let options: Options
    public private(set) var counters = Counters()
    private let emit: (Alert) -> Void
    private var windows: [GroupKey: Window] = [:]
    private var closing = DeadlineHeap()
    private var sequence: UInt64 = 0
    private var evidenceBytes = 0

    public init(options: Options = Options(), emit: @escaping (Alert) -> Void) {
        self.options = options
        self.emit = emit
    }

    /// What makes two alerts the same alert for suppression.
    struct GroupKey: Hashable {
        let rule: String
        let values: [String?]

        init(_ alert: Alert) {
            rule = alert.rule.id
            if alert.rule.kind == .correlation {
                values = alert.group.map(\.value)
            } else {
                let o = alert.object
                values = [alert.actor.user, o.namespace, o.resource, o.subresource, o.name]
            }
        }
    }

    struct Window {
        let sequence: UInt64
        let closesAt: Int64
        var repeats = 0
        var firstTime = Int64.max
        var lastTime = Int64.min
        var count = 0
        var latest: Alert?
        var evidence: [Evidence] = []
        var evidenceTotal = 0
        var bytes = 0
    }

    /// Passes `alert` on or folds it into its group's open window.
    public func offer(_ alert: Alert) {
        let key = GroupKey(alert)
        // A window whose end this alert is past closes first (the event clock may lag the
        // alert by the lateness).
        while let w = windows[key], alert.time >= w.closesAt { close(key, w, continuing: true) }
        if var w = windows[key] {
            fold(alert, into: &w)
            windows[key] = w
            return
        }
        if windows.count >= options.maxGroups, let (k, w) = popEarliest() {
            counters.windowsClosedEarly += 1
            close(k, w, continuing: false)
        }
        counters.passed += 1
        open(key, closesAt: alert.time &+ options.window)
        emit(alert)
    }

    /// Moves the event clock to `time`: windows that ended more than `grace` before it close.
    public func advance(to time: Int64) {
        let limit = time &- options.grace
        // Runs after every event: the common "nothing closes yet" answer reads one number.
        while closing.earliestDeadline <= limit, let top = closing.pop() {
            if let w = windows[top.key], w.sequence == top.sequence { close(top.key, w, continuing: true) }
        }
    }

    /// End of input: every open window closes, in the order of their ends.
    public func finish() {
        while let (k, w) = popEarliest() { close(k, w, continuing: false) }
    }

    /// Groups with an open window.
    public var openGroups: Int { windows.count }

    // MARK: - Windows

    private func open(_ key: GroupKey, closesAt: Int64) {
        sequence += 1
        windows[key] = Window(sequence: sequence, closesAt: closesAt)
        closing.push(.init(deadline: closesAt, sequence: sequence, key: key))
    }

    private func fold(_ alert: Alert, into w: inout Window) {
        counters.folded += 1
        w.repeats += 1
        w.firstTime = min(w.firstTime, alert.firstTime)
        w.lastTime = max(w.lastTime, alert.time)
        w.count = alert.rule.kind == .correlation ? max(w.count, alert.count) : w.count + alert.count
        w.evidenceTotal += alert.evidenceTotal
        for e in alert.evidence {
            guard w.evidence.count < options.maxEvidence else { break }
            guard evidenceBytes + e.raw.count <= options.maxEvidenceBytes else {
                counters.evidenceNotKept += 1
                continue
            }
            evidenceBytes += e.raw.count
            w.bytes += e.raw.count
            w.evidence.append(e)
        }
        // The newest repeat describes the summary (actor, object, group, detail); its events
        // are kept above, within the bounds, so drop its own copy.
        w.latest = Alert(
            rule: alert.rule, time: alert.time, firstTime: alert.firstTime, actor: alert.actor, object: alert.object,
            evidence: [], evidenceTotal: 0, group: alert.group, count: alert.count, detail: alert.detail)
    }

    /// Ends a window: its summary goes out when it folded anything, and then (if
    /// `continuing`) the group keeps a window open for one more period.
    private func close(_ key: GroupKey, _ w: Window, continuing: Bool) {
        windows[key] = nil
        evidenceBytes -= w.bytes
        guard w.repeats > 0, let latest = w.latest else { return }
        counters.summaries += 1
        if continuing { open(key, closesAt: w.closesAt &+ options.window) }
        emit(
            Alert(
                rule: latest.rule, time: w.lastTime, firstTime: w.firstTime, actor: latest.actor, object: latest.object,
                evidence: w.evidence, evidenceTotal: w.evidenceTotal, group: latest.group, count: w.count,
                detail: latest.detail, repeats: w.repeats))
    }

    /// The open window that ends first (entries of windows already closed are skipped).
    private func popEarliest() -> (GroupKey, Window)? {
        while let top = closing.pop() {
            if let w = windows[top.key], w.sequence == top.sequence { return (top.key, w) }
        }
        return nil
    }
}

/// A binary min-heap of window ends, ordered by deadline and then by opening order, so ties
/// close in the same order every run.
struct DeadlineHeap {
    struct Entry {
        let deadline: Int64
        let sequence: UInt64
        let key: AlertSuppressor.GroupKey

        func precedes(_ o: Entry) -> Bool { deadline != o.deadline ? deadline < o.deadline : sequence < o.sequence }
    }

    private var items: [Entry] = []

    /// The first entry's deadline (`Int64.max` when empty), without copying the entry.
    var earliestDeadline: Int64 { items.isEmpty ? .max : items[0].deadline }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].precedes(items[m]) { m = l }
                if r < items.count && items[r].precedes(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
