import AnalyzerKit
import AuditTestSupport
import Foundation
import Testing

// The progress line of batch replay: its text, and that nothing of it reaches a stderr that
// is not a terminal.

@Suite("Progress line")
struct ProgressMeterTests {
    @Test("bytes and percent, events/s, elapsed and remaining time, alerts")
    func format() {
        let s = ProgressMeter.Snapshot(bytesDone: 1_200_000_000, bytesTotal: 2_400_000_000, events: 760_000, alerts: 3, elapsedSeconds: 2)
        #expect(ProgressMeter.format(s, width: 120)
            == "[###############---------------]   50%  1.20 GB of 2.40 GB  380k events/s  0:02 elapsed  0:02 left  3 alerts")
        // Too narrow for the bar: the text alone, cut to the width.
        #expect(ProgressMeter.format(s, width: 80) == " 50%  1.20 GB of 2.40 GB  380k events/s  0:02 elapsed  0:02 left  3 alerts")
        #expect(ProgressMeter.format(s, width: 20).count == 20)
        // Standard input: no total, so no percent, bar or remaining time.
        let stdin = ProgressMeter.Snapshot(bytesDone: 5_000, bytesTotal: 0, events: 12, alerts: 1, elapsedSeconds: 3_725)
        #expect(ProgressMeter.format(stdin, width: 120) == "5.0 KB  0 events/s  1:02:05 elapsed  1 alert")
        // In the first second the remaining time would be a guess: left out.
        let early = ProgressMeter.Snapshot(bytesDone: 10, bytesTotal: 1_000, events: 1, alerts: 0, elapsedSeconds: 0.2)
        #expect(!ProgressMeter.format(early, width: 200).contains("left"))
        let huge = ProgressMeter.Snapshot(bytesDone: 1, bytesTotal: 1, events: 5_000_000, alerts: 0, elapsedSeconds: 1)
        #expect(ProgressMeter.format(huge, width: 200).contains("5.0M events/s"))
    }

    @Test("nothing of it on a stderr that is not a terminal", .enabled(if: CLI.executable != nil, "kaudit binary not found"))
    func notOnAFile() throws {
        let dir = try TempDir()
        // Big enough to take longer than the half second before the first line.
        let text = try String(contentsOf: Sample.url, encoding: .utf8)
        let big = try dir.file("big.log", String(repeating: text, count: 200))
        let r = try CLI.run(["scan", "--format", "ndjson", big.path])
        #expect(r.status == 0)
        #expect(!r.stderr.contains("\r"), "\(r.stderr.prefix(200))")
        #expect(!r.stderr.contains("events/s  "))
        #expect(r.stderr.hasPrefix("inputs "), "\(r.stderr.prefix(200))")
    }
}
