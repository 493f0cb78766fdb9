import AnalyzerKit
import ArgumentParser
import AuditInputs

/// How records are read, whatever the input (`scan`, `stats`, `follow`): the line cap, the
/// zstd window limit, and how many record errors are printed.
struct ReaderOptions: ParsableArguments {
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

    var limits: ReaderLimits { ReaderLimits(maxRecordBytes: maxLineBytes) }

    var opener: InputOpener.Options {
        var options = InputOpener.Options()
        options.zstdWindowLogMax = zstdWindowLogMax
        return options
    }

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
