import AuditModel

/// A problem with one record of the input. The record is skipped, counted and
/// reported; reading goes on with the next one.
public struct ReadIssue: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case notAnObject = "not_json_object"
        case malformedObject = "malformed_json"
        case wrongKind = "wrong_kind"
        case notAnEvent = "not_an_event"
        case badEventList = "bad_event_list"
        case invalidListItem = "invalid_list_item"
        case lineTooLong = "line_too_long"
        case unexpectedByte = "unexpected_byte"
        /// A pipe ended inside a line: its writer stopped mid-record.
        case partialLine = "partial_line"

        init(_ reason: AuditDecodeFailure.Reason) {
            switch reason {
            case .notAnObject: self = .notAnObject
            case .malformedObject: self = .malformedObject
            case .wrongKind: self = .wrongKind
            case .notAnEvent: self = .notAnEvent
            case .badEventList: self = .badEventList
            }
        }
    }

    public let kind: Kind
    /// The input's name (a path, or `-` for stdin).
    public let source: String
    /// 1-based line where the record starts.
    public var line: Int
    /// Byte offset in the (decompressed) stream where the problem is.
    public let byteOffset: Int64
    /// A short explanation for people.
    public let detail: String

    public init(kind: Kind, source: String, line: Int, byteOffset: Int64, detail: String) {
        self.kind = kind
        self.source = source
        self.line = line
        self.byteOffset = byteOffset
        self.detail = detail
    }

    public var description: String { "\(source):\(line): byte \(byteOffset): \(detail)" }
}

/// Where a record came from.
public struct RecordLocation: Sendable, Equatable {
    /// 1-based line where the record (or the EventList holding it) starts.
    public var line: Int
    /// Byte offset of the record's first byte in the (decompressed) stream.
    public var byteOffset: Int64
    /// Position within an EventList or JSON array, when the record is an item of one.
    public var itemIndex: Int?
}

/// Receives what the reader finds: events and problems, in input order.
///
/// A handler may take events in batches (`batchSize`): a detector judges a run of events
/// one after another and then applies the verdicts, so its judging code and tables stay in
/// the processor's caches instead of taking turns with the parser's.
public protocol AuditRecordHandler {
    /// Called for every event. The event (its bytes and index) is valid during the call,
    /// and again in the `endBatch(_:)` call that ends its batch.
    mutating func handle(event: AuditEvent, at location: RecordLocation)
    /// Called for every record that could not be read (after the batch before it has ended).
    mutating func handle(issue: ReadIssue)
    /// How many events a batch holds at most (1 to `AuditStreamReader.maxBatchSize`; 1 by
    /// default). The reader gives each event of a batch its own index, and ends a batch when
    /// it is full, before it reports a problem, and before it reuses its buffer (at the end
    /// of every read it processed), so a batch never waits for more input.
    var batchSize: Int { get }
    /// The events handed since the last call, in order: valid until this returns.
    mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>)
}

extension AuditRecordHandler {
    public var batchSize: Int { 1 }
    public mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) {}
}
