import AuditJSON
import AuditModel
import DetectionEngine
import Glibc

/// Alerts shaped like Falco's JSON output, so falcosidekick and tools built for Falco's
/// k8s_audit source take kaudit's alerts unchanged.
extension AlertFormat {
    /// Falco's priority for each of our levels: Falco has eight, Sigma five; `high` is
    /// Falco's `Error`, the level its own audit rules use for what needs a look now.
    public static func falcoPriority(_ level: AlertLevel) -> String {
        switch level {
        case .critical: "Critical"
        case .high: "Error"
        case .medium: "Warning"
        case .low: "Notice"
        case .informational: "Informational"
        }
    }

    /// This machine's name, as Falco reports the host that raised an alert.
    public static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// One alert as one line of Falco-shaped JSON: `output`, `priority`, `rule`, `time`
    /// (RFC 3339, nanoseconds), `output_fields` (Falco's `ka.*` names for what the audit
    /// event says, read from the newest evidence event; `kaudit.*` for what only kaudit
    /// has), `source` (`k8s_audit`), `tags` and `hostname`.
    public static func falco(_ alert: Alert, hostname: String = AlertFormat.hostname) -> String {
        let fields = NewestEventFields(alert)
        var w = JSONWriter()
        w.beginObject()
        w.key("output"); w.string(falcoOutput(alert, fields))
        w.key("priority"); w.string(falcoPriority(alert.rule.level))
        w.key("rule"); w.string(alert.rule.title)
        w.key("time"); w.string(nanosecondTime(alert.time))
        w.key("output_fields")
        w.beginObject()
        optional("ka.auditid", fields.auditID, &w)
        optional("ka.stage", fields.stage, &w)
        optional("ka.verb", fields.verb, &w)
        optional("ka.uri", fields.uri, &w)
        optional("ka.user.name", alert.actor.user, &w)
        w.key("ka.user.groups"); w.strings(alert.actor.groups)
        optional("ka.impuser.name", alert.actor.impersonatedUser, &w)
        w.key("ka.sourceips"); w.strings(fields.sourceIPs)
        optional("ka.useragent", alert.actor.userAgent, &w)
        optional("ka.target.namespace", alert.object.namespace, &w)
        optional("ka.target.resource", alert.object.resource, &w)
        optional("ka.target.subresource", alert.object.subresource, &w)
        optional("ka.target.name", alert.object.name, &w)
        optional("ka.auth.decision", fields.decision, &w)
        w.key("ka.response.code")
        if let code = fields.responseCode { w.number(code) } else { w.null() }
        if let exec = fields.exec {
            // Falco's field holds the first command= value only; the full argv is kaudit's.
            optional("ka.uri.param[command]", exec.command.first, &w)
            optional("ka.uri.param[container]", exec.container, &w)
            w.key("kaudit.exec.command"); w.string(exec.command.joined(separator: " "))
        }
        w.key("kaudit.rule.id"); w.string(alert.rule.id)
        w.key("kaudit.rule.kind"); w.string(alert.rule.kind.rawValue)
        w.key("kaudit.count"); w.number(alert.count)
        if alert.firstTime != alert.time {
            w.key("kaudit.first_time"); w.string(RFC3339.format(microseconds: alert.firstTime))
        }
        if alert.repeats > 0 {
            w.key("kaudit.repeats"); w.number(alert.repeats)
        }
        for (field, value) in alert.group {
            optional("kaudit.group." + field, value, &w)
        }
        if let detail = alert.detail {
            w.key("kaudit.detail"); w.string(detail)
        }
        w.endObject()
        w.key("source"); w.string("k8s_audit")
        w.key("tags"); w.strings(falcoTags(alert.rule))
        w.key("hostname"); w.string(hostname)
        w.endObject()
        return w.output
    }

    /// `k8s` (Falco's tag for its audit rules), `kaudit`, the threat-matrix ids, and ATT&CK
    /// as Falco's own rules tag it: technique ids upper-case (`T1609`), tactics as
    /// `mitre_<tactic>`.
    static func falcoTags(_ rule: RuleInfo) -> [String] {
        var tags = ["k8s", "kaudit"] + rule.threatMatrix
        for a in rule.attack {
            if a.first == "t", a.dropFirst().first?.isNumber == true {
                tags.append(a.uppercased())
            } else {
                tags.append("mitre_" + String(a.map { $0 == "-" ? "_" : $0 }))
            }
        }
        return tags
    }

    /// The message line: time, priority, title, then who did what to which object.
    static func falcoOutput(_ alert: Alert, _ fields: NewestEventFields) -> String {
        var parts = ["user=" + (alert.actor.user ?? "<NA>")]
        if let impersonated = alert.actor.impersonatedUser { parts.append("impuser=" + impersonated) }
        if let ip = alert.actor.sourceIP { parts.append("ip=" + ip) }
        if let verb = fields.verb { parts.append("verb=" + verb) }
        var target = alert.object.resource ?? "<NA>"
        if let sub = alert.object.subresource { target += "/" + sub }
        parts.append("resource=" + target)
        if let ns = alert.object.namespace { parts.append("ns=" + ns) }
        if let name = alert.object.name { parts.append("name=" + name) }
        if let exec = fields.exec, !exec.command.isEmpty { parts.append("command=" + exec.command.joined(separator: " ")) }
        if let code = fields.failureCode { parts.append("resp=\(code)") }
        for (field, value) in alert.group { parts.append(field + "=" + (value ?? "<NA>")) }
        if alert.rule.kind == .correlation || alert.count != 1 { parts.append("count=\(alert.count)") }
        if alert.repeats > 0 {
            parts.append("repeats=\(alert.repeats) since \(RFC3339.format(microseconds: alert.firstTime))")
        }
        return nanosecondTime(alert.time) + ": " + falcoPriority(alert.rule.level) + " " + alert.rule.title
            + " (" + parts.joined(separator: " ") + ")"
    }

    /// RFC 3339 with nine fractional digits, as Falco writes times (ours are microseconds).
    static func nanosecondTime(_ micros: Int64) -> String {
        var s = RFC3339.format(microseconds: micros)
        s.removeLast()
        return s + "000Z"
    }
}
