import AnalyzerKit
import ArgumentParser
import AuditInputs
import AuditModel
import DetectionEngine
import Glibc
import RuleLoader

/// Options every command that reads audit logs from paths shares.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Audit logs to read: files, directories, globs, or - for standard input (the default).", valueName: "path"))
    var paths: [String] = []

    @OptionGroup var reading: ReaderOptions

    @Flag(name: .long, help: "Exit 0 after a truncated or corrupt archive (everything before the damage is read and the damage reported).")
    var allowPartial = false

    @Option(name: .long, help: ArgumentHelp("Threads that parse and judge files of one event per line (the default is the number of cores; 1 reads on one thread). The output is the same whatever the number.", valueName: "n"))
    var jobs: Int = min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1), 64)

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs takes 1 to 64 (each thread keeps its own verdict memo, up to 4 MiB)") }
    }

    var runner: ScanRunner { runner(progress: nil) }

    func runner(progress: ProgressMeter?) -> ScanRunner {
        var options = ScanRunner.Options()
        options.limits = reading.limits
        options.opener = reading.opener
        options.jobs = jobs
        return ScanRunner(options: options, progress: progress)
    }

    var inputs: [String] { paths.isEmpty ? ["-"] : paths }

    /// Prints what went wrong with whole inputs (and files left out on purpose) on stderr;
    /// returns whether that makes the exit status non-zero.
    func reportInputs(_ summary: ScanSummary) -> Bool {
        for n in summary.inputsLeftOut { Output.stderr("kaudit: note: \(n)\n") }
        for e in summary.inputErrors { Output.stderr("kaudit: \(e)\n") }
        return summary.hasFailedInputs(allowPartial: allowPartial)
    }

    func issuePrinter() -> (ReadIssue) -> Void { reading.issuePrinter() }
}

/// `kaudit scan`: run the detection rules over audit logs.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the detection rules over audit logs and print alerts.",
        discussion: """
            Reads each PATH (a file, a directory of files, where files that are not audit logs are left out with a note, or - for standard input), judges \
            every event with the rule pack (the bundled Detections/ unless --rules is given) \
            and writes one alert per line on standard output: NDJSON (the default when \
            stdout is not a terminal), readable text, or Falco's JSON output (--format \
            falco). Repeats of an alert within the suppression window are folded into one \
            summary alert (--no-suppress sends each). Alerts can also be POSTed to HTTP \
            receivers (--alert-url) and gathered into an HTML report (--report). A summary \
            of the scan, of the detection and of the outputs (suppression, deliveries) goes \
            to standard error (with --matrix, followed by the threat matrix with the alerts \
            of each technique; in the JSON summary, its threat_matrix member). Compression (gzip, zstd) is recognised from the content. Activity rules \
            (the activity/ folders: informational records of deployments, services, secrets, \
            roles and the like created or deleted) are left out unless --activity is given.

            Records that are not audit events are reported on standard error with file, \
            line, byte offset and reason, counted, and skipped; reading goes on. Rules that \
            fail to load are reported and left out.

            Exit status: 0 whether or not alerts fired; 1 with --fail-on LEVEL when an alert \
            at or above LEVEL fired; 2 on a usage error, an unreadable or empty input or a \
            damaged archive (0 for a damaged archive with --allow-partial).
            """)

    enum SummaryFormat: String, ExpressibleByArgument, CaseIterable { case text, json, none }

    @OptionGroup var input: InputOptions

    @OptionGroup var detection: DetectionOptions

    @Option(name: .long, help: "Summary written to stderr at the end: text, json or none.")
    var summary: SummaryFormat = .text

    @Option(name: .long, help: ArgumentHelp("Exit with status 1 when an alert at or above this level fired (informational, low, medium, high, critical).", valueName: "level"))
    var failOn: String?

    @Option(name: .long, help: ArgumentHelp("How many of the most frequent verbs, resources and users the summary lists.", valueName: "n"))
    var top: Int = 10

    @Flag(name: .long, help: "After the summary, show the threat matrix with the alerts raised for each technique (stderr).")
    var matrix = false

    @Option(name: .long, help: ArgumentHelp("Also write a self-contained HTML report to this file: the threat matrix as a heat map, a timeline per actor, top actors, namespaces and resources, and the alerts with their evidence (at most 2,000 alerts embedded; the report says what it left out).", valueName: "file"))
    var report: String?

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be zero or more") }
        if let failOn, AlertLevel(rawValue: failOn) == nil {
            throw ValidationError("--fail-on takes informational, low, medium, high or critical")
        }
    }

    func run() throws {
        // The report file is opened first, so a path that cannot be written fails before a long scan.
        let reportFile = try report.map { path -> Int32 in
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ValidationError("cannot write --report \(path): \(String(cString: strerror(errno)))") }
            return fd
        }
        defer { if let reportFile { close(reportFile) } }
        let collector = report == nil ? nil : ReportCollector()
        let (detector, pipeline, ruleErrors) = try detection.makeDetector(report: collector)
        let tally = pipeline.tally
        let threshold = failOn.flatMap(AlertLevel.init)

        let started = Clock.now()
        // A progress line on stderr when it is a terminal (never in a pipe or a file).
        let progress = isatty(2) == 1 ? ProgressMeter(alerts: { tally.total }, draw: { Output.stderr($0) }) : nil
        let scanned = input.runner(progress: progress).summarize(
            input.inputs, detector: detector, onIssue: input.issuePrinter(), afterEvent: pipeline.tick)
        pipeline.finish()
        let elapsed = Clock.now() - started
        let failedInputs = input.reportInputs(scanned)
        let report = DetectionReport(detector: detector, ruleErrors: ruleErrors, alertsByLevel: tally.byLevel)
        let matrixReport = matrix ? MatrixReport(alerts: tally.techniques) : nil
        var outputs = pipeline.outputsReport
        var reportFailed = false
        if let collector, let reportFile, let path = self.report {
            var context = HTMLReport.Context()
            context.inputs = input.inputs
            context.events = scanned.events
            context.firstEvent = scanned.firstEventMicros
            context.lastEvent = scanned.lastEventMicros
            context.errors = scanned.issueCount
            context.generated = RFC3339.format(microseconds: Clock.wallMicros())
            context.suppression = pipeline.suppressionText
            let html = HTMLReport(
                collector: collector, matrix: MatrixReport(alerts: tally.techniques), context: context
            ).render()
            if !Output.write(reportFile, html) {
                Output.stderr("kaudit: cannot write --report \(path): \(String(cString: strerror(errno)))\n")
                reportFailed = true
            }
            outputs.report = (path, collector.sent - collector.notEmbedded, collector.notEmbedded)
        }
        switch summary {
        case .text:
            Output.stderr(SummaryReport(scanned, top: top, elapsedSeconds: elapsed).text() + "\n" + report.text() + "\n" + outputs.text())
        case .json:
            Output.stderr(
                SummaryReport(scanned, top: top, elapsedSeconds: elapsed, detection: report, matrix: matrixReport, outputs: outputs).json())
        case .none:
            break
        }
        if let matrixReport, summary != .json {
            Output.stderr(
                "\nthreat matrix: alerts by technique\n\n" + matrixReport.grid(width: Terminal.width(2), color: Terminal.colors(2)))
        }
        if failedInputs || reportFailed { throw ExitCode(ExitStatus.usageOrIO) }
        if let threshold, let highest = tally.highest, highest >= threshold { throw ExitCode(ExitStatus.alertsAtThreshold) }
    }
}

/// `kaudit stats`: summarize audit logs without running rules.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read audit logs and print a summary of what they contain.",
        discussion: """
            Reads each PATH (a file, a directory of files, where files that are not audit logs are left out with a note, or - for standard input) and \
            prints the number of events, bytes and errors and the most frequent verbs, \
            resources and users. Compression (gzip, zstd) is recognised from the content.

            Records that are not audit events are reported on standard error with file, \
            line, byte offset and reason, counted, and skipped; reading goes on.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var input: InputOptions

    @Option(name: .long, help: "Output format: text or json.")
    var format: Format = .text

    @Option(name: .long, help: ArgumentHelp("How many of the most frequent verbs, resources and users to list.", valueName: "n"))
    var top: Int = 10

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be zero or more") }
    }

    func run() throws {
        let started = Clock.now()
        let summary = input.runner.summarize(input.inputs, onIssue: input.issuePrinter())
        let elapsed = Clock.now() - started
        let failedInputs = input.reportInputs(summary)
        let report = SummaryReport(summary, top: top, elapsedSeconds: elapsed)
        Output.stdout(format == .json ? report.json() : report.text())
        if failedInputs { throw ExitCode(ExitStatus.usageOrIO) }
    }
}

/// Monotonic seconds, and the wall clock for stamping reports.
enum Clock {
    static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
