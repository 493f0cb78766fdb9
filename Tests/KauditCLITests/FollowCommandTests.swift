import AuditTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// `kaudit follow` as a process: alerts as `scan` writes them, through a rotation and a
// restart with --state-dir; the summary and exit 0 on SIGTERM.

@Suite("kaudit follow", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct FollowCommandTests {
    /// Starts `kaudit follow` with stdout and stderr going to files.
    final class Running {
        let process = Process()
        let out: URL
        let err: URL

        init(_ arguments: [String], in dir: TempDir, tag: String) throws {
            out = dir.url.appendingPathComponent("follow-\(tag).out")
            err = dir.url.appendingPathComponent("follow-\(tag).err")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            process.executableURL = CLI.executable
            process.arguments = ["follow"] + arguments
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
            try process.run()
        }

        /// Waits until stdout has `lines` lines (or 20 s pass).
        func waitForOutput(lines: Int) {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline && stdout.split(separator: "\n").count < lines { usleep(20_000) }
        }

        var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test("alerts as scan writes them, across a rotation and a restart; summary and exit 0 on SIGTERM")
    func followAcrossRotationAndRestart() throws {
        let dir = try TempDir()
        let lines = try String(contentsOf: Sample.url, encoding: .utf8).split(separator: "\n").map { $0 + "\n" }
        let expected = try CLI.run(["scan", "--summary", "none", "--format", "ndjson", "--lateness", "0", Sample.url.path]).stdout
        let alertCount = expected.split(separator: "\n").count
        #expect(alertCount > 0)
        let logs = dir.url.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let log = logs.appendingPathComponent("audit.log")
        let state = dir.url.appendingPathComponent("state").path
        let third = lines.count / 3
        try Data(lines[..<third].joined().utf8).write(to: log)

        let args = ["--from-start", "--state-dir", state, "--format", "ndjson", "--lateness", "0", "--poll-interval", "0.02", log.path]
        let first = try Running(args, in: dir, tag: "1")
        Self.waitForCheckpoint(in: state, offset: try Self.size(log))
        // Lumberjack: rename, then a new file.
        try FileManager.default.moveItem(at: log, to: logs.appendingPathComponent("audit-2025-03-14T09-01-00.000.log"))
        try Data(lines[third..<(2 * third)].joined().utf8).write(to: log)
        Self.waitForCheckpoint(in: state, offset: try Self.size(log))
        #expect(first.stop() == 0, "\(first.stderr)")
        #expect(first.stderr.contains("rotations    1"), "\(first.stderr)")
        #expect(first.stderr.contains("gaps         0"))

        // Written while stopped: appended, rotated and compressed, then a new file.
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        handle.write(Data(lines[(2 * third)..<(2 * third + 5)].joined().utf8))
        try handle.close()
        let backup = logs.appendingPathComponent("audit-2099-01-01T00-00-00.000.log")
        try FileManager.default.moveItem(at: log, to: backup)
        if CLI.hasTool("gzip") { _ = try CLI.shell("gzip -n '\(backup.path)'") }
        try Data(lines[(2 * third + 5)...].joined().utf8).write(to: log)

        let second = try Running(args.filter { $0 != "--from-start" }, in: dir, tag: "2")
        Self.waitForCheckpoint(in: state, offset: try Self.size(log))
        #expect(second.stop() == 0, "\(second.stderr)")
        #expect(second.stderr.contains("gaps         0"), "\(second.stderr)")
        // Every event exactly once over both runs: the alerts are scan's, in scan's order.
        let events = (first.stderr + second.stderr).split(separator: "\n").filter { $0.hasPrefix("events ") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(events.reduce(0, +) == lines.count, "\(events)")
        #expect(first.stdout + second.stdout == expected)
    }

    static func size(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? -1
    }

    /// Waits (up to 30 s) until the follower's checkpoint says it has handled `offset` bytes of
    /// the current log: everything written so far was read.
    static func waitForCheckpoint(in state: String, offset: Int) {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: state + "/checkpoint", encoding: .utf8)) ?? ""
            if text.contains(" offset=\(offset) "), text.hasSuffix("name=audit.log\n") { return }
            usleep(20_000)
        }
    }

    @Test("follow refuses standard input and bad intervals")
    func usage() throws {
        #expect(try CLI.run(["follow", "-"]).status == 2)
        #expect(try CLI.run(["follow", "--poll-interval", "0", "x.log"]).status == 2)
    }

    @Test("follow refuses a directory and names the logs in it that it can follow")
    func directory() throws {
        let dir = try TempDir()
        _ = try dir.file("audit-2026-01-01T00-00-00.000.log", Data())
        _ = try dir.file("audit.log", Data())
        _ = try dir.file("kube-apiserver.log", Data())
        _ = try dir.file("README", Data())
        let r = try CLI.run(["follow", dir.url.path])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains(
            "\(dir.url.path) is a directory; follow takes the log file itself (the apiserver's --audit-log-path), here perhaps: kaudit follow \(dir.url.path)/audit.log (or \(dir.url.path)/kube-apiserver.log). To read every file in it once, use `kaudit scan \(dir.url.path)`."),
            "\(r)")
    }
}
