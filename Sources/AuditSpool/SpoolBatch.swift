/// One accepted webhook request, ready for the spool: its events as NDJSON lines and the
/// items that could not be read, with their raw bytes.
public struct SpoolBatch: Sendable {
    /// One event: where its line (newline included) is in `lines`, and its retry fingerprint.
    public struct Line: Sendable {
        /// Hash of the sender's identity and the event's exact bytes: a retry of the same event
        /// by the same sender has the same fingerprint; a different event with a reused
        /// auditID does not.
        public var fingerprint: UInt64
        public var start: Int
        public var end: Int
        public init(fingerprint: UInt64, start: Int, end: Int) {
            self.fingerprint = fingerprint
            self.start = start
            self.end = end
        }
    }

    /// An item that is not a readable audit event: kept whole, never dropped.
    public struct Quarantined: Sendable {
        /// Why it was refused (`malformed_json`, `not_an_event`, ...).
        public var reason: String
        /// Position of the item in the request body (byte offset), for the report.
        public var offset: Int
        public var raw: [UInt8]
        public init(reason: String, offset: Int, raw: [UInt8]) {
            self.reason = reason
            self.offset = offset
            self.raw = raw
        }
    }

    /// Who sent it (certificate subject or `bearer`), recorded with quarantined items.
    public var sender: String
    /// The events, one per line, each ending in `\n`.
    public var lines: [UInt8] = []
    public var events: [Line] = []
    public var quarantined: [Quarantined] = []

    public init(sender: String) { self.sender = sender }

    /// Bytes the batch holds in memory (what the spool's queue bound counts).
    public var byteCount: Int { lines.count + quarantined.reduce(0) { $0 + $1.raw.count } }
}

/// What became of a batch.
public enum SpoolOutcome: Sendable, Equatable {
    /// Durable on disk: `stored` new events, `duplicates` already stored (retries), and
    /// `quarantined` items written to the quarantine log.
    case stored(stored: Int, duplicates: Int, quarantined: Int)
    /// The spool is at its disk cap and nothing can be pruned (detection still needs it),
    /// or its write queue is full: answer 503 with Retry-After; nothing was stored.
    case full
    /// The write or sync failed (disk error): nothing of this batch counts as stored.
    case failed(String)
}
