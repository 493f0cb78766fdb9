import AnalyzerKit
import ArgumentParser
import AuditInputs
import AuditModel
import DetectionEngine
import Glibc

/// `kaudit follow`: run the detection rules over the apiserver's audit log as it is written.
struct Follow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow an audit log as it is written (tail -F) and print alerts as they fire.",
        discussion: """
            Follows PATH (the apiserver's --audit-log-path) from its end, or from its start \
            with --from-start, through rename rotation (the old file is read to its end \
            first, even when it is compressed and removed meanwhile), copytruncate, and \
            delete-and-recreate. Files are recognised by a fingerprint of their first bytes. \
            A PATH that does not exist yet (or cannot be opened) is waited for, as tail -F \
            does, and said once on standard error.

            With --state-dir, a checkpoint (file fingerprint and offset) is written there \
            after the events before it were processed; after a restart, following resumes \
            exactly there, reading the rotated (and compressed) backups written meanwhile, \
            in order. Data removed before it was read is reported as a gap.

            Alerts go to standard output as `scan` writes them, with the same suppression \
            and HTTP delivery. On SIGINT or SIGTERM open suppression windows send their \
            summaries, queued deliveries get --alert-flush-timeout to finish, the summary \
            (events, errors, alerts, rotations, gaps, outputs) goes to standard error and \
            the exit status is 0.
            """)

    @Argument(help: ArgumentHelp("The audit log to follow (the current file, e.g. /var/log/kubernetes/audit.log).", valueName: "path"))
    var path: String

    @Flag(name: .long, help: "Start at the beginning of the file instead of its end (when there is no checkpoint).")
    var fromStart = false

    @Option(name: .long, help: ArgumentHelp("Directory for the checkpoint; following resumes there after a restart.", valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("Seconds between looks at the file once everything written was read.", valueName: "seconds"))
    var pollInterval: Double = 0.1

    @Option(name: .long, help: ArgumentHelp("Seconds between checkpoints while reading (also written after each file and on stop).", valueName: "seconds"))
    var checkpointInterval: Double = 1

    @OptionGroup var reading: ReaderOptions

    @OptionGroup var detection: DetectionOptions

    func validate() throws {
        guard path != "-" else { throw ValidationError("follow reads a file; for standard input use `kaudit scan -`") }
        if InputPaths.isDirectory(path) { throw ValidationError(Self.directoryMessage(path)) }
        guard (0.001...60).contains(pollInterval) else { throw ValidationError("--poll-interval must be between 0.001 and 60 seconds") }
        guard (0...3600).contains(checkpointInterval) else { throw ValidationError("--checkpoint-interval must be between 0 and 3600 seconds") }
    }

    func run() throws {
        let stop = StopSignals()  // before anything else, so no thread can take the signals
        if let stateDir {
            if mkdir(stateDir, 0o700) != 0 && errno != EEXIST {
                throw ValidationError("cannot create --state-dir \(stateDir): \(String(cString: strerror(errno)))")
            }
            guard InputPaths.isDirectory(stateDir) else { throw ValidationError("--state-dir \(stateDir) is not a directory") }
        }
        let (detector, pipeline, ruleErrors) = try detection.makeDetector()
        var options = LogFollower.Options()
        options.fromStart = fromStart
        options.stateDirectory = stateDir
        options.pollInterval = pollInterval
        options.checkpointInterval = checkpointInterval
        options.opener = reading.opener
        let reader = AuditStreamReader(limits: reading.limits)
        let follower = LogFollower(path: path, options: options, reader: reader)
        var handler = DetectingHandler(summary: ScanSummary(onIssue: reading.issuePrinter()), detector: detector)
        handler.afterEvent = pipeline.tick
        let started = Clock.now()
        follower.run(into: &handler, wait: stop.wait, notice: { Output.stderr("kaudit: \($0)\n") })
        detector.finish()
        pipeline.finish()
        let elapsed = Clock.now() - started
        var summary = handler.summary
        summary.inputs = follower.counters.files
        summary.bytes = follower.counters.bytes
        let report = DetectionReport(detector: detector, ruleErrors: ruleErrors, alertsByLevel: pipeline.tally.byLevel)
        Output.stderr(SummaryReport(summary, top: 10, elapsedSeconds: elapsed).text() + "\n"
            + Self.followText(follower) + "\n" + report.text() + "\n" + pipeline.outputsReport.text())
    }

    /// Why a directory is refused, naming the logs in it that can be followed (files that
    /// are not lumberjack backups and end in `.log`; those with backups first).
    static func directoryMessage(_ dir: String) -> String {
        let trimmed = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        let (files, _) = LumberjackOrder.order(InputPaths.regularFiles(in: dir))
        let logs = files.filter { LumberjackName(backup: $0.name) == nil && $0.name.hasSuffix(".log") }
            .sorted { $0.isCurrentWithBackups && !$1.isCurrentWithBackups }
            .map { (trimmed == "/" ? "" : trimmed) + "/" + $0.name }
        var message = "\(dir) is a directory; follow takes the log file itself (the apiserver's --audit-log-path)"
        if let first = logs.first {
            message += ", here perhaps: kaudit follow \(first)"
            if logs.count > 1 { message += " (or " + logs.dropFirst().prefix(3).joined(separator: ", ") + ")" }
        }
        return message + ". To read every file in it once, use `kaudit scan \(dir)`."
    }

    /// What following saw: rotations, truncations, gaps, checkpoints.
    static func followText(_ follower: LogFollower) -> String {
        let c = follower.counters
        var out = "follow\n"
        out += "  rotations    \(c.rotations)\n"
        out += "  truncations  \(c.truncations)\n"
        out += "  gaps         \(follower.gaps.count)\n"
        for gap in follower.gaps { out += "    \(gap)\n" }
        if c.inputErrors > 0 { out += "  unreadable   \(c.inputErrors)\n" }
        out += "  checkpoints  \(c.checkpoints)\n"
        return out
    }
}

/// SIGINT and SIGTERM, blocked and waited for: the follower sleeps in `sigtimedwait`, so a
/// stop is seen at once and no handler runs at an arbitrary point.
struct StopSignals {
    let set: sigset_t

    init() {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGINT)
        sigaddset(&s, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &s, nil)
        set = s
    }

    /// Sleeps up to `seconds`; true when a stop signal came.
    func wait(_ seconds: Double) -> Bool {
        var s = set
        let whole = seconds.rounded(.down)
        var timeout = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        let r = sigtimedwait(&s, nil, &timeout)
        return r == SIGINT || r == SIGTERM
    }
}
