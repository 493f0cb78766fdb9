// Sigma correlations (spec v2.1) over rule matches, in event time.
//
// The engine turns every match of a rule that a correlation refers to into a
// `CorrelationInput` (the event time, the correlation's group-by values read from the event,
// the value_count field's value, and the event itself as evidence), orders inputs by event
// time within the configured lateness, and feeds them to one `CorrelationState` per
// correlation. A state groups inputs by their `GroupKey`, keeps what its type needs within
// the timespan, and emits a `CorrelationFiring` when the condition holds. Chained
// correlations receive the firings of the correlations they refer to as inputs.
//
// Nothing here reads wall-clock time: windows slide with the times of the inputs and with
// `advance(to:)`, so replaying last month's log gives the alerts the live stream gave.

/// One event that contributed to an alert, kept with its raw bytes.
///
/// Made for every matched event (most of them only feed correlations), so it holds one
/// allocation, the raw bytes: an audit ID written without escapes is read back from them when
/// asked for, not copied into a String of its own.
public struct Evidence: Sendable, Equatable {
    /// Event time (stageTimestamp), microseconds since the Unix epoch.
    public let time: Int64
    /// The event's JSON, exactly as read.
    public let raw: [UInt8]
    public let stage: String
    /// Where the audit ID's text sits in `raw` (start, count), when `storedID` is nil.
    private let idStart: Int32
    private let idCount: Int32
    /// The audit ID when it is not a plain slice of `raw` (escaped, or given apart from it).
    private let storedID: String?

    public init(auditID: String, stage: String, time: Int64, raw: [UInt8]) {
        self.time = time
        self.raw = raw
        self.stage = stage
        idStart = 0
        idCount = 0
        storedID = auditID
    }

    /// Evidence whose audit ID is the `idCount` bytes of `raw` at `idStart` (nil: no audit ID).
    init(idIn raw: [UInt8], idStart: Int, idCount: Int, stage: String, time: Int64) {
        self.time = time
        self.raw = raw
        self.stage = stage
        self.idStart = Int32(truncatingIfNeeded: idStart)
        self.idCount = Int32(truncatingIfNeeded: idCount)
        storedID = nil
    }

    public var auditID: String {
        if let storedID { return storedID }
        return raw.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[Int(idStart)..<Int(idStart + idCount)]), as: UTF8.self)
        }
    }

    /// What keeping this costs, for the state's byte budget (bytes plus bookkeeping).
    public var estimatedBytes: Int { raw.count + (storedID?.utf8.count ?? 0) + stage.utf8.count + 64 }

    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.time == b.time && a.stage == b.stage && a.raw == b.raw && a.auditID == b.auditID
    }
}

/// The values of a correlation's `group-by` fields for one input, in group-by order.
/// nil: the event has no such field (all events lacking it form one group).
public struct GroupKey: Hashable, Sendable {
    public let values: [String?]
    /// The values' bytes hashed once, when the key is made: the group tables hash this
    /// word instead of running the standard hasher over every string at each lookup.
    private let digest: UInt64

    public init(_ values: [String?]) {
        self.values = values
        var digest = UInt64(values.count)
        for value in values {
            guard var value else {
                digest = ByteHasher.mix(digest ^ 0x9E37_79B9_7F4A_7C15)
                continue
            }
            digest = value.withUTF8 { fastHash($0, seed: digest) }
        }
        self.digest = digest
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    public static func == (a: GroupKey, b: GroupKey) -> Bool { a.digest == b.digest && a.values == b.values }
}

/// A correlation's `condition`: comparisons that must all hold (`gte: 5, lt: 10` is a range).
public struct CountCondition: Sendable, Equatable {
    public enum Operator: String, Sendable, CaseIterable {
        case gt, gte, lt, lte, eq, neq
    }

    public let comparisons: [(op: Operator, threshold: Double)]

    public init(_ comparisons: [(op: Operator, threshold: Double)]) { self.comparisons = comparisons }

    public func holds(_ value: Double) -> Bool {
        for c in comparisons {
            let ok: Bool
            switch c.op {
            case .gt: ok = value > c.threshold
            case .gte: ok = value >= c.threshold
            case .lt: ok = value < c.threshold
            case .lte: ok = value <= c.threshold
            case .eq: ok = value == c.threshold
            case .neq: ok = value != c.threshold
            }
            if !ok { return false }
        }
        return true
    }

    /// True when the condition only has lower bounds (`gt`, `gte`): once it holds, more
    /// events keep it holding, so it can fire as soon as it is reached. Any other condition
    /// (an upper bound, `eq`, `neq`) can only be judged when the window closes.
    public var firesEarly: Bool { comparisons.allSatisfy { $0.op == .gt || $0.op == .gte } }

    public static func == (a: CountCondition, b: CountCondition) -> Bool {
        a.comparisons.count == b.comparisons.count
            && zip(a.comparisons, b.comparisons).allSatisfy { $0.op == $1.op && $0.threshold == $1.threshold }
    }
}

/// What a compiled correlation does (names and metadata live with the engine's rule info).
public struct CorrelationSpec: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case eventCount = "event_count"
        case valueCount = "value_count"
        case temporal
        case temporalOrdered = "temporal_ordered"
    }

    public let kind: Kind
    /// Number of referenced rules; inputs carry a position `0..<inputCount` (for
    /// temporal_ordered, the position in the order the rules must occur).
    public let inputCount: Int
    /// The window length, microseconds.
    public let timespan: Int64
    /// Required for event_count and value_count. For the temporal types nil means "every
    /// referenced rule"; otherwise it is compared with the number of distinct rules matched.
    public let condition: CountCondition?

    public init(kind: Kind, inputCount: Int, timespan: Int64, condition: CountCondition?) {
        self.kind = kind
        self.inputCount = inputCount
        self.timespan = timespan
        self.condition = condition
    }
}

/// One input to a correlation: a match of a referenced rule, or a firing of a referenced
/// correlation (chaining).
public struct CorrelationInput: Sendable {
    /// The referenced rule's position in the correlation's rule list.
    public let input: Int
    /// Event time, microseconds since the Unix epoch.
    public let time: Int64
    public let group: GroupKey
    /// value_count: the field's value (nil: the event has none, and it is not counted).
    public let value: String?
    /// The contributing events (one for a rule match; a chained firing's evidence).
    public let evidence: [Evidence]
    /// How many events contributed in total (`evidence` may be capped).
    public let evidenceTotal: Int

    public init(input: Int, time: Int64, group: GroupKey, value: String?, evidence: [Evidence], evidenceTotal: Int) {
        self.input = input
        self.time = time
        self.group = group
        self.value = value
        self.evidence = evidence
        self.evidenceTotal = evidenceTotal
    }
}

/// A correlation whose condition held for a group.
public struct CorrelationFiring: Sendable {
    public let group: GroupKey
    /// Times of the first and last contributing inputs.
    public let firstTime: Int64
    public let lastTime: Int64
    /// The value the condition was judged on: events counted (event_count), distinct values
    /// (value_count), distinct rules matched (temporal types).
    public let count: Int
    /// Contributing events, oldest first, at most `CorrelationLimits.maxEvidence`.
    public let evidence: [Evidence]
    /// Every contributing event, counted.
    public let evidenceTotal: Int

    public init(group: GroupKey, firstTime: Int64, lastTime: Int64, count: Int, evidence: [Evidence], evidenceTotal: Int) {
        self.group = group
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.count = count
        self.evidence = evidence
        self.evidenceTotal = evidenceTotal
    }
}

/// The bounds on one correlation's state. Every bound is counted when hit
/// (`CorrelationCounters`).
public struct CorrelationLimits: Sendable, Equatable {
    /// Groups kept at once; a new group beyond it evicts the least recently updated one.
    public var maxGroups: Int
    /// Entries (timestamps, distinct values, chain steps) kept per group; beyond it the
    /// oldest is dropped.
    public var maxEntriesPerGroup: Int
    /// Evidence events kept per group and per alert.
    public var maxEvidence: Int
    /// Estimated bytes of state (evidence bytes plus bookkeeping); beyond it least recently
    /// updated groups are evicted.
    public var maxBytes: Int

    public init(maxGroups: Int = 100_000, maxEntriesPerGroup: Int = 10_000, maxEvidence: Int = 10, maxBytes: Int = 32 << 20) {
        self.maxGroups = maxGroups
        self.maxEntriesPerGroup = maxEntriesPerGroup
        self.maxEvidence = maxEvidence
        self.maxBytes = maxBytes
    }
}

/// What a correlation's state had to give up, and what it did.
public struct CorrelationCounters: Sendable, Equatable {
    /// Inputs received.
    public var inputs = 0
    /// Alerts emitted.
    public var firings = 0
    /// Groups dropped because their window passed with nothing to fire.
    public var groupsExpired = 0
    /// Groups evicted under pressure (`maxGroups` or `maxBytes`), oldest first.
    public var groupsEvicted = 0
    /// Entries dropped because a group reached `maxEntriesPerGroup`.
    public var entriesDropped = 0
    /// Inputs older than the window they would belong to (arrived later than the lateness).
    public var lateInputs = 0

    public init() {}
}
