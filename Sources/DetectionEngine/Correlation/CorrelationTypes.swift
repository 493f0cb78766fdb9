import AuditJSON
import AuditModel

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
/// asked for, not copied into a String of its own, and a standard stage is an enum case. A copy
/// retains one reference (evidence is copied from the match into the queue and the state).
public struct Evidence: Sendable, Equatable {
    /// Event time (stageTimestamp), microseconds since the Unix epoch.
    public let time: Int64
    /// The event's JSON, exactly as read.
    public let raw: [UInt8]
    /// Where the audit ID's text sits in `raw` (start, count), when `texts` holds none.
    private let idStart: Int32
    private let idCount: Int32
    /// The stage when it is one of the standard four (nil: `texts` holds it, if any).
    private let standardStage: AuditStage?
    /// What is not a slice of `raw` or a standard stage (rare: escaped or given apart).
    private let texts: Texts?
    /// What keeping this costs, for the state's byte budget (bytes plus bookkeeping): worked
    /// out once, since the lateness queue and the states ask for it at every input (as a
    /// sum over the stage's text it cost a hundred instructions each time).
    public let estimatedBytes: Int

    private final class Texts: Sendable {
        let stage: String
        let auditID: String?
        init(stage: String, auditID: String?) {
            self.stage = stage
            self.auditID = auditID
        }
    }

    public init(auditID: String, stage: String, time: Int64, raw: [UInt8]) {
        self.time = time
        self.raw = raw
        idStart = 0
        idCount = 0
        standardStage = nil
        texts = Texts(stage: stage, auditID: auditID)
        estimatedBytes = Self.cost(raw: raw.count, auditID: auditID.utf8.count, stage: stage.utf8.count)
    }

    /// `estimatedBytes` of evidence of `raw` bytes with texts of these lengths of its own.
    static func cost(raw: Int, auditID: Int, stage: Int) -> Int { raw + auditID + stage + 64 }

    /// What evidence holds besides the event's bytes when its audit ID is a plain slice of
    /// them (or absent) and its stage one of the four (or absent): nearly every event.
    struct Layout {
        let idStart: Int32
        let idCount: Int32
        let stage: AuditStage?
    }

    init(raw: [UInt8], layout: Layout, time: Int64) {
        self.time = time
        self.raw = raw
        idStart = layout.idStart
        idCount = layout.idCount
        standardStage = layout.stage
        texts = nil
        estimatedBytes = Self.cost(raw: raw.count, auditID: 0, stage: layout.stage?.rawValue.utf8.count ?? 0)
    }

    public var stage: String { standardStage?.rawValue ?? texts?.stage ?? "" }

    public var auditID: String {
        if let id = texts?.auditID { return id }
        return raw.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[Int(idStart)..<Int(idStart + idCount)]), as: UTF8.self)
        }
    }

    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.time == b.time && a.stage == b.stage && a.raw == b.raw && a.auditID == b.auditID
    }
}

/// The evidence of one correlation input: one event (a rule match: held inline, no array
/// of its own) or several (a chained correlation's firing).
public struct EvidenceItems: RandomAccessCollection, Sendable {
    /// One event, or nil when `many` holds them (two fields rather than an enum with
    /// payloads: copies of the enum went through the runtime's generic witnesses).
    private let one: Evidence?
    private let many: [Evidence]?

    public init(_ evidence: Evidence) {
        one = evidence
        many = nil
    }

    public init(_ evidence: [Evidence]) {
        if evidence.count == 1 {
            one = evidence[0]
            many = nil
        } else {
            one = nil
            many = evidence
        }
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int { count }

    // Given here, not left to the collection protocols' defaults: those ran unspecialised,
    // through witness tables, on the path every correlation input takes.
    public var count: Int { one != nil ? 1 : many?.count ?? 0 }

    public var isEmpty: Bool { count == 0 }

    public var last: Evidence? { one ?? many?.last }

    public subscript(i: Int) -> Evidence {
        if let one {
            precondition(i == 0, "evidence index out of range")
            return one
        }
        return many![i]  // Safe: without `one` the items are in `many` (an index past them traps).
    }

    /// The first `cap - 1` and the last (all of them when there are no more than `cap`).
    func capped(_ cap: Int) -> EvidenceItems {
        guard let items = many else {
            // One event (every rule match) or none: within any cap but zero. Counting it first
            // copied the event's evidence out of its optional and back, per input.
            return cap > 0 ? self : EvidenceItems([])
        }
        guard items.count > cap else { return self }
        guard cap > 0 else { return EvidenceItems([]) }
        var out = Array(items[0..<(cap - 1)])
        out.append(items[items.count - 1])
        return EvidenceItems(out)
    }

    /// What keeping them costs (`Evidence.estimatedBytes` summed).
    var estimatedBytes: Int {
        if let one { return one.estimatedBytes }
        return many?.reduce(0) { $0 + $1.estimatedBytes } ?? 0
    }
}

/// The values of a correlation's `group-by` fields for one input, in group-by order.
/// nil: the event has no such field (all events lacking it form one group).
///
/// Kept as one byte string (per value: absent, or its UTF-8 length and bytes) and its hash:
/// made for every correlation input, a key is one allocation instead of an array and a
/// string per value, compared byte for byte, and decoded into strings only for an alert
/// or a chained correlation. Values are equal when their bytes are (no Unicode
/// normalisation: Kubernetes names and users are compared the same way).
public struct GroupKey: Hashable, Sendable {
    private let encoded: [UInt8]
    /// The bytes hashed once, when the key is made: the group tables hash this word
    /// instead of running the standard hasher over the bytes at each lookup.
    let digest: UInt64

    public init(_ values: [String?]) {
        let builder = Builder()
        for value in values {
            if var value {
                value.withUTF8 { builder.append(value: $0) }
            } else {
                builder.appendAbsent()
            }
        }
        self = builder.key()
    }

    private init(encoded: [UInt8]) {
        self.encoded = encoded
        digest = encoded.withUnsafeBufferPointer { Self.digest(of: $0) }
    }

    private init(encoded: [UInt8], digest: UInt64) {
        self.encoded = encoded
        self.digest = digest
    }

    /// The key whose encoded bytes (`Builder.bytes`) these are.
    init(encodedBytes: UnsafeBufferPointer<UInt8>) { self.init(encoded: Array(encodedBytes)) }

    /// The same, when their digest (`digest(of:)`) is known already.
    init(encodedBytes: UnsafeBufferPointer<UInt8>, digest: UInt64) {
        assert(digest == Self.digest(of: encodedBytes), "a group key made with another key's digest")
        self.init(encoded: Array(encodedBytes), digest: digest)
    }

    @inline(__always)
    static func digest(of encoded: UnsafeBufferPointer<UInt8>) -> UInt64 { fastHash(encoded, seed: 0x5851_F42D_4C95_7F2D) }

    /// The values, decoded (invalid UTF-8 repaired as `String(decoding:as:)` does).
    public var values: [String?] {
        var values: [String?] = []
        forEachValue { bytes in values.append(bytes.map { String(decoding: $0, as: UTF8.self) }) }
        return values
    }

    /// What keeping the values costs, as the state counts it: 16 bytes per value plus its
    /// UTF-8 bytes (without decoding them).
    var estimatedBytes: Int { encoded.withUnsafeBufferPointer(Self.estimatedBytes(encoded:)) }

    /// `estimatedBytes` of the key whose encoded bytes (`Builder.bytes`) these are.
    static func estimatedBytes(encoded: UnsafeBufferPointer<UInt8>) -> Int {
        var total = 0
        forEachValue(encoded) { bytes in total += 16 + (bytes?.count ?? 0) }
        return total
    }

    /// Whether this is the key whose encoded bytes (`Builder.bytes`) these are.
    func hasEncoding(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        encoded.withUnsafeBufferPointer { p in
            p.count == bytes.count && (p.isEmpty || bytesEqual(p.baseAddress!, bytes.baseAddress!, p.count))
        }
    }

    /// Calls `body` with the key's encoded bytes.
    func withEncodedBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { encoded.withUnsafeBufferPointer(body) }

    /// Calls `body` with each value's bytes in order (nil: absent).
    private func forEachValue(_ body: (UnsafeBufferPointer<UInt8>?) -> Void) {
        encoded.withUnsafeBufferPointer { Self.forEachValue($0, body) }
    }

    /// Calls `body` with each value's bytes in order (nil: absent) of a key encoded in `b`.
    private static func forEachValue(_ b: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>?) -> Void) {
        var i = 0
        while i < b.count {
            guard b[i] == Self.present else {
                body(nil)
                i += 1
                continue
            }
            let n = Int(b[i + 1]) | Int(b[i + 2]) << 8 | Int(b[i + 3]) << 16 | Int(b[i + 4]) << 24
            body(UnsafeBufferPointer(rebasing: b[(i + 5)..<(i + 5 + n)]))
            i += 5 + n
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    public static func == (a: GroupKey, b: GroupKey) -> Bool {
        guard a.digest == b.digest, a.encoded.count == b.encoded.count else { return false }
        return a.encoded.withUnsafeBufferPointer { p in
            b.encoded.withUnsafeBufferPointer { q in
                p.isEmpty || bytesEqual(p.baseAddress!, q.baseAddress!, p.count)
            }
        }
    }

    static let absent: UInt8 = 0
    static let present: UInt8 = 1

    /// Builds a key value by value, straight from an event's bytes; reusable (`reset`) so
    /// that making a key allocates only the key's own bytes.
    ///
    /// Every correlation input makes one (three values or so), so the bytes go into a buffer
    /// the builder keeps at its largest size, written through one pointer per value, with the
    /// length of what is used kept apart: appending to an array byte by byte, emptying it
    /// and copying it out generically cost about 650 instructions an input.
    ///
    /// A class with a buffer of its own: held as a constant by the detector, it is called
    /// without being retained, and reading its bytes retains no array.
    final class Builder {
        /// The key so far is `storage[0..<count]`; the rest (up to `capacity`) is room.
        private var storage: UnsafeMutablePointer<UInt8>
        private var capacity = 256
        private var count = 0
        /// Where the open value's length goes (-1: no value open).
        private var lengthAt = -1

        init() { storage = .allocate(capacity: capacity) }

        deinit { storage.deallocate() }

        func reset() {
            count = 0
            lengthAt = -1
        }

        func appendAbsent() { appendByte(GroupKey.absent) }

        func append(value: UnsafeBufferPointer<UInt8>) {
            let n = value.count
            let p = room(5 + n)
            p[0] = GroupKey.present
            Self.storeLength(n, at: p + 1)
            if let from = value.baseAddress, n > 0 { (p + 5).update(from: from, count: n) }
        }

        /// Starts a present value, whose bytes follow with `appendBytes`, then `close`.
        func open() {
            lengthAt = count + 1
            let p = room(5)
            p[0] = GroupKey.present
            Self.storeLength(0, at: p + 1)
        }

        func appendBytes(_ part: UnsafeBufferPointer<UInt8>) {
            guard let from = part.baseAddress, !part.isEmpty else { return }
            room(part.count).update(from: from, count: part.count)
        }

        func appendByte(_ byte: UInt8) { room(1)[0] = byte }

        func close() {
            Self.storeLength(count - lengthAt - 4, at: storage + lengthAt)
            lengthAt = -1
        }

        /// The key of the values appended: a copy of the bytes, so the builder's buffer stays
        /// its own.
        func key() -> GroupKey { GroupKey(encodedBytes: bytes) }

        /// The same, given the bytes' `digest()` already taken.
        func key(digest: UInt64) -> GroupKey { GroupKey(encodedBytes: bytes, digest: digest) }

        /// How many encoded bytes the values appended take.
        var byteCount: Int { count }

        /// The digest the key of the values appended would have, without making the key.
        func digest() -> UInt64 { GroupKey.digest(of: bytes) }

        /// The encoded bytes of the values appended (valid until the builder changes).
        var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: storage, count: count) }

        /// Room for `n` more bytes at the end of the key, counted as written.
        private func room(_ n: Int) -> UnsafeMutablePointer<UInt8> {
            if count + n > capacity {
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity * 2, count + n))
                grown.update(from: storage, count: count)
                storage.deallocate()
                storage = grown
                capacity = max(capacity * 2, count + n)
            }
            let at = storage + count
            count += n
            return at
        }

        @inline(__always)
        private static func storeLength(_ n: Int, at p: UnsafeMutablePointer<UInt8>) {
            UnsafeMutableRawPointer(p).storeBytes(of: UInt32(truncatingIfNeeded: n).littleEndian, as: UInt32.self)
        }
    }
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
    /// value_count: the field's value as a one-value key (its bytes, hashed once), nil when
    /// the event has none (the input is then not counted). Values are told apart by their
    /// bytes, as group keys are; made from the event's bytes, a value costs no `String`.
    let valueKey: GroupKey?
    /// The contributing events (one for a rule match; a chained firing's evidence).
    public let evidence: EvidenceItems
    /// How many events contributed in total (`evidence` may be capped).
    public let evidenceTotal: Int

    /// value_count: the field's value (nil: the event has none, and it is not counted).
    public var value: String? { valueKey.map { $0.values.first.flatMap { $0 } ?? "" } }

    public init(input: Int, time: Int64, group: GroupKey, value: String?, evidence: EvidenceItems, evidenceTotal: Int) {
        self.init(
            input: input, time: time, group: group, valueKey: value.map { GroupKey([$0]) }, evidence: evidence,
            evidenceTotal: evidenceTotal)
    }

    init(input: Int, time: Int64, group: GroupKey, valueKey: GroupKey?, evidence: EvidenceItems, evidenceTotal: Int) {
        self.input = input
        self.time = time
        self.group = group
        self.valueKey = valueKey
        self.evidence = evidence
        self.evidenceTotal = evidenceTotal
    }

    public init(input: Int, time: Int64, group: GroupKey, value: String?, evidence: [Evidence], evidenceTotal: Int) {
        self.init(
            input: input, time: time, group: group, value: value, evidence: EvidenceItems(evidence),
            evidenceTotal: evidenceTotal)
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
