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
public protocol AuditRecordHandler {
    /// Called for every event. The event's bytes are valid only during the call.
    mutating func handle(event: AuditEvent, at location: RecordLocation)
    /// Called for every record that could not be read.
    mutating func handle(issue: ReadIssue)
}
