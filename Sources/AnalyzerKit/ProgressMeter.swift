import AuditInputs
import Glibc

/// A progress line for batch replay on a terminal: bytes and percent, events per second,
/// elapsed and remaining time, alerts so far. Redrawn at most five times a second, on the
/// same line (`\r`), and erased at the end. Only made when stderr is a terminal.
public final class ProgressMeter {
    /// What the line shows.
    public struct Snapshot: Sendable, Equatable {
        /// Input bytes read so far (compressed bytes for archives: what the file sizes add up to).
        public var bytesDone: Int64
        /// Total input bytes; 0 when unknown (standard input).
        public var bytesTotal: Int64
        public var events: Int
        public var alerts: Int
        public var elapsedSeconds: Double

        public init(bytesDone: Int64, bytesTotal: Int64, events: Int, alerts: Int, elapsedSeconds: Double) {
            self.bytesDone = bytesDone
            self.bytesTotal = bytesTotal
            self.events = events
            self.alerts = alerts
            self.elapsedSeconds = elapsedSeconds
        }
    }

    /// One line, at most `width` columns:
    /// `[######------]  45%  1.2 GB of 2.6 GB  380k events/s  0:12 elapsed  0:15 left  3 alerts`.
    public static func format(_ s: Snapshot, width: Int) -> String {
        var parts: [String] = []
        let known = s.bytesTotal > 0
        let fraction = known ? min(1, Double(s.bytesDone) / Double(s.bytesTotal)) : 0
        parts.append(known ? "\(Int(fraction * 100))%".leftPadded(4) : "")
        parts.append(known ? "\(human(s.bytesDone)) of \(human(s.bytesTotal))" : human(s.bytesDone))
        let rate = s.elapsedSeconds > 0 ? Double(s.events) / s.elapsedSeconds : 0
        parts.append("\(count(rate)) events/s")
        parts.append("\(clock(s.elapsedSeconds)) elapsed")
        if known && fraction > 0 && fraction < 1 && s.elapsedSeconds >= 1 {  // before that, a guess
            parts.append("\(clock(s.elapsedSeconds * (1 - fraction) / fraction)) left")
        }
        parts.append("\(s.alerts) alert\(s.alerts == 1 ? "" : "s")")
        let text = parts.filter { !$0.isEmpty }.joined(separator: "  ")
        let barWidth = min(30, width - text.count - 4)
        guard known, barWidth >= 10 else { return String(text.prefix(max(0, width))) }
        let filled = Int(fraction * Double(barWidth))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]  " + text
    }

    static func human(_ bytes: Int64) -> String { SummaryReport.human(bytes) }

    static func count(_ v: Double) -> String {
        if v >= 1e6 { return AnalyzerKit.format(v / 1e6, 1) + "M" }
        if v >= 1e3 { return String(Int(v / 1e3)) + "k" }
        return String(Int(v))
    }

    /// `m:ss`, or `h:mm:ss` from an hour on.
    static func clock(_ seconds: Double) -> String {
        let t = Int(seconds.rounded())
        let (h, m, sec) = (t / 3600, (t / 60) % 60, t % 60)
        let ss = String(sec).leftPadded(2, with: "0")
        return h > 0 ? "\(h):" + String(m).leftPadded(2, with: "0") + ":" + ss : "\(m):" + ss
    }

    let alerts: () -> Int
    let draw: (String) -> Void
    let width: Int
    let started = ProgressMeter.now()
    /// The first line waits half a second: a short replay shows none.
    lazy var lastDrawn = started + 0.3
    var totalBytes: Int64 = 0
    /// Bytes and events of the inputs already finished.
    var doneBytes: Int64 = 0
    var doneEvents = 0
    var drawn = false

    /// `alerts` tells how many alerts fired so far; `draw` writes to the terminal (stderr).
    public init(width: Int = ProgressMeter.terminalWidth(), alerts: @escaping () -> Int, draw: @escaping (String) -> Void) {
        self.alerts = alerts
        self.draw = draw
        self.width = max(20, width - 1)
    }

    /// The columns of the terminal on stderr (80 when unknown).
    public static func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// Sizes of the inputs (0 for standard input and whatever cannot be read).
    func start(inputs: [String]) {
        totalBytes = inputs.reduce(0) { sum, path in sum + (path == "-" ? 0 : InputPaths.fileSize(path)) }
    }

    /// Called as an input is read: where it is, and how many records were read from it.
    func update(inputBytes: Int64, inputEvents: Int) {
        let now = Self.now()
        guard now - lastDrawn >= 0.2 else { return }
        lastDrawn = now
        let s = Snapshot(
            bytesDone: doneBytes + inputBytes, bytesTotal: totalBytes, events: doneEvents + inputEvents,
            alerts: alerts(), elapsedSeconds: now - started)
        draw("\r" + Self.format(s, width: width) + "\u{1B}[K")
        drawn = true
    }

    func finishInput(bytes: Int64, events: Int) {
        doneBytes += bytes
        doneEvents += events
    }

    /// Erases the line (the summary follows).
    func finish() {
        if drawn { draw("\r\u{1B}[K") }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Passes bytes through and tells the progress meter how far the input has got.
struct MeteredSource: ByteSource {
    var inner: any ByteSource
    let meter: ProgressMeter?
    let reader: AuditStreamReader

    var consumedBytes: Int64 { inner.consumedBytes }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        meter?.update(inputBytes: inner.consumedBytes, inputEvents: reader.stats.records)
        return n
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
