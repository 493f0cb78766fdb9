import AuditJSON
import AuditModel

/// How serious an alert is: Sigma's levels, in order.
public enum AlertLevel: String, Sendable, CaseIterable, Comparable {
    case informational, low, medium, high, critical

    public var rank: Int {
        switch self {
        case .informational: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 4
        }
    }

    public static func < (a: AlertLevel, b: AlertLevel) -> Bool { a.rank < b.rank }
}

/// What an alert says about the rule that raised it.
public struct RuleInfo: Sendable, Equatable {
    public enum Kind: String, Sendable { case single, correlation, builtin }

    /// The rule's `id` (a UUID for Sigma rules), or its name when it has none.
    public let id: String
    public let title: String
    public let level: AlertLevel
    /// Threat-matrix technique ids (`MS-TA9006`), from the rule's `threat_matrix` attribute.
    public let threatMatrix: [String]
    /// ATT&CK ids from the rule's `attack.*` tags, as written after `attack.` (`t1609`,
    /// `execution`).
    public let attack: [String]
    public let kind: Kind
    /// The rule's `name`, which correlations refer to it by, if it has one.
    public let name: String?
    public let description: String?

    public init(
        id: String, title: String, level: AlertLevel, threatMatrix: [String] = [], attack: [String] = [],
        kind: Kind = .single, name: String? = nil, description: String? = nil
    ) {
        self.id = id
        self.title = title
        self.level = level
        self.threatMatrix = threatMatrix
        self.attack = attack
        self.kind = kind
        self.name = name
        self.description = description
    }
}

/// Who made the request an alert is about.
public struct AlertActor: Sendable, Equatable {
    public var user: String?
    public var groups: [String] = []
    public var impersonatedUser: String?
    /// The last entry of `sourceIPs`: the one address the client cannot forge.
    public var sourceIP: String?
    public var userAgent: String?

    public init() {}
}

/// The object an alert is about.
public struct AlertObject: Sendable, Equatable {
    public var namespace: String?
    public var resource: String?
    public var subresource: String?
    public var name: String?

    public init() {}
}

/// One alert: a rule matched an event, or a correlation's condition held.
public struct Alert: Sendable {
    public let rule: RuleInfo
    /// Event time (microseconds): the matching event's, or the last contributing event's.
    public let time: Int64
    /// The first contributing event's time (equal to `time` for single-event rules).
    public let firstTime: Int64
    public let actor: AlertActor
    public let object: AlertObject
    /// Contributing events, oldest first (capped; `evidenceTotal` counts all).
    public let evidence: [Evidence]
    public let evidenceTotal: Int
    /// For correlations: each group-by field with its value (nil: absent in the events).
    public let group: [(field: String, value: String?)]
    /// Events matched (single rules: 1), or the value the correlation's condition was judged on.
    public let count: Int
    /// Why the alert was raised, for built-in findings (nil for rules).
    public let detail: String?
    /// 0 for an alert as the detector raised it. For a suppression summary: how many alerts
    /// of the same rule and group it stands for (they were not sent one by one); `firstTime`
    /// and `time` are then the first and the last of them.
    public let repeats: Int

    public init(
        rule: RuleInfo, time: Int64, firstTime: Int64, actor: AlertActor, object: AlertObject, evidence: [Evidence],
        evidenceTotal: Int, group: [(field: String, value: String?)] = [], count: Int = 1, detail: String? = nil,
        repeats: Int = 0
    ) {
        self.rule = rule
        self.time = time
        self.firstTime = firstTime
        self.actor = actor
        self.object = object
        self.evidence = evidence
        self.evidenceTotal = evidenceTotal
        self.group = group
        self.count = count
        self.detail = detail
        self.repeats = repeats
    }
}

extension AlertActor {
    /// The actor of `event`, copied out of its bytes.
    public init(_ event: AuditEvent) {
        self.init()
        user = event[nested: .userUsername]?.string
        if let g = event[nested: .userGroups] {
            for e in g.elements { if let s = e.string { groups.append(s) } }
        }
        impersonatedUser = event.impersonatedUser?.username?.string
        sourceIP = event.lastSourceIP?.string
        userAgent = event.userAgent?.string
    }
}

extension AlertObject {
    /// The object of `event` (its objectRef), copied out of its bytes.
    public init(_ event: AuditEvent) {
        self.init()
        namespace = event[nested: .refNamespace]?.string
        resource = event[nested: .refResource]?.string
        subresource = event[nested: .refSubresource]?.string
        name = event[nested: .refName]?.string
    }
}

extension Evidence {
    /// `event` kept as evidence (its bytes copied).
    public init(_ event: AuditEvent, time: Int64) {
        let object = event.object.rawBytes
        let raw = Array(object)
        if let layout = Self.layout(of: event) {
            self.init(raw: raw, layout: layout, time: time)
            return
        }
        let stage = event[.stage]
        let standard = stage.flatMap(AuditStage.init)
        let other = standard == nil ? stage?.string ?? "" : ""
        let id = event.auditID?.jsonString
        self.init(auditID: id?.string ?? "", stage: standard?.rawValue ?? other, time: time, raw: raw)
    }

    /// Where the event's audit ID sits in its bytes, and its stage; nil when evidence of it
    /// needs texts of its own (an escaped audit ID, a stage that is not one of the four).
    static func layout(of event: AuditEvent) -> Layout? {
        let stage = event[.stage]
        let standard = stage.flatMap(AuditStage.init)
        guard standard != nil || stage == nil || stage?.string == "" else { return nil }
        guard let id = event.auditID?.jsonString else { return Layout(idStart: 0, idCount: 0, stage: standard) }
        let object = event.object.rawBytes
        let text = id.rawBytes
        guard !id.hasEscapes, let base = object.baseAddress, let start = text.baseAddress,
            start >= base, start + text.count <= base + object.count
        else { return nil }
        return Layout(idStart: Int32(truncatingIfNeeded: start - base), idCount: Int32(truncatingIfNeeded: text.count), stage: standard)
    }

    /// Calls `body` with the evidence read back as an event view.
    public func withEvent<R>(_ body: (AuditEvent?) -> R) -> R {
        raw.withUnsafeBufferPointer { buffer in
            guard let object = JSONValue.parse(buffer), object.kind == .object else { return body(nil) }
            var event = AuditEvent()
            guard case .event = event.load(object: object) else { return body(nil) }
            return body(event)
        }
    }
}
