import ArgumentParser
import RuleLoader

/// `--rules`, `--add-rules` and `--activity`: which rule pack a command loads (`scan`,
/// `follow`, `matrix`).
struct RuleSources: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use instead of the bundled Detections/ (repeatable).", valueName: "path"))
    var rules: [String] = []

    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use in addition to the bundled ones (repeatable).", valueName: "path"))
    var addRules: [String] = []

    @Flag(name: .long, help: "Also load the activity rules (activity/ folders of the rule directories: informational records of objects created and deleted).")
    var activity = false

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
        let pack = RulePack.load(paths: paths, activity: activity)
        for d in pack.errors { Output.stderr("kaudit: \(d.description)\n") }
        return pack
    }
}
