import AuditInputs
import Glibc

/// Where detection has read the spool to: a segment and the byte offset of the next
/// frame in it. Saved as `detection.checkpoint` in the state directory.
public struct SpoolPosition: Sendable, Equatable {
    public var segment: String
    public var offset: Int64

    public init(segment: String, offset: Int64) {
        self.segment = segment
        self.offset = offset
    }

    static let fileName = "detection.checkpoint"

    /// The saved position; nil when there is none, an error when it is unreadable.
    public static func load(from directory: String) -> Result<SpoolPosition?, SpoolError> {
        switch AtomicFile.read(directory + "/" + fileName, limit: 4096) {
        case .failure(let e): return .failure(SpoolError(e.message))
        case .success(nil): return .success(nil)
        case .success(let bytes?):
            let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard fields.count == 3, fields[0] == "v1", let offset = Int64(fields[2]), offset >= 0 else {
                return .failure(SpoolError("\(directory)/\(fileName) is malformed"))
            }
            return .success(SpoolPosition(segment: String(fields[1]), offset: offset))
        }
    }

    /// Writes the position atomically (temporary file, fsync, rename).
    public func save(to directory: String) throws(SpoolError) {
        do {
            try AtomicFile.replace(Self.fileName, in: directory, with: Array("v1 \(segment) \(offset)\n".utf8))
        } catch {
            throw SpoolError(error.message)
        }
    }
}

/// Reads the spool's committed frames in order, from a position, for detection.
public final class SpoolReader {
    let spool: Spool
    public private(set) var position: SpoolPosition
    var fd: Int32 = -1
    var fdName = ""
    var compressed: [UInt8] = []
    var output: [UInt8] = []
    let context = ZstdFrames.makeContext()
    /// Decompressed size allowed for one frame: a group commit holds at most the writer's
    /// queue bound.
    let frameLimit: Int

    /// Starts at `position`, or at the oldest segment when nil.
    public init(spool: Spool, from position: SpoolPosition?) {
        self.spool = spool
        self.position = position ?? SpoolPosition(segment: "", offset: 0)
        frameLimit = max(spool.options.maxQueuedBytes, 64 << 20) * 2
    }

    deinit {
        if fd >= 0 { close(fd) }
        ZstdFrames.freeContext(context)
    }

    /// Hands the events of each committed frame after the position to `body` (as NDJSON
    /// bytes, valid during the call) and advances past it, up to `maxBytes` of compressed
    /// input. Returns the number of frames read (0: nothing new).
    public func read(maxBytes: Int = 16 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws(SpoolError) -> Int {
        let segments = spool.segments()
        guard var i = segments.firstIndex(where: { $0.name >= position.segment }) else { return 0 }
        if segments[i].name != position.segment { position = SpoolPosition(segment: segments[i].name, offset: 0) }
        var frames = 0
        var budget = maxBytes
        while budget > 0 {
            let seg = segments[i]
            if position.offset >= seg.committedBytes {
                guard seg.sealed, i + 1 < segments.count else { break }
                i += 1
                position = SpoolPosition(segment: segments[i].name, offset: 0)
                continue
            }
            let available = Int(seg.committedBytes - position.offset)
            try load(seg.name, from: position.offset, count: min(available, budget))
            var used = try frameWalk(body, &frames)
            if used == 0 {  // one frame larger than the budget: read it whole
                try load(seg.name, from: position.offset, count: available)
                used = try frameWalk(body, &frames)
                guard used > 0 else { throw SpoolError("\(seg.name): no complete zstd frame at offset \(position.offset)") }
            }
            position.offset += Int64(used)
            budget -= used
        }
        return frames
    }

    func frameWalk(_ body: (UnsafeRawBufferPointer) -> Void, _ frames: inout Int) throws(SpoolError) -> Int {
        var used = 0
        var failed = false
        compressed.withUnsafeBytes { all in
            while let n = ZstdFrames.completeFrameSize(UnsafeRawBufferPointer(rebasing: all[used...])) {
                let frame = UnsafeRawBufferPointer(rebasing: all[used..<used + n])
                if !SpoolFiles.isFingerprintFrame(frame) {
                    guard let size = ZstdFrames.decode(frame, into: &output, context: context, limit: frameLimit) else {
                        failed = true
                        return
                    }
                    output.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
                    frames += 1
                }
                used += n
            }
        }
        if failed { throw SpoolError("\(position.segment): undecodable zstd frame at offset \(Int(position.offset) + used)") }
        return used
    }

    func load(_ name: String, from offset: Int64, count: Int) throws(SpoolError) {
        if fdName != name || fd < 0 {
            if fd >= 0 { close(fd) }
            let path = spool.segmentDirectory + "/" + name
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SpoolError.errno("open", path) }
            fdName = name
        }
        if compressed.count != count { compressed = [UInt8](repeating: 0, count: count) }
        var got = 0
        while got < count {
            let n = compressed.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw SpoolError.errno("read", spool.segmentDirectory + "/" + name) }
            got += n
        }
    }
}
