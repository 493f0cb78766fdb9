import Glibc

/// Something that fills buffers with bytes: a file, a pipe, a decompressor.
public protocol ByteSource {
    /// Reads up to `buffer.count` bytes into `buffer`.
    /// - Returns: the number of bytes read; 0 only at the end of the input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
    /// Bytes consumed from the underlying file so far (compressed bytes for archives),
    /// for error reports and progress.
    var consumedBytes: Int64 { get }
}

/// An input failure: the source could not be opened or read, or an archive is damaged.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case open, read, corruptArchive, truncatedArchive, windowTooLarge
        /// The input holds no bytes at all (or an archive of nothing): never a silent success.
        case empty
        /// A compressed format kaudit does not read (xz, bzip2, ...).
        case unsupportedFormat
    }
    public let code: Code
    public let message: String

    /// Damage inside an archive, after whose report everything before it has been read
    /// (`--allow-partial` accepts these).
    public var isDamagedArchive: Bool { code == .corruptArchive || code == .truncatedArchive }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Reads a POSIX file descriptor (a regular file, a pipe, stdin).
public struct FileDescriptorSource: ByteSource {
    public let fd: Int32
    public let name: String
    let ownsDescriptor: Bool
    public private(set) var consumedBytes: Int64 = 0

    /// Wraps an open descriptor; `owns` decides whether `close()` closes it.
    public init(fd: Int32, name: String, owns: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = owns
    }

    /// Opens a file for reading.
    public init(path: String) throws(InputError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw InputError(.open, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.init(fd: fd, name: path, owns: true)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 {
                consumedBytes += Int64(n)
                return n
            }
            if errno == EINTR { continue }
            throw InputError(.read, "cannot read \(name): \(String(cString: strerror(errno)))")
        }
    }

    /// Closes the descriptor if this source opened it.
    public func close() {
        if ownsDescriptor { _ = Glibc.close(fd) }
    }
}
