import AuditJSON

/// Names the cloud and shipper formats that carry audit events inside records of their own,
/// for the report on a record that is not an event.
///
/// Managed clusters hand their audit log out wrapped: GKE as Cloud Logging entries in a
/// schema of their own (`protoPayload`), AKS as Azure diagnostic records with the event in
/// `properties.log`, shippers and container runtimes (CloudWatch, Fluent Bit, Docker's JSON
/// log) with the event as a string in `message` or `log`, and CRI's container log with the
/// event after a `TIME stdout F ` prefix. kaudit
/// reads `audit.k8s.io` events; saying which wrapper a record is, and how to take the
/// events out of it, turns a wall of "not an audit event" into something to act on. This
/// runs only for records that already failed, never on the hot path.
public enum ExportedRecordHint {
    /// What the object at `start..<end` is and how to get its events out, or nil when it is
    /// none of the known wrappers.
    public static func describe(_ base: UnsafePointer<UInt8>, start: Int, end: Int) -> String? {
        let record = JSONValue(base: base, start: start, end: end)
        guard record.kind == .object else { return nil }
        if let payload = record["protoPayload"], payload.kind == .object {
            return "a Google Cloud Logging entry (GKE's audit log, protoPayload), whose schema kaudit does not translate;"
                + " read the cluster's audit.k8s.io events instead"
        }
        if let properties = record["properties"], let log = properties["log"], Self.holdsEvent(log) {
            return "an Azure diagnostic record (AKS kube-audit) with the event in properties.log;"
                + " take the events out first: jq -c '.properties.log | if type == \"string\" then fromjson else . end'"
        }
        for key: StaticString in ["message", "log"] {
            if let value = record[key], Self.holdsEvent(value) {
                return "a shipper's or container runtime's record (CloudWatch, Fluent Bit, Docker's JSON log) with the"
                    + " event as a string in \(key); take the events out first: jq -c '.\(key) | fromjson'"
            }
        }
        return nil
    }

    /// For a line that is not a JSON object: whether an event follows a short prefix (CRI's
    /// `TIME stdout F ` container log format, a CloudWatch export's timestamp), and how to
    /// cut it.
    public static func describePrefixed(_ base: UnsafePointer<UInt8>, start: Int, end: Int) -> String? {
        let line = UnsafeBufferPointer(start: base + start, count: end - start)
        var last = line.count
        while last > 0, line[last - 1] == 0x20 || line[last - 1] == 0x09 || line[last - 1] == 0x0D { last -= 1 }
        // A prefix without quotes, then what looks like one object to the end of the line.
        guard let brace = line.prefix(128).firstIndex(of: UInt8(ascii: "{")), brace > 0, brace + 1 < last,
            line[brace + 1] == UInt8(ascii: "\""), line[last - 1] == UInt8(ascii: "}"),
            !line[..<brace].contains(UInt8(ascii: "\"")), Self.namesAuditID(UnsafeBufferPointer(rebasing: line[brace...]))
        else { return nil }
        let prefix = String(decoding: line[..<brace], as: UTF8.self)
        let shown = prefix.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } ? " (\"\(prefix)\")" : ""
        return "the event follows a \(brace)-byte prefix\(shown), as in a CRI container log or a CloudWatch export;"
            + " cut it first: sed 's/^[^{]*//'"
    }

    /// Whether `value` is an event as an object, or as a string of JSON that names one.
    static func holdsEvent(_ value: JSONValue) -> Bool {
        if value.kind == .object { return value["auditID"] != nil }
        guard let text = value.jsonString else { return false }
        // The event's text, escaped: it starts with `{` and names an audit ID early on.
        return text.rawBytes.first == UInt8(ascii: "{") && namesAuditID(text.rawBytes)
    }

    /// Whether `auditID` appears in the first 4 KiB of `bytes` (escaped or not, the key's
    /// letters are the same).
    static func namesAuditID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.prefix(4096).firstRange(of: "auditID".utf8) != nil
    }
}
