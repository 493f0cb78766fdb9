import AnalyzerKit
import ArgumentParser
import DetectionEngine
import Glibc
import RuleLoader

/// The rule and alert options of the commands that run detection (`scan`, `follow`), and
/// the detector they build: alerts go to stdout as they fire, in one format for both.
struct DetectionOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, ndjson }

    @OptionGroup var ruleSources: RuleSources

    @Option(name: .long, help: "Alert format: ndjson or text (default: text on a terminal, ndjson otherwise).")
    var format: Format?

    @Option(name: .long, help: ArgumentHelp("How late (seconds, event time) an event may arrive and still be correlated in order.", valueName: "seconds"))
    var lateness: Double = 5

    func validate() throws {
        guard lateness >= 0, lateness <= 86_400 else { throw ValidationError("--lateness must be between 0 and 86400 seconds") }
    }

    /// Loads the rule pack (reporting rule errors on stderr) and builds a detector that
    /// prints each alert on stdout as it fires and tallies it (and hands it to `also`).
    func makeDetector(also: ((Alert) -> Void)? = nil) throws -> (detector: Detector, tally: AlertTally, ruleErrors: Int) {
        let pack = try ruleSources.load()
        let alertFormat = format ?? (isatty(1) == 1 ? .text : .ndjson)
        let color = alertFormat == .text && Terminal.colors(1)
        var options = DetectorOptions()
        options.lateness = Int64(lateness * 1_000_000)
        let tally = AlertTally()
        let detector = Detector(plan: pack.plan, options: options) { alert in
            tally.add(alert)
            also?(alert)
            Output.stdout((alertFormat == .ndjson ? AlertFormat.json(alert) : AlertFormat.text(alert, color: color)) + "\n")
        }
        return (detector, tally, pack.errors.count)
    }
}

/// Alerts printed so far, by level and by threat-matrix technique.
final class AlertTally {
    private(set) var byLevel: [AlertLevel: Int] = [:]
    private(set) var highest: AlertLevel?
    private(set) var total = 0
    private(set) var techniques = MatrixTally()

    func add(_ alert: Alert) {
        let level = alert.rule.level
        byLevel[level, default: 0] += 1
        total += 1
        if highest.map({ level > $0 }) ?? true { highest = level }
        techniques.add(alert.rule.threatMatrix)
    }
}
