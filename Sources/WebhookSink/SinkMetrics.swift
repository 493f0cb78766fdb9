import AuditSpool
import Synchronization

/// The sink's counters, rendered in the Prometheus text exposition format (version 0.0.4).
///
/// Written by hand rather than with swift-prometheus: about twenty series, all known in
/// advance, and one more dependency tree in every CI build would buy nothing here. Label
/// values are escaped as the format requires (backslash, double quote, newline).
public final class SinkMetrics: Sendable {
    struct Counts {
        var responses: [Int: Int] = [:]
        var refusals: [String: Int] = [:]
        var eventsReceived = 0
        var bytesReceived = 0
        var latencyBuckets = [Int](repeating: 0, count: SinkMetrics.latencyBounds.count)
        var latencyCount = 0
        var latencySum = 0.0
        var alerts: [String: (level: String, count: Int)] = [:]
        var connectionsActive = 0
        var connectionsAccepted = 0
        var detection = DetectionProgress()
    }

    /// Seconds: from under a millisecond (a small batch, group commit on an idle disk) to the
    /// apiserver's 30 s client timeout.
    static let latencyBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    let counts = Mutex(Counts())

    public init() {}

    func response(_ status: Int, seconds: Double?) {
        counts.withLock { c in
            c.responses[status, default: 0] += 1
            if let seconds {
                c.latencyCount += 1
                c.latencySum += seconds
                for (i, bound) in Self.latencyBounds.enumerated() where seconds <= bound { c.latencyBuckets[i] += 1 }
            }
        }
    }

    /// A request or connection refused, by reason (`unauthorized`, `body_too_large`, …).
    func refused(_ reason: String) { counts.withLock { $0.refusals[reason, default: 0] += 1 } }

    func received(events: Int, bytes: Int) {
        counts.withLock {
            $0.eventsReceived += events
            $0.bytesReceived += bytes
        }
    }

    func connection(opened: Bool) {
        counts.withLock {
            $0.connectionsActive += opened ? 1 : -1
            if opened { $0.connectionsAccepted += 1 }
        }
    }

    /// An alert fired (rule id and level).
    public func alert(rule: String, level: String) {
        counts.withLock { c in
            let old = c.alerts[rule]?.count ?? 0
            c.alerts[rule] = (level, old + 1)
        }
    }

    public func detection(_ progress: DetectionProgress) { counts.withLock { $0.detection = progress } }

    /// Requests answered with `status` so far.
    public func responses(_ status: Int) -> Int { counts.withLock { $0.responses[status] ?? 0 } }
    public func refusals(_ reason: String) -> Int { counts.withLock { $0.refusals[reason] ?? 0 } }

    public func render(spool: SpoolStats) -> String {
        let c = counts.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += name + labels + " " + Self.number(value) + "\n" }
        }
        func one(_ name: String, _ type: String, _ help: String, _ value: some BinaryInteger) {
            metric(name, type, help, [("", Double(value))])
        }
        metric("kaudit_webhook_requests_total", "counter", "HTTP requests answered, by status code.",
            c.responses.sorted { $0.key < $1.key }.map { ("{code=\"\($0.key)\"}", Double($0.value)) })
        metric("kaudit_webhook_refused_total", "counter", "Requests and connections refused, by reason.",
            c.refusals.sorted { $0.key < $1.key }.map { ("{reason=\"\(Self.escape($0.key))\"}", Double($0.value)) })
        one("kaudit_webhook_events_received_total", "counter", "Audit events in accepted request bodies, duplicates included.", c.eventsReceived)
        one("kaudit_webhook_bytes_received_total", "counter", "Request body bytes received on the webhook path.", c.bytesReceived)
        one("kaudit_webhook_batches_total", "counter", "Batches (requests) stored.", spool.batches)
        one("kaudit_webhook_events_stored_total", "counter", "Events written to the spool (each once).", spool.eventsStored)
        one("kaudit_webhook_duplicates_total", "counter", "Events received again (retries) and not stored again.", spool.duplicates)
        one("kaudit_webhook_quarantined_total", "counter", "Items that were not audit events, kept in the quarantine log.", spool.quarantined)
        one("kaudit_spool_commits_total", "counter", "Group commits (one write and one fdatasync each).", spool.commits)
        one("kaudit_spool_bytes_stored_total", "counter", "Uncompressed NDJSON bytes stored.", spool.bytesStored)
        one("kaudit_spool_disk_bytes", "gauge", "Bytes of segments and quarantine files on disk.", spool.diskBytes)
        one("kaudit_spool_segments", "gauge", "Segment files in the spool.", spool.segments)
        one("kaudit_spool_segments_pruned_total", "counter", "Segments removed at the disk cap after detection read them.", spool.segmentsPruned)
        one("kaudit_spool_queued_bytes", "gauge", "Bytes of batches waiting for the writer.", spool.queuedBytes)
        metric("kaudit_spool_refused_total", "counter", "Batches refused with 503, by cause.",
            [("{cause=\"disk_cap\"}", Double(spool.refusedDiskFull)), ("{cause=\"queue\"}", Double(spool.refusedQueueFull))])
        one("kaudit_spool_write_errors_total", "counter", "Group commits that failed to write or sync (answered 503).", spool.writeErrors)
        one("kaudit_spool_dedup_rotations_total", "counter", "Duplicate-table generations dropped (oldest fingerprints forgotten).", spool.dedupRotations)
        one("kaudit_detection_events_total", "counter", "Events read back from the spool and judged by the rules.", c.detection.events)
        one("kaudit_detection_backlog_bytes", "gauge", "Compressed spool bytes not yet read by detection.", c.detection.backlogBytes)
        metric("kaudit_alerts_total", "counter", "Alerts fired, by rule id and level.",
            c.alerts.sorted { $0.key < $1.key }.map { ("{rule=\"\(Self.escape($0.key))\",level=\"\(Self.escape($0.value.level))\"}", Double($0.value.count)) })
        one("kaudit_webhook_connections", "gauge", "Open client connections.", c.connectionsActive)
        one("kaudit_webhook_connections_accepted_total", "counter", "Client connections accepted.", c.connectionsAccepted)
        out += "# HELP kaudit_webhook_request_duration_seconds Time from request head to response, webhook path.\n"
        out += "# TYPE kaudit_webhook_request_duration_seconds histogram\n"
        for (i, bound) in Self.latencyBounds.enumerated() {
            out += "kaudit_webhook_request_duration_seconds_bucket{le=\"\(Self.number(bound))\"} \(c.latencyBuckets[i])\n"
        }
        out += "kaudit_webhook_request_duration_seconds_bucket{le=\"+Inf\"} \(c.latencyCount)\n"
        out += "kaudit_webhook_request_duration_seconds_sum \(Self.number(c.latencySum))\n"
        out += "kaudit_webhook_request_duration_seconds_count \(c.latencyCount)\n"
        return out
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}

/// Where detection stands, for the metrics and the summary.
public struct DetectionProgress: Sendable, Equatable {
    public var events = 0
    public var backlogBytes: Int64 = 0
    public init() {}
}
