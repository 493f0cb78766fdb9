import DetectionEngine

/// The Kubernetes threat matrix with one number per technique: the rules that can raise an
/// alert for it (`kaudit matrix`) or the alerts raised for it in a scan (`kaudit scan --matrix`).
/// Drawn as a grid of tactic columns for terminals, as one line per technique for grep, or as JSON.
public struct MatrixReport {
    /// What the number in each cell counts.
    public enum Measure: String, Sendable {
        case rules, alerts
    }

    public let measure: Measure
    /// Per technique id: how many rules (or alerts).
    public let counts: [String: Int]
    /// Per technique id: the rules counted, in load order (empty for alerts).
    public let rules: [String: [RuleInfo]]
    /// Ids named by rules or alerts that are not techniques of the matrix, with how often.
    public let unknownIDs: [(id: String, count: Int)]
    /// Rules (or alerts) that name no threat-matrix technique at all.
    public let unmapped: Int
    /// Those rules (empty for alerts).
    public let unmappedRules: [RuleInfo]

    /// The rules and correlations of `plan` that raise alerts, by technique. Building blocks
    /// that only feed correlations are left out: the correlation carries their technique.
    public init(rulesOf plan: DetectionPlan) {
        var infos = plan.rules.filter(\.emitsAlerts).map(\.compiled.info)
        infos += plan.correlations.filter(\.emitsAlerts).map(\.info)
        var rules: [String: [RuleInfo]] = [:]
        var tally = MatrixTally()
        for info in infos {
            tally.add(info.threatMatrix)
            for id in Set(info.threatMatrix) { rules[id, default: []].append(info) }
        }
        self.init(measure: .rules, tally: tally, rules: rules, unmappedRules: infos.filter(\.threatMatrix.isEmpty))
    }

    /// Alerts counted by technique during a scan.
    public init(alerts tally: MatrixTally) {
        self.init(measure: .alerts, tally: tally, rules: [:], unmappedRules: [])
    }

    init(measure: Measure, tally: MatrixTally, rules: [String: [RuleInfo]], unmappedRules: [RuleInfo]) {
        self.measure = measure
        self.rules = rules
        self.unmappedRules = unmappedRules
        var known: [String: Int] = [:]
        var unknown: [(id: String, count: Int)] = []
        for (id, n) in tally.counts.sorted(by: { $0.key < $1.key }) {
            if ThreatMatrix.technique(id) != nil { known[id] = n } else { unknown.append((id, n)) }
        }
        counts = known
        unknownIDs = unknown
        unmapped = tally.unmapped
    }

    func count(_ id: String) -> Int { counts[id] ?? 0 }

    /// Techniques whose count is not zero.
    public var covered: Int { ThreatMatrix.techniques.filter { count($0.id) > 0 }.count }
}

/// Counts technique ids as rules or alerts are seen.
public struct MatrixTally: Sendable {
    public private(set) var counts: [String: Int] = [:]
    /// Items that named no technique.
    public private(set) var unmapped = 0

    public init() {}

    /// One rule or alert naming `ids` (each id counted once).
    public mutating func add(_ ids: [String]) {
        if ids.isEmpty { unmapped += 1 }
        for id in Set(ids) { counts[id, default: 0] += 1 }
    }
}
