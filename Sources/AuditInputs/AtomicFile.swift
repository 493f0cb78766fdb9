import Glibc

/// Replaces a small file so that a crash leaves either its old or its new contents: a
/// temporary file beside it, fsync, rename over the old one, fsync of the directory.
/// Checkpoints (the follower's, the webhook sink's detection position) are written this way.
public enum AtomicFile {
    /// Writes `bytes` to `directory/name`. On failure the old file is untouched and the
    /// error says which step failed (with `strerror`).
    public static func replace(_ name: String, in directory: String, with bytes: [UInt8]) throws(InputError) {
        let path = directory + "/" + name
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", tmp) }
        var ok = writeAll(fd, bytes)
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else { throw failure("write", tmp) }
        syncDirectory(directory)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR; false on an error (errno set).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// Writes all of `buffer` to `fd`, retrying short writes and EINTR; false on an error (errno set).
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < buffer.count {
            let n = write(fd, buffer.baseAddress! + off, buffer.count - off)  // Safe: off < count.
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Makes a directory's entries (a file created, renamed or removed in it) durable.
    public static func syncDirectory(_ directory: String) {
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    /// Reads a whole small file (at most `limit` bytes); nil when it does not exist, an
    /// error when it cannot be read or is longer than `limit`.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8]?, InputError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .success(nil) }
            return .failure(InputError(.open, "cannot open \(path): \(String(cString: strerror(errno)))"))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(InputError(.read, "cannot read \(path): \(String(cString: strerror(errno)))")) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        guard bytes.count <= limit else { return .failure(InputError(.corruptArchive, "\(path) is over \(limit) bytes")) }
        return .success(bytes)
    }

    static func failure(_ what: String, _ path: String) -> InputError {
        InputError(.read, "cannot \(what) \(path): \(String(cString: strerror(errno)))")
    }
}
