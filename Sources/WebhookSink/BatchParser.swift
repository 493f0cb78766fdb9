import AuditJSON
import AuditModel
import AuditSpool

/// Turns a webhook body into a spool batch: every item that is an audit event becomes one
/// NDJSON line; every other item is quarantined with its raw bytes. Never fails: a body
/// that is not JSON at all is quarantined whole.
///
/// Items of an `EventList` carry no `kind` or `apiVersion` of their own (the list does):
/// those are written into the stored line, so a v1beta1 item keeps its version (and its
/// timestamps are read the v1beta1 way on replay) and every line is an event on its own, as
/// in the apiserver's log. Newlines between tokens of a pretty-printed item become spaces.
public enum BatchParser {
    public static func parse(_ body: UnsafeRawBufferPointer, sender: String, fingerprinter: Fingerprinter) -> SpoolBatch {
        var batch = SpoolBatch(sender: sender)
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self), body.count > 0 else {
            batch.quarantined.append(.init(reason: "empty_body", offset: 0, raw: []))
            return batch
        }
        batch.lines.reserveCapacity(body.count + body.count / 8)
        var event = AuditEvent()
        var senderBytes = Array(sender.utf8)
        func quarantine(_ reason: String, _ start: Int, _ end: Int) {
            batch.quarantined.append(.init(reason: reason, offset: start, raw: Array(body[start..<end])))
        }
        switch event.load(base, start: 0, end: body.count) {
        case .event:
            store(event, list: nil, into: &batch, sender: &senderBytes, fingerprinter)
        case .eventList(let items, let apiVersion):
            var elements = items.elements
            var lastEnd = items.start + 1
            var index = 0
            while let element = elements.next() {
                defer {
                    lastEnd = element.end
                    index += 1
                }
                guard element.kind == .object else {
                    quarantine("invalid_list_item", element.start, element.end)
                    continue
                }
                switch event.load(object: element, listAPIVersion: apiVersion) {
                case .event: store(event, list: apiVersion, into: &batch, sender: &senderBytes, fingerprinter)
                case .eventList: quarantine("nested_event_list", element.start, element.end)
                case .failure(let f): quarantine(reasonName(f.reason), element.start, element.end)
                }
            }
            if elements.failed {  // the rest of the array cannot be split into items
                quarantine("malformed_items", lastEnd, max(lastEnd, items.end - 1))
            }
        case .failure(let f):
            if f.reason == .badEventList, event[.items].map({ $0.kind == .null }) ?? true {
                return batch  // `"items": null` (or none): an empty batch
            }
            quarantine(reasonName(f.reason), 0, body.count)
        }
        return batch
    }

    /// Appends the event as one line and records its fingerprint.
    static func store(
        _ event: AuditEvent, list: JSONValue?, into batch: inout SpoolBatch, sender: inout [UInt8], _ fingerprinter: Fingerprinter
    ) {
        let object = event.object
        let start = batch.lines.count
        batch.lines.append(UInt8(ascii: "{"))
        if event[.kind] == nil { batch.lines += Self.kindMember }
        if event[.apiVersion] == nil, let list {
            batch.lines += Self.apiVersionKey
            batch.lines.append(contentsOf: list.rawBytes)
            batch.lines.append(UInt8(ascii: ","))
        }
        let bodyStart = batch.lines.count
        batch.lines.append(contentsOf: UnsafeBufferPointer(rebasing: object.rawBytes[1...]))
        batch.lines.withUnsafeMutableBufferPointer { out in
            for i in bodyStart..<out.count where out[i] == 0x0A || out[i] == 0x0D { out[i] = 0x20 }
        }
        let fingerprint = sender.withUnsafeBytes { s in
            batch.lines.withUnsafeBytes { fingerprinter.fingerprint(sender: s, line: UnsafeRawBufferPointer(rebasing: $0[start...])) }
        }
        batch.lines.append(0x0A)
        batch.events.append(.init(fingerprint: fingerprint, start: start, end: batch.lines.count))
    }

    /// The reader's names for these failures (`ReadIssue.Kind`), so quarantine and scan agree.
    static func reasonName(_ reason: AuditDecodeFailure.Reason) -> String {
        switch reason {
        case .notAnObject: return "not_json_object"
        case .malformedObject: return "malformed_json"
        case .wrongKind: return "wrong_kind"
        case .notAnEvent: return "not_an_event"
        case .badEventList: return "bad_event_list"
        }
    }

    static let kindMember = Array(#""kind":"Event","#.utf8)
    static let apiVersionKey = Array(#""apiVersion":"#.utf8)
}
