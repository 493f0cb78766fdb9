// Value lists for the `expand` modifier.
//
// A rule writes `user.username|expand: '%control_plane_users%'`; the placeholder stands for
// every value of the list `control_plane_users`, so allow-lists are kept once, beside the
// rules, and a cluster tunes them without touching a rule. A list is a text file
// `<name>.txt` in a `lists/` folder of a rule directory: one value per line, taken as
// written (wildcards included); blank lines and lines starting with `#` are ignored.

/// Named value lists, for placeholders.
public struct ValueLists: Sendable {
    public private(set) var lists: [String: [String]]
    /// Where each list was read from.
    public private(set) var files: [String: String]

    public static let empty = ValueLists(lists: [:], files: [:])

    public init(lists: [String: [String]], files: [String: String] = [:]) {
        self.lists = lists
        self.files = files
    }

    /// Reads the `lists/` folder of every directory among `paths` (and of a rule file's own
    /// directory); a directory without one uses its parent's, so one tactic folder of a pack
    /// (`--rules Detections/execution`) gets the pack's lists. A list defined twice keeps the
    /// first and reports the second.
    public static func load(near paths: [String]) -> (lists: ValueLists, diagnostics: [RuleDiagnostic]) {
        var result = ValueLists.empty
        var diagnostics: [RuleDiagnostic] = []
        var seen: Set<FileSystem.Identity> = []
        for path in paths {
            let directory: String
            switch FileSystem.inspect(path) {
            case .success((.directory, _)): directory = path
            case .success((.file, _)):
                guard let slash = path.lastIndex(of: "/") else { directory = "."; break }
                directory = String(path[..<slash])
            default: continue
            }
            var folder = FileSystem.join(directory, "lists")
            if directoryIdentity(folder) == nil { folder = FileSystem.join(FileSystem.join(directory, ".."), "lists") }
            // The same folder reached by two spellings (Detections/lists, Detections/x/../lists) is read once.
            guard let identity = directoryIdentity(folder), seen.insert(identity).inserted,
                case .success(let names) = FileSystem.listDirectory(folder)
            else { continue }
            for name in names.sorted() where name.hasSuffix(".txt") && !name.hasPrefix(".") {
                let file = FileSystem.join(folder, name)
                let list = String(name.dropLast(4))
                switch FileSystem.readFile(file) {
                case .failure(let failure):
                    diagnostics.append(RuleDiagnostic(.error, .ioError, failure.message, file: file, at: .file))
                case .success(let bytes):
                    if let first = result.files[list] {
                        diagnostics.append(
                            RuleDiagnostic(
                                .warning, .duplicateName, "list `\(list)` is already defined by \(first); this one is ignored",
                                file: file, at: .file))
                        continue
                    }
                    result.lists[list] = parse(String(decoding: bytes, as: UTF8.self))
                    result.files[list] = file
                }
            }
        }
        return (result, diagnostics)
    }

    private static func directoryIdentity(_ path: String) -> FileSystem.Identity? {
        if case .success((.directory, let identity)) = FileSystem.inspect(path) { return identity }
        return nil
    }

    /// The values of a list file's text.
    public static func parse(_ text: String) -> [String] {
        var values: [String] = []
        // "\r\n" is one Character in Swift: split on both forms.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let value = Substring(line)
            let trimmed = value.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var end = trimmed.endIndex
            while end > trimmed.startIndex, trimmed[trimmed.index(before: end)] == " " || trimmed[trimmed.index(before: end)] == "\t" {
                end = trimmed.index(before: end)
            }
            values.append(String(trimmed[..<end]))
        }
        return values
    }

    /// `value` with every `%name%` placeholder replaced by each value of its list (several
    /// placeholders give every combination), or the names of the lists that do not exist.
    public func expand(_ value: String) -> Result<[String], MissingLists> {
        var parts: [[String]] = []
        var missing: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "%") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "%") else { break }
            parts.append([String(rest[..<open])])
            let name = String(rest[afterOpen..<close])
            if let list = lists[name] { parts.append(list) } else { missing.append(name) }
            rest = rest[rest.index(after: close)...]
        }
        parts.append([String(rest)])
        guard missing.isEmpty else { return .failure(MissingLists(names: missing)) }
        var results = [""]
        for options in parts {
            results = results.flatMap { prefix in options.map { prefix + $0 } }
        }
        return .success(results)
    }

    public struct MissingLists: Error, Sendable {
        public let names: [String]
    }
}
