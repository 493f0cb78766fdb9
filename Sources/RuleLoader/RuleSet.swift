// Many rule files as one set: what the engine loads.
//
// Checks across files (run after every file is loaded, in file order):
// - ids and names are unique across rules, correlations and filters: a later document with an
//   id or name already taken is rejected (`duplicate-id`, `duplicate-name`, pointing at the
//   earlier one);
// - every rule a correlation lists is a loaded document (by id or name); a correlation that
//   refers to something missing or rejected is rejected too, and so, in turn, are correlations
//   built on it; correlations referring to each other in a cycle are rejected;
// - every rule a filter lists is loaded (a warning: a filter for a rule that is not in the set
//   simply has nothing to filter).

import Dispatch

/// Rule files loaded together.
public struct RuleSet: Sendable {
    /// The files, in load order (sorted paths for directories).
    public let files: [RuleFile]
    /// Every document that loaded without errors and survived the set's checks, in file order.
    public let documents: [RuleDocument]
    /// Every diagnostic: per file in load order, by position within a file.
    public let diagnostics: [RuleDiagnostic]

    /// Loads files and directories. Directories are walked recursively for `*.yml` and
    /// `*.yaml` (any case), skipping names starting with `.`; all files found are loaded in
    /// sorted path order. A path given explicitly is loaded whatever its extension. The same
    /// file reached twice (by two paths, or a symbolic link) is loaded once.
    ///
    /// Folders named `activity` found inside a directory hold informational activity rules
    /// (what was created or deleted, not attacks): they are skipped unless `activity` is set.
    /// An `activity` folder given as a path itself is always loaded.
    public static func load(paths: [String], activity: Bool = false) -> RuleSet {
        var files: [Slot] = []
        var seen: Set<FileSystem.Identity> = []
        for path in paths {
            switch FileSystem.inspect(path) {
            case .failure(let failure):
                files.append(.read(ioError(path, failure.message)))
            case .success((.file, let identity)):
                if seen.insert(identity).inserted { files.append(.pending(path)) }
            case .success((.directory, let identity)):
                var found: [String] = []
                var problems: [RuleFile] = []
                var visited: Set<FileSystem.Identity> = [identity]
                walk(path, activity: activity, into: &found, problems: &problems, visited: &visited)
                files += problems.map { .read($0) }
                for file in found.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                    guard case .success((_, let id)) = FileSystem.inspect(file), seen.insert(id).inserted else {
                        continue
                    }
                    files.append(.pending(file))
                }
            case .success((.other, _)):
                files.append(.read(ioError(path, "\(path) is neither a file nor a directory")))
            }
        }
        return RuleSet(files: readAll(files))
    }

    /// A file to read, or one already read (a failure found while walking).
    private enum Slot {
        case pending(String)
        case read(RuleFile)
    }

    /// Reads and parses the pending files on every core (each file is independent; parsing
    /// YAML is most of the time `kaudit` takes to start), keeping their order.
    private static func readAll(_ slots: [Slot]) -> [RuleFile] {
        let results = UnsafeMutableBufferPointer<RuleFile?>.allocate(capacity: slots.count)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        nonisolated(unsafe) let shared = results  // each iteration writes its own element
        DispatchQueue.concurrentPerform(iterations: slots.count) { i in
            switch slots[i] {
            case .pending(let path): shared[i] = RuleFile.read(path: path)
            case .read(let file): shared[i] = file
            }
        }
        return results.map { $0! }  // Safe: every element was written above.
    }

    private static func ioError(_ path: String, _ message: String) -> RuleFile {
        RuleFile(
            file: path, documents: [], diagnostics: [RuleDiagnostic(.error, .ioError, message, file: path, at: .file)],
            keyPositions: [])
    }

    /// The folder name that holds activity rules, loaded only on request.
    public static let activityFolder = "activity"

    private static func walk(
        _ directory: String, activity: Bool, into found: inout [String], problems: inout [RuleFile],
        visited: inout Set<FileSystem.Identity>
    ) {
        let names: [String]
        switch FileSystem.listDirectory(directory) {
        case .success(let n): names = n
        case .failure(let failure):
            problems.append(ioError(directory, failure.message))
            return
        }
        for name in names where !name.hasPrefix(".") {
            let path = FileSystem.join(directory, name)
            guard case .success((let kind, let identity)) = FileSystem.inspect(path) else { continue }
            switch kind {
            case .directory:
                if name == activityFolder && !activity { continue }
                // Symbolic links can make cycles: visit each directory once.
                if visited.insert(identity).inserted {
                    walk(path, activity: activity, into: &found, problems: &problems, visited: &visited)
                }
            case .file:
                let lower = name.lowercased()
                if lower.hasSuffix(".yml") || lower.hasSuffix(".yaml") { found.append(path) }
            case .other:
                break
            }
        }
    }

    /// Loads strings as files (for tests and tools): each pair is a file name and its YAML.
    public init(sources: [(file: String, yaml: String)]) {
        self.init(files: sources.map { RuleFile.parse(yaml: $0.yaml, file: $0.file) })
    }

    /// Combines loaded files, running the checks across them.
    public init(files: [RuleFile]) {
        self.files = files
        struct Entry {
            var document: RuleDocument
            var fileIndex: Int
            var keys: [String: SourcePosition]
            var alive = true
        }
        var entries: [Entry] = []
        for (fileIndex, file) in files.enumerated() {
            for (document, keys) in zip(file.documents, file.keyPositions) {
                entries.append(Entry(document: document, fileIndex: fileIndex, keys: keys))
            }
        }
        var extra: [[RuleDiagnostic]] = Array(repeating: [], count: files.count)
        func report(
            _ entry: Entry, _ severity: RuleDiagnostic.Severity, _ code: RuleDiagnostic.Code, _ message: String,
            at: SourcePosition
        ) {
            extra[entry.fileIndex].append(
                RuleDiagnostic(severity, code, message, file: entry.document.metadata.origin.file, at: at))
        }

        // Unique ids and names.
        var byID: [String: Int] = [:]
        var byName: [String: Int] = [:]
        for i in entries.indices {
            let metadata = entries[i].document.metadata
            if let id = metadata.id {
                if let first = byID[id] {
                    report(
                        entries[i], .error, .duplicateID,
                        "id \(id) is already used by `\(entries[first].document.metadata.title)`"
                            + " at \(entries[first].document.metadata.origin)",
                        at: entries[i].keys["value:id"] ?? metadata.origin.position)
                    entries[i].alive = false
                } else {
                    byID[id] = i
                }
            }
            if let name = metadata.name, entries[i].alive {
                if let first = byName[name] {
                    report(
                        entries[i], .error, .duplicateName,
                        "name `\(name)` is already used by `\(entries[first].document.metadata.title)`"
                            + " at \(entries[first].document.metadata.origin)",
                        at: entries[i].keys["value:name"] ?? metadata.origin.position)
                    entries[i].alive = false
                    if let id = metadata.id, byID[id] == i { byID[id] = nil }
                } else {
                    byName[name] = i
                }
            }
        }
        func target(_ reference: String) -> Int? { byID[reference] ?? byName[reference] }
        // Documents that failed to load, for clearer messages.
        var failed: [String: DocumentOrigin] = [:]
        for file in files {
            for r in file.rejected {
                if let id = r.id, failed[id] == nil { failed[id] = r.origin }
                if let name = r.name, failed[name] == nil { failed[name] = r.origin }
            }
        }
        func missing(_ reference: String) -> String {
            if let origin = failed[reference] { return "`\(reference)`, which failed to load (see \(origin))" }
            return "`\(reference)`, but no loaded rule has this id or name"
        }

        // Filters: references to rules not in the set.
        for entry in entries where entry.alive {
            guard case .filter(let filter) = entry.document else { continue }
            for (reference, position) in zip(filter.rules, filter.rulePositions) where target(reference) == nil {
                report(
                    entry, .warning, .unknownRuleReference, "the filter applies to \(missing(reference))", at: position)
            }
        }

        // Correlations: every reference must lead to a live document; repeat until nothing changes,
        // so that a correlation on a rejected correlation is rejected as well.
        var changed = true
        while changed {
            changed = false
            for i in entries.indices where entries[i].alive {
                guard case .correlation(let correlation) = entries[i].document else { continue }
                for (reference, position) in zip(correlation.rules, correlation.rulePositions) {
                    guard let t = target(reference) else {
                        report(
                            entries[i], .error, .unknownRuleReference,
                            "the correlation refers to \(missing(reference))", at: position)
                        entries[i].alive = false
                        changed = true
                        break
                    }
                    if !entries[t].alive {
                        report(
                            entries[i], .error, .unknownRuleReference,
                            "the correlation refers to `\(reference)` (`\(entries[t].document.metadata.title)`),"
                                + " which was rejected",
                            at: position)
                        entries[i].alive = false
                        changed = true
                        break
                    }
                }
            }
        }

        // Cycles among correlations (a correlation built, through others, on itself).
        var state: [Int: Int] = [:]  // 1 visiting, 2 done
        var inCycle: Set<Int> = []
        func visit(_ i: Int, _ stack: inout [Int]) {
            state[i] = 1
            stack.append(i)
            if case .correlation(let c) = entries[i].document {
                for reference in c.rules {
                    guard let t = target(reference), case .correlation = entries[t].document else { continue }
                    if state[t] == 1, let start = stack.firstIndex(of: t) {
                        inCycle.formUnion(stack[start...])
                    } else if state[t] == nil {
                        visit(t, &stack)
                    }
                }
            }
            stack.removeLast()
            state[i] = 2
        }
        for i in entries.indices where state[i] == nil && entries[i].alive {
            if case .correlation = entries[i].document {
                var stack: [Int] = []
                visit(i, &stack)
            }
        }
        for i in inCycle.sorted() where entries[i].alive {
            report(
                entries[i], .error, .unknownRuleReference,
                "the correlation refers to itself through a cycle of correlations",
                at: entries[i].keys["correlation"] ?? entries[i].document.metadata.origin.position)
            entries[i].alive = false
        }

        documents = entries.filter(\.alive).map(\.document)
        var all: [RuleDiagnostic] = []
        for (index, file) in files.enumerated() {
            all += extra[index].isEmpty ? file.diagnostics : RuleFile.sorted(file.diagnostics + extra[index])
        }
        diagnostics = all
    }

    // MARK: - Access

    public var rules: [SigmaRule] { documents.compactMap(\.rule) }
    public var correlations: [SigmaCorrelation] { documents.compactMap(\.correlation) }
    public var filters: [SigmaFilter] { documents.compactMap(\.filter) }

    /// The document with this id or, failing that, this name.
    public func document(_ reference: String) -> RuleDocument? {
        documents.first { $0.metadata.id == reference } ?? documents.first { $0.metadata.name == reference }
    }

    public var hasErrors: Bool { diagnostics.contains(where: \.isError) }
    public var errors: [RuleDiagnostic] { diagnostics.filter(\.isError) }
    public var warnings: [RuleDiagnostic] { diagnostics.filter { !$0.isError } }
}
