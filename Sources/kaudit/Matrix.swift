import AnalyzerKit
import ArgumentParser
import RuleLoader

/// `kaudit matrix`: the threat matrix and how the loaded rules cover it.
struct Matrix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the Kubernetes threat matrix: each technique's audit visibility and its rules.",
        discussion: """
            Tactics are columns and techniques are cells. Each cell gives the technique's \
            visibility in the audit log (Y yes, P partly, N not at all), the number of loaded \
            rules and correlations that can raise an alert for it, and a short name. The \
            rules are the bundled Detections/ unless --rules is given, as for `scan`.

            Formats: text (the grid, as wide as the terminal or --width; coloured on a \
            terminal unless NO_COLOR is set), list (one line per technique with its id and \
            full name) and json (the same as data, with the rules of each technique).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, list, json }

    @OptionGroup var ruleSources: RuleSources

    @Option(name: .long, help: "Output format: text, list or json.")
    var format: Format = .text

    @Option(name: .long, help: ArgumentHelp("Lay the grid out in this many columns (default: the terminal's width, else 80).", valueName: "n"))
    var width: Int?

    func validate() throws {
        if let width, width < 20 || width > 1000 { throw ValidationError("--width must be between 20 and 1000") }
    }

    func run() throws {
        let report = MatrixReport(rulesOf: try ruleSources.load().plan)
        switch format {
        case .text:
            Output.stdout(report.grid(width: width ?? Terminal.width(1), color: Terminal.colors(1)))
        case .list:
            Output.stdout(report.list())
        case .json:
            Output.stdout(report.json())
        }
    }
}
