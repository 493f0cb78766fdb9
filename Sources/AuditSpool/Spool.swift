import AuditInputs
import Dispatch
import Glibc
import Synchronization

/// The webhook sink's durable store: a directory of zstd-compressed NDJSON segments that
/// `kaudit scan` replays as they are, written so that a batch is on disk before it is
/// acknowledged.
///
/// Batches are queued and written by one writer thread in *group commits*: everything
/// queued when the writer comes round becomes one zstd frame, one `write` and one
/// `fdatasync`, then every batch in the group is answered. Under load, many requests share a
/// sync, so throughput does not pay one disk flush per request. Each data frame is followed
/// by a zstd skippable frame holding the fingerprints of its events (decoders skip it), from
/// which the duplicate table is rebuilt after a restart.
///
/// Layout of the state directory:
/// - `spool/audit-<UTC time>.zst`: the segments, in order by name.
/// - `quarantine/quarantine-<UTC time>.ndjson`: items that were not audit events, with their
///   raw bytes (base64).
/// - `dedup.key`: the fingerprint key.
public final class Spool: Sendable {
    public let directory: String
    public let segmentDirectory: String
    public let quarantineDirectory: String
    public let options: SpoolOptions
    public let fingerprinter: Fingerprinter

    struct Job {
        let batch: SpoolBatch
        let done: @Sendable (SpoolOutcome) -> Void
    }

    struct Shared {
        var jobs: [Job] = []
        var draining = false
        var closed = false
        var segments: [SegmentInfo] = []
        var stats = SpoolStats()
        /// Segments before this name have been read by detection to their end.
        var readBefore = ""
        var quarantineBytes: Int64 = 0
    }

    let shared: Mutex<Shared>
    let writer: Writer
    let queue = DispatchQueue(label: "kaudit.spool.writer", qos: .userInitiated)
    /// Signalled after every commit that added events (the detection reader waits on it).
    public let committed = DispatchSemaphore(value: 0)

    /// Opens (creating if needed) the spool in `directory`: cuts an interrupted write off the
    /// last segment and reloads the fingerprints of the most recent events.
    public init(directory: String, options: SpoolOptions = SpoolOptions()) throws(SpoolError) {
        self.directory = directory
        segmentDirectory = directory + "/spool"
        quarantineDirectory = directory + "/quarantine"
        self.options = options
        for dir in [directory, segmentDirectory, quarantineDirectory] {
            if mkdir(dir, 0o700) != 0 && Glibc.errno != EEXIST { throw SpoolError.errno("create", dir) }
        }
        fingerprinter = try Fingerprinter.load(orCreate: directory + "/dedup.key")
        var state = Shared()
        let recovery = try Self.recover(segmentDirectory, options: options)
        state.segments = recovery.segments
        state.stats.recoveredTruncatedBytes = recovery.truncated
        var dedup = DedupTable(capacity: options.dedupSlots)
        for f in recovery.fingerprints { _ = dedup.insert(f) }
        state.stats.fingerprintsReloaded = recovery.fingerprints.count
        let qdir = directory + "/quarantine"
        state.quarantineBytes = SpoolFiles.names(in: qdir, prefix: "quarantine-", suffix: ".ndjson")
            .reduce(0) { $0 + SpoolFiles.size(qdir + "/" + $1) }
        state.stats.segments = state.segments.count
        state.stats.diskBytes = state.segments.reduce(0) { $0 + $1.committedBytes } + state.quarantineBytes
        shared = Mutex(state)
        writer = Writer(dedup: dedup, level: options.compressionLevel, lastName: recovery.segments.last?.name ?? "")
    }

    // MARK: Writing

    /// Queues `batch`; `done` is called (on the writer thread) once it is durable, or with
    /// `.full` at once when the queue is over its bound or the spool is closed.
    public func append(_ batch: SpoolBatch, done: @escaping @Sendable (SpoolOutcome) -> Void) {
        let size = batch.byteCount
        let start: Bool? = shared.withLock { s in
            if s.closed || (s.stats.queuedBytes > 0 && s.stats.queuedBytes + size > options.maxQueuedBytes) {
                s.stats.refusedQueueFull += 1
                return nil
            }
            s.jobs.append(Job(batch: batch, done: done))
            s.stats.queuedBytes += size
            if s.draining { return false }
            s.draining = true
            return true
        }
        switch start {
        case nil: done(.full)
        case true?: queue.async { self.drain() }
        case false?: break
        }
    }

    /// Writes everything queued, group by group, until the queue is empty.
    func drain() {
        while true {
            let jobs: [Job] = shared.withLock { s in
                let j = s.jobs
                s.jobs.removeAll()
                if j.isEmpty { s.draining = false }
                return j
            }
            if jobs.isEmpty { return }
            commit(jobs)
        }
    }

    func commit(_ jobs: [Job]) {
        let started = SpoolFiles.monotonicMicros()
        let queued = jobs.reduce(0) { $0 + $1.batch.byteCount }
        pruneIfOverCap()
        let full = shared.withLock { s in s.stats.diskBytes >= options.maxBytes }
        if full {
            shared.withLock { s in
                s.stats.queuedBytes -= queued
                s.stats.refusedDiskFull += jobs.count
            }
            for job in jobs { job.done(.full) }
            return
        }
        var outcomes: [(stored: Int, duplicates: Int)] = []
        let w = writer
        w.group.removeAll(keepingCapacity: true)
        w.fingerprints.removeAll(keepingCapacity: true)
        var quarantined = 0
        for job in jobs {
            var stored = 0
            var duplicates = 0
            job.batch.lines.withUnsafeBytes { lines in
                for line in job.batch.events {
                    if w.dedup.insert(line.fingerprint) {
                        w.group.append(contentsOf: UnsafeRawBufferPointer(rebasing: lines[line.start..<line.end]))
                        w.fingerprints.append(line.fingerprint)
                        stored += 1
                    } else {
                        duplicates += 1
                    }
                }
            }
            quarantined += job.batch.quarantined.count
            outcomes.append((stored, duplicates))
        }
        do {
            let written = try write(jobs)
            let elapsed = SpoolFiles.monotonicMicros() - started
            let storedTotal = outcomes.reduce(0) { $0 + $1.stored }
            shared.withLock { s in
                s.stats.queuedBytes -= queued
                s.stats.batches += jobs.count
                s.stats.eventsStored += storedTotal
                s.stats.duplicates += outcomes.reduce(0) { $0 + $1.duplicates }
                s.stats.quarantined += quarantined
                s.stats.bytesStored += Int64(w.group.count)
                s.stats.dedupRotations = w.dedup.rotations
                s.stats.lastCommitMicros = elapsed
                if written.segment > 0 {
                    s.stats.commits += 1
                    if let last = s.segments.last, last.name == w.segmentName {
                        s.segments[s.segments.count - 1].committedBytes = w.segmentSize
                    } else {
                        if !s.segments.isEmpty { s.segments[s.segments.count - 1].sealed = true }
                        s.segments.append(SegmentInfo(name: w.segmentName, committedBytes: w.segmentSize, sealed: false))
                    }
                }
                s.quarantineBytes += written.quarantine
                s.stats.segments = s.segments.count
                s.stats.diskBytes = s.segments.reduce(0) { $0 + $1.committedBytes } + s.quarantineBytes
            }
            if written.segment > 0 { committed.signal() }
            for (job, o) in zip(jobs, outcomes) {
                job.done(.stored(stored: o.stored, duplicates: o.duplicates, quarantined: job.batch.quarantined.count))
            }
        } catch {
            for f in w.fingerprints { w.dedup.remove(f) }
            shared.withLock { s in
                s.stats.queuedBytes -= queued
                s.stats.writeErrors += 1
            }
            for job in jobs { job.done(.failed(error.description)) }
        }
    }

    /// Writes the group's frame (and its fingerprints) and the quarantined items, and syncs
    /// both files. On failure the segment is cut back to where it was.
    /// - Returns: the bytes added to the segment and to the quarantine.
    func write(_ jobs: [Job]) throws(SpoolError) -> (segment: Int64, quarantine: Int64) {
        let w = writer
        var segmentAdded: Int64 = 0
        if !w.group.isEmpty {
            let frame: [UInt8]
            let encoded: UnsafeRawBufferPointer? = w.group.withUnsafeBytes { w.encoder.encode($0) }
            guard let encoded else { throw SpoolError("zstd compression failed") }
            frame = Array(encoded) + SpoolFiles.skippableFrame(fingerprints: w.fingerprints)
            if w.segmentFD < 0 || (w.segmentSize > 0 && w.segmentSize + Int64(frame.count) > Int64(options.segmentBytes)) {
                try openSegment()
            }
            try Self.appendDurably(frame, to: w.segmentFD, size: w.segmentSize, segmentDirectory, w.segmentName)
            w.segmentSize += Int64(frame.count)
            segmentAdded = Int64(frame.count)
        }
        var quarantineAdded: Int64 = 0
        let items = jobs.flatMap { job in job.batch.quarantined.map { (job.batch.sender, $0) } }
        if !items.isEmpty {
            var text: [UInt8] = []
            let now = RotatedFiles.nowMillis()
            for (sender, item) in items { QuarantineRecord.append(to: &text, sender: sender, item: item, millis: now) }
            if w.quarantineFD < 0 || w.quarantineSize + Int64(text.count) > Int64(options.quarantineFileBytes) {
                try openQuarantine()
            }
            try Self.appendDurably(text, to: w.quarantineFD, size: w.quarantineSize, quarantineDirectory, w.quarantineName)
            w.quarantineSize += Int64(text.count)
            quarantineAdded = Int64(text.count)
        }
        return (segmentAdded, quarantineAdded)
    }

    func openSegment() throws(SpoolError) {
        let w = writer
        if w.segmentFD >= 0 { Glibc.close(w.segmentFD) }
        (w.segmentFD, w.segmentName) = try Self.create(segmentDirectory, prefix: "audit-", suffix: ".zst", after: w.lastName)
        w.segmentSize = 0
        w.lastName = w.segmentName
    }

    func openQuarantine() throws(SpoolError) {
        let w = writer
        if w.quarantineFD >= 0 { Glibc.close(w.quarantineFD) }
        (w.quarantineFD, w.quarantineName) = try Self.create(
            quarantineDirectory, prefix: "quarantine-", suffix: ".ndjson", after: w.quarantineName)
        w.quarantineSize = 0
    }

    /// Appends and syncs; on failure cuts the file back to `size` (nothing half-written stays).
    /// A new file's directory entry is synced too.
    static func appendDurably(_ bytes: [UInt8], to fd: Int32, size: Int64, _ dir: String, _ name: String) throws(SpoolError) {
        guard AtomicFile.writeAll(fd, bytes), fdatasync(fd) == 0 else {
            let error = SpoolError.errno("write", dir + "/" + name)
            _ = ftruncate(fd, off_t(size))
            throw error
        }
        if size == 0 { AtomicFile.syncDirectory(dir) }
    }

    /// A new append-only file named for the time now, sorting after `previous`.
    static func create(_ dir: String, prefix: String, suffix: String, after previous: String) throws(SpoolError) -> (Int32, String) {
        let name = SpoolFiles.nextName(prefix: prefix, suffix: suffix, after: previous)
        let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError.errno("create", dir + "/" + name) }
        return (fd, name)
    }

    /// Over the disk cap: removes the oldest segments that detection has read to the end.
    func pruneIfOverCap() {
        let victims: [String] = shared.withLock { s in
            var over = s.stats.diskBytes - options.maxBytes
            var names: [String] = []
            for seg in s.segments where over >= 0 && seg.sealed && seg.name < s.readBefore {
                names.append(seg.name)
                over -= seg.committedBytes
            }
            return names
        }
        guard !victims.isEmpty else { return }
        for name in victims { unlink(segmentDirectory + "/" + name) }
        AtomicFile.syncDirectory(segmentDirectory)
        shared.withLock { s in
            s.segments.removeAll { victims.contains($0.name) }
            s.stats.segmentsPruned += victims.count
            s.stats.segments = s.segments.count
            s.stats.diskBytes = s.segments.reduce(0) { $0 + $1.committedBytes } + s.quarantineBytes
        }
    }

    // MARK: State for readers and metrics

    /// The segments, oldest first, with how much of each is committed.
    public func segments() -> [SegmentInfo] { shared.withLock { $0.segments } }

    public var stats: SpoolStats { shared.withLock { $0.stats } }

    /// Detection has read every segment before `segment` to its end: those may be pruned.
    public func readProgress(before segment: String) {
        shared.withLock { $0.readBefore = segment }
    }

    /// Stops taking batches, writes what is queued and closes the files.
    public func close() {
        shared.withLock { $0.closed = true }
        queue.sync {
            drain()
            let w = writer
            if w.segmentFD >= 0 { Glibc.close(w.segmentFD); w.segmentFD = -1 }
            if w.quarantineFD >= 0 { Glibc.close(w.quarantineFD); w.quarantineFD = -1 }
        }
        committed.signal()
    }

    // MARK: Recovery

    struct Recovery {
        var segments: [SegmentInfo] = []
        var truncated: Int64 = 0
        var fingerprints: [UInt64] = []
    }

    /// Lists the segments, cuts a partial frame off the last one (a crash during a write;
    /// such a frame was never acknowledged) and collects the fingerprints of the newest
    /// events, as many as the duplicate table holds in a generation.
    static func recover(_ dir: String, options: SpoolOptions) throws(SpoolError) -> Recovery {
        var r = Recovery()
        for name in SpoolFiles.names(in: dir, prefix: "audit-", suffix: ".tmp") { unlink(dir + "/" + name) }
        let names = SpoolFiles.names(in: dir, prefix: "audit-", suffix: ".zst")
        let wanted = options.dedupSlots / 2
        var collected: [[UInt64]] = []
        var count = 0
        for (i, name) in names.enumerated().reversed() {
            let path = dir + "/" + name
            let isLast = i == names.count - 1
            guard isLast || count < wanted else {
                r.segments.append(SegmentInfo(name: name, committedBytes: SpoolFiles.size(path), sealed: true))
                continue
            }
            let bytes = try SpoolFiles.readAll(path)
            var valid = 0
            var fingerprints: [UInt64] = []
            bytes.withUnsafeBytes { all in
                while let n = ZstdFrames.completeFrameSize(UnsafeRawBufferPointer(rebasing: all[valid...])) {
                    SpoolFiles.readFingerprints(UnsafeRawBufferPointer(rebasing: all[valid..<valid + n]), into: &fingerprints)
                    valid += n
                }
            }
            if valid < bytes.count {
                guard truncate(path, off_t(valid)) == 0 else { throw SpoolError.errno("truncate", path) }
                r.truncated += Int64(bytes.count - valid)
            }
            if valid == 0 {
                unlink(path)
                continue
            }
            count += fingerprints.count
            collected.append(fingerprints)
            r.segments.append(SegmentInfo(name: name, committedBytes: Int64(valid), sealed: true))
        }
        r.segments.reverse()
        for f in collected.reversed() { r.fingerprints += f }
        if r.fingerprints.count > wanted { r.fingerprints.removeFirst(r.fingerprints.count - wanted) }
        return r
    }
}

/// The writer thread's own state: touched only on `Spool.queue` (and at init and close).
final class Writer: @unchecked Sendable {
    var dedup: DedupTable
    let encoder: ZstdFrameEncoder
    var group: [UInt8] = []
    var fingerprints: [UInt64] = []
    var segmentFD: Int32 = -1
    var segmentName = ""
    var segmentSize: Int64 = 0
    var lastName: String
    var quarantineFD: Int32 = -1
    var quarantineName = ""
    var quarantineSize: Int64 = 0

    init(dedup: DedupTable, level: Int32, lastName: String) {
        self.dedup = dedup
        encoder = ZstdFrameEncoder(level: level)
        self.lastName = lastName
    }
}
