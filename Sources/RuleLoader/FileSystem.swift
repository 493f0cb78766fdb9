// Reading rule files and walking rule directories with POSIX calls (no Foundation).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum FileSystem {
    /// Rule files are small; anything bigger is not a rule file.
    static let maximumFileSize = 16 << 20

    struct Failure: Error {
        let message: String
    }

    enum EntryKind {
        case file, directory, other
    }

    struct Identity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// What `path` is (following symbolic links), and its identity; nil with a message when
    /// it cannot be looked at.
    static func inspect(_ path: String) -> Result<(EntryKind, Identity), Failure> {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return .failure(Failure(message: "cannot access \(path): \(errorText())"))
        }
        let type = info.st_mode & S_IFMT
        let kind: EntryKind = type == S_IFREG ? .file : (type == S_IFDIR ? .directory : .other)
        return .success((kind, Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))))
    }

    /// The whole file.
    static func readFile(_ path: String) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(message: "cannot open \(path): \(errorText())")) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Failure(message: "cannot read \(path): \(errorText())"))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maximumFileSize {
                return .failure(
                    Failure(message: "\(path) is larger than \(maximumFileSize >> 20) MiB; not a rule file"))
            }
        }
        return .success(bytes)
    }

    /// The names in a directory (without `.` and `..`), unsorted.
    static func listDirectory(_ path: String) -> Result<[String], Failure> {
        guard let dir = opendir(path) else {
            return .failure(Failure(message: "cannot open directory \(path): \(errorText())"))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
