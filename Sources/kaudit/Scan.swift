import AnalyzerKit
import ArgumentParser
import AuditInputs
import Glibc

/// `kaudit scan`: read audit logs and summarize them.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read audit logs and print a summary of what they contain.",
        discussion: """
            Reads each PATH (a file, a directory of files, or - for standard input) and \
            prints the number of events, bytes and errors and the most frequent verbs, \
            resources and users. Compression (gzip, zstd) is recognised from the content.

            Records that are not audit events are reported on standard error with file, \
            line, byte offset and reason, counted, and skipped; reading goes on.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: ArgumentHelp("Audit logs to read: files, directories, or - for standard input (the default).", valueName: "path"))
    var paths: [String] = []

    @Option(name: .long, help: "Output format: text or json.")
    var format: Format = .text

    @Option(name: .long, help: ArgumentHelp("How many of the most frequent verbs, resources and users to list.", valueName: "n"))
    var top: Int = 10

    @Option(name: .long, help: ArgumentHelp("Longest record read; longer ones are skipped and reported (bytes).", valueName: "bytes"))
    var maxLineBytes: Int = 64 << 20

    @Option(name: .long, help: ArgumentHelp("Largest zstd window accepted, as a power of two (27 = 128 MiB).", valueName: "log2"))
    var zstdWindowLogMax: Int32 = 27

    @Option(name: .long, help: ArgumentHelp("Print at most this many record errors on stderr (all are counted).", valueName: "n"))
    var maxErrorReports: Int = 20

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be zero or more") }
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
        guard (10...31).contains(zstdWindowLogMax) else { throw ValidationError("--zstd-window-log-max must be between 10 and 31") }
    }

    func run() throws {
        var options = ScanRunner.Options()
        options.limits = ReaderLimits(maxRecordBytes: maxLineBytes)
        options.opener.zstdWindowLogMax = zstdWindowLogMax
        let runner = ScanRunner(options: options)
        var printed = 0
        let limit = maxErrorReports
        let started = Clock.now()
        let summary = runner.summarize(paths.isEmpty ? ["-"] : paths) { issue in
            printed += 1
            if printed <= limit {
                Output.stderr("kaudit: \(issue.description)\n")
            } else if printed == limit + 1 {
                Output.stderr("kaudit: more record errors follow; only their count is reported (--max-error-reports)\n")
            }
        }
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
