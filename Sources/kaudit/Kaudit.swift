import AnalyzerKit
import ArgumentParser
import Glibc

/// The `kaudit` command.
///
/// Exit codes: 0 success, 1 alerts at the `--fail-on` level (scan) or failed checks (rules),
/// 2 usage errors, unreadable inputs or damaged archives.
/// A closed stdout (EPIPE) ends the program quietly with 0, as pipes into `head` expect.
@main
struct Kaudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaudit",
        abstract: "Find attacks in Kubernetes audit logs: Sigma rules and correlations over audit.k8s.io events.",
        discussion: """
            kaudit reads the kube-apiserver's audit events (one per line as the log backend \
            writes them, EventList webhook bodies, pretty-printed events or JSON arrays; \
            audit.k8s.io/v1 and v1beta1; plain, gzip or zstd, recognised by content).

            Exit status: 0 on success; 1 when `scan --fail-on` saw an alert at its level or a \
            `rules` check failed; 2 on a usage error, an unreadable input or a damaged archive.
            """,
        version: "0.1.0",
        subcommands: [Scan.self, Follow.self, Serve.self, Stats.self, Rules.self, Matrix.self])

    static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success {  // --help, --version
                Output.stdout(fullMessage(for: error) + "\n")
                Glibc.exit(ExitStatus.success)
            }
            Output.stderr("kaudit: " + fullMessage(for: error) + "\n")
            Glibc.exit(ExitStatus.usageOrIO)
        }
    }
}

/// Process exit statuses.
enum ExitStatus {
    static let success: Int32 = 0
    /// `scan --fail-on LEVEL`: an alert at or above LEVEL fired.
    static let alertsAtThreshold: Int32 = 1
    /// Usage errors, unreadable inputs, damaged archives.
    static let usageOrIO: Int32 = 2
}

/// Writes to stdout and stderr with write(2), so a closed pipe is seen as EPIPE at once.
enum Output {
    /// Set when alerts also go elsewhere (`--report`, `--alert-url`): a closed stdout then
    /// stops the printing, not the run, so the report is written and deliveries flushed.
    nonisolated(unsafe) static var outlivesStdout = false
    nonisolated(unsafe) private static var stdoutClosed = false

    static func stdout(_ s: String) {
        if !stdoutClosed { write(1, s) }
    }
    static func stderr(_ s: String) { write(2, s) }

    /// False when the write failed (a full disk, a closed descriptor).
    @discardableResult
    static func write(_ fd: Int32, _ s: String) -> Bool {
        var s = s
        return s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)  // Safe: off < count.
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE && fd == 1 {
                        if !outlivesStdout { Glibc.exit(ExitStatus.success) }
                        stdoutClosed = true
                    }
                    return false
                }
                off += n
            }
            return true
        }
    }
}
