import AuditInputs
import AuditModel
import DetectionEngine
import Glibc

/// Runs a scan over inputs: opens each (by magic bytes), reads it with one reader and
/// feeds the records to a handler.
public struct ScanRunner {
    public struct Options: Sendable {
        public var limits = ReaderLimits()
        public var opener = InputOpener.Options()
        public init() {}
    }

    public let options: Options
    let reader: AuditStreamReader

    public init(options: Options = Options()) {
        self.options = options
        reader = AuditStreamReader(limits: options.limits)
    }

    /// Expands a directory into its regular files, sorted by name; other paths are kept.
    public static func expand(_ paths: [String]) -> [String] {
        var out: [String] = []
        for path in paths {
            var st = stat()
            guard path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, let dir = opendir(path) else {
                out.append(path)
                continue
            }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name.hasPrefix(".") { continue }
                let full = path.hasSuffix("/") ? path + name : path + "/" + name
                var fst = stat()
                if stat(full, &fst) == 0 && (fst.st_mode & S_IFMT) == S_IFREG { names.append(full) }
            }
            closedir(dir)
            out.append(contentsOf: names.sorted())
        }
        return out
    }

    /// Reads one input to its end. Damage and I/O failures are returned, not thrown, so a
    /// scan over many inputs goes on with the next one.
    public func scan<H: AuditRecordHandler>(_ path: String, into handler: inout H) -> (bytes: Int64, error: InputError?) {
        var opened: InputOpener.Opened
        do {
            opened = try InputOpener.open(path, options: options.opener)
        } catch {
            return (0, error)
        }
        defer { opened.close() }
        do {
            try reader.read(from: &opened.source, name: path, into: &handler)
            return (reader.stats.bytes, nil)
        } catch {
            return (reader.stats.bytes, error)
        }
    }

    /// Scans every input in order into a summary.
    public func summarize(_ paths: [String], onIssue: ((ReadIssue) -> Void)? = nil) -> ScanSummary {
        summarize(paths, detector: nil, onIssue: onIssue)
    }

    /// Scans every input in order into a summary, judging each event with `detector` (which
    /// is finished at the end, so held matches and open correlation windows are judged).
    public func summarize(_ paths: [String], detector: Detector?, onIssue: ((ReadIssue) -> Void)? = nil) -> ScanSummary {
        var handler = DetectingHandler(summary: ScanSummary(onIssue: onIssue), detector: detector)
        for path in Self.expand(paths) {
            let (bytes, error) = scan(path, into: &handler)
            handler.summary.bytes += bytes
            handler.summary.inputs += 1
            if let error { handler.summary.inputErrors.append(error.message) }
        }
        detector?.finish()
        return handler.summary
    }
}

/// Summarizes every record and, when there is a detector, judges every event.
struct DetectingHandler: AuditRecordHandler {
    var summary: ScanSummary
    let detector: Detector?

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        summary.handle(event: event, at: location)
        detector?.process(event)
    }

    mutating func handle(issue: ReadIssue) { summary.handle(issue: issue) }
}
