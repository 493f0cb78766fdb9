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

    /// The envelope member a dotted path's first segment names, if any.
    @inlinable @inline(__always)
    public static func classify(segment: [UInt8]) -> EnvelopeField? {
        segment.withUnsafeBufferPointer { b in b.baseAddress.flatMap { classify($0, b.count) } }
    }

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
/// not outlive the buffer it was made from. The index itself lives in an
/// `AuditEventStorage` that a reader reuses from event to event.
@frozen
public struct AuditEvent {
    /// The whole event object.
    public private(set) var object: JSONValue
    /// The index, in `storage`. Reads and writes go through the pointer: an index stored
    /// inline (41 slots, 328 bytes) was copied whole on every read of a slot.
    @usableFromInline private(set) var slots: EnvelopeSlots
    /// Keeps the index memory alive; nil for a view whose storage its maker keeps
    /// (`init(unownedStorage:)`), so that copying the view touches no reference count.
    @usableFromInline private(set) var storage: AuditEventStorage?
    /// The `apiVersion` of the EventList this event came from, for items that have none.
    public private(set) var listAPIVersion: JSONValue?
    /// Whether a top-level key appeared more than once (the last occurrence is used).
    public private(set) var hasDuplicateKeys: Bool

    /// Outcome of reading one JSON document.
    public enum Decoded {
        case event(AuditEvent)
        /// An EventList: its `items` array (each item is read with `decode(object:listAPIVersion:)`).
        case eventList(items: JSONValue, apiVersion: JSONValue?)
        case failure(AuditDecodeFailure)
    }

    /// Outcome of `load`: the view now holds an event, or the document is something else.
    public enum LoadResult {
        case event
        /// An EventList: its `items` array (load each item with `load(object:listAPIVersion:)`).
        case eventList(items: JSONValue, apiVersion: JSONValue?)
        case failure(AuditDecodeFailure)
    }

    /// An empty view with its own index storage, to be filled by `load`.
    public init() { self.init(reusing: AuditEventStorage()) }

    /// An empty view whose index lives in `storage`. A reader passes the same storage for
    /// every event, so loading an event allocates nothing; the previous view made from
    /// the same storage is overwritten by the next `load`.
    public init(reusing storage: AuditEventStorage) {
        self.init(storage.slots, keeping: storage)
    }

    /// An empty view whose index lives in `storage`, without keeping it: the caller keeps
    /// the storage as long as the view or any copy of it is read, and copies then cost no
    /// reference counting. For a reader, whose views are valid only while it keeps their
    /// bytes anyway (`AuditStreamReader` hands a detector batches of such views).
    public init(unownedStorage storage: AuditEventStorage) {
        self.init(storage.slots, keeping: nil)
    }

    private init(_ slots: UnsafeMutablePointer<FieldSlot>, keeping storage: AuditEventStorage?) {
        object = JSONValue(base: AuditEvent.nothing, start: 0, end: 0)
        self.storage = storage
        self.slots = EnvelopeSlots(slots)
        self.slots.stageTime.pointee.known = false
        listAPIVersion = nil
        hasDuplicateKeys = false
    }

    /// A readable byte for empty views (a static C string; never read past `start == end`).
    static var nothing: UnsafePointer<UInt8> { ("" as StaticString).utf8Start }

    /// Makes this view show `other`'s event, as assigning it would. A consumer holding the
    /// event a reader hands it, event after event, gets views of one reused storage: then
    /// only the plain fields change, and the storage's reference count is not touched
    /// (assigning retained and released it for every event).
    public mutating func show(_ other: AuditEvent) {
        withUnsafePointer(to: other) { show(at: $0) }
    }

    /// `show` for an event read where it lies: passed by value from a buffer of events, it
    /// was copied first (its storage retained and released) for every event judged.
    public mutating func show(at other: UnsafePointer<AuditEvent>) {
        if storage !== other.pointee.storage { storage = other.pointee.storage }
        slots = other.pointee.slots
        object = other.pointee.object
        listAPIVersion = other.pointee.listAPIVersion
        hasDuplicateKeys = other.pointee.hasDuplicateKeys
    }

    /// Reads one document (a line of the log, an EventList item, a webhook body).
    ///
    /// - Parameters:
    ///   - base: the buffer holding the document.
    ///   - start: offset of the document's first byte (leading whitespace allowed).
    ///   - end: offset one past its last byte (trailing whitespace allowed).
    ///   - listAPIVersion: for EventList items, the list's apiVersion.
    public static func decode(
        _ base: UnsafePointer<UInt8>, start: Int, end: Int, listAPIVersion: JSONValue? = nil
    ) -> Decoded {
        var event = AuditEvent()
        return wrap(event.load(base, start: start, end: end, listAPIVersion: listAPIVersion), event)
    }

    /// Reads an object whose bounds are known (its first byte is `{`, its last `}`).
    public static func decode(object: JSONValue, origin: Int? = nil, listAPIVersion: JSONValue? = nil) -> Decoded {
        var event = AuditEvent()
        return wrap(event.load(object: object, origin: origin, listAPIVersion: listAPIVersion), event)
    }

    static func wrap(_ result: LoadResult, _ event: AuditEvent) -> Decoded {
        switch result {
        case .event: return .event(event)
        case .eventList(let items, let apiVersion): return .eventList(items: items, apiVersion: apiVersion)
        case .failure(let f): return .failure(f)
        }
    }

    /// Loads one document into this view (see `decode(_:start:end:listAPIVersion:)`).
    public mutating func load(
        _ base: UnsafePointer<UInt8>, start: Int, end: Int, listAPIVersion: JSONValue? = nil
    ) -> LoadResult {
        var s = start
        var e = end
        while s < e && AuditEvent.isSpace(base[s]) { s += 1 }
        while e > s && AuditEvent.isSpace(base[e - 1]) { e -= 1 }
        guard e - s >= 2, base[s] == UInt8(ascii: "{"), base[e - 1] == UInt8(ascii: "}") else {
            return .failure(AuditDecodeFailure(.notAnObject, offset: s - start))
        }
        return load(object: JSONValue(base: base, start: s, end: e), origin: start, listAPIVersion: listAPIVersion)
    }

    /// How many slots `saveIndex(to:)` writes.
    public static var savedIndexCount: Int { EnvelopeSlots.count }

    /// Copies the event's index out (offsets into its bytes, no pointers), so that it can be
    /// loaded again from the same bytes, on another thread, without reading them again.
    public func saveIndex(to destination: UnsafeMutablePointer<FieldSlot>) {
        destination.update(from: slots.base, count: EnvelopeSlots.count)
    }

    /// Loads the event `saveIndex(to:)` was called on, from the same bytes (`object` and
    /// `listAPIVersion` as that event had them).
    public mutating func load(
        object: JSONValue, savedIndex: UnsafePointer<FieldSlot>, listAPIVersion: JSONValue?, hasDuplicateKeys: Bool
    ) {
        slots.stageTime.pointee.known = false
        self.object = object
        self.listAPIVersion = listAPIVersion
        self.hasDuplicateKeys = hasDuplicateKeys
        slots.base.update(from: savedIndex, count: EnvelopeSlots.count)
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Loads an object whose bounds are known (its first byte is `{`, its last `}`).
    ///
    /// One pass over the event records where every top-level member's value is, and, inside
    /// `user`, `objectRef`, `responseStatus`, `annotations` and `metadata`, where the fields
    /// detection reads are. Bodies (`requestObject`, `responseObject`) are skipped 64 bytes
    /// at a time; nothing is decoded.
    public mutating func load(object: JSONValue, origin: Int? = nil, listAPIVersion: JSONValue? = nil) -> LoadResult {
        let origin = origin ?? object.start
        let base = object.base
        self.object = object
        self.listAPIVersion = listAPIVersion
        slots.reset()
        slots.stageTime.pointee.known = false
        var duplicate = false
        let end = object.end
        var cursor = JSONObjectCursor(base, open: object.start, end: end)
        while let key = cursor.nextKey() {
            let field =
                key.hasEscapes
                ? AuditEvent.classifyEscaped(key)
                : EnvelopeField.classify(key.base + key.start, key.rawCount)
            let valueStart = cursor.position
            let valueEnd: Int
            switch field {
            case nil:
                valueEnd = AuditEvent.skip(base, valueStart, end)
            case .requestObject?, .responseObject?:
                let c = base[valueStart]
                valueEnd =
                    c == UInt8(ascii: "{") || c == UInt8(ascii: "[")
                    ? JSONScanner.skipContainer(base, valueStart, end)
                    : JSONScanner.skipValue(base, valueStart, end)
            case .user?, .objectRef?, .responseStatus?, .annotations?, .metadata?:
                valueEnd = AuditEvent.indexNested(field!, base, valueStart, end, slots)  // Safe: matched non-nil.
            default:
                valueEnd = AuditEvent.skip(base, valueStart, end)
            }
            guard cursor.valueEnded(at: valueEnd) else { break }
            if let field {
                duplicate = slots.set(field, JSONValue(base: base, start: valueStart, end: valueEnd)) || duplicate
            }
        }
        hasDuplicateKeys = duplicate
        if cursor.closedAt != end {
            let at = cursor.closedAt < 0 ? cursor.failure : cursor.closedAt
            return .failure(AuditDecodeFailure(.malformedObject, offset: at - origin))
        }
        return classifyDocument(origin: origin)
    }

    /// Keys spelled with escapes (hostile input) are decoded first. Kept out of line so the
    /// common path's classification is inlined into the walk.
    @inline(never)
    static func classifyEscaped(_ key: JSONString) -> EnvelopeField? {
        withDecodedKey(key) { p, n in EnvelopeField.classify(p, n) }
    }

    @inline(never)
    static func classifyEscaped(_ key: JSONString, in parent: EnvelopeField) -> NestedField? {
        withDecodedKey(key) { p, n in NestedField.classify(parent, p, n) }
    }

    /// Skips a member's value; strings (most envelope values) are skipped inline, without
    /// the call and dispatch of `skipValue`.
    @inline(__always)
    static func skip(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        base[start] == UInt8(ascii: "\"")
            ? JSONScanner.skipString(base, start, end) : JSONScanner.skipValue(base, start, end)
    }

    /// After indexing: an Event, an EventList, or something else.
    mutating func classifyDocument(origin: Int) -> LoadResult {
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
        return .event
    }

    /// Indexes the members of a nested envelope object; returns the offset after it.
    /// A value that is not an object is skipped and indexes nothing.
    @inline(__always)
    static func indexNested(
        _ parent: EnvelopeField, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ slots: EnvelopeSlots
    ) -> Int {
        // A repeated key replaces the whole object, even when the later value is not an
        // object (`"user":{...},"user":null`): clear before the guard, or the first object's
        // username and groups would survive under the last (non-object) value.
        // (Found by AuditModelTests "a repeated nested object replaced by a non-object".)
        // The index starts zeroed, so only a repeated parent has anything to clear.
        if slots[parent].isPresent { slots.clearNested(of: parent) }
        guard base[start] == UInt8(ascii: "{") else { return JSONScanner.skipValue(base, start, end) }
        var cursor = JSONObjectCursor(base, open: start, end: end)
        while let key = cursor.nextKey() {
            let field =
                key.hasEscapes
                ? AuditEvent.classifyEscaped(key, in: parent)
                : NestedField.classify(parent, key.base + key.start, key.rawCount)
            let valueStart = cursor.position
            let valueEnd = AuditEvent.skip(base, valueStart, end)
            guard cursor.valueEnded(at: valueEnd) else { return -1 }
            if let field { slots.set(field, JSONValue(base: base, start: valueStart, end: valueEnd)) }
        }
        return cursor.closedAt
    }

    /// The value of a top-level member.
    @inlinable
    public subscript(field: EnvelopeField) -> JSONValue? { slots[field].value(object.base) }

    /// The value of a field inside `user`, `objectRef`, `responseStatus`, `annotations` or
    /// `metadata`, straight from the index (the views below gather the same values).
    @inlinable
    public subscript(nested field: NestedField) -> JSONValue? { slots[field].value(object.base) }

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
    public var user: UserInfoView? {
        guard let object = self[.user] else { return nil }
        let b = object.base
        return UserInfoView(
            object: object, username: slots[.userUsername].value(b), uid: slots[.userUID].value(b),
            groups: slots[.userGroups].value(b), extra: slots[.userExtra].value(b))
    }
    public var impersonatedUser: UserInfoView? { self[.impersonatedUser].map(UserInfoView.init) }
    public var objectRef: ObjectRefView? {
        guard let object = self[.objectRef] else { return nil }
        let b = object.base
        return ObjectRefView(
            object: object, resource: slots[.refResource].value(b), subresource: slots[.refSubresource].value(b),
            namespace: slots[.refNamespace].value(b), name: slots[.refName].value(b),
            apiGroup: slots[.refAPIGroup].value(b), apiVersion: slots[.refAPIVersion].value(b),
            uid: slots[.refUID].value(b), resourceVersion: slots[.refResourceVersion].value(b))
    }
    public var responseStatus: ResponseStatusView? {
        guard let object = self[.responseStatus] else { return nil }
        let b = object.base
        return ResponseStatusView(
            object: object, codeValue: slots[.statusCode].value(b), status: slots[.statusStatus].value(b),
            reason: slots[.statusReason].value(b), message: slots[.statusMessage].value(b))
    }
    /// The request body (Request and RequestResponse levels), as raw JSON.
    public var requestObject: JSONValue? { self[.requestObject] }
    /// The response body (RequestResponse level), as raw JSON.
    public var responseObject: JSONValue? { self[.responseObject] }
    public var annotations: JSONValue? { self[.annotations] }

    /// One annotation's value, e.g. `authorization.k8s.io/decision`.
    public func annotation(_ key: StaticString) -> JSONValue? { annotations?[key] }
    /// `authorization.k8s.io/decision`: `allow` or `forbid`.
    public var authorizationDecision: JSONValue? { slots[.annotationDecision].value(object.base) }
    /// `authorization.k8s.io/reason`: the RBAC explanation.
    public var authorizationReason: JSONValue? { slots[.annotationReason].value(object.base) }

    /// `requestReceivedTimestamp` in microseconds since the epoch (v1beta1: `timestamp`).
    public var requestReceivedMicros: Int64? { index.requestReceivedMicros }

    /// `stageTimestamp` in microseconds since the epoch (v1beta1: `metadata.creationTimestamp`).
    /// This is the event time that windows and ordering use.
    /// Worked out once per loaded event: the detector and the scan summary both ask.
    public var stageMicros: Int64? { index.stageMicros }

    /// Visits the values a dotted path reaches from the event root ("any element" over arrays).
    /// The first segment is looked up in the envelope index, not by walking the event again.
    @discardableResult
    public func forEachValue(at path: JSONPath, flattenArrays: Bool = true, _ body: (JSONValue) throws -> Bool)
        rethrows -> Bool
    {
        guard let first = path.segments.first else { return try body(object) }
        if let field = EnvelopeField.classify(segment: first) {
            guard let v = self[field] else { return true }
            return try v.forEachValue(at: path, fromSegment: 1, flattenArrays: flattenArrays, body)
        }
        return try object.forEachValue(at: path, flattenArrays: flattenArrays, body)
    }
}

/// Fields inside the nested envelope objects that the one-pass index records.
public enum NestedField: Int, CaseIterable, Sendable {
    case userUsername = 22, userUID, userGroups, userExtra
    case refResource, refSubresource, refNamespace, refName, refAPIGroup, refAPIVersion, refUID, refResourceVersion
    case statusCode, statusStatus, statusReason, statusMessage
    case annotationDecision, annotationReason
    case metadataCreationTimestamp

    /// The slot range of each parent, so a repeated parent key can clear its children.
    static func range(of parent: EnvelopeField) -> ClosedRange<Int> {
        switch parent {
        case .user: return NestedField.userUsername.rawValue...NestedField.userExtra.rawValue
        case .objectRef: return NestedField.refResource.rawValue...NestedField.refResourceVersion.rawValue
        case .responseStatus: return NestedField.statusCode.rawValue...NestedField.statusMessage.rawValue
        case .annotations: return NestedField.annotationDecision.rawValue...NestedField.annotationReason.rawValue
        case .metadata: return NestedField.metadataCreationTimestamp.rawValue...NestedField.metadataCreationTimestamp.rawValue
        default: return 1...0
        }
    }

    @inline(__always)
    static func classify(_ parent: EnvelopeField, _ p: UnsafePointer<UInt8>, _ n: Int) -> NestedField? {
        switch parent {
        case .user:
            switch n {
            case 8: return bytesEqual(p, 8, "username") ? .userUsername : nil
            case 6: return bytesEqual(p, 6, "groups") ? .userGroups : nil
            case 3: return bytesEqual(p, 3, "uid") ? .userUID : nil
            case 5: return bytesEqual(p, 5, "extra") ? .userExtra : nil
            default: return nil
            }
        case .objectRef:
            switch n {
            case 8:
                if bytesEqual(p, 8, "resource") { return .refResource }
                return bytesEqual(p, 8, "apiGroup") ? .refAPIGroup : nil
            case 9: return bytesEqual(p, 9, "namespace") ? .refNamespace : nil
            case 4: return bytesEqual(p, 4, "name") ? .refName : nil
            case 11: return bytesEqual(p, 11, "subresource") ? .refSubresource : nil
            case 10: return bytesEqual(p, 10, "apiVersion") ? .refAPIVersion : nil
            case 3: return bytesEqual(p, 3, "uid") ? .refUID : nil
            case 15: return bytesEqual(p, 15, "resourceVersion") ? .refResourceVersion : nil
            default: return nil
            }
        case .responseStatus:
            switch n {
            case 4: return bytesEqual(p, 4, "code") ? .statusCode : nil
            case 6:
                if bytesEqual(p, 6, "reason") { return .statusReason }
                return bytesEqual(p, 6, "status") ? .statusStatus : nil
            case 7: return bytesEqual(p, 7, "message") ? .statusMessage : nil
            default: return nil
            }
        case .annotations:
            switch n {
            case 29: return bytesEqual(p, 29, "authorization.k8s.io/decision") ? .annotationDecision : nil
            case 27: return bytesEqual(p, 27, "authorization.k8s.io/reason") ? .annotationReason : nil
            default: return nil
            }
        case .metadata:
            return n == 17 && bytesEqual(p, 17, "creationTimestamp") ? .metadataCreationTimestamp : nil
        default:
            return nil
        }
    }
}

/// Memory for one event's index, reused from event to event (see `AuditEvent(reusing:)`):
/// one block holding the slots, then the stage time memo and the date cache, so that a view
/// reaches all three from its slot pointer alone.
public final class AuditEventStorage {
    @usableFromInline let slots: UnsafeMutablePointer<FieldSlot>

    public init() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: EnvelopeSlots.blockBytes, alignment: 16)
        slots = raw.bindMemory(to: FieldSlot.self, capacity: EnvelopeSlots.count)
        slots.initialize(repeating: FieldSlot(), count: EnvelopeSlots.count)
        let view = EnvelopeSlots(slots)
        view.dateCache.initialize(to: DateCache())
        view.stageTime.initialize(to: StageTimeMemo())
    }

    deinit { UnsafeMutableRawPointer(slots).deallocate() }
}

/// An event's time as `AuditEvent.stageMicros` gives it, kept until the next load.
struct StageTimeMemo {
    var known = false
    var micros: Int64?
}

/// An event's envelope index without a reference to its storage, for hot loops: copying it
/// costs no reference counting. Valid only while the event it came from is (the reader
/// reuses the storage for the next event).
@frozen
public struct EnvelopeIndex {
    @usableFromInline let slots: EnvelopeSlots
    @usableFromInline let base: UnsafePointer<UInt8>

    @inlinable init(slots: EnvelopeSlots, base: UnsafePointer<UInt8>) {
        self.slots = slots
        self.base = base
    }

    /// The value of a top-level member (as `AuditEvent[field]`).
    @inlinable @inline(__always)
    public subscript(field: EnvelopeField) -> JSONValue? { slots[field].value(base) }

    /// The value of a nested envelope field (as `AuditEvent[nested:]`).
    @inlinable @inline(__always)
    public subscript(nested field: NestedField) -> JSONValue? { slots[field].value(base) }

    /// The value at a slot position: an `EnvelopeField`'s or a `NestedField`'s raw value
    /// (they share one numbering). For callers that map their own field keys to positions
    /// with a table rather than a branch per key.
    @inlinable @inline(__always)
    public subscript(position position: Int) -> JSONValue? { slots.base[position].value(base) }
}

extension EnvelopeIndex {
    /// `AuditEvent.requestReceivedMicros`, read through the index (no copy of the event).
    public var requestReceivedMicros: Int64? {
        if let v = self[.requestReceivedTimestamp], let t = RFC3339.microseconds(v, cache: slots.dateCache) {
            return t
        }
        if let v = self[.timestamp], let t = RFC3339.microseconds(v) { return t }
        return nil
    }

    /// `AuditEvent.stageMicros`, read through the index: the memo lives with the index.
    public var stageMicros: Int64? {
        let memo = slots.stageTime
        if memo.pointee.known { return memo.pointee.micros }
        let micros = parsedStageMicros
        memo.pointee = StageTimeMemo(known: true, micros: micros)
        return micros
    }

    private var parsedStageMicros: Int64? {
        if let v = self[.stageTimestamp], let t = RFC3339.microseconds(v, cache: slots.dateCache) { return t }
        if let v = self[nested: .metadataCreationTimestamp], let t = RFC3339.microseconds(v) { return t }
        return requestReceivedMicros
    }
}

extension AuditEvent {
    /// The index alone, for reading fields without retaining the event's storage.
    @inlinable
    public var index: EnvelopeIndex { EnvelopeIndex(slots: slots, base: object.base) }
}

/// The index: one slot per `EnvelopeField`, then one per `NestedField`, in storage that
/// the event does not copy.
@frozen
public struct EnvelopeSlots {
    @usableFromInline static var count: Int { 41 }
    @usableFromInline let base: UnsafeMutablePointer<FieldSlot>

    @inlinable init(_ base: UnsafeMutablePointer<FieldSlot>) { self.base = base }

    /// The storage block (`AuditEventStorage`): the slots, then the stage time memo, then
    /// the date cache, each at an offset aligned for it.
    @usableFromInline static let stageTimeOffset = aligned(count * MemoryLayout<FieldSlot>.stride, MemoryLayout<StageTimeMemo>.alignment)
    @usableFromInline static let dateCacheOffset = aligned(stageTimeOffset + MemoryLayout<StageTimeMemo>.stride, MemoryLayout<DateCache>.alignment)
    static let blockBytes = dateCacheOffset + MemoryLayout<DateCache>.stride

    @inlinable static func aligned(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The last timestamp date turned into days, shared by the storage's events.
    @inlinable var dateCache: UnsafeMutablePointer<DateCache> {
        (UnsafeMutableRawPointer(base) + Self.dateCacheOffset).assumingMemoryBound(to: DateCache.self)
    }

    /// The loaded event's `stageMicros`, once asked for.
    var stageTime: UnsafeMutablePointer<StageTimeMemo> {
        (UnsafeMutableRawPointer(base) + Self.stageTimeOffset).assumingMemoryBound(to: StageTimeMemo.self)
    }

    @inlinable
    subscript(_ f: EnvelopeField) -> FieldSlot { base[f.rawValue] }

    @inlinable
    subscript(_ f: NestedField) -> FieldSlot { base[f.rawValue] }

    /// Empties every slot (a fresh index is all zeros).
    @inlinable
    func reset() { base.update(repeating: FieldSlot(), count: Self.count) }

    /// Records a value; returns true when the field had been seen before.
    @inlinable @inline(__always)
    func set(_ f: EnvelopeField, _ v: JSONValue) -> Bool { base[f.rawValue].set(v) }

    @inlinable @inline(__always)
    func set(_ f: NestedField, _ v: JSONValue) { _ = base[f.rawValue].set(v) }

    func clearNested(of parent: EnvelopeField) {
        for i in NestedField.range(of: parent) { base[i] = FieldSlot() }
    }
}

/// The audit level of an event.
public enum AuditLevel: String, Sendable, CaseIterable {
    case none = "None", metadata = "Metadata", request = "Request", requestResponse = "RequestResponse"

    /// Recognises the value by its length first, then its bytes (it is read for most events).
    public init?(_ v: JSONValue) {
        let n = v.end - v.start - 2
        guard n > 0, v.base[v.start] == UInt8(ascii: "\"") else { return nil }
        let p = v.base + v.start + 1
        switch n {
        case 8 where bytesEqual(p, 8, "Metadata"): self = .metadata
        case 7 where bytesEqual(p, 7, "Request"): self = .request
        case 15 where bytesEqual(p, 15, "RequestResponse"): self = .requestResponse
        case 4 where bytesEqual(p, 4, "None"): self = .none
        default: return nil
        }
    }
}

/// The stage at which an event was recorded.
public enum AuditStage: String, Sendable, CaseIterable {
    case requestReceived = "RequestReceived", responseStarted = "ResponseStarted"
    case responseComplete = "ResponseComplete", panic = "Panic"

    /// Recognises the value by its length first, then its bytes (it is read for most events).
    public init?(_ v: JSONValue) {
        let n = v.end - v.start - 2
        guard n > 0, v.base[v.start] == UInt8(ascii: "\"") else { return nil }
        let p = v.base + v.start + 1
        switch n {
        case 16 where bytesEqual(p, 16, "ResponseComplete"): self = .responseComplete
        case 15:
            if bytesEqual(p, 15, "ResponseStarted") {
                self = .responseStarted
            } else if bytesEqual(p, 15, "RequestReceived") {
                self = .requestReceived
            } else {
                return nil
            }
        case 5 where bytesEqual(p, 5, "Panic"): self = .panic
        default: return nil
        }
    }
}
