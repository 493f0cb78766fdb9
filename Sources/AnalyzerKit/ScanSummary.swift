import AuditInputs
import AuditJSON
import AuditModel

/// Aggregates what a scan saw: counts of events, bytes and problems, and the most
/// frequent verbs, resources and users. It is the record handler `kaudit scan` runs.
public struct ScanSummary: AuditRecordHandler {
    public var events = 0
    public var bytes: Int64 = 0
    public var inputs = 0
    public var issuesByKind: [ReadIssue.Kind: Int] = [:]
    /// Inputs that could not be read or ended in a damaged archive.
    public var inputErrors: [String] = []
    /// How many of `inputErrors` are truncated or corrupt archives read up to the damage.
    public var damagedArchives = 0
    /// Files left out on purpose, each with why: an interrupted compression beside its
    /// complete log, a file found by listing that is not an audit log.
    public var inputsLeftOut: [String] = []
    public var verbs = BoundedByteCounter(maxKeys: 1_000)
    public var resources = BoundedByteCounter(maxKeys: 10_000)
    public var users = BoundedByteCounter(maxKeys: 100_000)
    public var stages = BoundedByteCounter(maxKeys: 100)
    /// Events whose top-level object repeats a key (the last one is used).
    public var duplicateKeyEvents = 0
    /// Earliest and latest event time seen (microseconds since the epoch).
    public var firstEventMicros: Int64?
    public var lastEventMicros: Int64?

    /// Called for each problem as it is found (to print it); counting happens regardless.
    public var onIssue: ((ReadIssue) -> Void)?

    public init(onIssue: ((ReadIssue) -> Void)? = nil) { self.onIssue = onIssue }

    /// A summary of part of an input (a block read on another thread), to be merged into the
    /// input's summary in order: its counters keep every key (a block holds few events), so
    /// the merged counters keep exactly the keys a one-thread read would have kept.
    static func partial() -> ScanSummary {
        var s = ScanSummary()
        s.verbs = BoundedByteCounter(maxKeys: .max)
        s.resources = BoundedByteCounter(maxKeys: .max)
        s.users = BoundedByteCounter(maxKeys: .max)
        s.stages = BoundedByteCounter(maxKeys: .max)
        return s
    }

    /// Empties a `partial()` summary for the next block, keeping its counters' memory.
    mutating func resetPartial() {
        events = 0
        duplicateKeyEvents = 0
        verbs.removeAll()
        resources.removeAll()
        users.removeAll()
        stages.removeAll()
        firstEventMicros = nil
        lastEventMicros = nil
    }

    /// Adds the events of a `partial()` summary of the records that follow the ones seen so
    /// far (its problems are handled one by one, not merged).
    mutating func merge(_ part: ScanSummary) {
        events += part.events
        duplicateKeyEvents += part.duplicateKeyEvents
        verbs.merge(part.verbs)
        resources.merge(part.resources)
        users.merge(part.users)
        stages.merge(part.stages)
        if let t = part.firstEventMicros, firstEventMicros.map({ t < $0 }) ?? true { firstEventMicros = t }
        if let t = part.lastEventMicros, lastEventMicros.map({ t > $0 }) ?? true { lastEventMicros = t }
    }

    public var issueCount: Int { issuesByKind.values.reduce(0, +) }

    /// Whether an input failed in a way that makes the scan's exit status non-zero:
    /// any input error, except damaged archives when `allowPartial` accepts them.
    public func hasFailedInputs(allowPartial: Bool) -> Bool {
        inputErrors.count > (allowPartial ? damagedArchives : 0)
    }

    public mutating func handle(event: AuditEvent, at location: RecordLocation) {
        events += 1
        if event.hasDuplicateKeys { duplicateKeyEvents += 1 }
        Self.count(event.verb, in: &verbs)
        Self.count(event[.stage], in: &stages)
        // Nested fields straight from the event's index (no view structs per event).
        if let res = event[nested: .refResource]?.jsonString, let sub = event[nested: .refSubresource]?.jsonString {
            // "pods/exec", joined from the decoded names in a small stack buffer.
            res.withDecodedBytes { r in
                sub.withDecodedBytes { s in
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: r.count + s.count + 1) { tmp in
                        var n = 0
                        for b in r { tmp[n] = b; n += 1 }
                        tmp[n] = UInt8(ascii: "/")
                        n += 1
                        for b in s { tmp[n] = b; n += 1 }
                        resources.add(UnsafeBufferPointer(rebasing: tmp[0..<n]))
                    }
                }
            }
        } else {
            Self.count(event[nested: .refResource], in: &resources)
        }
        Self.count(event[nested: .userUsername], in: &users)
        if let t = event.stageMicros {
            if firstEventMicros.map({ t < $0 }) ?? true { firstEventMicros = t }
            if lastEventMicros.map({ t > $0 }) ?? true { lastEventMicros = t }
        }
    }

    public mutating func handle(issue: ReadIssue) {
        issuesByKind[issue.kind, default: 0] += 1
        onIssue?(issue)
    }

    static func count(_ value: JSONValue?, in counter: inout BoundedByteCounter) {
        guard let s = value?.jsonString else { return }
        s.withDecodedBytes { counter.add($0) }
    }
}
