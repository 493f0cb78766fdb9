import AnalyzerKit
import ArgumentParser
import AuditInputs
import AuditModel
import DetectionEngine
import Glibc
import RuleLoader

/// `kaudit rules`: work with rule files.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and list detection rules (Sigma rules, correlations and filters).",
        subcommands: [Lint.self, List.self, Test.self, Fields.self])

    /// Rule directories given on the command line, or the bundled `Detections/`.
    struct Locations: ParsableArguments {
        @Argument(help: ArgumentHelp("Rule files or directories (default: the bundled Detections/).", valueName: "path"))
        var paths: [String] = []

        @Flag(name: .long, help: "Include the activity rules (activity/ folders inside the rule directories).")
        var activity = false

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
            let pack = RulePack.load(paths: try locations.resolved(), activity: locations.activity)
            let set = pack.set
            let diagnostics = pack.diagnostics
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
            let set = RuleSet.load(paths: try locations.resolved(), activity: locations.activity)
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
                let attack = m.tags.filter { $0.hasPrefix("attack.t") }.map { String($0.dropFirst("attack.".count)).uppercased() }
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

extension Rules {
    /// `kaudit rules test`: run each rule on its fixtures.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run each rule on its matching and non-matching fixture events.",
            discussion: """
                For a rule file NAME.yml the fixtures are NAME.match.ndjson (events the rule \
                must fire on) and NAME.nomatch.ndjson (events it must not fire on), anywhere \
                under the fixtures directory (default: SampleLogs/detections beside the rules). \
                A rule without fixtures fails. A correlation's fixtures are event sequences \
                it must (or must not) fire on; filters are skipped. Exit status: 0 when every rule passes, \
                1 otherwise.
                """)

        @OptionGroup var locations: Locations

        @Option(help: ArgumentHelp("Where the fixture files are.", valueName: "dir"))
        var fixtures: String?

        func run() throws {
            let paths = try locations.resolved()
            let pack = RulePack.load(paths: paths, activity: locations.activity)
            for d in pack.errors { Output.stderr("kaudit: \(d.description)\n") }
            guard let fixtureDir = fixtures ?? BundledDetections.fixturesDirectory(near: paths[0]) else {
                throw ValidationError("no fixtures directory found; pass --fixtures")
            }
            let fixtureFiles = FixtureFiles(directory: fixtureDir)
            var passed = 0
            var failed = 0
            var skipped = 0
            func report(_ title: String, _ counts: (match: Int, nomatch: Int), _ problems: [String]) {
                if problems.isEmpty {
                    passed += 1
                    Output.stdout("PASS  \(title) (\(counts.match) match, \(counts.nomatch) nomatch)\n")
                } else {
                    failed += 1
                    Output.stdout("FAIL  \(title)\n")
                    for p in problems { Output.stdout("      \(p)\n") }
                }
            }
            // Rules written in a correlation's file for it alone (building blocks) are tested
            // through the correlation's sequences.
            var buildingBlocks: [String: String] = [:]
            for c in pack.set.correlations {
                for reference in c.rules {
                    if let d = pack.set.document(reference), d.metadata.origin.file == c.metadata.origin.file {
                        buildingBlocks[d.metadata.id ?? d.metadata.title] = c.metadata.title
                    }
                }
            }
            for document in pack.set.documents {
                let m = document.metadata
                let title = m.title
                if let owner = buildingBlocks[m.id ?? m.title], document.rule != nil {
                    skipped += 1
                    Output.stdout("SKIP  \(title): a building block of \(owner), tested through its fixtures\n")
                    continue
                }
                let stem = FixtureFiles.stem(of: m.origin.file)
                let infoID = m.id ?? m.name ?? m.title
                let target: FixtureRun.Target
                switch document {
                case .filter:
                    skipped += 1
                    Output.stdout("SKIP  \(title): a filter (its rules' fixtures exercise it)\n")
                    continue
                case .rule:
                    guard let i = pack.plan.rules.firstIndex(where: { $0.compiled.info.id == infoID }) else {
                        report(title, (0, 0), ["the rule did not compile (see the errors above)"])
                        continue
                    }
                    target = .rule(i)
                case .correlation:
                    guard let c = pack.plan.correlations.firstIndex(where: { $0.info.id == infoID }) else {
                        report(title, (0, 0), ["the correlation did not compile (see the errors above)"])
                        continue
                    }
                    target = .correlation(c)
                }
                var problems: [String] = []
                var counts = (match: 0, nomatch: 0)
                let match = fixtureFiles.path(stem + ".match.ndjson")
                let nomatch = fixtureFiles.path(stem + ".nomatch.ndjson")
                if match == nil || nomatch == nil { problems.append("no fixtures \(stem).match.ndjson and \(stem).nomatch.ndjson") }
                if let match {
                    counts.match = try FixtureRun.check(target, pack.plan, file: match, mustFire: true, &problems)
                }
                if let nomatch {
                    counts.nomatch = try FixtureRun.check(target, pack.plan, file: nomatch, mustFire: false, &problems)
                }
                report(title, counts, problems)
            }
            Output.stderr("kaudit: \(passed) passed, \(failed) failed, \(skipped) skipped\n")
            if failed > 0 || !pack.errors.isEmpty { throw ExitCode(1) }
        }
    }
}

/// Fixture files found under a directory, by file name.
struct FixtureFiles {
    var byName: [String: String] = [:]

    init(directory: String) {
        walk(directory)
    }

    private mutating func walk(_ dir: String) {
        guard let handle = opendir(dir) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            let full = dir + "/" + name
            var st = stat()
            guard stat(full, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(full)
            } else if name.hasSuffix(".ndjson") && byName[name] == nil {
                byName[name] = full
            }
        }
    }

    func path(_ name: String) -> String? { byName[name] }

    /// `dir/kubernetes_exec.yml` -> `kubernetes_exec`.
    static func stem(of file: String) -> String {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        guard let dot = name.lastIndex(of: ".") else { return name }
        return String(name[..<dot])
    }
}

/// Runs a rule or correlation over the events of one fixture file.
///
/// A single-event rule is judged on each event alone (a fresh engine per event, with the
/// rule's filters): every event of a match file must fire it and none of a nomatch file. A
/// correlation's fixture is a sequence: the whole file goes through one engine running the
/// whole pack, and the correlation must fire (match) or not fire (nomatch).
enum FixtureRun {
    enum Target {
        case rule(Int)
        case correlation(Int)
    }

    struct Collector: AuditRecordHandler {
        let target: Target
        let plan: DetectionPlan
        let mustFire: Bool
        let file: String
        let sequence: Detector?
        var events = 0
        var problems: [String] = []

        mutating func handle(event: AuditEvent, at location: RecordLocation) {
            events += 1
            if let sequence {
                sequence.process(event)
                return
            }
            guard case .rule(let i) = target else { return }
            let rule = plan.rules[i]
            let alone = DetectionPlan(rules: [DetectionPlan.Rule(compiled: rule.compiled, filters: rule.filters)])
            let detector = Detector(plan: alone) { _ in }
            detector.process(event)
            detector.finish()
            let fired = detector.matchesByRule[0] > 0
            if fired != mustFire {
                problems.append("\(file):\(location.line): \(mustFire ? "should fire but does not" : "fires but should not")")
            }
        }

        mutating func handle(issue: ReadIssue) { problems.append(issue.description) }
    }

    /// Checks `file`; returns how many events it had.
    static func check(
        _ target: Target, _ plan: DetectionPlan, file: String, mustFire: Bool, _ problems: inout [String]
    ) throws -> Int {
        var source = try FileDescriptorSource(path: file)
        defer { source.close() }
        var sequence: Detector?
        if case .correlation = target { sequence = Detector(plan: plan) { _ in } }
        var collector = Collector(target: target, plan: plan, mustFire: mustFire, file: file, sequence: sequence)
        try AuditStreamReader().read(from: &source, name: file, into: &collector)
        problems += collector.problems
        if mustFire && collector.events == 0 { problems.append("\(file): no events") }
        if let sequence, case .correlation(let c) = target {
            sequence.finish()
            let fired = sequence.firingsByCorrelation[c]
            if (fired > 0) != mustFire {
                problems.append("\(file): the correlation \(mustFire ? "does not fire on the sequence" : "fires \(fired) time\(fired == 1 ? "" : "s") but should not")")
            }
        }
        return collector.events
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

    /// `SampleLogs/detections` in the package that holds `rules` (walking up from it).
    static func fixturesDirectory(near rules: String) -> String? {
        var dir = rules
        if !dir.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: 4096)
            if getcwd(&buffer, buffer.count) != nil {
                dir = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + dir
            }
        }
        for _ in 0..<4 {
            let candidate = dir + "/SampleLogs/detections"
            var st = stat()
            if stat(candidate, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return candidate }
            dir = dir == "." || dir.isEmpty ? ".." : parent(dir)
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

extension Rules {
    /// `kaudit rules fields`: the field catalogue.
    struct Fields: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the fields rules can name, with their type and meaning.",
            discussion: """
                Besides the fields listed, any dotted path below requestObject., responseObject., \
                user.extra., impersonatedUser.extra., annotations. and responseStatus.details. is \
                accepted as written, and any path below container. or volume. makes a rule \
                per-element (judged once per container or volume of the pod spec).
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Option(help: "Output format: text or json.")
        var format: Format = .text

        func run() throws {
            let fields = FieldCatalogue.standard.definitions
            if format == .json {
                var w = JSONWriter()
                w.beginArray()
                for f in fields {
                    w.beginObject()
                    w.key("name"); w.string(f.name)
                    w.key("type"); w.string(f.type.rawValue)
                    w.key("per_element"); f.source.elementScope.map { w.string($0.rawValue) } ?? w.null()
                    w.key("summary"); w.string(f.summary)
                    w.endObject()
                }
                w.endArray()
                Output.stdout(w.output + "\n")
                return
            }
            let width = fields.map(\.name.count).max() ?? 0
            for f in fields {
                let pad = String(repeating: " ", count: width - f.name.count + 2)
                let type = f.type.rawValue + String(repeating: " ", count: max(0, 12 - f.type.rawValue.count))
                Output.stdout(f.name + pad + type + f.summary + "\n")
            }
        }
    }
}
