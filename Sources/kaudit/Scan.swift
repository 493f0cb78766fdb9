import AnalyzerKit
import ArgumentParser
import AuditInputs
import DetectionEngine
import Glibc
import RuleLoader

/// Options every command that reads audit logs shares.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Audit logs to read: files, directories, or - for standard input (the default).", valueName: "path"))
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("Longest record read; longer ones are skipped and reported (bytes).", valueName: "bytes"))
    var maxLineBytes: Int = 64 << 20

    @Option(name: .long, help: ArgumentHelp("Largest zstd window accepted, as a power of two (27 = 128 MiB).", valueName: "log2"))
    var zstdWindowLogMax: Int32 = 27

    @Option(name: .long, help: ArgumentHelp("Print at most this many record errors on stderr (all are counted).", valueName: "n"))
    var maxErrorReports: Int = 20

    func validate() throws {
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
        guard (10...31).contains(zstdWindowLogMax) else { throw ValidationError("--zstd-window-log-max must be between 10 and 31") }
    }

    var runner: ScanRunner {
        var options = ScanRunner.Options()
        options.limits = ReaderLimits(maxRecordBytes: maxLineBytes)
        options.opener.zstdWindowLogMax = zstdWindowLogMax
        return ScanRunner(options: options)
    }

    var inputs: [String] { paths.isEmpty ? ["-"] : paths }

    /// Prints record errors on stderr, up to `--max-error-reports`.
    func issuePrinter() -> (ReadIssue) -> Void {
        var printed = 0
        let limit = maxErrorReports
        return { issue in
            printed += 1
            if printed <= limit {
                Output.stderr("kaudit: \(issue.description)\n")
            } else if printed == limit + 1 {
                Output.stderr("kaudit: more record errors follow; only their count is reported (--max-error-reports)\n")
            }
        }
    }
}

/// `kaudit scan`: run the detection rules over audit logs.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the detection rules over audit logs and print alerts.",
        discussion: """
            Reads each PATH (a file, a directory of files, or - for standard input), judges \
            every event with the rule pack (the bundled Detections/ unless --rules is given) \
            and writes one alert per line on standard output: NDJSON (the default when \
            stdout is not a terminal) or readable text. A summary of the scan and of the \
            detection goes to standard error (with --matrix, followed by the threat matrix \
            with the alerts of each technique; in the JSON summary, its threat_matrix \
            member). Compression (gzip, zstd) is recognised from \
            the content.

            Records that are not audit events are reported on standard error with file, \
            line, byte offset and reason, counted, and skipped; reading goes on. Rules that \
            fail to load are reported and left out.

            Exit status: 0 whether or not alerts fired; 1 with --fail-on LEVEL when an alert \
            at or above LEVEL fired; 2 on a usage error, an unreadable input or a damaged archive.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, ndjson }
    enum SummaryFormat: String, ExpressibleByArgument, CaseIterable { case text, json, none }

    @OptionGroup var input: InputOptions

    @OptionGroup var ruleSources: RuleSources

    @Option(name: .long, help: "Alert format: ndjson or text (default: text on a terminal, ndjson otherwise).")
    var format: Format?

    @Option(name: .long, help: "Summary written to stderr at the end: text, json or none.")
    var summary: SummaryFormat = .text

    @Option(name: .long, help: ArgumentHelp("Exit with status 1 when an alert at or above this level fired (informational, low, medium, high, critical).", valueName: "level"))
    var failOn: String?

    @Option(name: .long, help: ArgumentHelp("How late (seconds, event time) an event may arrive and still be correlated in order.", valueName: "seconds"))
    var lateness: Double = 5

    @Option(name: .long, help: ArgumentHelp("How many of the most frequent verbs, resources and users the summary lists.", valueName: "n"))
    var top: Int = 10

    @Flag(name: .long, help: "After the summary, show the threat matrix with the alerts raised for each technique (stderr).")
    var matrix = false

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be zero or more") }
        guard lateness >= 0, lateness <= 86_400 else { throw ValidationError("--lateness must be between 0 and 86400 seconds") }
        if let failOn, AlertLevel(rawValue: failOn) == nil {
            throw ValidationError("--fail-on takes informational, low, medium, high or critical")
        }
    }

    func run() throws {
        let pack = try ruleSources.load()

        let alertFormat = format ?? (isatty(1) == 1 ? .text : .ndjson)
        let color = alertFormat == .text && Terminal.colors(1)
        let threshold = failOn.flatMap(AlertLevel.init)
        var options = DetectorOptions()
        options.lateness = Int64(lateness * 1_000_000)
        var highest: AlertLevel?
        var byLevel: [AlertLevel: Int] = [:]
        var techniques = MatrixTally()
        let countTechniques = matrix
        let detector = Detector(plan: pack.plan, options: options) { alert in
            byLevel[alert.rule.level, default: 0] += 1
            if countTechniques { techniques.add(alert.rule.threatMatrix) }
            if highest.map({ alert.rule.level > $0 }) ?? true { highest = alert.rule.level }
            Output.stdout((alertFormat == .ndjson ? AlertFormat.json(alert) : AlertFormat.text(alert, color: color)) + "\n")
        }

        let started = Clock.now()
        let scanned = input.runner.summarize(input.inputs, detector: detector, onIssue: input.issuePrinter())
        let elapsed = Clock.now() - started
        for e in scanned.inputErrors { Output.stderr("kaudit: \(e)\n") }
        let report = DetectionReport(
            detector: detector, ruleErrors: pack.errors.count, alertsByLevel: byLevel)
        let matrixReport = matrix ? MatrixReport(alerts: techniques) : nil
        switch summary {
        case .text:
            Output.stderr(SummaryReport(scanned, top: top, elapsedSeconds: elapsed).text() + "\n" + report.text())
        case .json:
            Output.stderr(
                SummaryReport(scanned, top: top, elapsedSeconds: elapsed, detection: report, matrix: matrixReport).json())
        case .none:
            break
        }
        if let matrixReport, summary != .json {
            Output.stderr(
                "\nthreat matrix: alerts by technique\n\n" + matrixReport.grid(width: Terminal.width(2), color: Terminal.colors(2)))
        }
        if !scanned.inputErrors.isEmpty { throw ExitCode(ExitStatus.usageOrIO) }
        if let threshold, let highest, highest >= threshold { throw ExitCode(ExitStatus.alertsAtThreshold) }
    }
}

/// `kaudit stats`: summarize audit logs without running rules.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read audit logs and print a summary of what they contain.",
        discussion: """
            Reads each PATH (a file, a directory of files, or - for standard input) and \
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
        for e in summary.inputErrors { Output.stderr("kaudit: \(e)\n") }
        let report = SummaryReport(summary, top: top, elapsedSeconds: elapsed)
        Output.stdout(format == .json ? report.json() : report.text())
        if !summary.inputErrors.isEmpty { throw ExitCode(ExitStatus.usageOrIO) }
    }
}

/// Monotonic seconds.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
