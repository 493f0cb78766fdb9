import AnalyzerKit
import AuditInputs
import AuditSynth
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// Reading on several threads gives what one thread gives: the same alerts in the same order,
/// the same problems with the same line numbers, the same summary and detector counters,
/// whatever the number of threads and wherever the blocks end.
@Suite("parallel replay")
struct ParallelReplayTests {
    static let pack = RulePack.load(paths: [PackagePaths.detections.path])

    /// Everything a scan produces that must not depend on threads.
    struct Outcome: Equatable {
        var alerts: [String] = []
        var issues: [String] = []
        var summary: [String] = []
        var counters = DetectorCounters()
        /// Event-class lookups (hits and misses): one per event and rule index, whoever judged it.
        var classLookups = 0
    }

    static func scan(
        _ paths: [String], jobs: Int, blockSize: Int = 1 << 20, maxRecordBytes: Int = 1 << 16,
        detectionBatch: Int = DetectingHandler.detectionBatchSize, readSize: Int = 1 << 20
    ) -> Outcome {
        var outcome = Outcome()
        let detector = Detector(plan: pack.plan) { outcome.alerts.append(AlertFormat.json($0)) }
        var options = ScanRunner.Options()
        options.jobs = jobs
        options.blockSize = blockSize
        options.limits = ReaderLimits(maxRecordBytes: maxRecordBytes, readSize: readSize)
        options.detectionBatch = detectionBatch
        let summary = ScanRunner(options: options).summarize(paths, detector: detector) { outcome.issues.append($0.description) }
        func top(_ c: BoundedByteCounter) -> String {
            c.top(1_000).map { "\(String(decoding: $0.key, as: UTF8.self))=\($0.count)" }.joined(separator: ",")
                + " overflow=\(c.overflowCount)"
        }
        outcome.summary = [
            "events \(summary.events) bytes \(summary.bytes) inputs \(summary.inputs)",
            "issues \(summary.issuesByKind.sorted { $0.key.rawValue < $1.key.rawValue })",
            "errors \(summary.inputErrors) damaged \(summary.damagedArchives)",
            "times \(summary.firstEventMicros ?? -1) \(summary.lastEventMicros ?? -1) dupkeys \(summary.duplicateKeyEvents)",
            top(summary.verbs), top(summary.resources), top(summary.users), top(summary.stages),
        ]
        var counters = detector.counters
        outcome.classLookups = counters.eventClassHits + counters.eventClassMisses
        // How often the memos were asked depends on how events were shared out; nothing else may.
        counters.verdictMemoHits = 0
        counters.verdictMemoMisses = 0
        counters.verdictMemoResets = 0
        counters.eventClassHits = 0
        counters.eventClassMisses = 0
        counters.requestBodiesRemembered = 0
        counters.requestBodiesKept = 0
        counters.requestBodiesNotKept = 0
        outcome.counters = counters
        return outcome
    }

    /// Synthetic traffic with attacks every 150 events, and what real logs also hold: blank
    /// lines, garbage, a cut line, a line over the cap, EventList lines, events delivered
    /// twice, and no newline at the end.
    static func hostileLog(bytes: Int, byteOrderMark: Bool) -> [UInt8] {
        var generator = SyntheticAuditLog(.init(seed: 7, attackInterval: 150))
        let events = generator.makeEvents(bytes / 1_400)
        let lines = events.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Array($0) }
        var out: [UInt8] = byteOrderMark ? [0xEF, 0xBB, 0xBF] : []
        var rng = SplitMix64(seed: 11)
        var k = 0
        while k < lines.count {
            switch rng.next() % 40 {
            case 0: out += Array("\n   \n".utf8)
            case 1: out += Array("this is not json\n".utf8)
            case 2: out += lines[k].prefix(lines[k].count / 2) + [UInt8(ascii: "\n")]
            case 3: out += Array("{\"kind\":\"Event\",\"x\":\"".utf8) + Array(repeating: UInt8(ascii: "a"), count: 70_000) + Array("\"}\n".utf8)
            case 4 where k + 1 < lines.count:
                out += Array("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[".utf8) + lines[k] + [UInt8(ascii: ",")]
                    + lines[k + 1] + Array("]}\n".utf8)
                k += 2
                continue
            case 5: out += lines[k] + [UInt8(ascii: "\n")]  // delivered twice
            default: break
            }
            out += lines[k] + [UInt8(ascii: "\n")]
            k += 1
        }
        out.removeLast()
        return out
    }

    @Test("the same alerts, problems, summary and counters with 1, 2 and 3 threads, at any block size")
    func sameAsOneThread() throws {
        let dir = try TempDir()
        let log = dir.url.appendingPathComponent("audit.log")
        try Data(Self.hostileLog(bytes: 1_500_000, byteOrderMark: true)).write(to: log)
        let one = Self.scan([log.path], jobs: 1)
        #expect(one.alerts.count > 20, "the log raises alerts")
        #expect(one.issues.count > 20, "the log has problems to report")
        #expect(one.counters.duplicates > 10 && one.counters.events > 900)
        for (jobs, blockSize) in [(2, 1 << 20), (2, 4096), (3, 4096), (3, 50_000)] {
            let many = Self.scan([log.path], jobs: jobs, blockSize: blockSize)
            #expect(many.alerts == one.alerts, "alerts with \(jobs) threads, \(blockSize)-byte blocks")
            #expect(many.issues == one.issues, "problems with \(jobs) threads, \(blockSize)-byte blocks")
            #expect(many.summary == one.summary, "summary with \(jobs) threads, \(blockSize)-byte blocks")
            #expect(many.counters == one.counters, "counters with \(jobs) threads, \(blockSize)-byte blocks")
        }
    }

    /// The detector judges a batch of events before applying their verdicts: every alert,
    /// problem and counter is what judging each event as it is read gives, whatever the
    /// batch size and wherever reads end. The log also reuses audit IDs on other requests
    /// (the finding reads the event back while later events of its batch are judged).
    @Test("the same alerts, problems, summary and counters whatever the detection batch")
    func sameInBatches() throws {
        let dir = try TempDir()
        var bytes = Self.hostileLog(bytes: 600_000, byteOrderMark: false)
        var generator = SyntheticAuditLog(.init(seed: 5, attackInterval: 20))
        let lines = generator.makeEvents(300).split(separator: UInt8(ascii: "\n")).map { Array($0) }
        let reuser = lines.first { $0.count > 200 }!
        for (i, line) in lines.enumerated() {
            bytes += [UInt8(ascii: "\n")] + line
            // Every 25th line again with another verb: the same audit ID and stage, other content.
            if i % 25 == 0, let range = line.firstRange(of: Array(#""verb":""#.utf8)) {
                var other = line
                other.insert(contentsOf: Array("x".utf8), at: range.upperBound)
                bytes += [UInt8(ascii: "\n")] + other
            }
        }
        bytes += [UInt8(ascii: "\n")] + reuser
        let log = try dir.file("audit.log", Data(bytes))
        let one = Self.scan([log.path], jobs: 1, detectionBatch: 1)
        #expect(one.alerts.count > 20 && one.issues.count > 5)
        #expect(one.counters.auditIDReuses >= 10 && one.counters.duplicates > 10)
        for batch in [2, 7, 32, AuditStreamReader.maxBatchSize] {
            let batched = Self.scan([log.path], jobs: 1, detectionBatch: batch)
            #expect(batched == one, "batches of \(batch)")
        }
        // Smaller reads end batches early: still the same.
        #expect(Self.scan([log.path], jobs: 1, detectionBatch: 32, readSize: 64 << 10) == one)
    }

    @Test("several files, a line over the cap at the end of a file, and a layout that is not lines")
    func severalFilesAndOtherLayouts() throws {
        let dir = try TempDir()
        var paths: [String] = []
        for i in 0..<3 {
            let url = dir.url.appendingPathComponent("part\(i).log")
            var bytes = Self.hostileLog(bytes: 200_000 + 100_000 * i, byteOrderMark: i == 1)
            if i == 2 { bytes += Array("\n{\"kind\":\"Event\",\"x\":\"".utf8) + Array(repeating: UInt8(ascii: "b"), count: 80_000) }
            try Data(bytes).write(to: url)
            paths.append(url.path)
        }
        // A JSON array of events: read on the calling thread, with the same result.
        var generator = SyntheticAuditLog(.init(seed: 9, attackInterval: 50))
        let lines = generator.makeEvents(200).split(separator: UInt8(ascii: "\n")).map { Array($0) }
        let array = dir.url.appendingPathComponent("array.json")
        try Data(Array("[".utf8) + Array(lines.joined(separator: Array(",\n".utf8))) + Array("]\n".utf8)).write(to: array)
        paths.append(array.path)
        let one = Self.scan(paths, jobs: 1)
        #expect(one.summary[0].contains("inputs 4"))
        let two = Self.scan(paths, jobs: 2, blockSize: 8192)
        #expect(two == one)
    }

    /// Random logs of real event lines, garbage, blank and CRLF lines, lines just under and
    /// over a small record cap and longer than a block, repeats and EventLists, with or
    /// without a final newline: one thread and several give the same, at random block sizes.
    @Test("random logs at random block sizes and record caps")
    func randomLogs() throws {
        let dir = try TempDir()
        var generator = SyntheticAuditLog(.init(seed: 3, attackInterval: 40))
        let lines = generator.makeEvents(600).split(separator: UInt8(ascii: "\n")).map { Array($0) }
        for seed in 0..<12 {
            var rng = SplitMix64(seed: UInt64(seed))
            let cap = [1_024, 3_000, 20_000][seed % 3]
            // A first line that is an event, so the layout is lines (a broken first line
            // followed by garbage reads as one pretty-printed document, on any thread count).
            var out: [UInt8] = Array("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"stage\":\"ResponseComplete\"}\n".utf8)
            for _ in 0..<(200 + Int(rng.next() % 300)) {
                let line = lines[Int(rng.next() % UInt64(lines.count))]
                switch rng.next() % 12 {
                case 0: out += Array("\r\n \n".utf8)
                case 1: out += Array("{\"kind\":\"Event\",\"broken\":".utf8) + [UInt8(ascii: "\n")]
                case 2: out += Array(repeating: UInt8(ascii: "x"), count: cap + Int(rng.next() % 9_000)) + [UInt8(ascii: "\n")]
                case 3: out += Array(repeating: UInt8(ascii: " "), count: cap - 1) + [UInt8(ascii: "\n")]
                case 4: out += line + Array("\r\n".utf8)
                case 5: out += Array("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[".utf8) + line + Array("]}\n".utf8)
                default: out += line + [UInt8(ascii: "\n")]
                }
            }
            if rng.next() % 2 == 0 { out += lines[0] }  // no final newline
            let url = try dir.file("random\(seed).log", Data(out))
            let one = Self.scan([url.path], jobs: 1, maxRecordBytes: cap)
            #expect(!one.issues.isEmpty, "seed \(seed): problems expected")
            // Under the 1,024-byte cap every event line is too long.
            #expect(cap == 1_024 || one.counters.events > 0, "seed \(seed): events expected")
            let blockSize = 4_096 + Int(rng.next() % 40_000)
            let many = Self.scan([url.path], jobs: 2 + seed % 2, blockSize: blockSize, maxRecordBytes: cap)
            #expect(many == one, "seed \(seed), \(blockSize)-byte blocks, \(cap)-byte cap")
        }
    }
}
