import AuditInputs
import AuditJSON
import AuditModel
import AuditTestSupport
import Foundation
import Testing

/// Where the third-party corpora are (see /work/shared/corpora/README.md).
///
/// Looked up in `KAUDIT_CORPORA`, else in `../shared/corpora` next to the package root.
/// When they are absent the corpus tests are skipped, except on CI (`CI` set), where they
/// run and fail, so a CI job without the corpora cannot pass silently.
enum Corpus {
    static var packageRoot: URL { PackagePaths.root }

    /// The corpora directory, or nil when it does not exist.
    static var root: URL? { SharedCorpora.root }

    static var onCI: Bool { SharedCorpora.onCI }

    /// Run when the corpora are there, and on CI always (where absence is a failure).
    static var shouldRun: Bool { root != nil || onCI }

    static let skipMessage: Comment =
        "third-party corpora not found (set KAUDIT_CORPORA or check out ../shared/corpora); skipped (on CI this fails)"

    /// The corpora directory; records a failure and throws when it is missing.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
        try #require(
            root, "corpora missing: set KAUDIT_CORPORA or provide ../shared/corpora (required when CI is set)",
            sourceLocation: sourceLocation)
    }

    static func url(_ relative: String) throws -> URL { try require().appendingPathComponent(relative) }

    static let falcoDirectory = "falco-k8s-audit/trace_files/k8s_audit"

    /// The Falco trace file names, sorted (empty when the corpora are absent).
    static let falcoFiles: [String] = {
        guard let root else { return [] }
        let dir = root.appendingPathComponent(falcoDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }()
}

/// An event copied out of the reader's buffer, so tests can look at it after the read.
struct CapturedEvent {
    let bytes: [UInt8]
    let location: RecordLocation
    /// `event.apiVersion` as seen in the handler (it includes an EventList's apiVersion).
    let apiVersion: String?

    /// Decodes the copy again and hands the view to `body`.
    func withEvent<R>(_ body: (AuditEvent) throws -> R) throws -> R {
        try bytes.withUnsafeBufferPointer { buf in
            guard case .event(let e) = AuditEvent.decode(buf.baseAddress!, start: 0, end: buf.count) else {
                throw CaptureError.notAnEvent
            }
            return try body(e)
        }
    }

    enum CaptureError: Error { case notAnEvent }
}

/// Everything the reader reported for one input.
struct ReadResult {
    var events: [CapturedEvent] = []
    var issues: [ReadIssue] = []
    var stats: ReaderStats?
    var inputError: InputError?
}

/// Collects events (as copies) and issues.
struct CollectingHandler: AuditRecordHandler {
    var result = ReadResult()

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        result.events.append(
            CapturedEvent(bytes: Array(event.object.rawBytes), location: location, apiVersion: event.apiVersion?.string))
    }

    mutating func handle(issue: ReadIssue) { result.issues.append(issue) }
}

enum Reading {
    /// Reads a file the way `kaudit scan` does: opened by content (plain, gzip, zstd) and streamed.
    static func stream(_ url: URL) -> ReadResult {
        var handler = CollectingHandler()
        let reader = AuditStreamReader()
        do {
            var opened = try InputOpener.open(url.path)
            defer { opened.close() }
            try reader.read(from: &opened.source, name: url.lastPathComponent, into: &handler)
        } catch {
            handler.result.inputError = error
        }
        handler.result.stats = reader.stats
        return handler.result
    }

    /// Reads a file's bytes in place, as a webhook body is read.
    static func inPlace(_ url: URL) throws -> ReadResult {
        let data = try Data(contentsOf: url)
        var handler = CollectingHandler()
        let reader = AuditStreamReader()
        data.withUnsafeBytes { reader.read(bytes: $0, name: url.lastPathComponent, into: &handler) }
        handler.result.stats = reader.stats
        return handler.result
    }

    /// Reads bytes in place.
    static func inPlace(_ bytes: [UInt8], name: String = "mem") -> ReadResult {
        var handler = CollectingHandler()
        let reader = AuditStreamReader()
        bytes.withUnsafeBytes { reader.read(bytes: $0, name: name, into: &handler) }
        handler.result.stats = reader.stats
        return handler.result
    }
}

/// Microseconds since the epoch of a UTC date (computed independently of RFC3339).
func micros(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, _ us: Int = 0) -> Int64 {
    var c = DateComponents()
    c.year = y; c.month = mo; c.day = d; c.hour = h; c.minute = mi; c.second = s
    c.timeZone = TimeZone(identifier: "UTC")
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "UTC")!
    let date = cal.date(from: c)!
    return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + Int64(us)
}

extension JSONValue {
    /// The strings of an array of strings.
    var stringArray: [String] { elements.compactMap { $0.string } }
}
