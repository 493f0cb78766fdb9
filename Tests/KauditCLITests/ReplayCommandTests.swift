import AuditTestSupport
import Foundation
import Testing

// Replay from the command line: lumberjack directories and globs, empty inputs, damaged
// archives with and without --allow-partial, and a pipe that ends mid-line.

@Suite("kaudit stats: replaying directories and archives", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct ReplayCommandTests {
    /// The sample's lines split into `parts` consecutive pieces.
    static func sampleParts(_ parts: Int) throws -> [String] {
        let lines = try String(contentsOf: Sample.url, encoding: .utf8).split(separator: "\n")
        let size = (lines.count + parts - 1) / parts
        return stride(from: 0, to: lines.count, by: size).map { lines[$0..<min($0 + size, lines.count)].joined(separator: "\n") + "\n" }
    }

    @Test("a lumberjack directory: backups in time order, then audit.log; a partial .gz beside its .log is not read twice",
        .enabled(if: CLI.hasTool("gzip"), "gzip not installed"))
    func lumberjackDirectory() throws {
        let dir = try TempDir()
        let parts = try Self.sampleParts(3)
        _ = try dir.file("oldest.tmp", parts[0])
        // The oldest backup compressed, the next one both plain and half-compressed (a crash
        // during the background gzip), and the current file.
        let made = try CLI.shell("""
            cd '\(dir.url.path)' && mkdir logs && gzip -c oldest.tmp > logs/audit-2025-03-14T09-01-00.000.log.gz \
            && rm oldest.tmp
            """)
        #expect(made.status == 0, "\(made.output)")
        let logs = dir.url.appendingPathComponent("logs")
        try Data(parts[1].utf8).write(to: logs.appendingPathComponent("audit-2025-03-14T09-02-00.000.log"))
        _ = try CLI.shell("cd '\(logs.path)' && gzip -c audit-2025-03-14T09-02-00.000.log | head -c 200 > audit-2025-03-14T09-02-00.000.log.gz")
        try Data(parts[2].utf8).write(to: logs.appendingPathComponent("audit.log"))

        for argument in [logs.path, logs.path + "/audit*"] {
            let r = try CLI.run(["stats", "--format", "json", argument])
            #expect(r.status == 0, "\(r)")
            let j = try r.json()
            #expect(j.int("events") == Sample.events, "\(argument)")
            #expect(j.int("inputs") == 3)
            #expect(r.stderr.contains("audit-2025-03-14T09-02-00.000.log.gz: skipped, an interrupted compression"), "\(r)")
        }
        // In time order: the summary's first and last event times are the sample's, and the
        // scan's alerts come out as for the one file.
        let whole = try CLI.run(["scan", "--summary", "none", Sample.url.path])
        let split = try CLI.run(["scan", "--summary", "none", logs.path])
        #expect(split.stdout == whole.stdout)

        // Just after a rotation the current file is empty: not an error in a directory.
        try Data().write(to: logs.appendingPathComponent("audit.log"))
        #expect(try CLI.run(["stats", logs.path]).status == 0)
    }

    @Test("an empty input is an error, not a success")
    func emptyInput() throws {
        let dir = try TempDir()
        let empty = try dir.file("empty.log", "")
        let r = try CLI.run(["stats", empty.path])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains("\(empty.path) is empty"), "\(r)")
        let stdin = try CLI.run(["stats", "-"], stdin: empty)
        #expect(stdin.status == 2, "\(stdin)")
        if CLI.hasTool("gzip") {
            let gz = dir.url.appendingPathComponent("nothing.gz")
            _ = try CLI.shell("gzip -c < /dev/null > '\(gz.path)'")
            let g = try CLI.run(["stats", gz.path])
            #expect(g.status == 2)
            #expect(g.stderr.contains("is a gzip archive of nothing"), "\(g)")
        }
    }

    @Test("a truncated archive: exit 2, or 0 with --allow-partial; the error names the file and offset",
        .enabled(if: CLI.hasTool("zstd"), "zstd not installed"))
    func allowPartial() throws {
        let dir = try TempDir()
        let zst = dir.url.appendingPathComponent("sample.zst")
        _ = try CLI.shell("zstd -q -c '\(Sample.url.path)' > '\(zst.path)'")
        let data = try Data(contentsOf: zst)
        let cut = try dir.file("cut.zst", data.prefix(data.count * 2 / 3))
        let strict = try CLI.run(["stats", "--format", "json", cut.path])
        #expect(strict.status == 2, "\(strict)")
        #expect(strict.stderr.contains("\(cut.path): zstd stream is truncated at compressed offset"), "\(strict)")
        let lenient = try CLI.run(["stats", "--format", "json", "--allow-partial", cut.path])
        #expect(lenient.status == 0, "\(lenient)")
        #expect(lenient.stderr.contains("truncated"))
        #expect(try lenient.json().int("events") == (try strict.json().int("events")))
        // --allow-partial does not excuse an input that cannot be read at all.
        #expect(try CLI.run(["stats", "--allow-partial", cut.path, dir.url.appendingPathComponent("missing").path]).status == 2)
    }

    @Test("a pipe that ends mid-line: the cut line is reported as partial_line")
    func pipeEndsMidLine() throws {
        let r = try CLI.shell("""
            { cat '\(Sample.url.path)'; printf '{"kind":"Event","apiVer'; } | '\(CLI.executable!.path)' stats --format json -
            """)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("-:\(Sample.events + 1): byte "), "\(r.output)")
        #expect(r.output.contains("input ended inside a line"), "\(r.output)")
        #expect(r.output.contains(#""partial_line""#), "\(r.output)")
    }

    @Test("--jobs: the same alerts, summary and problems on one thread and several, for files, directories and a damaged archive",
        .enabled(if: CLI.hasTool("zstd"), "zstd not installed"))
    func jobsGiveTheSameOutput() throws {
        let dir = try TempDir()
        // The sample with record problems mixed in, written into a directory with a copy of
        // itself (duplicates) and a truncated zstd archive of it.
        var text = try String(contentsOf: Sample.url, encoding: .utf8)
        text += "not json\n{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\n" + text
        let logs = dir.url.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: logs.appendingPathComponent("audit-2025-03-14T09-01-00.000.log"))
        try Data(text.utf8).write(to: logs.appendingPathComponent("audit.log"))
        let zst = dir.url.appendingPathComponent("whole.zst")
        _ = try CLI.shell("cat '\(logs.path)'/* | zstd -q -c > '\(zst.path)'")
        let data = try Data(contentsOf: zst)
        let cut = try dir.file("cut.zst", data.prefix(data.count * 3 / 4))
        // The sample's events as one JSON array (not lines), in a zstd archive: read on one
        // thread whatever --jobs says.
        let lines = try String(contentsOf: Sample.url, encoding: .utf8).split(separator: "\n")
        let array = try dir.file("array.json", Data(("[\n" + lines.joined(separator: ",\n") + "\n]\n").utf8))
        let arrayZst = dir.url.appendingPathComponent("array.json.zst")
        _ = try CLI.shell("zstd -q -c '\(array.path)' > '\(arrayZst.path)'")
        var inputs = [[logs.path], [zst.path], [cut.path], [arrayZst.path]]
        if let falco = SharedCorpora.directory("falco-k8s-audit") {
            inputs.append([falco.appendingPathComponent("trace_files/k8s_audit").path])
        }
        for input in inputs {
            let one = try CLI.run(["scan", "--summary", "json", "--format", "ndjson", "--jobs", "1"] + input)
            #expect(!one.stdout.isEmpty, "\(input): alerts expected")
            for jobs in ["2", "3"] {
                let many = try CLI.run(["scan", "--summary", "json", "--format", "ndjson", "--jobs", jobs] + input)
                #expect(many.status == one.status, "\(input) --jobs \(jobs)")
                #expect(many.stdout == one.stdout, "\(input) --jobs \(jobs): alerts differ")
                // The same problems (file, line, offset, reason) and the same summary, but for
                // the time taken.
                func withoutTimes(_ s: String) -> String {
                    s.replacingOccurrences(of: #""elapsed_seconds":[0-9.e+-]+"#, with: "", options: .regularExpression)
                }
                #expect(withoutTimes(many.stderr) == withoutTimes(one.stderr), "\(input) --jobs \(jobs): summary or problems differ")
                // `stats` (no rules) reads the same way.
                let statsOne = try CLI.run(["stats", "--format", "json", "--jobs", "1"] + input)
                let statsMany = try CLI.run(["stats", "--format", "json", "--jobs", jobs] + input)
                #expect(statsMany.status == statsOne.status)
                #expect(withoutTimes(statsMany.stdout + statsMany.stderr) == withoutTimes(statsOne.stdout + statsOne.stderr), "\(input) stats --jobs \(jobs)")
            }
        }
    }
}
