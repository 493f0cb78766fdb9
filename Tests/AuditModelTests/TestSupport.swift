import AuditJSON
import AuditModel
import Glibc
import AuditTestSupport
import Testing

// Shared helpers for the AuditModel tests.

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// What `AuditEvent.decode` made of a document, in a form that outlives the bytes.
enum Outcome: Equatable, CustomStringConvertible {
    case event
    case eventList(items: Int)
    case failure(AuditDecodeFailure.Reason, offset: Int)

    var description: String {
        switch self {
        case .event: return "event"
        case .eventList(let n): return "eventList(\(n) items)"
        case .failure(let r, let o): return "failure(\(r), offset \(o))"
        }
    }
}

func outcome(_ bytes: [UInt8]) -> Outcome {
    bytes.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return .failure(.notAnObject, offset: 0) }
        switch AuditEvent.decode(base, start: 0, end: buffer.count) {
        case .event: return .event
        case .eventList(let items, _): return .eventList(items: Array(items.elements).count)
        case .failure(let f): return .failure(f.reason, offset: f.offset)
        }
    }
}

func outcome(_ text: String) -> Outcome { outcome(utf8(text)) }

/// Decodes `bytes` as one event (failing the test otherwise) and calls `body` with it.
func withEvent<R>(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ body: (AuditEvent) throws -> R
) throws -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        let base = try #require(buffer.baseAddress, sourceLocation: sourceLocation)
        switch AuditEvent.decode(base, start: 0, end: buffer.count) {
        case .event(let event):
            return try body(event)
        case .eventList:
            throw TestFailure("an EventList, not an event")
        case .failure(let f):
            throw TestFailure("not an event: \(f.reason) at \(f.offset)")
        }
    }
}

func withEvent<R>(
    _ text: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: (AuditEvent) throws -> R
) throws -> R {
    try withEvent(utf8(text), sourceLocation: sourceLocation, body)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A JSON string value decoded, or nil when absent or not a string.
func text(_ value: JSONValue?) -> String? { value?.string }

/// An array of JSON strings decoded, or nil when absent.
func strings(_ value: JSONValue?) -> [String]? {
    value.map { $0.elements.compactMap(\.string) }
}

/// Microseconds since the epoch of a UTC civil time, computed by libc's `timegm` (an
/// oracle independent of kaudit's date arithmetic).
func utcMicros(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0, _ us: Int = 0) -> Int64 {
    var t = tm()
    t.tm_year = Int32(y - 1900)
    t.tm_mon = Int32(mo - 1)
    t.tm_mday = Int32(d)
    t.tm_hour = Int32(h)
    t.tm_min = Int32(mi)
    t.tm_sec = Int32(s)
    return Int64(timegm(&t)) * 1_000_000 + Int64(us)
}

/// Parses an RFC 3339 timestamp given as text.
func rfc3339(_ text: String) -> Int64? {
    let bytes = utf8(text)
    guard !bytes.isEmpty else { return nil }
    return bytes.withUnsafeBufferPointer { RFC3339.microseconds($0.baseAddress!, $0.count) }
}

