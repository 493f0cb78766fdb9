import DetectionEngine

/// Gathers what the HTML report shows, in bounded memory: counts over every alert the
/// detector raised (`count`), and the alerts as they were sent after suppression
/// (`record`), with their evidence cut to size. Whatever a bound leaves out is counted,
/// and the report says so.
public final class ReportCollector {
    public struct Limits: Sendable {
        /// Alerts embedded in the report. When full, a new alert replaces the newest one of
        /// a lower level, so critical findings are never crowded out by noise.
        public var maxAlerts = 2_000
        /// Evidence events embedded per alert.
        public var maxEvidencePerAlert = 3
        /// Bytes of one evidence event embedded; the rest is cut (and marked).
        public var maxEventBytes = 8_192
        /// Points on the per-actor timeline.
        public var maxTimelinePoints = 20_000

        public init() {}
    }

    /// One point of the timeline.
    public struct Point: Sendable {
        public let actor: String
        public let time: Int64
        public let level: AlertLevel
        public let rule: String
    }

    /// An embedded alert, in the order it was sent.
    public struct Embedded {
        public let sequence: Int
        public let alert: Alert
        /// Evidence events cut to `maxEventBytes` (true where cut).
        public let evidence: [(evidence: Evidence, cut: Bool)]
    }

    public let limits: Limits
    /// Alerts raised (before suppression), by level.
    public private(set) var byLevel: [AlertLevel: Int] = [:]
    public private(set) var total = 0
    public private(set) var actors = BoundedByteCounter(maxKeys: 10_000)
    public private(set) var namespaces = BoundedByteCounter(maxKeys: 10_000)
    public private(set) var resources = BoundedByteCounter(maxKeys: 10_000)
    public private(set) var points: [Point] = []
    public private(set) var pointsNotKept = 0
    /// Alerts raised per rule (bounded by the rule pack's size).
    public private(set) var byRule: [String: (info: RuleInfo, count: Int)] = [:]
    public private(set) var earliest: Int64?
    public private(set) var latest: Int64?

    /// Alerts sent (after suppression) and how many of them are embedded.
    public private(set) var sent = 0
    public private(set) var notEmbedded = 0
    private var embedded: [[Embedded]] = Array(repeating: [], count: AlertLevel.allCases.count)
    private var embeddedCount = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Counts an alert as the detector raised it.
    public func count(_ alert: Alert) {
        total += 1
        byLevel[alert.rule.level, default: 0] += 1
        byRule[alert.rule.id, default: (alert.rule, 0)].count += 1
        let actor = alert.actor.user ?? "(unknown)"
        Self.add(actor, to: &actors)
        if let ns = alert.object.namespace { Self.add(ns, to: &namespaces) }
        if let r = alert.object.resource {
            Self.add(alert.object.subresource.map { r + "/" + $0 } ?? r, to: &resources)
        }
        earliest = min(earliest ?? alert.time, alert.time)
        latest = max(latest ?? alert.time, alert.time)
        if points.count < limits.maxTimelinePoints {
            points.append(Point(actor: actor, time: alert.time, level: alert.rule.level, rule: alert.rule.title))
        } else {
            pointsNotKept += 1
        }
    }

    /// Keeps an alert as it was sent, for the list of alerts.
    public func record(_ alert: Alert) {
        sent += 1
        let level = alert.rule.level.rank
        if embeddedCount >= limits.maxAlerts {
            guard let lower = embedded.indices.first(where: { !embedded[$0].isEmpty }), lower < level else {
                notEmbedded += 1
                return
            }
            embedded[lower].removeLast()
            embeddedCount -= 1
            notEmbedded += 1
        }
        let kept = alert.evidence.prefix(limits.maxEvidencePerAlert).map { e -> (evidence: Evidence, cut: Bool) in
            guard e.raw.count > limits.maxEventBytes else { return (e, false) }
            return (Evidence(auditID: e.auditID, stage: e.stage, time: e.time, raw: Array(e.raw.prefix(limits.maxEventBytes))), true)
        }
        let stripped = Alert(
            rule: alert.rule, time: alert.time, firstTime: alert.firstTime, actor: alert.actor, object: alert.object,
            evidence: [], evidenceTotal: alert.evidenceTotal, group: alert.group, count: alert.count,
            detail: alert.detail, repeats: alert.repeats)
        embedded[level].append(Embedded(sequence: sent, alert: stripped, evidence: kept))
        embeddedCount += 1
    }

    /// The embedded alerts in time order (ties: the order they were sent).
    public var alerts: [Embedded] {
        embedded.joined().sorted { ($0.alert.time, $0.sequence) < ($1.alert.time, $1.sequence) }
    }

    private static func add(_ key: String, to counter: inout BoundedByteCounter) {
        var key = key
        key.withUTF8 { counter.add($0) }
    }
}
