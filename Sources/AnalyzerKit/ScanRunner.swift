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
        /// Threads that parse and judge, the calling one included (`summarize` only): above 1,
        /// inputs of lines are split into blocks read on that many threads, with the result
        /// of a one-thread read (see `ParallelReplay`).
        public var jobs = 1
        /// Size of the blocks of lines handed to those threads (small ones only in tests).
        public var blockSize = 512 << 10
        /// Events the detector judges as one batch on the calling thread (see
        /// `DetectingHandler.batchSize`); 1 judges each event as it is read (tests compare).
        public var detectionBatch = DetectingHandler.detectionBatchSize
        public init() {}
    }

    public let options: Options
    let reader: AuditStreamReader
    /// The progress line (on a terminal only); nil for none.
    let progress: ProgressMeter?

    public init(options: Options = Options(), progress: ProgressMeter? = nil) {
        self.options = options
        self.progress = progress
        reader = AuditStreamReader(limits: options.limits)
    }

    /// Expands directories and globs into files in lumberjack order (see `InputPaths`).
    public static func expand(_ paths: [String]) -> [String] { InputPaths.expand(paths).inputs.map(\.path) }

    /// Reads one input to its end. Damage and I/O failures are returned, not thrown, so a
    /// scan over many inputs goes on with the next one. An input that holds no bytes is an
    /// error unless `mayBeEmpty` (the current log just after a rotation).
    public func scan<H: AuditRecordHandler>(_ path: String, mayBeEmpty: Bool = false, into handler: inout H)
        -> (bytes: Int64, error: InputError?)
    {
        let read = read(InputPaths.Input(path: path, mayBeEmpty: mayBeEmpty)) { opened, source in
            readHere(source, name: path, isPipe: opened.isPipe, into: &handler)
        }
        return (read.bytes, read.error)
    }

    /// What reading one input came to: the bytes read and the failure it ended with, or why
    /// it was left out unread.
    struct InputOutcome {
        var bytes: Int64 = 0
        var error: InputError?
        var leftOut: String?
    }

    func scan<H: AuditRecordHandler>(_ input: InputPaths.Input, into handler: inout H) -> InputOutcome {
        let path = input.path
        return read(input) { opened, source in
            readHere(source, name: path, isPipe: opened.isPipe, into: &handler)
        }
    }

    /// Reads `source` on this thread: the bytes and records read, and the failure it ended with.
    private func readHere<H: AuditRecordHandler>(
        _ source: any ByteSource, name: String, isPipe: Bool, into handler: inout H
    ) -> (bytes: Int64, records: Int, error: InputError?) {
        // A pipe whose writer stopped mid-line: the cut line is reported, not read as a record.
        let unterminated: AuditStreamReader.UnterminatedLine = isPipe ? .report : .process
        var metered = MeteredSource(inner: source, meter: progress, reader: reader)
        do throws(InputError) {
            try reader.read(from: &metered, name: name, unterminatedLine: unterminated, into: &handler)
            return (reader.stats.bytes, reader.stats.records, nil)
        } catch {
            return (reader.stats.bytes, reader.stats.records, error)
        }
    }

    /// As `scan`, with the blocks of an input of lines parsed and judged on `parallel`'s
    /// threads (a pipe, and an input that is not lines, are read on this thread).
    func scan(_ input: InputPaths.Input, parallel: ParallelReplay, into handler: inout DetectingHandler) -> InputOutcome {
        let inline = parallel.decompressesInline
        let path = input.path
        return read(input, readAhead: { $0.isPipe || !inline($0.format) }) { opened, source in
            if opened.isPipe { return readHere(source, name: path, isPipe: true, into: &handler) }
            switch parallel.read(&source, name: path, progress: progress, into: &handler) {
            case .read(let bytes, let records, let error): return (bytes, records, error)
            case .notLines(let whole):
                // Read on this thread alone: an archive read inline is decompressed beside it
                // again (one read ahead otherwise already is).
                guard inline(opened.format) else {
                    return readHere(whole, name: path, isPipe: false, into: &handler)
                }
                let readAhead = ReadAheadSource(whole)
                defer { readAhead.stop() }  // before the file is closed
                return readHere(readAhead, name: path, isPipe: false, into: &handler)
            }
        }
    }

    /// Opens an input (by magic bytes; archives decompressed on a thread of their own, beside
    /// parsing and detection, unless `readAhead` says no) and reads it with `body`, which
    /// returns the bytes and records it read and the failure it ended with. An input that
    /// holds no bytes is an error unless `mayBeEmpty`; one found by listing that is not an
    /// audit log (not JSON, or JSON without `auditID`) is left out (`InputSniff`).
    private func read(
        _ input: InputPaths.Input, readAhead wantsReadAhead: (InputOpener.Opened) -> Bool = { _ in true },
        _ body: (InputOpener.Opened, inout any ByteSource) -> (bytes: Int64, records: Int, error: InputError?)
    ) -> InputOutcome {
        let path = input.path
        var opened: InputOpener.Opened
        do {
            opened = try InputOpener.open(path, options: options.opener)
        } catch {
            return InputOutcome(error: error)
        }
        defer { opened.close() }
        var start: any ByteSource = opened.source
        if input.wasListed {
            do {
                let (replayed, verdict) = try InputSniff.sniff(start)
                if let why = verdict.whyNotAuditLog {
                    progress?.finishInput(bytes: InputPaths.fileSize(path), events: 0)
                    return InputOutcome(leftOut: "\(path): skipped, not an audit log (\(why))")
                }
                start = replayed
            } catch {
                return InputOutcome(error: error)
            }
        }
        let readAhead = opened.format == .plain || !wantsReadAhead(opened) ? nil : ReadAheadSource(start)
        defer { readAhead?.stop() }  // before the file is closed
        var source: any ByteSource = readAhead ?? start
        let (bytes, records, error) = body(opened, &source)
        progress?.finishInput(bytes: source.consumedBytes, events: records)
        if let error { return InputOutcome(bytes: bytes, error: error) }
        if bytes == 0 && !input.mayBeEmpty {
            let what = opened.format == .plain ? "is empty" : "is a \(opened.format.rawValue) archive of nothing"
            return InputOutcome(error: InputError(.empty, "\(path) \(what)"))
        }
        return InputOutcome(bytes: bytes)
    }

    /// Scans every input in order into a summary.
    public func summarize(_ paths: [String], onIssue: ((ReadIssue) -> Void)? = nil) -> ScanSummary {
        summarize(paths, detector: nil, onIssue: onIssue)
    }

    /// Scans every input in order into a summary, judging each event with `detector` (which
    /// is finished at the end, so held matches and open correlation windows are judged).
    /// `afterEvent` runs after each event was judged (to move event-time clocks on).
    public func summarize(
        _ paths: [String], detector: Detector?, onIssue: ((ReadIssue) -> Void)? = nil, afterEvent: (() -> Void)? = nil
    ) -> ScanSummary {
        var handler = DetectingHandler(summary: ScanSummary(onIssue: onIssue), detector: detector)
        handler.afterEvent = afterEvent
        handler.detectionBatch = options.detectionBatch
        let expansion = InputPaths.expand(paths)
        handler.summary.inputsLeftOut += expansion.leftOut
        handler.summary.inputErrors += expansion.errors
        progress?.start(inputs: expansion.inputs.map(\.path))
        defer { progress?.finish() }
        let parallel = options.jobs > 1 ? ParallelReplay(jobs: options.jobs, limits: options.limits, detector: detector, blockSize: options.blockSize) : nil
        defer { parallel?.stop() }
        for input in expansion.inputs {
            let outcome =
                if let parallel, parallel.isParallel {
                    scan(input, parallel: parallel, into: &handler)
                } else {
                    scan(input, into: &handler)
                }
            if let leftOut = outcome.leftOut {
                handler.summary.inputsLeftOut.append(leftOut)
                continue
            }
            handler.summary.bytes += outcome.bytes
            handler.summary.inputs += 1
            if let error = outcome.error {
                handler.summary.inputErrors.append(error.message)
                if error.isDamagedArchive { handler.summary.damagedArchives += 1 }
            }
        }
        detector?.finish()
        return handler.summary
    }
}

/// Summarizes every record and, when there is a detector, judges every event.
public struct DetectingHandler: AuditRecordHandler {
    public var summary: ScanSummary
    public let detector: Detector?
    /// Runs after each event was judged: alert consumers move their event-time clock on
    /// (suppression windows close by event time, not when the next alert comes).
    public var afterEvent: (() -> Void)?

    public init(summary: ScanSummary, detector: Detector?) {
        self.summary = summary
        self.detector = detector
    }

    /// Events judged as one batch by default: enough to keep the judge's code and tables in
    /// the processor's caches through a run (one event at a time, the parser's code and the
    /// judge's took turns in the instruction cache: 12% of detection time on the benchmark
    /// corpus), few enough that the events' bytes and indexes stay in the second-level cache.
    public static let detectionBatchSize = 32
    /// This handler's batch (at least 1; the reader caps it at `AuditStreamReader.maxBatchSize`).
    public var detectionBatch = detectionBatchSize

    public mutating func handle(event: AuditEvent, at location: RecordLocation) {
        summary.handle(event: event, at: location)
        guard batchSize == 1 else { return }  // judged when its batch ends
        detector?.process(event)
        afterEvent?()
    }

    public mutating func handle(issue: ReadIssue) { summary.handle(issue: issue) }

    public var batchSize: Int { detector == nil ? 1 : max(detectionBatch, 1) }

    /// Judges the batch's events, then applies their verdicts (see `Detector.process(batch:afterEach:)`).
    public mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) {
        guard let detector, batchSize > 1 else { return }
        detector.process(batch: events, afterEach: afterEvent)
    }
}
