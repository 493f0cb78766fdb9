import AnalyzerKit
import ArgumentParser
import DetectionEngine
import Glibc
import RuleLoader

/// The rule and alert options of the commands that run detection (`scan`, `follow`), and
/// the detector they build: alerts go to stdout as they fire, in one format for both.
struct DetectionOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, ndjson, falco }

    @OptionGroup var ruleSources: RuleSources

    @Option(name: .long, help: "Alert format: text, ndjson (kaudit's alert objects) or falco (Falco's JSON output, for falcosidekick). Default: text on a terminal, ndjson otherwise.")
    var format: Format?

    @Option(name: .long, help: ArgumentHelp("How late (seconds, event time) an event may arrive and still be correlated in order. Default: 5; 30 for serve (the apiserver's webhook sends batches up to 30 s late).", valueName: "seconds"))
    var lateness: Double?

    @Option(name: .long, help: ArgumentHelp("How far (seconds) one event's time may lie ahead of the stream's clock (the newest event time) and move it on its own. A time further ahead (a node with a wrong clock, a damaged line) moves it only when the next event is ahead too (a log resuming after a gap), and is counted as clock_jumps_held. Default: 600.", valueName: "seconds"))
    var maxClockJump: Double?

    @OptionGroup(title: "Suppression") var suppression: SuppressionOptions

    @OptionGroup(title: "Alert delivery over HTTP") var delivery: DeliveryFlags

    func validate() throws {
        if let lateness, lateness < 0 || lateness > 86_400 {
            throw ValidationError("--lateness must be between 0 and 86400 seconds")
        }
        if let maxClockJump, !(maxClockJump >= 1 && maxClockJump <= 31_536_000) {
            throw ValidationError("--max-clock-jump must be between 1 and 31536000 seconds (a year)")
        }
    }

    /// Loads the rule pack (reporting rule errors on stderr) and builds a detector whose
    /// alerts go through `AlertPipeline`: counted, suppressed, printed on stdout, delivered,
    /// and collected for a report when `report` is given. `also` sees every alert raised,
    /// before suppression (the webhook sink's metrics). `defaultLateness` applies when
    /// `--lateness` is not given.
    func makeDetector(report: ReportCollector? = nil, defaultLateness: Double = 5, also: ((Alert) -> Void)? = nil) throws -> (
        detector: Detector, pipeline: AlertPipeline, ruleErrors: Int
    ) {
        let pack = try ruleSources.load()
        let stdoutFormat = format ?? (isatty(1) == 1 ? .text : .ndjson)
        let color = stdoutFormat == .text && Terminal.colors(1)
        var options = DetectorOptions()
        options.lateness = Int64((lateness ?? defaultLateness) * 1_000_000)
        if let maxClockJump { options.maxClockJump = Int64(maxClockJump * 1_000_000) }
        let deliveries = try delivery.start(defaultFormat: stdoutFormat == .falco ? .falco : .json)
        Output.outlivesStdout = report != nil || !deliveries.targets.isEmpty
        let suppressor: AlertSuppressor.Options? = suppression.noSuppress ? nil : suppression.options(grace: options.lateness)
        let pipeline = AlertPipeline(
            suppression: suppressor, deliveries: deliveries, report: report,
            write: { alert in
                let line: String
                switch stdoutFormat {
                case .text: line = AlertFormat.text(alert, color: color)
                case .ndjson: line = AlertFormat.json(alert)
                case .falco: line = AlertFormat.falco(alert)
                }
                Output.stdout(line + "\n")
                // The JSON forms are what deliveries send: made once.
                switch stdoutFormat {
                case .text: return nil
                case .ndjson: return (.json, line)
                case .falco: return (.falco, line)
                }
            })
        // The pipeline reads the detector's clock after every event, so it holds the
        // detector; the detector's sink (called per alert) holds the pipeline weakly.
        let detector = Detector(plan: pack.plan, options: options) { [weak pipeline] alert in
            also?(alert)
            pipeline?.raised(alert)
        }
        pipeline.detector = detector
        return (detector, pipeline, pack.errors.count)
    }
}

/// `--no-suppress`, `--suppress-window`.
struct SuppressionOptions: ParsableArguments {
    @Flag(name: .long, help: "Send every alert as it fires, repeats included.")
    var noSuppress = false

    @Option(name: .long, help: ArgumentHelp("""
        Suppression window (event time): the first alert of a rule for one actor and object \
        (or one correlation group) is sent at once; repeats within the window are folded into \
        one summary alert with their count and first and last times, sent when it closes \
        (while repeats go on, one summary per window). 30s, 5m, 1h or seconds.
        """, valueName: "duration"))
    var suppressWindow: EventDuration = EventDuration(seconds: 60)

    func options(grace: Int64) -> AlertSuppressor.Options {
        var o = AlertSuppressor.Options()
        o.window = suppressWindow.microseconds
        o.grace = grace
        return o
    }
}

/// A length of event time: `90`, `90s`, `5m`, `2h` (1 second to 1 day).
struct EventDuration: ExpressibleByArgument {
    let microseconds: Int64

    init(seconds: Int64) { microseconds = seconds * 1_000_000 }

    init?(argument: String) {
        var text = Substring(argument)
        var unit: Double = 1
        switch text.last {
        case "s": text = text.dropLast()
        case "m": text = text.dropLast(); unit = 60
        case "h": text = text.dropLast(); unit = 3600
        default: break
        }
        guard let v = Double(text), v.isFinite, v * unit >= 1, v * unit <= 86_400 else { return nil }
        microseconds = Int64((v * unit * 1_000_000).rounded())
    }

    var defaultValueDescription: String { OutputsReport.seconds(microseconds) + "s" }
}

/// Every alert on its way out: counted as raised (for `--fail-on`, the summary and the
/// report's counts), suppressed, then written to stdout, queued for each `--alert-url` and
/// kept for the report. Suppression windows close by the detector's event time (`tick`).
final class AlertPipeline {
    let tally = AlertTally()
    private(set) var suppressor: AlertSuppressor?
    let deliveries: AlertDeliveries
    let report: ReportCollector?
    /// Prints an alert; returns the JSON line it printed, if it printed one, and its form.
    private let write: (Alert) -> (format: DeliveryFlags.BodyFormat, line: String)?
    /// The detector whose newest event time closes suppression windows.
    var detector: Detector?
    private(set) var sent = 0

    init(
        suppression: AlertSuppressor.Options?, deliveries: AlertDeliveries, report: ReportCollector?,
        write: @escaping (Alert) -> (format: DeliveryFlags.BodyFormat, line: String)?
    ) {
        self.deliveries = deliveries
        self.report = report
        self.write = write
        if let suppression { suppressor = AlertSuppressor(options: suppression) { [unowned self] in send($0) } }
    }

    /// An alert as the detector raised it.
    func raised(_ alert: Alert) {
        tally.add(alert)
        report?.count(alert)
        if let suppressor { suppressor.offer(alert) } else { send(alert) }
    }

    /// After each event: windows that ended close.
    func tick() {
        guard let suppressor, suppressor.openGroups > 0, let now = detector?.newestEventTime else { return }
        suppressor.advance(to: now)
    }

    /// End of input or stop: open windows close, queued deliveries are flushed (bounded).
    func finish() {
        suppressor?.finish()
        deliveries.finish()
    }

    private func send(_ alert: Alert) {
        sent += 1
        let printed = write(alert)
        deliveries.enqueue(alert, printed: printed)
        report?.record(alert)
    }

    /// "off", or the window, for the report.
    var suppressionText: String {
        guard let suppressor else { return "off" }
        return "window \(OutputsReport.seconds(suppressor.options.window)) s, \(suppressor.counters.folded) repeats folded into \(suppressor.counters.summaries) summaries"
    }

    var outputsReport: OutputsReport {
        var r = OutputsReport()
        r.sent = sent
        if let suppressor { r.suppression = (suppressor.options.window, suppressor.counters) }
        r.deliveries = deliveries.rows
        return r
    }
}

/// Alerts raised so far (before suppression), by level and by threat-matrix technique: what
/// `--fail-on`, the progress line and `--matrix` count.
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
