import AnalyzerKit
import ArgumentParser
import Glibc
import RuleLoader

/// `kaudit rules`: work with rule files.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and list detection rules (Sigma rules, correlations and filters).",
        subcommands: [Lint.self, List.self])

    /// Rule directories given on the command line, or the bundled `Detections/`.
    struct Locations: ParsableArguments {
        @Argument(help: ArgumentHelp("Rule files or directories (default: the bundled Detections/).", valueName: "path"))
        var paths: [String] = []

        func resolved() throws -> [String] {
            if !paths.isEmpty { return paths }
            guard let bundled = BundledDetections.directory() else {
                throw ValidationError("no rule directory given and the bundled Detections/ was not found (set KAUDIT_DETECTIONS)")
            }
            return [bundled]
        }
    }

    /// `kaudit rules lint`: load every rule and report every problem at once.
    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load every rule and report all problems, each with file:line:column.",
            discussion: """
                Rules are loaded and compiled as `kaudit scan` would: YAML structure, Sigma \
                attributes, conditions, modifiers and field names are checked. Exit status: 0 when \
                there are no errors, 1 when there are (warnings too with --strict), 2 on usage errors.
                """)

        @OptionGroup var locations: Locations

        @Flag(help: "Treat warnings as errors.")
        var strict = false

        func run() throws {
            let set = RuleSet.load(paths: try locations.resolved())
            var diagnostics = set.diagnostics
            for rule in set.rules { diagnostics += RuleCompiler.compile(rule).diagnostics }
            diagnostics.sort { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
            for d in diagnostics { Output.stdout(d.description + "\n") }
            let errors = diagnostics.filter(\.isError).count
            let warnings = diagnostics.count - errors
            Output.stderr(
                "kaudit: \(set.documents.count) documents (\(set.rules.count) rules), "
                    + "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n")
            if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
        }
    }

    /// `kaudit rules list`: what the rules are.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List rules: id, title, level, techniques and kind (single event or correlation).")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var locations: Locations

        @Option(help: "Output format: text or json.")
        var format: Format = .text

        func run() throws {
            let set = RuleSet.load(paths: try locations.resolved())
            for d in set.errors { Output.stderr("kaudit: \(d.description)\n") }
            var rows: [(id: String, title: String, level: String, techniques: [String], kind: String)] = []
            for document in set.documents {
                let m = document.metadata
                let kind: String
                switch document {
                case .rule: kind = "single"
                case .correlation: kind = "correlation"
                case .filter: kind = "filter"
                }
                let matrix = m.customAttribute("threat_matrix")?.scalarTexts ?? []
                let attack = m.tags.filter { $0.hasPrefix("attack.t") }
                rows.append((m.id ?? "", m.title, m.level?.rawValue ?? "", matrix + attack, kind))
            }
            if format == .json {
                var w = JSONWriter()
                w.beginArray()
                for r in rows {
                    w.beginObject()
                    w.key("id"); w.string(r.id)
                    w.key("title"); w.string(r.title)
                    w.key("level"); w.string(r.level)
                    w.key("techniques")
                    w.beginArray()
                    for t in r.techniques { w.string(t) }
                    w.endArray()
                    w.key("kind"); w.string(r.kind)
                    w.endObject()
                }
                w.endArray()
                Output.stdout(w.output + "\n")
            } else {
                for r in rows {
                    let techniques = r.techniques.isEmpty ? "-" : r.techniques.joined(separator: ",")
                    Output.stdout("\(r.id)  \(r.level.isEmpty ? "-" : r.level)  \(r.kind)  \(techniques)  \(r.title)\n")
                }
            }
            if !set.errors.isEmpty { throw ExitCode(1) }
        }
    }
}

/// Finds the rule pack that ships with kaudit.
enum BundledDetections {
    /// `KAUDIT_DETECTIONS`, else `Detections/` in the package the binary was built in
    /// (`.build/<config>/kaudit` -> three levels up), else `./Detections`.
    static func directory() -> String? {
        var candidates: [String] = []
        if let env = getenv("KAUDIT_DETECTIONS").map({ String(cString: $0) }), !env.isEmpty { candidates.append(env) }
        if let exe = executablePath() {
            var dir = exe
            for _ in 0..<4 {
                dir = parent(dir)
                candidates.append(dir + "/Detections")
            }
        }
        candidates.append("Detections")
        for c in candidates {
            var st = stat()
            if stat(c, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return c }
        }
        return nil
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
