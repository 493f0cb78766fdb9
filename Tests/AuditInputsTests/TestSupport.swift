import AuditInputs
import AuditJSON
import AuditModel
import AuditTestSupport
import Testing

// Shared helpers for the AuditInputs tests: a collecting handler, byte sources that
// deliver input in chosen pieces, a builder that records where each record should be
// found, and event texts.

func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

// MARK: Collecting what the reader finds

/// One event as the reader reported it, kept after its bytes are gone.
struct EventRecord: Equatable, CustomStringConvertible {
    var auditID: String?
    var apiVersion: String?
    /// The `RecordLocation` fields (its initializer is not public).
    var line: Int
    var byteOffset: Int64
    var itemIndex: Int?

    var description: String {
        "\(auditID ?? "nil")@\(line):\(byteOffset)\(itemIndex.map { "[\($0)]" } ?? "")"
    }
}

/// One issue as the reader reported it (without the free-text detail).
struct IssueRecord: Equatable, CustomStringConvertible {
    var kind: ReadIssue.Kind
    var line: Int
    var byteOffset: Int64
    var source: String

    var description: String { "\(kind.rawValue)@\(line):\(byteOffset)" }
}

/// Events and issues interleaved, in the order the reader reported them.
enum Entry: Equatable, CustomStringConvertible {
    case event(EventRecord)
    case issue(IssueRecord)

    var description: String {
        switch self {
        case .event(let e): return e.description
        case .issue(let i): return "!" + i.description
        }
    }
}

struct Collector: AuditRecordHandler {
    var entries: [Entry] = []
    var details: [String] = []
    /// With more than 1, events are held until `endBatch()` (or the next issue) and only then
    /// recorded, read again from the held views: each must still show what it showed when
    /// it was handed over (its bytes and its own index), and no batch may exceed the size.
    let batchSize: Int
    private var held: [(event: AuditEvent, record: EventRecord, raw: [UInt8])] = []
    /// Calls of `endBatch()`.
    private(set) var batchEnds = 0

    init(batchSize: Int = 1) { self.batchSize = batchSize }

    var events: [EventRecord] { entries.compactMap { if case .event(let e) = $0 { return e } else { return nil } } }
    var issues: [IssueRecord] { entries.compactMap { if case .issue(let i) = $0 { return i } else { return nil } } }
    var auditIDs: [String?] { events.map(\.auditID) }

    static func record(_ event: AuditEvent, _ location: RecordLocation) -> EventRecord {
        EventRecord(
            auditID: event.auditID?.string, apiVersion: event.apiVersion?.string,
            line: location.line, byteOffset: location.byteOffset, itemIndex: location.itemIndex)
    }

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        let record = Self.record(event, location)
        guard batchSize > 1 else { return entries.append(.event(record)) }
        held.append((event, record, Array(event.object.rawBytes)))
        if held.count > batchSize { Issue.record("the reader handed out \(held.count) events in a batch of \(batchSize)") }
    }

    mutating func handle(issue: ReadIssue) {
        if !held.isEmpty { Issue.record("a problem was reported inside a batch of \(held.count) events") }
        entries.append(.issue(IssueRecord(kind: issue.kind, line: issue.line, byteOffset: issue.byteOffset, source: issue.source)))
        details.append(issue.description)
    }

    /// Each event given must be the one held for it, still showing what it showed when it
    /// was handed over.
    mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) {
        batchEnds += 1
        guard batchSize > 1 else { return }  // recorded as handed over
        if events.count != held.count { Issue.record("a batch of \(events.count) events ends \(held.count) handed over") }
        for (k, (event, record, raw)) in held.enumerated() {
            let again = EventRecord(
                auditID: event.auditID?.string, apiVersion: event.apiVersion?.string,
                line: record.line, byteOffset: record.byteOffset, itemIndex: record.itemIndex)
            let given = k < events.count ? Array(events[k].object.rawBytes) : []
            if again != record || Array(event.object.rawBytes) != raw || given != raw {
                Issue.record("held event \(record) changed before its batch ended: now \(again)")
            }
            entries.append(.event(record))
        }
        held.removeAll()
    }
}

// MARK: Byte sources that control read sizes

/// Returns at most `maxChunk` bytes per read.
struct ChunkedSource: ByteSource {
    let bytes: [UInt8]
    let maxChunk: Int
    var position = 0
    var consumedBytes: Int64 { Int64(position) }

    init(_ bytes: [UInt8], maxChunk: Int) {
        self.bytes = bytes
        self.maxChunk = maxChunk
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(maxChunk, buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
            position += n
        }
        return n
    }
}

/// Returns exactly the given pieces, one per read (empty pieces are skipped, since a
/// read of 0 bytes means the end of the input).
struct PiecesSource: ByteSource {
    var pieces: [[UInt8]]
    var index = 0
    var consumedBytes: Int64 = 0

    init(_ pieces: [[UInt8]]) { self.pieces = pieces.filter { !$0.isEmpty } }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        guard index < pieces.count else { return 0 }
        let piece = pieces[index]
        precondition(piece.count <= buffer.count, "piece larger than the reader's buffer")
        piece.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: piece.count) }
        index += 1
        consumedBytes += Int64(piece.count)
        return piece.count
    }
}

/// A source that fails after delivering its bytes, like a broken pipe.
struct FailingSource: ByteSource {
    var inner: ChunkedSource
    var consumedBytes: Int64 { inner.consumedBytes }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        if n == 0 { throw InputError(.read, "cannot read test-input: Input/output error") }
        return n
    }
}


// MARK: Running the reader

/// Reads `bytes` through a source that returns at most `chunk` bytes per read.
func readStream(
    _ bytes: [UInt8], chunk: Int = .max, limits: ReaderLimits = ReaderLimits(), reader: AuditStreamReader? = nil,
    name: String = "test.log", batchSize: Int = 1
) -> Collector {
    let reader = reader ?? AuditStreamReader(limits: limits)
    var source = ChunkedSource(bytes, maxChunk: chunk)
    var collector = Collector(batchSize: batchSize)
    do {
        try reader.read(from: &source, name: name, into: &collector)
    } catch {
        Issue.record("unexpected InputError: \(error)")
    }
    return collector
}

/// Reads `bytes` through a source that returns exactly `pieces`.
func readPieces(_ pieces: [[UInt8]], reader: AuditStreamReader, name: String = "test.log", batchSize: Int = 1) -> Collector {
    var source = PiecesSource(pieces)
    var collector = Collector(batchSize: batchSize)
    do {
        try reader.read(from: &source, name: name, into: &collector)
    } catch {
        Issue.record("unexpected InputError: \(error)")
    }
    return collector
}

/// Reads `bytes` in place (no copy), as for a webhook body.
func readInPlace(_ bytes: [UInt8], limits: ReaderLimits = ReaderLimits(), name: String = "test.log", batchSize: Int = 1) -> Collector {
    let reader = AuditStreamReader(limits: limits)
    var collector = Collector(batchSize: batchSize)
    bytes.withUnsafeBytes { reader.read(bytes: $0, name: name, into: &collector) }
    return collector
}

// MARK: Building inputs with their expected records

/// Appends text and remembers where each record must be reported: the 1-based line and the
/// byte offset of its `{` (for EventList items: the line where the list starts).
struct StreamBuilder {
    var bytes: [UInt8] = []
    var expected: [Entry] = []
    var name = "test.log"

    /// The line the next byte will be on.
    var line: Int { 1 + bytes.lazy.filter { $0 == 0x0A }.count }

    mutating func raw(_ text: String) { bytes += utf8(text) }
    mutating func raw(_ data: [UInt8]) { bytes += data }

    /// An event document whose text starts with `{`.
    mutating func event(_ id: String, _ text: String, item: Int? = nil, apiVersion: String? = "audit.k8s.io/v1") {
        precondition(text.hasPrefix("{"))
        expected.append(.event(EventRecord(
            auditID: id, apiVersion: apiVersion, line: line, byteOffset: Int64(bytes.count), itemIndex: item)))
        raw(text)
    }

    /// A record that must be reported as an issue at `delta` bytes into `text`.
    mutating func issue(_ kind: ReadIssue.Kind, _ text: String, at delta: Int = 0) {
        expected.append(.issue(IssueRecord(kind: kind, line: line, byteOffset: Int64(bytes.count + delta), source: name)))
        raw(text)
    }

    /// Same, for raw bytes.
    mutating func issue(_ kind: ReadIssue.Kind, _ data: [UInt8], at delta: Int = 0) {
        expected.append(.issue(IssueRecord(kind: kind, line: line, byteOffset: Int64(bytes.count + delta), source: name)))
        raw(data)
    }

    /// An EventList whose items are events without apiVersion (they take the list's).
    /// `pretty` puts each item on its own line.
    mutating func eventList(_ ids: [String], pretty: Bool) {
        let listLine = line
        raw(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#)
        for (index, id) in ids.enumerated() {
            if index > 0 { raw(",") }
            if pretty { raw("\n    ") }
            expected.append(.event(EventRecord(
                auditID: id, apiVersion: "audit.k8s.io/v1", line: listLine, byteOffset: Int64(bytes.count),
                itemIndex: index)))
            raw(pretty ? Events.pretty(id, apiVersion: nil, indent: "    ") : Events.compact(id, apiVersion: nil))
        }
        raw(pretty ? "\n  ]\n}" : "]}")
    }
}

// MARK: Event texts

enum Events {
    /// A one-line audit.k8s.io/v1 event.
    static func compact(_ id: String, apiVersion: String? = "audit.k8s.io/v1", verb: String = "get") -> String {
        let version = apiVersion.map { #""apiVersion":"\#($0)","# } ?? ""
        return #"{"kind":"Event",\#(version)"level":"Metadata","auditID":"\#(id)","stage":"ResponseComplete","#
            + #""requestURI":"/api/v1/namespaces/default/pods/web-0","verb":"\#(verb)","#
            + #""user":{"username":"system:serviceaccount:ci:deployer","groups":["system:serviceaccounts","system:authenticated"]},"#
            + #""sourceIPs":["10.0.3.17"],"userAgent":"kubectl/v1.30.2 (linux/amd64) kubernetes/3968350","#
            + #""objectRef":{"resource":"pods","namespace":"default","name":"web-0","apiVersion":"v1"},"#
            + #""responseStatus":{"metadata":{},"code":200},"#
            + #""requestReceivedTimestamp":"2024-05-01T12:34:56.123456Z","stageTimestamp":"2024-05-01T12:34:56.234567Z","#
            + #""annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"ci\" of ClusterRole \"view\" to ServiceAccount \"deployer/ci\""}}"#
    }

    /// The same event pretty-printed the way `jq .` or `kubectl -o json` print it, every
    /// line after the first prefixed with `indent`.
    static func pretty(_ id: String, apiVersion: String? = "audit.k8s.io/v1", indent: String = "") -> String {
        var lines = ["{", #"  "kind": "Event","#]
        if let apiVersion { lines.append(#"  "apiVersion": "\#(apiVersion)","#) }
        lines += [
            #"  "level": "Metadata","#,
            #"  "auditID": "\#(id)","#,
            #"  "stage": "ResponseComplete","#,
            #"  "requestURI": "/api/v1/namespaces/default/pods/web-0","#,
            #"  "verb": "get","#,
            #"  "user": {"#,
            #"    "username": "system:serviceaccount:ci:deployer","#,
            #"    "groups": ["#,
            #"      "system:serviceaccounts","#,
            #"      "system:authenticated""#,
            #"    ]"#,
            #"  },"#,
            #"  "sourceIPs": ["#,
            #"    "10.0.3.17""#,
            #"  ],"#,
            #"  "objectRef": {"#,
            #"    "resource": "pods","#,
            #"    "namespace": "default","#,
            #"    "name": "web-0","#,
            #"    "apiVersion": "v1""#,
            #"  },"#,
            #"  "responseStatus": {"#,
            #"    "metadata": {},"#,
            #"    "code": 200"#,
            #"  },"#,
            #"  "requestReceivedTimestamp": "2024-05-01T12:34:56.123456Z","#,
            #"  "stageTimestamp": "2024-05-01T12:34:56.234567Z","#,
            #"  "annotations": {"#,
            #"    "authorization.k8s.io/decision": "allow","#,
            #"    "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"ci\" of ClusterRole \"view\" to ServiceAccount \"deployer/ci\"""#,
            #"  }"#,
            "}",
        ]
        return lines.enumerated().map { $0.offset == 0 ? $0.element : indent + $0.element }.joined(separator: "\n")
    }

    /// A valid event padded with a large requestObject to about `size` bytes.
    static func large(_ id: String, size: Int) -> String {
        let head = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"\#(id)","verb":"create","requestObject":{"kind":"ConfigMap","data":{"blob":""#
        let tail = #""}}}"#
        return head + String(repeating: "x", count: max(0, size - head.utf8.count - tail.utf8.count)) + tail
    }
}
