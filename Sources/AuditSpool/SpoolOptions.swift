/// The spool's bounds. Each is documented with its reason in README (`kaudit serve`).
public struct SpoolOptions: Sendable {
    /// Disk cap for segments and quarantine together. Over it, segments detection has
    /// finished with are pruned oldest first; when none can be, batches get 503.
    /// 8 GiB holds about a day of one apiserver at its default ceiling (4,000 events/s of
    /// ~1.4 KB, compressed about 8x).
    public var maxBytes: Int64 = 8 << 30
    /// A segment is closed and a new one started once it reaches this size.
    public var segmentBytes: Int = 64 << 20
    /// Batches waiting for the writer, in bytes; more is answered 503 at once (the disk is
    /// slower than the network: waiting longer would only grow memory).
    public var maxQueuedBytes: Int = 256 << 20
    /// Slots of the duplicate table (two 8-byte arrays of this many): it remembers the
    /// last `dedupSlots / 2` to `dedupSlots` events. 2^21 slots = 32 MiB, one to two
    /// million events: 50 to 100 s at 20,000 events/s, the apiserver's retries span ~90 s.
    public var dedupSlots: Int = 1 << 21
    /// zstd level: 1 compresses ~8x at several hundred MB/s on one core.
    public var compressionLevel: Int32 = 1
    /// A quarantine file is closed and a new one started at this size.
    public var quarantineFileBytes: Int = 64 << 20

    public init() {}
}

/// What the spool has done since it opened.
public struct SpoolStats: Sendable, Equatable {
    public var batches = 0
    public var eventsStored = 0
    public var duplicates = 0
    public var quarantined = 0
    /// Group commits: one frame written and one fdatasync, for one or more batches.
    public var commits = 0
    /// Uncompressed NDJSON bytes stored.
    public var bytesStored: Int64 = 0
    /// Segments (and quarantine files) on disk and their total size.
    public var segments = 0
    public var diskBytes: Int64 = 0
    public var segmentsPruned = 0
    /// Batches answered "full" because of the disk cap, and because of the queue bound.
    public var refusedDiskFull = 0
    public var refusedQueueFull = 0
    public var writeErrors = 0
    /// Bytes of batches waiting for the writer.
    public var queuedBytes = 0
    /// Bytes cut from the last segment at start-up (a write interrupted by a crash).
    public var recoveredTruncatedBytes: Int64 = 0
    /// Fingerprints reloaded from the spool at start-up.
    public var fingerprintsReloaded = 0
    public var dedupRotations = 0
    /// Duration of the last group commit's write and sync, in microseconds.
    public var lastCommitMicros: Int64 = 0

    public init() {}
}

/// One segment file of the spool.
public struct SegmentInfo: Sendable, Equatable {
    public let name: String
    /// Bytes durable and readable (always at a frame boundary).
    public var committedBytes: Int64
    /// No more frames will be added (a newer segment exists).
    public var sealed: Bool
}
