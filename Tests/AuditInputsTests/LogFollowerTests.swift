import AuditInputs
import AuditTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// The follower against a simulated apiserver log (SimulatedAuditLog). The writer acts each
// time the follower would sleep, so runs are deterministic for a seed and take no real time;
// "caught up" is a wait with a non-zero interval. A restart is a new LogFollower (and
// reader) on the same state directory.
//
// The long run (≥ 1,000 rotations, with and without compression):
//   KAUDIT_FOLLOW_ROTATIONS=1000 swift test --filter LogFollowerTests

@Suite("Following a rotating log")
struct LogFollowerTests {
    static let rotations = ProcessInfo.processInfo.environment["KAUDIT_FOLLOW_ROTATIONS"].flatMap(Int.init) ?? 40

    /// One follower process: runs until `act` returns true, collecting what it hands on.
    @discardableResult
    static func session(
        _ log: SimulatedAuditLog, state: String?, fromStart: Bool = true, seen: inout [String],
        notices: inout [String], act: (_ caughtUp: Bool) -> Bool
    ) -> LogFollower {
        var options = LogFollower.Options()
        options.fromStart = fromStart
        options.stateDirectory = state
        options.pollInterval = 0.001
        options.checkpointInterval = 0.02
        let follower = LogFollower(path: log.path, options: options, reader: AuditStreamReader(limits: ReaderLimits(readSize: 64 << 10)))
        var collector = Collector()
        var messages: [String] = []
        follower.run(into: &collector, wait: { act($0 > 0) }, notice: { messages.append($0) })
        #expect(collector.issues.isEmpty, "\(collector.details.prefix(3))")
        seen += collector.auditIDs.map { $0 ?? "nil" }
        notices += messages
        return follower
    }

    /// A state directory and a log directory inside `dir`.
    static func stateAndLogs(in dir: TemporaryDirectory) -> (state: String, logs: String) {
        let (state, logs) = (dir.path("state"), dir.path("logs"))
        mkdir(state, 0o700)
        mkdir(logs, 0o700)
        return (state, logs)
    }

    /// Runs the follower to the end of everything written: stops after being caught up twice.
    static func drain(_ log: SimulatedAuditLog, state: String?, seen: inout [String], notices: inout [String]) -> LogFollower {
        var idle = 0
        return session(log, state: state, seen: &seen, notices: &notices) { caughtUp in
            idle = caughtUp ? idle + 1 : 0
            return idle >= 2
        }
    }

    /// Rename rotation, stopped and restarted at random points: nothing lost, nothing twice.
    @Test("rename rotation with restarts at random points: zero lost, zero duplicated", arguments: [false, true])
    func renameRotationWithRestarts(compress: Bool) throws {
        if compress && !SimulatedAuditLog.canCompress { return }
        let dir = try TemporaryDirectory()
        let (state, logs) = Self.stateAndLogs(in: dir)
        let log = SimulatedAuditLog(directory: logs, mode: .rename(compress: compress), maxBytes: 6_000, seed: compress ? 7 : 3)
        var rng = SplitMix64(seed: 99)
        var seen: [String] = []
        var notices: [String] = []
        var sessions = 0
        log.write(3)
        while log.rotations < Self.rotations {
            sessions += 1
            Self.session(log, state: state, seen: &seen, notices: &notices) { caughtUp in
                // Sometimes the writer races ahead by several files before the follower looks.
                log.write(Int(rng.next() % (caughtUp ? 14 : 6)) + (rng.next() % 25 == 0 ? 30 : 0))
                if compress && rng.next() % 3 == 0 { log.compressBackups(keep: Int(rng.next() % 2)) }
                return rng.next() % 15 == 0 || log.rotations >= Self.rotations
            }
        }
        log.finishPendingLine()
        log.compressBackups()
        let last = Self.drain(log, state: state, seen: &seen, notices: &notices)
        #expect(sessions > 3)
        #expect(last.gaps.isEmpty)
        #expect(notices.isEmpty, "\(notices.prefix(3))")
        #expect(Set(seen).count == seen.count, "duplicates: \(seen.count - Set(seen).count)")
        #expect(seen.count == log.ledger.count, "lost: \(Set(log.ledger).subtracting(seen).count)")
        #expect(seen == log.ledger)
    }

    /// A crash (kill -9) loses the checkpoint writes since the last one that reached the disk:
    /// modelled by putting back an older checkpoint before a restart. Nothing may be lost;
    /// what is read twice is at most what came after that checkpoint.
    @Test("restarts after a crash (an older checkpoint): zero lost, a replay repeats but never reorders")
    func crashRestarts() throws {
        let dir = try TemporaryDirectory()
        let (state, logs) = Self.stateAndLogs(in: dir)
        let log = SimulatedAuditLog(directory: logs, mode: .rename(compress: true), maxBytes: 6_000, seed: 21)
        var rng = SplitMix64(seed: 5)
        var seen: [String] = []
        var notices: [String] = []
        log.write(3)
        while log.rotations < 20 {
            var saved: Data?
            Self.session(log, state: state, seen: &seen, notices: &notices) { _ in
                log.write(Int(rng.next() % 8))
                if SimulatedAuditLog.canCompress && rng.next() % 4 == 0 { log.compressBackups(keep: 1) }
                if saved == nil && rng.next() % 5 == 0 {
                    saved = try? Data(contentsOf: URL(fileURLWithPath: state + "/checkpoint"))
                }
                return rng.next() % 12 == 0
            }
            if let saved, rng.next() % 2 == 0 { try saved.write(to: URL(fileURLWithPath: state + "/checkpoint")) }
        }
        log.finishPendingLine()
        log.compressBackups()
        _ = Self.drain(log, state: state, seen: &seen, notices: &notices)
        #expect(Set(seen) == Set(log.ledger), "lost: \(Set(log.ledger).subtracting(seen).count)")
        // In order of first reading, exactly the ledger: a replay repeats, never reorders.
        var firsts: [String] = []
        var known = Set<String>()
        for id in seen where known.insert(id).inserted { firsts.append(id) }
        #expect(firsts == log.ledger)
        #expect(seen.count > log.ledger.count, "the older checkpoints made the follower read something again")
        #expect(notices.isEmpty, "\(notices.prefix(3))")
    }

    @Test("copytruncate, including a file truncated and regrown past the old offset between two looks")
    func copytruncate() throws {
        let dir = try TemporaryDirectory()
        // Lines are written whole: a line half-written when the file is truncated is lost
        // by copytruncate itself, whoever reads.
        let log = SimulatedAuditLog(directory: dir.url.path, mode: .copytruncate, maxBytes: .max, seed: 5, splitLines: false)
        var rng = SplitMix64(seed: 11)
        var seen: [String] = []
        var notices: [String] = []
        var rounds = 0
        log.write(2)
        let follower = Self.session(log, state: nil, seen: &seen, notices: &notices) { caughtUp in
            if caughtUp {
                rounds += 1
                if rounds % 3 == 0 {
                    log.truncateNow()
                    // Every other time, more than was there before: only the fingerprint tells.
                    log.write(rounds % 2 == 0 ? 12 : 1)
                    return false
                }
            }
            log.write(Int(rng.next() % 5))
            return rounds >= 30
        }
        #expect(follower.counters.truncations == 10)
        #expect(follower.counters.rotations == 0)
        #expect(notices.count == 10 && notices.allSatisfy { $0.contains("truncated in place") }, "\(notices)")
        // Each truncation came when everything before it was read: nothing lost, nothing twice.
        #expect(seen == log.ledger)
    }

    @Test("by default following starts after the last complete line; a partial line is read once whole")
    func startsAtEnd() throws {
        let dir = try TemporaryDirectory()
        let log = SimulatedAuditLog(directory: dir.url.path, mode: .rename(compress: false), maxBytes: .max, seed: 1)
        log.write(5)
        log.finishPendingLine()
        let half = log.line("half")
        let fd = open(log.path, O_WRONLY | O_APPEND)
        _ = half.withUnsafeBytes { write(fd, $0.baseAddress, 100) }
        var seen: [String] = []
        var notices: [String] = []
        var step = 0
        Self.session(log, state: nil, fromStart: false, seen: &seen, notices: &notices) { _ in
            step += 1
            if step == 2 { _ = half.withUnsafeBytes { write(fd, $0.baseAddress! + 100, half.count - 100) } }
            if step == 3 { log.write(2) }
            return step > 5
        }
        close(fd)
        log.finishPendingLine()
        #expect(seen == ["half"] + log.ledger.suffix(2))
    }

    @Test("a log that does not exist yet is waited for, said once, and read from its start when it appears")
    func waitsForTheLog() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("audit.log")
        var options = LogFollower.Options()
        options.pollInterval = 0.001
        let follower = LogFollower(path: path, options: options, reader: AuditStreamReader())
        var collector = Collector()
        var notices: [String] = []
        var log: SimulatedAuditLog?
        var step = 0
        follower.run(into: &collector, wait: { _ in
            step += 1
            if step == 5 {
                log = SimulatedAuditLog(directory: dir.url.path, mode: .rename(compress: false), maxBytes: .max, seed: 3)
                log?.write(3)
            }
            return step > 8
        }, notice: { notices.append($0) })
        // Said once while polling, not at every poll, and once more when it appeared.
        #expect(notices == [
            "\(path): cannot open it (No such file or directory); waiting for it, as tail -F does",
            "\(path): the file has appeared; following it",
        ])
        // A file that appears after the start is new: read from its beginning.
        #expect(collector.auditIDs.map { $0 ?? "nil" } == log?.ledger)
    }

    @Test("a file pruned while the follower was stopped is reported as a gap; later backups are read")
    func prunedFileIsAGap() throws {
        let dir = try TemporaryDirectory()
        let (state, logs) = Self.stateAndLogs(in: dir)
        let probe = SimulatedAuditLog(directory: dir.url.path, mode: .rename(compress: false), maxBytes: .max, seed: 0)
        let lineSize = probe.line("e0").count
        let log = SimulatedAuditLog(directory: logs, mode: .rename(compress: false), maxBytes: 4 * lineSize + 10, seed: 2, splitLines: false)
        log.write(2)
        log.finishPendingLine()
        var seen: [String] = []
        var notices: [String] = []
        _ = Self.drain(log, state: state, seen: &seen, notices: &notices)
        #expect(seen == log.ledger)
        let before = log.ledger.count
        log.write(3)  // 2 more in the file we were reading (4 fit), then a rotation
        let pruned = try FileManager.default.contentsOfDirectory(atPath: logs).filter { $0 != "audit.log" }
        #expect(pruned.count == 1)
        try FileManager.default.removeItem(atPath: logs + "/" + pruned[0])
        log.write(10)
        log.finishPendingLine()
        let follower = Self.drain(log, state: state, seen: &seen, notices: &notices)
        #expect(follower.gaps.count == 1)
        let gap = try #require(follower.gaps.first)
        #expect(gap.file == "audit.log")
        #expect(gap.afterMicros != nil && gap.beforeMicros != nil)
        #expect(notices.first?.hasPrefix("gap: audit.log: bytes ") == true, "\(notices)")
        // Only the pruned file's unread events are missing.
        let missing = Set(log.ledger).subtracting(seen)
        #expect(missing == Set(log.ledger[before..<(before + 2)]), "\(missing)")
        #expect(Set(seen).count == seen.count)
    }

    @Test("delete and recreate while stopped (the inode may be reused): the new file is read from its start")
    func deleteAndRecreate() throws {
        let dir = try TemporaryDirectory()
        let (state, logs) = Self.stateAndLogs(in: dir)
        var log = SimulatedAuditLog(directory: logs, mode: .rename(compress: false), maxBytes: .max, seed: 4)
        log.write(3)
        log.finishPendingLine()
        var seen: [String] = []
        var notices: [String] = []
        _ = Self.drain(log, state: state, seen: &seen, notices: &notices)
        unlink(log.path)
        log = SimulatedAuditLog(directory: logs, mode: .rename(compress: false), maxBytes: .max, seed: 8, idPrefix: "new")
        log.write(8)
        log.finishPendingLine()
        let follower = Self.drain(log, state: state, seen: &seen, notices: &notices)
        #expect(seen.count == 3 + 8)
        #expect(seen.suffix(8) == log.ledger[...])
        // Whether the old file had grown before it went cannot be known: said, not assumed.
        #expect(follower.gaps.count == 1)
        #expect(follower.gaps.first?.reason == "it was removed or replaced before it was read")
        #expect(follower.counters.files == 1)
    }

    @Test("checkpoints: written and read back; malformed ones are refused without trapping")
    func checkpointFile() throws {
        let dir = try TemporaryDirectory()
        var fp = FileFingerprint()
        Array("{\"a\":1}\n".utf8).withUnsafeBytes { fp.extend(with: $0) }
        let cp = FollowCheckpoint(
            fingerprint: fp, offset: 8, name: "audit file.log", rotatedTimestamp: "2026-01-02T03-04-05.678",
            seenCurrentMillis: 1_767_000_000_000, lastEventMicros: nil)
        try cp.save(to: dir.url.path)
        #expect(try FollowCheckpoint.load(from: dir.url.path).get() == cp)
        #expect(try FollowCheckpoint.load(from: dir.path("none")).get() == nil)
        let good = try String(contentsOfFile: dir.path("checkpoint"), encoding: .utf8)
        var rng = SplitMix64(seed: 17)
        for i in 0..<300 {
            var bytes = Array(good.utf8)
            switch i % 3 {
            case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            case 1: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            default: bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            try Data(bytes).write(to: dir.url.appendingPathComponent("checkpoint"))
            if case .success(let loaded?) = FollowCheckpoint.load(from: dir.url.path) {
                // A flipped byte may still parse (a digit for a digit); it must then be a checkpoint.
                #expect(loaded.name.isEmpty == false)
            }
        }
    }
}
