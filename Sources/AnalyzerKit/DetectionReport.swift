import DetectionEngine

/// What detection did during a scan: alerts by level and by rule, and every counter of the
/// engine's bounds (so nothing it had to give up goes unreported).
public struct DetectionReport {
    public let plan: DetectionPlan
    public let counters: DetectorCounters
    public let matchesByRule: [Int]
    public let firingsByCorrelation: [Int]
    public let correlationCounters: [CorrelationCounters]
    public let ruleErrors: Int
    public let alertsByLevel: [AlertLevel: Int]
    /// `DetectorOptions.maxClockJump` of the run, for what `clock_jumps_held` means.
    public let maxClockJump: Int64

    public init(detector: Detector, ruleErrors: Int, alertsByLevel: [AlertLevel: Int]) {
        maxClockJump = detector.options.maxClockJump
        plan = detector.plan
        counters = detector.counters
        matchesByRule = detector.matchesByRule
        firingsByCorrelation = detector.firingsByCorrelation
        correlationCounters = detector.correlationCounters
        self.ruleErrors = ruleErrors
        self.alertsByLevel = alertsByLevel
    }

    /// Rules and correlations that fired and raise alerts, most first, with their count.
    public var fired: [(info: RuleInfo, count: Int)] { matched(emittingAlerts: true) }

    /// Building blocks that matched: rules and correlations that only feed correlations
    /// (`generate` not set), so their matches raise no alert of their own.
    public var buildingBlocks: [(info: RuleInfo, count: Int)] { matched(emittingAlerts: false) }

    func matched(emittingAlerts: Bool) -> [(info: RuleInfo, count: Int)] {
        var rows: [(info: RuleInfo, count: Int)] = []
        for (i, n) in matchesByRule.enumerated() where n > 0 && plan.rules[i].emitsAlerts == emittingAlerts {
            rows.append((plan.rules[i].compiled.info, n))
        }
        for (i, n) in firingsByCorrelation.enumerated() where n > 0 && plan.correlations[i].emitsAlerts == emittingAlerts {
            rows.append((plan.correlations[i].info, n))
        }
        return rows.sorted { $0.count != $1.count ? $0.count > $1.count : $0.info.title < $1.info.title }
    }

    /// Engine counters worth a line when not zero, with what they mean.
    var notable: [(key: String, value: Int, meaning: String)] {
        let c = counters
        let evicted = correlationCounters.reduce(0) { $0 + $1.groupsEvicted }
        let dropped = correlationCounters.reduce(0) { $0 + $1.entriesDropped }
        return [
            ("duplicates", c.duplicates, "events delivered twice, judged once"),
            ("audit_id_reuses", c.auditIDReuses, "different events sharing an audit ID and stage"),
            ("later_stages_skipped", c.laterStagesSkipped, "ResponseComplete of requests judged at ResponseStarted"),
            ("request_received_held", c.requestReceivedHeld, "RequestReceived matches that waited for a later stage"),
            ("request_received_judged", c.requestReceivedJudged, "...judged because no later stage came"),
            ("pending_overflows", c.pendingOverflows, "held matches judged early: the pending bound was reached"),
            ("duplicate_table_evictions", c.duplicateTableEvictions, "identities forgotten early: the duplicate table was full"),
            ("long_running_table_evictions", c.longRunningTableEvictions, "long-running requests forgotten early"),
            ("filtered", c.filtered, "rule matches dropped by filters"),
            ("late_inputs", c.lateInputs, "correlation inputs later than the lateness, ignored"),
            ("clock_jumps_held", c.clockJumpsHeld, "event times over \(Self.duration(maxClockJump)) ahead of the stream that did not move its clock alone (a wrong clock, or a gap in the log)"),
            ("lateness_queue_overflows", c.latenessQueueOverflows, "correlation inputs applied early: the lateness queue was full"),
            ("set_aside_steps_without_evidence", c.setAsideStepsWithoutEvidence, "sequence steps set aside before their first step arrived out of order: in the alert's count, not its evidence"),
            ("correlation_groups_evicted", evicted, "correlation groups evicted under the state bound"),
            ("correlation_entries_dropped", dropped, "correlation entries dropped at the per-group bound"),
            ("verdict_memo_resets", c.verdictMemoResets, "verdict memo tables cleared when full (many distinct users, agents or addresses)"),
        ].filter { $0.1 > 0 }.map { (key: $0.0, value: $0.1, meaning: $0.2) }
    }

    /// A span of microseconds as people say it: "10 minutes", "90 seconds", "2 hours".
    static func duration(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        func unit(_ n: Int64, _ name: String) -> String { "\(n) \(name)\(n == 1 ? "" : "s")" }
        if seconds % 3600 == 0 && seconds >= 3600 { return unit(seconds / 3600, "hour") }
        if seconds % 60 == 0 && seconds >= 60 { return unit(seconds / 60, "minute") }
        return unit(seconds, "second")
    }

    /// Plain text, for stderr after the scan summary.
    public func text() -> String {
        var out = "detection\n"
        let single = plan.rules.count
        let correlations = plan.correlations.count
        out += "  rules    \(single) single-event, \(correlations) correlation"
        out += ruleErrors > 0 ? " (\(ruleErrors) rule error\(ruleErrors == 1 ? "" : "s"), see above)\n" : "\n"
        let levels = AlertLevel.allCases.reversed().compactMap { l in alertsByLevel[l].map { "\($0) \(l.rawValue)" } }
        out += "  alerts   \(counters.alerts)" + (levels.isEmpty ? "" : " (" + levels.joined(separator: ", ") + ")") + "\n"
        for row in notable { out += "  \(row.key)  \(row.value)  (\(row.meaning))\n" }
        out += Self.table("fired", fired)
        out += Self.table("building blocks matched (they feed correlations and raise no alert of their own)", buildingBlocks)
        return out
    }

    /// A titled table of rules with their counts (the first 25), levels padded to the widest
    /// shown so the titles line up; nothing when there are no rows.
    static func table(_ title: String, _ rows: [(info: RuleInfo, count: Int)]) -> String {
        guard let first = rows.first else { return "" }
        var out = "\n\(title)\n"
        let width = String(first.count).count
        let shown = rows.prefix(25)
        let levelWidth = shown.map(\.info.level.rawValue.count).max() ?? 0
        for row in shown {
            let n = String(row.count)
            let level = row.info.level.rawValue
            out += String(repeating: " ", count: width - n.count + 2) + n + "  " + level
                + String(repeating: " ", count: levelWidth - level.count + 2) + row.info.title + "\n"
        }
        if rows.count > 25 { out += "  (\(rows.count - 25) more)\n" }
        return out
    }

    /// The `detection` member of the JSON summary.
    func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("rules"); w.number(plan.rules.count)
        w.key("correlations"); w.number(plan.correlations.count)
        w.key("rule_errors"); w.number(ruleErrors)
        w.key("alerts"); w.number(counters.alerts)
        w.key("alerts_by_level")
        w.beginObject()
        for l in AlertLevel.allCases {
            w.key(l.rawValue)
            w.number(alertsByLevel[l] ?? 0)
        }
        w.endObject()
        w.key("events"); w.number(counters.events)
        w.key("rule_matches"); w.number(counters.ruleMatches)
        w.key("correlation_firings"); w.number(counters.correlationFirings)
        for row in notable {
            w.key(row.key)
            w.number(row.value)
        }
        for (key, rows) in [("fired", fired), ("building_blocks_matched", buildingBlocks)] {
            w.key(key)
            w.beginArray()
            for row in rows {
                w.beginObject()
                w.key("id"); w.string(row.info.id)
                w.key("title"); w.string(row.info.title)
                w.key("level"); w.string(row.info.level.rawValue)
                w.key("count"); w.number(row.count)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }
}
