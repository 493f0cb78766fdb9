import AuditModel
import Glibc

/// Follows the apiserver's audit log the way `tail -F` does, and hands every event to a
/// handler exactly once, across rotations and restarts.
///
/// - Rename rotation (lumberjack): the old file is drained to its end from the descriptor
///   held open (even if it was compressed and removed meanwhile), then any backups rotated
///   after it are read in order, then the new current file.
/// - Copytruncate: the file shrank below what was read, or its first bytes changed: it is
///   read again from its start.
/// - Delete and recreate: the new file is read from its start when it appears.
/// - Files are recognised by a fingerprint of their first bytes (`FileFingerprint`), so a
///   reused inode or a backup compressed since is still found.
/// - With a state directory, a checkpoint (fingerprint and offset) is written after the
///   events before it were handled; a restart resumes there, reading backups written in the
///   meantime. A file pruned before it was read is reported as a gap.
///
/// Polling (every `pollInterval`) keeps it simple and works on every file system; a partial
/// last line waits for its newline and is handled once.
public final class LogFollower {
    public struct Options: Sendable {
        /// Seconds between looks at the file once everything written has been read.
        public var pollInterval = 0.1
        /// Read the current log from its start instead of its end (without a checkpoint).
        public var fromStart = false
        /// Where the checkpoint is kept; nil for none.
        public var stateDirectory: String?
        /// Seconds between checkpoints while reading (one is also written after each file and on stop).
        public var checkpointInterval = 1.0
        public var opener = InputOpener.Options()
        public init() {}
    }

    /// Data that was lost before it could be read: a file pruned, or truncated past what was read.
    public struct Gap: Sendable, CustomStringConvertible {
        public let file: String
        public let fromOffset: Int64
        /// Event time of the last event handled before the gap, and of the first after it.
        public let afterMicros: Int64?
        public var beforeMicros: Int64?
        public let reason: String

        public var description: String {
            let from = afterMicros.map { RFC3339.format(microseconds: $0) } ?? "?"
            let to = beforeMicros.map { RFC3339.format(microseconds: $0) } ?? "?"
            return "\(file): bytes \(fromOffset) to its end were not read (\(reason)); events from \(from) to \(to) are missing"
        }
    }

    public struct Counters: Sendable {
        /// The current log replaced by another file (rename rotation, delete and recreate).
        public var rotations = 0
        /// The current log truncated in place (copytruncate).
        public var truncations = 0
        /// Files read (current logs and backups).
        public var files = 0
        /// Bytes read (decompressed).
        public var bytes: Int64 = 0
        public var checkpoints = 0
        /// Backups that could not be read or were damaged (reported as they happen).
        public var inputErrors = 0
    }

    public let path: String
    public let options: Options
    let reader: AuditStreamReader
    public private(set) var counters = Counters()
    public private(set) var gaps: [Gap] = []
    /// The file being read, and the ones to read after it (backups, then the current log).
    var current: FollowedFile?
    var queue: [Pending] = []
    var lastCheckpointAt = 0.0
    var lastCheckpoint: FollowCheckpoint?
    /// A gap was reported and no event has come since.
    var gapOpen = false
    /// Since when the log's path has held no file that opens, and whether that was said
    /// (once, as tail -F does, and again when a file appears).
    var unopenableSince: Double?
    var unopenableSaid = false
    /// Where messages for people go.
    var notice: (String) -> Void = { _ in }

    enum Pending {
        case backup(RotatedFiles.Backup)
        case live(FollowedFile)
    }

    public init(path: String, options: Options = Options(), reader: AuditStreamReader) {
        self.path = path
        self.options = options
        self.reader = reader
    }

    /// Follows until `wait` says to stop. `wait(seconds)` sleeps up to that long (0: just
    /// looks) and returns true when the follower must stop (a signal). `notice` receives
    /// messages for people (gaps, truncations, damaged backups, checkpoint trouble).
    public func run<H: AuditRecordHandler>(
        into handler: inout H, wait: (Double) -> Bool, notice: @escaping (String) -> Void
    ) {
        self.notice = notice
        var timed = EventTimeTracker(inner: handler)
        defer { handler = timed.inner }
        start(lastEventMicros: &timed)
        var caughtUp = false
        while true {
            if current == nil { advance(&timed) }
            guard var file = current else {
                sayUnopenable()
                if wait(options.pollInterval) { break }
                continue
            }
            // After a sleep, look for an in-place truncation before reading: bytes past the old
            // offset of a truncated and rewritten file are the middle of something else.
            if caughtUp && file.isLive {
                caughtUp = false
                if restartIfTruncated(&timed) { continue }
            }
            // Read what is there, a bounded batch at a time so stops and checkpoints keep coming.
            var batch = 0
            var ended = false
            do {
                while batch < 64 {
                    let n = try reader.feed(from: &file.source, into: &timed)
                    if n == 0 { ended = true; break }
                    counters.bytes += Int64(n)
                    batch += 1
                }
                closeGap(&timed)
            } catch {
                notice("\(error.message)")
                counters.inputErrors += 1
                current = file
                if file.isLive {  // an I/O error on the log itself: try again later
                    if wait(options.pollInterval) { break }
                } else {
                    finishFile(&timed, damaged: true)
                }
                continue
            }
            current = file
            if !ended {
                maybeCheckpoint(timed.lastMicros)
                if wait(0) { break }
                continue
            }
            if !file.isLive {
                finishFile(&timed, damaged: false)
                continue
            }
            maybeCheckpoint(timed.lastMicros)
            if checkLiveFile(&timed) { continue }
            caughtUp = true
            if wait(options.pollInterval) { break }
        }
        checkpoint(timed.lastMicros)
        current?.close()
        if case .live(let f)? = queue.last { f.close() }
    }

    // MARK: Starting

    func start(lastEventMicros timed: inout EventTimeTracker<some AuditRecordHandler>) {
        if let dir = options.stateDirectory {
            switch FollowCheckpoint.load(from: dir) {
            case .success(let cp?):
                resume(from: cp, &timed)
                return
            case .success(nil):
                break
            case .failure(let e):
                notice(e.message)
            }
        }
        if let live = FollowedFile.openLive(path: path, at: options.fromStart ? .at(0) : .endOfLastLine, fingerprint: nil) {
            begin(live)
        }
    }

    /// Resumes where a checkpoint left off: in the file whose first bytes match (the current
    /// log, or a backup it became, compressed or not), then every later backup, then the
    /// current log. When no file matches, the one checkpointed was pruned: a gap.
    func resume(from cp: FollowCheckpoint, _ timed: inout EventTimeTracker<some AuditRecordHandler>) {
        timed.lastMicros = cp.lastEventMicros
        let live = FollowedFile.openLive(path: path, at: .at(0), fingerprint: nil)
        let backups = backups(excluding: live)
        if cp.fingerprint.isDistinctive {
            // Newest first: the file checkpointed is usually one of the last rotated.
            for (i, b) in backups.enumerated().reversed() where matches(b, cp.fingerprint) {
                queue = backups[(i + 1)...].map { Pending.backup($0) } + (live.map { [Pending.live($0)] } ?? [])
                do throws(InputError) {
                    var file = try FollowedFile.openBackup(b, options: options.opener)
                    file.source = FingerprintingSource(file.source.inner, fingerprint: cp.fingerprint)
                    let skipped = try file.source.skip(cp.offset)
                    begin(file, at: skipped)
                } catch {
                    notice(error.message)
                    counters.inputErrors += 1
                }
                return
            }
            if let live, live.source.fingerprint.length >= cp.fingerprint.length,
                FollowedFile.fingerprint(fd: live.fd, length: cp.fingerprint.length) == cp.fingerprint
            {
                live.close()
                queue = []
                if let resumed = FollowedFile.openLive(path: path, at: .at(cp.offset), fingerprint: cp.fingerprint) {
                    if resumed.source.position != cp.offset {
                        recordGap(cp.name, from: cp.offset, "the file was truncated below the checkpoint", timed.lastMicros)
                        counters.truncations += 1
                    }
                    begin(resumed)
                }
                return
            }
        }
        // Not found: every backup rotated after the checkpointed file was current comes next.
        let after = cp.rotatedTimestamp ?? RotatedFiles.timestamp(millis: cp.seenCurrentMillis)
        let later = backups.filter { cp.rotatedTimestamp == nil ? $0.name.timestamp >= after : $0.name.timestamp > after }
        if cp.offset > 0 {
            recordGap(cp.name, from: cp.offset, "it was removed or replaced before it was read", timed.lastMicros)
        }
        queue = later.map { Pending.backup($0) } + (live.map { [Pending.live($0)] } ?? [])
    }

    /// The backups of the log, less the file now at its path (if it was rotated between the
    /// two looks, it is read as the current log, not twice).
    func backups(excluding live: FollowedFile?) -> [RotatedFiles.Backup] {
        RotatedFiles.backups(of: path).filter { backup in live.map { !Self.isSameFile(backup.path, $0) } ?? true }
    }

    /// Whether a backup's first bytes (decompressed) are the ones fingerprinted.
    func matches(_ backup: RotatedFiles.Backup, _ fp: FileFingerprint) -> Bool {
        FileFingerprint.of(path: backup.path, length: fp.length, options: options.opener) == fp
    }

    static func isSameFile(_ path: String, _ file: FollowedFile) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && UInt64(st.st_dev) == file.device && UInt64(st.st_ino) == file.inode
    }

    // MARK: Moving between files

    /// Starts reading `file` (at its source's position, or `offset` for a resumed archive).
    func begin(_ file: FollowedFile, at offset: Int64? = nil) {
        reader.begin(name: file.path, offset: offset ?? file.source.position)
        current = file
        counters.files += 1
        if file.isLive {
            if unopenableSaid { notice("\(path): the file has appeared; following it") }
            unopenableSince = nil
            unopenableSaid = false
        }
    }

    /// Everything read and the log's path holds no file that opens: say so once, at once when
    /// nothing was read yet (a wrong path, missing permissions), else once it lasts a second
    /// (a rotation leaves the path empty only for an instant).
    func sayUnopenable() {
        guard !unopenableSaid else { return }
        let now = Self.monotonic()
        let since = unopenableSince ?? now
        unopenableSince = since
        guard counters.files == 0 || now - since >= 1 else { return }
        notice("\(path): \(FollowedFile.whyUnopenable(path)); waiting for it, as tail -F does")
        unopenableSaid = true
    }

    /// Opens the next file in the queue; when none is left and the log's path holds a file,
    /// that one (delete and recreate, or a follower started before the log existed).
    func advance(_ timed: inout EventTimeTracker<some AuditRecordHandler>) {
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .live(let f):
                begin(f)
                return
            case .backup(let b):
                do {
                    begin(try FollowedFile.openBackup(b, options: options.opener))
                    return
                } catch {
                    notice(error.message)
                    counters.inputErrors += 1
                }
            }
        }
        if let live = FollowedFile.openLive(path: path, at: .at(0), fingerprint: nil) { begin(live) }
    }

    /// A backup (or a damaged file) has been read to its end: what it left unfinished is
    /// handled as its last line, and the checkpoint moves to its end.
    func finishFile(_ timed: inout EventTimeTracker<some AuditRecordHandler>, damaged: Bool) {
        if !damaged { reader.end(into: &timed) }
        checkpoint(timed.lastMicros)
        current?.close()
        current = nil
    }

    /// Everything written to the current log has been read: has it been rotated away,
    /// truncated, or deleted? Returns true when reading should go on at once.
    func checkLiveFile(_ timed: inout EventTimeTracker<some AuditRecordHandler>) -> Bool {
        guard var file = current else { return false }
        if file.isAtPath() {
            file.seenCurrentMillis = RotatedFiles.nowMillis()
            current = file
            return restartIfTruncated(&timed)
        }
        // Rotated or deleted: drain what was written before the rename, then move on.
        do {
            while try reader.feed(from: &file.source, into: &timed) > 0 {}
        } catch {
            notice(error.message)
        }
        current = file
        reader.end(into: &timed)
        counters.rotations += 1
        let live = FollowedFile.openLive(path: path, at: .at(0), fingerprint: nil)
        queue = successors(of: file, excluding: live).map { Pending.backup($0) } + (live.map { [Pending.live($0)] } ?? [])
        checkpoint(timed.lastMicros)
        file.close()
        current = nil
        return true
    }

    /// Copytruncate: when the current log was truncated in place, reads it again from its start.
    /// Returns whether it was.
    func restartIfTruncated(_ timed: inout EventTimeTracker<some AuditRecordHandler>) -> Bool {
        guard var file = current, file.wasTruncated() else { return false }
        counters.truncations += 1
        notice("\(path): truncated in place (copytruncate); reading it again from its start")
        reader.end(unterminatedLine: .report, into: &timed)
        lseek(file.fd, 0, SEEK_SET)
        file.source = FingerprintingSource(file.source.inner, fingerprint: FollowedFile.fingerprint(fd: file.fd), position: 0)
        current = nil
        begin(file)
        counters.files -= 1  // the same file
        return true
    }

    /// The backups rotated after `file` (found by inode, or by fingerprint once compressed;
    /// failing both, by the time it was last seen as the current log).
    func successors(of file: FollowedFile, excluding live: FollowedFile?) -> [RotatedFiles.Backup] {
        let backups = backups(excluding: live)
        if let i = backups.firstIndex(where: { Self.isSameFile($0.path, file) }) {
            return Array(backups[(i + 1)...])
        }
        let fp = file.source.fingerprint
        if fp.isDistinctive, let i = backups.lastIndex(where: { matches($0, fp) }) {
            return Array(backups[(i + 1)...])
        }
        let after = RotatedFiles.timestamp(millis: file.seenCurrentMillis)
        return backups.filter { $0.name.timestamp >= after }
    }

    // MARK: Checkpoints and gaps

    func maybeCheckpoint(_ lastMicros: Int64?) {
        guard options.stateDirectory != nil else { return }
        let now = Self.monotonic()
        if now - lastCheckpointAt >= options.checkpointInterval { checkpoint(lastMicros) }
    }

    /// Writes where reading has got to, if that changed.
    func checkpoint(_ lastMicros: Int64?) {
        guard let dir = options.stateDirectory, let file = current else { return }
        lastCheckpointAt = Self.monotonic()
        let cp = FollowCheckpoint(
            fingerprint: file.source.fingerprint, offset: reader.consumedOffset, name: file.baseName,
            rotatedTimestamp: file.rotatedTimestamp, seenCurrentMillis: file.isLive ? file.seenCurrentMillis : 0,
            lastEventMicros: lastMicros)
        guard cp != lastCheckpoint else { return }
        do {
            try cp.save(to: dir)
            lastCheckpoint = cp
            counters.checkpoints += 1
        } catch {
            notice(error.message)
        }
    }

    func recordGap(_ file: String, from offset: Int64, _ reason: String, _ afterMicros: Int64?) {
        let gap = Gap(file: file, fromOffset: offset, afterMicros: afterMicros, beforeMicros: nil, reason: reason)
        gaps.append(gap)
        notice("gap: " + gap.description)
        gapOpen = true
    }

    /// The first event after a gap ends its time range.
    func closeGap(_ timed: inout EventTimeTracker<some AuditRecordHandler>) {
        guard gapOpen, let t = timed.firstMicros else { return }
        gapOpen = false
        gaps[gaps.count - 1].beforeMicros = t
        notice("gap ends: the first event after it is from \(RFC3339.format(microseconds: t))")
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Passes records on and remembers the event time of the last event, for checkpoints and gaps.
struct EventTimeTracker<Inner: AuditRecordHandler>: AuditRecordHandler {
    var inner: Inner
    var lastMicros: Int64?
    /// The first event time seen (where the data after a gap starts).
    var firstMicros: Int64?

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        if let t = event.stageMicros {
            lastMicros = t
            if firstMicros == nil { firstMicros = t }
        }
        inner.handle(event: event, at: location)
    }

    mutating func handle(issue: ReadIssue) { inner.handle(issue: issue) }
    var batchSize: Int { inner.batchSize }
    mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) { inner.endBatch(events) }
}
