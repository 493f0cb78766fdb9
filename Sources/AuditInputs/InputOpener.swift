import Glibc

/// Opens inputs by path, recognising compression by magic bytes.
public enum InputOpener {
    /// Options for opening inputs.
    public struct Options: Sendable {
        /// Largest zstd window accepted, as a power of two (27 = 128 MiB).
        public var zstdWindowLogMax: Int32 = 27
        public init() {}
    }

    /// An opened input: its display name, its detected format and a byte source that
    /// yields decompressed bytes.
    public struct Opened {
        public let name: String
        public let format: InputFormat
        public var source: any ByteSource
        let file: FileDescriptorSource

        /// Whether the input is a pipe or socket (a writer may stop mid-line), not a file.
        public var isPipe: Bool {
            var st = stat()
            guard fstat(file.fd, &st) == 0 else { return false }
            let type = st.st_mode & S_IFMT
            return type == S_IFIFO || type == S_IFSOCK
        }

        /// Closes the underlying file.
        public func close() { file.close() }
    }

    /// Opens `path`, or standard input for `-`.
    public static func open(_ path: String, options: Options = Options()) throws(InputError) -> Opened {
        let file: FileDescriptorSource
        if path == "-" {
            file = FileDescriptorSource(fd: 0, name: "-", owns: false)
        } else {
            var st = stat()
            if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw InputError(.open, "\(path) is a directory")
            }
            file = try FileDescriptorSource(path: path)
        }
        // Peek at the magic number; the bytes are replayed by PrefixedSource.
        let peekBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        defer { peekBuffer.deallocate() }
        var got = 0
        var peekSource = file
        while got < 4 {
            let n = try peekSource.read(into: UnsafeMutableRawBufferPointer(rebasing: peekBuffer[got...]))
            if n == 0 { break }
            got += n
        }
        let peeked = Array(peekBuffer[0..<got])
        if let other = peeked.withUnsafeBytes({ InputFormat.unsupportedArchive($0) }) {
            file.close()
            throw InputError(
                .unsupportedFormat,
                "\(path) is \(other.named), which kaudit does not read (it reads plain, gzip and zstd); decompress it into a pipe: \(other.command) \(path) | kaudit scan -")
        }
        let format = peeked.withUnsafeBytes { InputFormat.detect($0) }
        let prefixed = PrefixedSource(prefix: peeked, inner: peekSource)
        let source: any ByteSource
        switch format {
        case .plain: source = prefixed
        case .gzip: source = try GzipSource(inner: prefixed, name: path)
        case .zstd: source = try ZstdSource(inner: prefixed, name: path, maxWindowLog: options.zstdWindowLogMax)
        }
        return Opened(name: path, format: format, source: source, file: file)
    }
}
