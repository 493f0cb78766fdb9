import AnalyzerKit
import AuditInputs
import AuditModel
import DetectionEngine
import Foundation
import RuleLoader

/// A rule pack run over one file, as `kaudit scan` runs it: every event through one
/// detector, in order; the alerts and the reader's problems kept.
struct PackReplay {
    var alerts: [Alert] = []
    var issues: [ReadIssue] = []

    /// How many alerts each rule id raised.
    var firings: [String: Int] { alerts.reduce(into: [:]) { $0[$1.rule.id, default: 0] += 1 } }

    /// Feeds the events to the detector in batches, as `kaudit scan` does, and keeps the problems.
    private struct DetectingHandler: AuditRecordHandler {
        let detector: Detector
        var issues: [ReadIssue] = []
        var batchSize: Int { AnalyzerKit.DetectingHandler.detectionBatchSize }

        mutating func handle(event: AuditEvent, at location: RecordLocation) {}
        mutating func handle(issue: ReadIssue) { issues.append(issue) }
        mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) { detector.process(batch: events) }
    }

    static func run(_ pack: RulePack, over file: URL) throws -> PackReplay {
        var result = PackReplay()
        let detector = Detector(plan: pack.plan) { result.alerts.append($0) }
        var handler = DetectingHandler(detector: detector)
        var opened = try InputOpener.open(file.path)
        defer { opened.close() }
        try AuditStreamReader().read(from: &opened.source, name: file.lastPathComponent, into: &handler)
        detector.finish()
        result.issues = handler.issues
        return result
    }
}
