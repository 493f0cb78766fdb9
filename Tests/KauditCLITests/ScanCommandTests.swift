import AuditTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Figures of SampleLogs/streams/sample.ndjson (see SampleLogs/README.md).
enum Sample {
    static let events = 228
    static let verbs: [(String, Int)] = [
        ("update", 138), ("get", 30), ("list", 22), ("create", 20), ("watch", 12), ("patch", 5), ("delete", 1),
    ]
    static let first = "2025-03-14T09:00:00.064489Z"
    static let last = "2025-03-14T09:02:57.214822Z"
    static var url: URL { CLI.sample("streams/sample.ndjson") }
}

@Suite("kaudit scan", .enabled(if: CLI.executable != nil, "kaudit binary not found next to the test bundle"))
struct ScanCommandTests {
    @Test("text summary of the sample log")
    func textSummary() throws {
        let r = try CLI.run(["stats", Sample.url.path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("inputs   1"))
        #expect(lines.contains("events   \(Sample.events)"))
        #expect(lines.contains("errors   0"))
        #expect(lines.contains("time     \(Sample.first) .. \(Sample.last)"))
        let size = try FileManager.default.attributesOfItem(atPath: Sample.url.path)[.size] as? Int
        #expect(lines.contains { $0.hasPrefix("bytes    \(size ?? -1) (") })
        #expect(r.stdout.contains("top verbs\n  138  update\n   30  get\n"))
        #expect(r.stdout.contains("top users\n  67  system:kube-scheduler\n"))
    }

    @Test("--format json: valid JSON with the right counts")
    func jsonSummary() throws {
        let r = try CLI.run(["stats", "--format", "json", Sample.url.path])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.isEmpty)
        let j = try r.json()
        #expect(j.int("inputs") == 1)
        #expect(j.int("events") == Sample.events)
        #expect(j.int("errors") == 0)
        #expect((j["errors_by_kind"] as? [String: Any])?.isEmpty == true)
        #expect(j.int("duplicate_key_events") == 0)
        #expect((j["input_errors"] as? [Any])?.isEmpty == true)
        #expect(j["first_event_time"] as? String == Sample.first)
        #expect(j["last_event_time"] as? String == Sample.last)
        let verbs = j.table("top_verbs")
        #expect(verbs.map(\.0) == Sample.verbs.map(\.0))
        #expect(verbs.map(\.1) == Sample.verbs.map(\.1))
        #expect(verbs.map(\.1).reduce(0, +) == Sample.events)
        let resources = j.table("top_resources")
        #expect(resources.count == 10)
        #expect(resources.first?.0 == "leases" && resources.first?.1 == 138)
        #expect(resources.contains { $0.0 == "pods/exec" } == false)  // below the top 10
        let users = j.table("top_users")
        #expect(users.first?.0 == "system:kube-scheduler")
        #expect(j["elapsed_seconds"] is NSNumber)

        let all = try CLI.run(["stats", "--format", "json", "--top", "100", Sample.url.path]).json()
        let allResources = all.table("top_resources")
        #expect(allResources.first { $0.0 == "pods/exec" }?.1 == 2)
        #expect(allResources.first { $0.0 == "clusterrolebindings" }?.1 == 3)
        #expect(allResources.map(\.1).reduce(0, +) == Sample.events - 1)  // GET /api has no objectRef
        #expect(all.table("top_users").first { $0.0 == "system:anonymous" }?.1 == 1)
    }

    @Test("standard input: '-' and no path at all")
    func standardInput() throws {
        for args in [["stats", "-", "--format", "json"], ["stats", "--format", "json"]] {
            let r = try CLI.run(args, stdin: Sample.url)
            #expect(r.status == 0, "\(r)")
            let j = try r.json()
            #expect(j.int("events") == Sample.events)
            #expect(j.int("inputs") == 1)
        }
        // A bad record read from stdin is reported under the name "-".
        let r = try CLI.run(["stats", "-"], stdin: CLI.sample("malformed/not-json.log"))
        #expect(r.status == 0)
        #expect(r.stderr.hasPrefix("kaudit: -:2: byte "), "\(r)")
    }

    @Test("several inputs and a directory")
    func severalInputs() throws {
        let r = try CLI.run([
            "stats", "--format", "json", Sample.url.path, CLI.sample("webhook/eventlist.json").path,
        ])
        #expect(r.status == 0, "\(r)")
        let j = try r.json()
        #expect(j.int("inputs") == 2)
        #expect(j.int("events") == Sample.events + 4)

        let dir = try CLI.run(["stats", "--format", "json", CLI.sample("streams").path]).json()
        #expect(dir.int("inputs") == 1)
        #expect(dir.int("events") == Sample.events)
    }

    @Test("a directory's files that are not audit logs are left out with a note; named ones are read")
    func directoryLeavesOutOtherFiles() throws {
        let dir = try TempDir()
        _ = try dir.file("audit.log", try Data(contentsOf: Sample.url))
        _ = try dir.file("LICENSE", Data("Apache License\n   Version 2.0, January 2004\n".utf8))
        // The apiserver's own klog text, which sits beside audit.log in /var/log/kubernetes.
        let klog = try dir.file(
            "kube-apiserver.log", Data("I1122 10:00:01.000000       1 server.go:565] external host was not specified\n".utf8))
        _ = try dir.file("core", Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]))
        // JSON that is no audit log: the audit policy itself, saved as JSON.
        _ = try dir.file(
            "policy.json",
            Data(#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#.utf8 + [0x0A]))
        // Decided after decompression: a gzip'd README is left out, not read as a log.
        if CLI.hasTool("gzip") {
            let made = try CLI.shell("printf '# notes\\nnothing here\\n' | gzip -c > '\(dir.url.path)/README.md.gz'")
            #expect(made.status == 0, "\(made.output)")
        }

        for argument in [dir.url.path, dir.url.path + "/*"] {
            let r = try CLI.run(["stats", "--format", "json", argument])
            #expect(r.status == 0, "\(r)")
            let j = try r.json()
            #expect(j.int("inputs") == 1)
            #expect(j.int("events") == Sample.events)
            #expect(j.int("errors") == 0, "\(r)")
            let leftOut = (j["inputs_left_out"] as? [String]) ?? []
            #expect(leftOut.count == (CLI.hasTool("gzip") ? 5 : 4), "\(leftOut)")
            #expect(r.stderr.contains(
                "policy.json: skipped, not an audit log (JSON, but no \"auditID\" in it, which every audit event has)"), "\(r)")
            #expect(r.stderr.contains(
                "kaudit: note: \(dir.url.path)/LICENSE: skipped, not an audit log (it starts with \"Apache License\", not JSON)"), "\(r)")
            #expect(r.stderr.contains("kube-apiserver.log: skipped, not an audit log (it starts with \"I1122 10:00:01.000000       1 server.go:…\""), "\(r)")
            #expect(r.stderr.contains("core: skipped, not an audit log (it starts with bytes 7f 45 4c 46 02 01 01 00, not JSON)"), "\(r)")
            if CLI.hasTool("gzip") { #expect(r.stderr.contains("README.md.gz: skipped, not an audit log (it starts with \"# notes\""), "\(r)") }
        }

        // Named on the command line, the same text file is read and its lines are reported.
        let named = try CLI.run(["stats", "--format", "json", klog.path])
        #expect(named.status == 0, "\(named)")
        #expect(try named.json().int("errors") == 1)
        #expect(named.stderr.contains("kube-apiserver.log:1: byte 0: not a JSON object"), "\(named)")
    }

    @Test("an archive kaudit does not read is refused with the command that decompresses it",
        arguments: [
            ("trail.log.xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00, 0x04] as [UInt8], "an xz archive", "xz -dc"),
            ("trail.log.bz2", [0x42, 0x5A, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26], "a bzip2 archive", "bzip2 -dc"),
            ("trail.log.lz4", [0x04, 0x22, 0x4D, 0x18, 0x64, 0x40, 0xA7, 0x00], "an lz4 frame", "lz4 -dc"),
            ("logs.zip", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00], "a zip archive", "unzip -p"),
        ])
    func unsupportedArchive(name: String, bytes: [UInt8], named: String, command: String) throws {
        let dir = try TempDir()
        let file = try dir.file(name, Data(bytes))
        let r = try CLI.run(["stats", file.path, Sample.url.path])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains(
            "kaudit: \(file.path) is \(named), which kaudit does not read (it reads plain, gzip and zstd); decompress it into a pipe: \(command) \(file.path) | kaudit scan -"),
            "\(r)")
        // The next input is still read.
        #expect(r.stdout.contains("events   \(Sample.events)"), "\(r)")
    }

    @Test("a missing file: exit 2 and its name on stderr")
    func missingFile() throws {
        let path = "/nonexistent/kaudit-test/missing-audit.log"
        let r = try CLI.run(["stats", path])
        #expect(r.status == 2, "\(r)")
        #expect(r.reason == .exit)
        #expect(r.stderr.contains(path), "\(r)")
        #expect(r.stderr.contains("No such file or directory"))
        // A good input next to the missing one is still read.
        let both = try CLI.run(["stats", "--format", "json", path, Sample.url.path])
        #expect(both.status == 2)
        let j = try both.json()
        #expect(j.int("events") == Sample.events)
        #expect((j["input_errors"] as? [String])?.count == 1)
    }

    @Test("usage errors: exit 2", arguments: [
        ["stats", "--bogus"], ["--bogus"], ["frobnicate"], ["stats", "--format", "xml", "x"],
        ["stats", "--top", "-1", "x"], ["stats", "--max-line-bytes", "10", "x"],
        ["stats", "--zstd-window-log-max", "40", "x"],
    ])
    func usageErrors(_ args: [String]) throws {
        let r = try CLI.run(args)
        #expect(r.status == 2, "\(r)")
        #expect(r.reason == .exit)
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderr.hasPrefix("kaudit: "), "\(r)")
    }

    @Test("an unknown option is named on stderr")
    func unknownOption() throws {
        let r = try CLI.run(["stats", "--no-such-option", Sample.url.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--no-such-option"), "\(r)")
        #expect(r.stderr.contains("Usage: kaudit stats"), "\(r)")
    }

    @Test("--help and --version: exit 0 on stdout")
    func help() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("scan"))
        #expect(r.stdout.contains("SUBCOMMANDS"))
        let scan = try CLI.run(["stats", "--help"])
        #expect(scan.status == 0)
        #expect(scan.stdout.contains("--format"))
        #expect(scan.stdout.contains("standard input"))
        let version = try CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test("a bad line in the middle: file:line: byte N: reason, and reading goes on")
    func badLineInTheMiddle() throws {
        for (name, reason) in [
            ("truncated-line.log", "not a JSON object"), ("not-json.log", "not a JSON object"),
            ("nul-bytes.log", "not a JSON object"),
        ] {
            let url = CLI.sample("malformed/\(name)")
            let firstLine = try Data(contentsOf: url).prefix { $0 != 0x0A }.count + 1
            let r = try CLI.run(["stats", "--format", "json", url.path])
            #expect(r.status == 0, "\(r)")
            #expect(r.stderr == "kaudit: \(url.path):2: byte \(firstLine): \(reason)\n", "\(r)")
            let j = try r.json()
            #expect(j.int("events") == 2, "\(name)")
            #expect(j.int("errors") == 1)
            #expect((j["errors_by_kind"] as? [String: Any])?["not_json_object"] as? Int == 1)
        }
    }

    struct MalformedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var events: Int
        var errors: [String: Int] = [:]
        var duplicates = 0
        var testDescription: String { name }
    }

    @Test("the other malformed samples", arguments: [
        MalformedCase(name: "kind-zero.json", events: 0, errors: ["wrong_kind": 1]),
        MalformedCase(name: "duplicate-keys.log", events: 1, duplicates: 1),
        MalformedCase(name: "deep-nesting.log", events: 1),
        MalformedCase(name: "invalid-utf8.log", events: 3),
    ])
    func malformed(_ c: MalformedCase) throws {
        let (name, events, errors, duplicates) = (c.name, c.events, c.errors, c.duplicates)
        let r = try CLI.run(["stats", "--format", "json", CLI.sample("malformed/\(name)").path])
        #expect(r.status == 0, "\(r)")
        let j = try r.json()
        #expect(j.int("events") == events)
        #expect((j["errors_by_kind"] as? [String: Int]) == errors)
        #expect(j.int("duplicate_key_events") == duplicates)
        if name == "kind-zero.json" {
            #expect(r.stderr.hasSuffix("kind-zero.json:1: byte 8: kind is not Event\n"), "\(r)")
        } else {
            #expect(r.stderr.isEmpty, "\(r)")
        }
        if name == "duplicate-keys.log" {
            // The last "verb" wins.
            #expect(j.table("top_verbs").map(\.0) == ["update"])
        }
    }

    @Test("invalid UTF-8 is shown as U+FFFD, control characters escaped")
    func invalidUTF8Text() throws {
        let r = try CLI.run(["stats", CLI.sample("malformed/invalid-utf8.log").path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\u{FFFD}"))
        #expect(r.stdout.contains("bad-"))
        let nul = try CLI.run(["stats", "--top", "50", CLI.sample("malformed/nul-bytes.log").path])
        #expect(!nul.stdout.utf8.contains(0))
    }

    @Test("the webhook EventList: items without kind or apiVersion are events")
    func webhookBody() throws {
        let r = try CLI.run(["stats", "--format", "json", CLI.sample("webhook/eventlist.json").path])
        #expect(r.status == 0, "\(r)")
        let j = try r.json()
        #expect(j.int("events") == 4)
        #expect(j.int("errors") == 0)
        #expect(j.table("top_users").map(\.0) == ["system:serviceaccount:default:webapp"])
    }

    @Test("--max-error-reports bounds what stderr shows, not what is counted")
    func errorReportLimit() throws {
        let dir = try TempDir()
        let text = (1...30).map { "garbage \($0)" }.joined(separator: "\n") + "\n"
        let url = try dir.file("garbage.log", text)
        let r = try CLI.run(["stats", "--format", "json", "--max-error-reports", "5", url.path])
        #expect(r.status == 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 6, "\(r)")
        #expect(lines.last?.contains("--max-error-reports") == true)
        #expect(try r.json().int("errors") == 30)
    }
}

@Suite("kaudit scan: compressed inputs", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct CompressedInputTests {
    @Test("gzip, recognised by content", .enabled(if: CLI.hasTool("gzip"), "gzip not installed"))
    func gzip() throws {
        let dir = try TempDir()
        let out = dir.url.appendingPathComponent("sample.bin")
        let made = try CLI.shell("gzip -c '\(Sample.url.path)' > '\(out.path)'")
        #expect(made.status == 0, "\(made.output)")
        let r = try CLI.run(["stats", "--format", "json", out.path])
        #expect(r.status == 0, "\(r)")
        #expect(try r.json().int("events") == Sample.events)
        #expect(try r.json().int("bytes") == (try Data(contentsOf: Sample.url).count))

        // Two members (concatenated rotations, pigz) are both read; stdin works too.
        let twice = dir.url.appendingPathComponent("twice.gz")
        _ = try CLI.shell("cat '\(out.path)' '\(out.path)' > '\(twice.path)'")
        let both = try CLI.run(["stats", "--format", "json", "-"], stdin: twice)
        #expect(try both.json().int("events") == 2 * Sample.events)

        // A truncated archive: what was decoded is counted, the damage is an input error.
        let data = try Data(contentsOf: out)
        let cut = try dir.file("cut.gz", data.prefix(data.count / 2))
        let damaged = try CLI.run(["stats", "--format", "json", cut.path])
        #expect(damaged.status == 2, "\(damaged)")
        #expect(damaged.stderr.contains("cut.gz"))
        #expect(damaged.stderr.contains("truncated"), "\(damaged)")
        let events = try damaged.json().int("events") ?? -1
        #expect(events > 0 && events < Sample.events)
    }

    @Test("zstd, recognised by content", .enabled(if: CLI.hasTool("zstd"), "zstd not installed"))
    func zstd() throws {
        let dir = try TempDir()
        let out = dir.url.appendingPathComponent("sample.log")  // no .zst: content decides
        let made = try CLI.shell("zstd -q -c '\(Sample.url.path)' > '\(out.path)'")
        #expect(made.status == 0, "\(made.output)")
        let r = try CLI.run(["stats", "--format", "json", out.path])
        #expect(r.status == 0, "\(r)")
        #expect(try r.json().int("events") == Sample.events)
        let stdin = try CLI.run(["stats", "--format", "json"], stdin: out)
        #expect(try stdin.json().int("events") == Sample.events)

        // A frame window above the limit is refused with a hint. (Compressed from a pipe, so
        // zstd cannot shrink the window to the input's size.)
        let big = dir.url.appendingPathComponent("long-window.zst")
        let madeBig = try CLI.shell("cat '\(Sample.url.path)' | zstd -q --long=28 -c > '\(big.path)'")
        #expect(madeBig.status == 0, "\(madeBig.output)")
        let refused = try CLI.run(["stats", "--zstd-window-log-max", "20", big.path])
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.contains("--zstd-window-log-max"), "\(refused)")
        #expect(refused.stderr.contains("larger than 1 MiB"), "\(refused)")
        let accepted = try CLI.run(["stats", "--format", "json", "--zstd-window-log-max", "28", big.path])
        #expect(accepted.status == 0, "\(accepted)")
        #expect(try accepted.json().int("events") == Sample.events)
    }
}

@Suite("kaudit scan: closed stdout", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct ClosedPipeTests {
    /// A log with many distinct users, so `--top` output is far larger than a pipe buffer.
    static func manyUsersLog(in dir: TempDir, users: Int = 20_000) throws -> URL {
        var text = ""
        text.reserveCapacity(users * 200)
        for i in 0..<users {
            text += #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-\#(i)","stage":"ResponseComplete","requestURI":"/api","verb":"get","user":{"username":"user-number-\#(i)-with-a-long-name"}}"#
            text += "\n"
        }
        return try dir.file("many-users.log", text)
    }

    @Test("stdout is a pipe nobody reads: exit 0, nothing on stderr")
    func noReader() throws {
        let exe = try #require(CLI.executable)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])  // no reader at all: every write gets EPIPE
        let dir = try TempDir()
        let log = try Self.manyUsersLog(in: dir, users: 2_000)
        let errURL = dir.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = exe
        p.arguments = ["stats", "--top", "5000", log.path]
        p.standardOutput = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        p.standardError = errHandle
        try p.run()
        p.waitUntilExit()
        try errHandle.close()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
        #expect(try String(contentsOf: errURL, encoding: .utf8).isEmpty)
    }

    @Test("kaudit scan big.log | head -c 1: exit 0, quietly",
        .enabled(if: CLI.hasTool("head"), "head not installed"))
    func headCutsItShort() throws {
        let exe = try #require(CLI.executable)
        let dir = try TempDir()
        let log = try Self.manyUsersLog(in: dir)
        let err = dir.url.appendingPathComponent("stderr")
        let r = try CLI.shell(
            "'\(exe.path)' stats --top 20000 '\(log.path)' 2>'\(err.path)' | head -c 1 >/dev/null; echo \"status=${PIPESTATUS[0]}\"")
        #expect(r.output == "status=0\n", "\(r.output)")
        #expect(try String(contentsOf: err, encoding: .utf8).isEmpty)
        // Sanity: without head the output is indeed larger than a pipe buffer.
        let full = try CLI.run(["stats", "--top", "20000", log.path])
        #expect(full.status == 0)
        #expect(full.stdoutData.count > 256 << 10)
    }
}

/// Line numbers in error reports, where the reader switches layouts or refills its buffer.
@Suite("kaudit scan: line numbers", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
struct LineNumberTests {
    func reportedLine(_ text: String, name: String, extra: [String] = []) throws -> [Int] {
        let dir = try TempDir()
        let url = try dir.file(name, text)
        let r = try CLI.run(["stats"] + extra + [url.path])
        #expect(r.status == 0, "\(r)")
        return r.stderr.split(separator: "\n").compactMap { line in
            // kaudit: <path>:<line>: byte <n>: <reason>
            guard let rest = line.split(separator: ":", maxSplits: 3).dropFirst(2).first else { return nil }
            return Int(rest)
        }
    }

    static func expectedLine(of marker: String, in text: String) -> Int {
        let prefix = text[..<text.range(of: marker)!.lowerBound]
        return prefix.utf8.filter { $0 == 0x0A }.count + 1
    }

    @Test("a JSON array, then events one per line")
    func arrayThenLines() throws {
        let text = "[\n {\n  \"verb\": \"get\",\n  \"stage\": \"ResponseComplete\"\n }\n]\n{\"verb\":\"list\"}\nGARBAGE\n"
        #expect(try reportedLine(text, name: "array-then-lines.json") == [8])
    }

    @Test("pretty-printed documents around an array")
    func prettyAroundArray() throws {
        let text = "{\n  \"verb\": \"get\"\n}\n[\n {\n  \"verb\": \"get\"\n }\n]\n{\n \"verb\":\"list\"\n}\nGARBAGE\n"
        #expect(try reportedLine(text, name: "mixed.json") == [12])
    }

    @Test("an array element that is not an object, then garbage")
    func arrayGarbage() throws {
        let text = "[\n 12345,\n {\"verb\":\"get\"} x\n{\"verb\":\"list\"}\nGARBAGE\n"
        #expect(try reportedLine(text, name: "array-garbage.json") == [2, 3, 5])
    }

    /// Pretty-printed events past the first buffer refill (2 MiB), with one document
    /// ending exactly where a read ends: the newlines inside it must still be counted.
    @Test("pretty-printed events across buffer refills")
    func prettyAcrossRefills() throws {
        func doc(_ i: Int, pad: Int) -> String {
            "{\n  \"kind\": \"Event\",\n  \"auditID\": \"\(i)\",\n  \"verb\": \"get\",\n  \"stage\": \"ResponseComplete\",\n  \"userAgent\": \""
                + String(repeating: "x", count: pad) + "\"\n}"
        }
        let boundary = 2 << 20
        let padded = 64 * 40  // a whole number of the scanner's 64-byte blocks
        var text = ""
        var i = 0
        while text.utf8.count + 1200 < boundary - padded - 1 - 200 {
            text += doc(i, pad: 1000 + i % 7) + "\n"
            i += 1
        }
        text += String(repeating: "\n", count: boundary - padded - 1 - text.utf8.count)
        let probe = doc(i, pad: 0)
        let last = doc(i, pad: padded - probe.utf8.count)
        #expect(last.utf8.count == padded)
        text += last + "\n"
        #expect(text.utf8.count == boundary)
        text += doc(i + 1, pad: 10) + "\nGARBAGE\n" + doc(i + 2, pad: 10) + "\n"
        let expected = Self.expectedLine(of: "GARBAGE", in: text)
        #expect(try reportedLine(text, name: "pretty-big.json") == [expected])
    }
}
