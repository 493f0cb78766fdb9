import Glibc

/// Turns the paths given on the command line into the files to read, in order.
///
/// - `-` is standard input.
/// - A directory gives its regular files (hidden ones left out) in lumberjack order: the
///   rotated backups of each log by the time in their names, then the log itself.
/// - A path that does not exist but holds `*`, `?` or `[` is a glob; its matches are ordered
///   the same way. A glob that matches nothing is an error.
/// - Anything else is a file, read as given (a missing one fails when it is opened).
///
/// Files found by listing (a directory's or a glob's) are marked `wasListed`: the scan
/// leaves out those that are not audit logs (see `InputSniff`), where a named file is read
/// whatever it holds.
public enum InputPaths {
    /// One input to read.
    public struct Input: Sendable, Equatable {
        public let path: String
        /// Whether an empty file is expected here (the current log just after a rotation);
        /// any other empty input is an error.
        public let mayBeEmpty: Bool
        /// Found in a directory or by a glob rather than named: left out, with a note, when
        /// it is not an audit log at all (a README, the apiserver's text log).
        public let wasListed: Bool

        public init(path: String, mayBeEmpty: Bool, wasListed: Bool = false) {
            self.path = path
            self.mayBeEmpty = mayBeEmpty
            self.wasListed = wasListed
        }
    }

    public struct Expansion: Sendable {
        public var inputs: [Input] = []
        /// Files left out on purpose, with why (for stderr).
        public var leftOut: [String] = []
        /// Arguments that name nothing readable.
        public var errors: [String] = []
    }

    public static func expand(_ arguments: [String]) -> Expansion {
        var out = Expansion()
        for argument in arguments {
            if argument == "-" {
                out.inputs.append(Input(path: argument, mayBeEmpty: false))
            } else if isDirectory(argument) {
                let dir = argument.hasSuffix("/") ? String(argument.dropLast()) : argument
                add(directory: dir, names: regularFiles(in: dir), to: &out)
            } else if !exists(argument) && argument.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
                let matches = glob(argument)
                if matches.isEmpty { out.errors.append("\(argument): no file matches this pattern") }
                // Order each directory's matches as a directory would be.
                var byDirectory: [(dir: String, names: [String])] = []
                for path in matches where !isDirectory(path) {
                    let (dir, name) = split(path)
                    if let i = byDirectory.firstIndex(where: { $0.dir == dir }) {
                        byDirectory[i].names.append(name)
                    } else {
                        byDirectory.append((dir, [name]))
                    }
                }
                for group in byDirectory { add(directory: group.dir, names: group.names, to: &out) }
            } else {
                out.inputs.append(Input(path: argument, mayBeEmpty: false))
            }
        }
        return out
    }

    static func add(directory: String, names: [String], to out: inout Expansion) {
        let (files, skipped) = LumberjackOrder.order(names)
        let join = { (name: String) in directory.isEmpty ? name : directory + "/" + name }
        for f in files { out.inputs.append(Input(path: join(f.name), mayBeEmpty: f.isCurrentWithBackups, wasListed: true)) }
        for s in skipped {
            out.leftOut.append("\(join(s)): skipped, an interrupted compression of \(join(String(s.dropLast(3)))), which is read instead")
        }
    }

    /// `("dir", "name")`; the directory is "" for a bare name.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = path[..<slash]
        return (dir.isEmpty ? "/" : String(dir), String(path[path.index(after: slash)...]))
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// A file's size in bytes; 0 when it cannot be told (for progress and spool accounting).
    public static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Base names of the regular files in a directory (hidden files left out), unsorted.
    public static func regularFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            var st = stat()
            if stat(directory + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { names.append(name) }
        }
        return names
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out
    }
}
