import AuditJSON

/// The top-level members of an audit Event that kaudit indexes.
public enum EnvelopeField: Int, CaseIterable, Sendable {
    case kind, apiVersion, level, auditID, stage, requestURI, verb, user, impersonatedUser
    case sourceIPs, userAgent, objectRef, responseStatus, requestObject, responseObject
    case requestReceivedTimestamp, stageTimestamp, annotations, authenticationMetadata
    /// v1beta1 (and some captures without apiVersion): ObjectMeta holding creationTimestamp.
    case metadata
    /// v1beta1: second-precision request-received time.
    case timestamp
    /// EventList only.
    case items

    /// Recognises a key by its length and bytes (no hashing, no String).
    @inlinable @inline(__always)
    public static func classify(_ p: UnsafePointer<UInt8>, _ n: Int) -> EnvelopeField? {
        switch n {
        case 4:
            if bytesEqual(p, 4, "verb") { return .verb }
            if bytesEqual(p, 4, "user") { return .user }
            if bytesEqual(p, 4, "kind") { return .kind }
        case 5:
            if bytesEqual(p, 5, "stage") { return .stage }
            if bytesEqual(p, 5, "level") { return .level }
            if bytesEqual(p, 5, "items") { return .items }
        case 7:
            if bytesEqual(p, 7, "auditID") { return .auditID }
        case 8:
            if bytesEqual(p, 8, "metadata") { return .metadata }
        case 9:
            if bytesEqual(p, 9, "sourceIPs") { return .sourceIPs }
            if bytesEqual(p, 9, "userAgent") { return .userAgent }
            if bytesEqual(p, 9, "objectRef") { return .objectRef }
            if bytesEqual(p, 9, "timestamp") { return .timestamp }
        case 10:
            if bytesEqual(p, 10, "requestURI") { return .requestURI }
            if bytesEqual(p, 10, "apiVersion") { return .apiVersion }
        case 11:
            if bytesEqual(p, 11, "annotations") { return .annotations }
        case 13:
            if bytesEqual(p, 13, "requestObject") { return .requestObject }
        case 14:
            if bytesEqual(p, 14, "responseStatus") { return .responseStatus }
            if bytesEqual(p, 14, "responseObject") { return .responseObject }
            if bytesEqual(p, 14, "stageTimestamp") { return .stageTimestamp }
        case 16:
            if bytesEqual(p, 16, "impersonatedUser") { return .impersonatedUser }
        case 22:
            if bytesEqual(p, 22, "authenticationMetadata") { return .authenticationMetadata }
        case 24:
            if bytesEqual(p, 24, "requestReceivedTimestamp") { return .requestReceivedTimestamp }
        default:
            break
        }
        return nil
    }

    /// The member name as written in the JSON.
    public var key: String { String(describing: self) }
}

/// Why a JSON document could not be read as an audit event.
public struct AuditDecodeFailure: Error, Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// The document is not a complete JSON object (truncated, or not an object at all).
        case notAnObject = "not a JSON object"
        /// Object members are malformed (missing colon or comma, unterminated string, bad literal).
        case malformedObject = "malformed JSON object"
        /// `kind` is present but is not "Event" (nor "EventList").
        case wrongKind = "kind is not Event"
        /// A JSON object without any of the fields every event has (auditID, verb, requestURI, stage).
        case notAnEvent = "object is not an audit event"
        /// An EventList without an `items` array.
        case badEventList = "EventList without an items array"
    }
    public let reason: Reason
    /// Offset of the problem, relative to the start of the document.
    public let offset: Int

    public init(_ reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }
}

/// A lazy, zero-copy view of one audit.k8s.io Event.
///
/// Creating the view walks the event's top-level members once, recording where each
/// known member's value is (duplicate keys: the last wins, and `hasDuplicateKeys` is set).
/// Values are decoded only when asked for. The view borrows the event's bytes: it must
/// not outlive the buffer it was made from.
@frozen
public struct AuditEvent {
    /// The whole event object.
    public let object: JSONValue
    @usableFromInline var slots: EnvelopeSlots
    /// The `apiVersion` of the EventList this event came from, for items that have none.
    public let listAPIVersion: JSONValue?
    /// Whether a top-level key appeared more than once (the last occurrence is used).
    public let hasDuplicateKeys: Bool

    /// Outcome of reading one JSON document.
    public enum Decoded {
        case event(AuditEvent)
        /// An EventList: its `items` array (each item is read with `decode(_:listAPIVersion:)`).
        case eventList(items: JSONValue, apiVersion: JSONValue?)
        case failure(AuditDecodeFailure)
    }

    @inlinable
    init(object: JSONValue, slots: EnvelopeSlots, listAPIVersion: JSONValue?, hasDuplicateKeys: Bool) {
        self.object = object
        self.slots = slots
        self.listAPIVersion = listAPIVersion
        self.hasDuplicateKeys = hasDuplicateKeys
    }

    /// Reads one document (a line of the log, an EventList item, a webhook body).
    ///
    /// - Parameters:
    ///   - bytes: the buffer holding the document.
    ///   - start: offset of the document's first byte (leading whitespace allowed).
    ///   - end: offset one past its last byte (trailing whitespace allowed).
    ///   - listAPIVersion: for EventList items, the list's apiVersion.
    public static func decode(
        _ base: UnsafePointer<UInt8>, start: Int, end: Int, listAPIVersion: JSONValue? = nil
    ) -> Decoded {
        var s = start
        var e = end
        while s < e && isSpace(base[s]) { s += 1 }
        while e > s && isSpace(base[e - 1]) { e -= 1 }
        guard e - s >= 2, base[s] == UInt8(ascii: "{"), base[e - 1] == UInt8(ascii: "}") else {
            return .failure(AuditDecodeFailure(.notAnObject, offset: s - start))
        }
        return decode(object: JSONValue(base: base, start: s, end: e), origin: start, listAPIVersion: listAPIVersion)
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Reads an object whose bounds are known (its first byte is `{`, its last `}`).
    public static func decode(object: JSONValue, origin: Int? = nil, listAPIVersion: JSONValue? = nil) -> Decoded {
        let origin = origin ?? object.start
        var slots = EnvelopeSlots()
        var duplicate = false
        var it = object.members
        while let m = it.next() {
            let field = withDecodedKey(m.key) { p, n in EnvelopeField.classify(p, n) }
            if let field {
                duplicate = slots.set(field, m.value) || duplicate
            }
        }
        if it.failed {
            return .failure(AuditDecodeFailure(.malformedObject, offset: it.failureOffset - origin))
        }
        let base = object.base
        if let kind = slots[.kind].value(base) {
            if kind.stringEquals("EventList") {
                guard let items = slots[.items].value(base), items.kind == .array else {
                    return .failure(AuditDecodeFailure(.badEventList, offset: object.start - origin))
                }
                return .eventList(items: items, apiVersion: slots[.apiVersion].value(base))
            }
            if !kind.stringEquals("Event") {
                return .failure(AuditDecodeFailure(.wrongKind, offset: kind.start - origin))
            }
        }
        if !slots[.auditID].isPresent && !slots[.verb].isPresent && !slots[.requestURI].isPresent
            && !slots[.stage].isPresent
        {
            return .failure(AuditDecodeFailure(.notAnEvent, offset: object.start - origin))
        }
        return .event(AuditEvent(object: object, slots: slots, listAPIVersion: listAPIVersion, hasDuplicateKeys: duplicate))
    }

    /// The value of a top-level member.
    @inlinable
    public subscript(field: EnvelopeField) -> JSONValue? { slots[field].value(object.base) }

    // MARK: Envelope fields

    public var kind: JSONValue? { self[.kind] }
    /// `apiVersion`, or the EventList's for list items that carry none.
    public var apiVersion: JSONValue? { self[.apiVersion] ?? listAPIVersion }
    public var level: AuditLevel? { self[.level].flatMap(AuditLevel.init) }
    public var auditID: JSONValue? { self[.auditID] }
    public var stage: AuditStage? { self[.stage].flatMap(AuditStage.init) }
    public var requestURI: JSONValue? { self[.requestURI] }
    public var verb: JSONValue? { self[.verb] }
    public var userAgent: JSONValue? { self[.userAgent] }
    /// `sourceIPs` (an array of strings). Only the last one is not client-controlled.
    public var sourceIPs: JSONValue? { self[.sourceIPs] }
    public var user: UserInfoView? { self[.user].map(UserInfoView.init) }
    public var impersonatedUser: UserInfoView? { self[.impersonatedUser].map(UserInfoView.init) }
    public var objectRef: ObjectRefView? { self[.objectRef].map(ObjectRefView.init) }
    public var responseStatus: ResponseStatusView? { self[.responseStatus].map(ResponseStatusView.init) }
    /// The request body (Request and RequestResponse levels), as raw JSON.
    public var requestObject: JSONValue? { self[.requestObject] }
    /// The response body (RequestResponse level), as raw JSON.
    public var responseObject: JSONValue? { self[.responseObject] }
    public var annotations: JSONValue? { self[.annotations] }

    /// One annotation's value, e.g. `authorization.k8s.io/decision`.
    public func annotation(_ key: StaticString) -> JSONValue? { annotations?[key] }
    /// `authorization.k8s.io/decision`: `allow` or `forbid`.
    public var authorizationDecision: JSONValue? { annotation("authorization.k8s.io/decision") }
    /// `authorization.k8s.io/reason`: the RBAC explanation.
    public var authorizationReason: JSONValue? { annotation("authorization.k8s.io/reason") }

    /// `requestReceivedTimestamp` in microseconds since the epoch (v1beta1: `timestamp`).
    public var requestReceivedMicros: Int64? {
        if let v = self[.requestReceivedTimestamp], let t = RFC3339.microseconds(v) { return t }
        if let v = self[.timestamp], let t = RFC3339.microseconds(v) { return t }
        return nil
    }

    /// `stageTimestamp` in microseconds since the epoch (v1beta1: `metadata.creationTimestamp`).
    /// This is the event time that windows and ordering use.
    public var stageMicros: Int64? {
        if let v = self[.stageTimestamp], let t = RFC3339.microseconds(v) { return t }
        if let m = self[.metadata], let v = m["creationTimestamp"], let t = RFC3339.microseconds(v) { return t }
        return requestReceivedMicros
    }

    /// Visits the values a dotted path reaches from the event root ("any element" over arrays).
    /// The first segment is looked up in the envelope index, not by walking the event again.
    @discardableResult
    public func forEachValue(at path: JSONPath, flattenArrays: Bool = true, _ body: (JSONValue) throws -> Bool)
        rethrows -> Bool
    {
        guard let first = path.segments.first else { return try body(object) }
        let field = first.withUnsafeBufferPointer { b in
            b.baseAddress.flatMap { EnvelopeField.classify($0, b.count) }
        }
        if let field {
            guard let v = self[field] else { return true }
            return try v.forEachValue(at: path, fromSegment: 1, flattenArrays: flattenArrays, body)
        }
        return try object.forEachValue(at: path, flattenArrays: flattenArrays, body)
    }
}

/// The index of top-level members: one slot per `EnvelopeField`.
@frozen
public struct EnvelopeSlots: Sendable {
    @usableFromInline var storage: InlineArray<22, FieldSlot>

    @inlinable init() { storage = InlineArray(repeating: FieldSlot()) }

    @inlinable
    subscript(_ f: EnvelopeField) -> FieldSlot {
        get { storage[f.rawValue] }
    }

    /// Records a value; returns true when the field had been seen before.
    @inlinable @inline(__always)
    mutating func set(_ f: EnvelopeField, _ v: JSONValue) -> Bool { storage[f.rawValue].set(v) }
}

/// The audit level of an event.
public enum AuditLevel: String, Sendable, CaseIterable {
    case none = "None", metadata = "Metadata", request = "Request", requestResponse = "RequestResponse"

    public init?(_ v: JSONValue) {
        if v.stringEquals("Metadata") {
            self = .metadata
        } else if v.stringEquals("Request") {
            self = .request
        } else if v.stringEquals("RequestResponse") {
            self = .requestResponse
        } else if v.stringEquals("None") {
            self = .none
        } else {
            return nil
        }
    }
}

/// The stage at which an event was recorded.
public enum AuditStage: String, Sendable, CaseIterable {
    case requestReceived = "RequestReceived", responseStarted = "ResponseStarted"
    case responseComplete = "ResponseComplete", panic = "Panic"

    public init?(_ v: JSONValue) {
        if v.stringEquals("ResponseComplete") {
            self = .responseComplete
        } else if v.stringEquals("RequestReceived") {
            self = .requestReceived
        } else if v.stringEquals("ResponseStarted") {
            self = .responseStarted
        } else if v.stringEquals("Panic") {
            self = .panic
        } else {
            return nil
        }
    }
}
