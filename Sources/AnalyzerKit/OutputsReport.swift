/// What happened to alerts after detection: suppression, HTTP deliveries and the HTML
/// report, for the summary. Delivery figures arrive as plain rows so this target need not
/// know the delivery code.
public struct OutputsReport {
    public struct Delivery {
        public let target: String
        public let sent, batches, retried, dropped, failed, unsent: Int

        public init(target: String, sent: Int, batches: Int, retried: Int, dropped: Int, failed: Int, unsent: Int) {
            self.target = target
            self.sent = sent
            self.batches = batches
            self.retried = retried
            self.dropped = dropped
            self.failed = failed
            self.unsent = unsent
        }
    }

    /// Alerts written (stdout, deliveries, report) after suppression.
    public var sent = 0
    /// The window in microseconds and what suppression did; nil with `--no-suppress`.
    public var suppression: (window: Int64, counters: AlertSuppressor.Counters)?
    public var deliveries: [Delivery] = []
    /// The HTML report's path, alerts embedded and left out.
    public var report: (path: String, embedded: Int, notEmbedded: Int)?

    public init() {}

    public func text() -> String {
        var out = "outputs\n"
        out += "  alerts sent  \(sent)\n"
        if let (window, c) = suppression {
            out += "  suppression  window \(Self.seconds(window)) s: \(c.passed) passed on, \(c.folded) folded into \(c.summaries) summar\(c.summaries == 1 ? "y" : "ies")\n"
            if c.windowsClosedEarly > 0 { out += "    windows_closed_early  \(c.windowsClosedEarly)  (group bound reached; summaries sent early)\n" }
            if c.evidenceNotKept > 0 { out += "    evidence_not_kept  \(c.evidenceNotKept)  (evidence byte bound reached; counted, not kept)\n" }
        } else {
            out += "  suppression  off\n"
        }
        for d in deliveries {
            out += "  delivery  \(d.target)  sent \(d.sent) in \(d.batches) POST\(d.batches == 1 ? "" : "s"), retried \(d.retried), "
            out += "dropped \(d.dropped), failed \(d.failed), unsent \(d.unsent)\n"
        }
        if let r = report {
            out += "  report  \(r.path)  \(r.embedded) alerts embedded"
            out += r.notEmbedded > 0 ? ", \(r.notEmbedded) left out (bound)\n" : "\n"
        }
        return out
    }

    /// The `outputs` member of the JSON summary.
    public func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("alerts_sent"); w.number(sent)
        w.key("suppression")
        if let (window, c) = suppression {
            w.beginObject()
            w.key("window_seconds"); w.raw(Self.seconds(window))
            w.key("passed"); w.number(c.passed)
            w.key("folded"); w.number(c.folded)
            w.key("summaries"); w.number(c.summaries)
            w.key("windows_closed_early"); w.number(c.windowsClosedEarly)
            w.key("evidence_not_kept"); w.number(c.evidenceNotKept)
            w.endObject()
        } else {
            w.null()
        }
        w.key("deliveries")
        w.beginArray()
        for d in deliveries {
            w.beginObject()
            w.key("target"); w.string(d.target)
            w.key("sent"); w.number(d.sent)
            w.key("batches"); w.number(d.batches)
            w.key("retried"); w.number(d.retried)
            w.key("dropped"); w.number(d.dropped)
            w.key("failed"); w.number(d.failed)
            w.key("unsent"); w.number(d.unsent)
            w.endObject()
        }
        w.endArray()
        if let r = report {
            w.key("report")
            w.beginObject()
            w.key("path"); w.string(r.path)
            w.key("embedded"); w.number(r.embedded)
            w.key("not_embedded"); w.number(r.notEmbedded)
            w.endObject()
        }
        w.endObject()
    }

    /// Microseconds as seconds, without decimals when whole.
    public static func seconds(_ micros: Int64) -> String {
        micros % 1_000_000 == 0 ? String(micros / 1_000_000) : format(Double(micros) / 1e6, 3)
    }
}
