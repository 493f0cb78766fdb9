import Glibc

/// One file a follower reads: the current log (followed as it grows) or a rotated backup
/// (read to its end, decompressed if it is an archive).
struct FollowedFile {
    /// The bytes of the file, fingerprinted as they pass.
    var source: FingerprintingSource<DescriptorBackedSource>
    let path: String
    let baseName: String
    /// The time in a backup's name; nil for the current log.
    let rotatedTimestamp: String?
    /// Whether this is the current log, which grows and rotates (else: read to its end).
    let isLive: Bool
    let device: UInt64
    let inode: UInt64
    /// Wall-clock ms when the file was last seen at the log's path.
    var seenCurrentMillis: Int64

    var fd: Int32 { source.inner.fd }

    func close() { _ = Glibc.close(fd) }

    /// Opens the current log at `offset` (plain text: it is never compressed while written).
    /// `fingerprint` is what is known of its first bytes; nil to read them from the file.
    static func openLive(path: String, at offset: OffsetChoice, fingerprint: FileFingerprint?) -> FollowedFile? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            _ = Glibc.close(fd)
            return nil
        }
        var start: Int64
        var fp = fingerprint
        switch offset {
        case .at(let o): start = o
        case .endOfLastLine: start = Self.endOfLastLine(fd: fd, size: Int64(st.st_size))
        }
        if start > Int64(st.st_size) {  // shorter than where we were: truncated, read it from its start
            start = 0
            fp = nil
        }
        lseek(fd, off_t(start), SEEK_SET)
        if fp == nil { fp = Self.fingerprint(fd: fd) }
        let inner = DescriptorBackedSource(inner: FileDescriptorSource(fd: fd, name: path, owns: true), fd: fd)
        return FollowedFile(
            source: FingerprintingSource(inner, fingerprint: fp ?? FileFingerprint(), position: start), path: path,
            baseName: InputPaths.split(path).1, rotatedTimestamp: nil, isLive: true,
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), seenCurrentMillis: RotatedFiles.nowMillis())
    }

    /// Why `openLive` finds no log at `path`, for a person.
    static func whyUnopenable(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "cannot open it (\(String(cString: strerror(errno))))" }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return "is a directory, not a log file"
        case S_IFREG: break
        default: return "is not a regular file"
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot open it (\(String(cString: strerror(errno))))" }
        _ = Glibc.close(fd)
        return "cannot be opened"
    }

    enum OffsetChoice {
        case at(Int64)
        /// After the last complete line (following starts with the next event written).
        case endOfLastLine
    }

    /// Opens a rotated backup (plain or compressed). A `.log` that was compressed and removed
    /// since it was listed is looked for as `.log.gz`.
    static func openBackup(_ backup: RotatedFiles.Backup, options: InputOpener.Options) throws(InputError) -> FollowedFile {
        var opened: InputOpener.Opened
        var path = backup.path
        do {
            opened = try InputOpener.open(path, options: options)
        } catch {
            guard error.code == .open, !backup.name.compressed else { throw error }
            path += ".gz"
            opened = try InputOpener.open(path, options: options)
        }
        var st = stat()
        fstat(opened.file.fd, &st)
        let inner = DescriptorBackedSource(inner: opened.source, fd: opened.file.fd)
        return FollowedFile(
            source: FingerprintingSource(inner), path: path, baseName: InputPaths.split(path).1,
            rotatedTimestamp: backup.name.timestamp, isLive: false, device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
            seenCurrentMillis: 0)
    }

    /// Where following from "now" starts: after the last newline in the last MiB (a line being
    /// written is read whole once its newline comes); the end when there is none.
    static func endOfLastLine(fd: Int32, size: Int64) -> Int64 {
        let window = min(size, 1 << 20)
        guard window > 0 else { return 0 }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(window), alignment: 1)
        defer { buffer.deallocate() }
        let n = pread(fd, buffer.baseAddress, Int(window), off_t(size - window))
        guard n > 0 else { return size }
        var i = n - 1
        while i >= 0 {
            if buffer[i] == 0x0A { return size - window + Int64(i) + 1 }
            i -= 1
        }
        return size
    }

    /// The fingerprint of a plain file's first `length` bytes (fewer if it is shorter).
    static func fingerprint(fd: Int32, length: Int = FileFingerprint.fullLength) -> FileFingerprint {
        var fp = FileFingerprint()
        withUnsafeTemporaryAllocation(byteCount: FileFingerprint.fullLength, alignment: 8) { buffer in
            let n = pread(fd, buffer.baseAddress, min(length, FileFingerprint.fullLength), 0)
            if n > 0 { fp.extend(with: UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        }
        return fp
    }

    /// Whether the file at the log's path is still this one (same device and inode).
    func isAtPath() -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// Whether the file was truncated in place (copytruncate) since its bytes were read: it is
    /// now shorter than what was read, or its first bytes are no longer the ones fingerprinted
    /// (truncated and written again past the old offset between two polls).
    func wasTruncated() -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        if Int64(st.st_size) < source.position { return true }
        let fp = source.fingerprint
        guard fp.length > 0 else { return false }
        return Self.fingerprint(fd: fd, length: fp.length) != fp
    }
}

/// A byte source with the descriptor it reads (to stat, seek and close it).
struct DescriptorBackedSource: ByteSource {
    var inner: any ByteSource
    let fd: Int32

    var consumedBytes: Int64 { inner.consumedBytes }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        try inner.read(into: buffer)
    }
}
