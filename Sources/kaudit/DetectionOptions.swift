import AnalyzerKit
import ArgumentParser
import DetectionEngine
import Glibc
import RuleLoader

/// The rule and alert options of the commands that run detection (`scan`, `follow`), and
/// the detector they build: alerts go to stdout as they fire, in one format for both.
struct DetectionOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, ndjson }

    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use instead of the bundled Detections/ (repeatable).", valueName: "path"))
    var rules: [String] = []

    @Option(name: .long, help: ArgumentHelp("Rule files or directories to use in addition to the bundled ones (repeatable).", valueName: "path"))
    var addRules: [String] = []

    @Flag(name: .long, help: "Also load the activity rules (activity/ folders of the rule directories: informational records of objects created and deleted).")
    var activity = false

    @Option(name: .long, help: "Alert format: ndjson or text (default: text on a terminal, ndjson otherwise).")
    var format: Format?

    @Option(name: .long, help: ArgumentHelp("How late (seconds, event time) an event may arrive and still be correlated in order.", valueName: "seconds"))
    var lateness: Double = 5

    func validate() throws {
        guard lateness >= 0, lateness <= 86_400 else { throw ValidationError("--lateness must be between 0 and 86400 seconds") }
    }

    /// Loads the rule pack (reporting rule errors on stderr) and builds a detector that
    /// prints each alert on stdout as it fires and tallies it.
    func makeDetector() throws -> (detector: Detector, tally: AlertTally, ruleErrors: Int) {
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

        let alertFormat = format ?? (isatty(1) == 1 ? .text : .ndjson)
        let color = alertFormat == .text && isatty(1) == 1 && getenv("NO_COLOR") == nil
        var options = DetectorOptions()
        options.lateness = Int64(lateness * 1_000_000)
        let tally = AlertTally()
        let detector = Detector(plan: pack.plan, options: options) { alert in
            tally.add(alert.rule.level)
            Output.stdout((alertFormat == .ndjson ? AlertFormat.json(alert) : AlertFormat.text(alert, color: color)) + "\n")
        }
        return (detector, tally, pack.errors.count)
    }
}

/// Alerts printed so far, by level.
final class AlertTally {
    private(set) var byLevel: [AlertLevel: Int] = [:]
    private(set) var highest: AlertLevel?
    private(set) var total = 0

    func add(_ level: AlertLevel) {
        byLevel[level, default: 0] += 1
        total += 1
        if highest.map({ level > $0 }) ?? true { highest = level }
    }
}
