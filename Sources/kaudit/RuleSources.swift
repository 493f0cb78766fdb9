import ArgumentParser
import RuleLoader

/// `--rules` and `--add-rules`: which rule pack a command loads (`scan`, `matrix`).
struct RuleSources: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use instead of the bundled Detections/ (repeatable).", valueName: "path"))
    var rules: [String] = []

    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use in addition to the bundled ones (repeatable).", valueName: "path"))
    var addRules: [String] = []

    /// Loads the pack and reports its load errors on stderr (the rules that failed are left out).
    func load() throws -> RulePack {
        var paths = rules
        if rules.isEmpty {
            guard let bundled = BundledDetections.directory() else {
                throw ValidationError("the bundled Detections/ was not found; pass --rules DIR (or set KAUDIT_DETECTIONS)")
            }
            paths = [bundled]
        }
        paths += addRules
        let pack = RulePack.load(paths: paths)
        for d in pack.errors { Output.stderr("kaudit: \(d.description)\n") }
        return pack
    }
}
