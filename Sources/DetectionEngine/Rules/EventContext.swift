import AuditJSON
import AuditModel

/// The event being judged, with what rules derive from it computed at most once.
///
/// The engine keeps one context and refills it for every event (`reset`), so judging an
/// event allocates nothing. Field tests read envelope fields from the event's index; the
/// pod spec (found by walking the body) and the element a per-element rule is looking at
/// live here.
public final class EventContext {
    public private(set) var event: AuditEvent
    /// The event's index, read by field tests without retaining the event's storage.
    public private(set) var index: EnvelopeIndex
    /// The container or volume a per-element rule is evaluating (see `ElementScope`).
    var element: JSONValue?
    var elementScope: ElementScope?
    var elementKind: ContainerView.Kind?

    private var specLooked = false
    private var spec: PodSpecView?
    /// Whether the pod spec was found in the request body (not the response's).
    private var specInRequest = false

    /// Results of request-body tests remembered across events (a judge's; nil otherwise),
    /// and the current event's entry in it: -2 not looked up yet, -1 none.
    var bodyVerdicts: BodyVerdicts? { didSet { bodyMemo = bodyVerdicts.map(Unmanaged.passUnretained) } }
    private var bodyEntry = -2
    /// `bodyVerdicts` again, unretained (`bodyVerdicts` keeps it alive): read by every test of
    /// a request body, it was retained and released around each.
    private var bodyMemo: Unmanaged<BodyVerdicts>?
    /// The pod spec's members and containers, found in one pass each and kept for the
    /// event, so the many rules about pod specs do not each walk the (large) body again.
    private var specMembers: [JSONMember] = []
    private var containerList: [ContainerView] = []
    private var containersLooked = false

    /// The members of every object a field read looked into (a body, `requestObject.data`,
    /// a pod template, each container, an annotation map), each listed once per event (by
    /// where the object starts in the event): rules asking for many siblings
    /// (`requestObject.data.password`, `...data.token`, ...) or many paths through one pod
    /// template each scan short lists instead of walking the objects again.
    private var listedStarts: [Int] = []
    private var listedRanges: [Range<Int>] = []
    private var listedMembers: [JSONMember] = []

    /// Objects listed per event at most: past it, members are found by walking the object
    /// (a path through thousands of array elements must not make each lookup scan thousands
    /// of listed objects).
    static let maxListedObjects = 64

    /// The member `key` of `object`, as `JSONValue.member` finds it: the last one of that
    /// name, decoded names compared.
    func member(of object: JSONValue, _ key: [UInt8]) -> JSONValue? {
        key.withUnsafeBufferPointer { member(of: object, bytes: $0) }
    }

    func member(of object: JSONValue, _ key: StaticString) -> JSONValue? {
        member(of: object, bytes: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
    }

    /// `member(of:_:)` of an object that may be absent: a container's image, command and
    /// arguments, its security context's flags, a volume's host path. Read one rule after
    /// another, each walked the container (its environment, ports, resources) from the
    /// start; through the lists, the container is walked once per event.
    func member(in object: JSONValue?, _ key: StaticString) -> JSONValue? {
        guard let object else { return nil }
        return member(of: object, key)
    }

    func member(of object: JSONValue, bytes k: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        var slot = listedStarts.firstIndex(of: object.start)
        if slot == nil {
            guard listedStarts.count < Self.maxListedObjects else { return object.member(k) }
            let first = listedMembers.count
            var members = object.members
            while let m = members.next() { listedMembers.append(m) }
            listedStarts.append(object.start)
            listedRanges.append(first..<listedMembers.count)
            slot = listedStarts.count - 1
        }
        let range = listedRanges[slot!]
        return listedMembers.withUnsafeBufferPointer { members in
            var found: JSONValue?
            for i in range {
                let name = members[i].key
                // Most names differ in length: compared before the call.
                if name.hasEscapes || name.end - name.start == k.count, name.equals(k) { found = members[i].value }
            }
            return found
        }
    }

    /// Visits what `path` reaches from `value` (from segment `segment` on), as
    /// `JSONValue.forEachValue(at:fromSegment:flattenArrays:)` does, with every object on
    /// the way listed once per event: rules reading many paths through one body (a pod
    /// template's containers, commands and arguments) walk it once, not once per path.
    @discardableResult
    func forEachValue(
        from value: JSONValue, at path: JSONPath, segment: Int, flattenArrays: Bool = true, _ body: (JSONValue) -> Bool
    ) -> Bool {
        value.forEachValue(at: path, fromSegment: segment, flattenArrays: flattenArrays, member: { member(of: $0, $1) }, body)
    }

    /// The results of field tests for the current event, by `FieldTest.resultSlot`, valid
    /// while their stamp equals `resultStamp`: a line shared by several rules (`FieldTestCache`:
    /// the pod-spec checks of the host-access rules, a hostPath list, a user filter) is
    /// evaluated once per event, whichever rule or memo asks first. A quarter of the field
    /// tests the bundled pack evaluated were such repeats. Empty (nothing kept) until
    /// `keepResults(slots:)`.
    private var resultStamps: UnsafeMutablePointer<UInt32>?
    private var results: UnsafeMutablePointer<Bool>?
    private var resultSlots = 0
    private var resultStamp: UInt32 = 1

    public init(_ event: AuditEvent) {
        self.event = event
        index = event.index
    }

    deinit {
        resultStamps?.deallocate()
        results?.deallocate()
    }

    /// Keeps the results of tests with `resultSlot`s below `slots` (a plan's tests).
    func keepResults(slots: Int) {
        guard slots > resultSlots else { return }
        resultStamps?.deallocate()
        results?.deallocate()
        let stamps = UnsafeMutablePointer<UInt32>.allocate(capacity: slots)
        stamps.initialize(repeating: 0, count: slots)
        let kept = UnsafeMutablePointer<Bool>.allocate(capacity: slots)
        kept.initialize(repeating: false, count: slots)
        resultStamps = stamps
        results = kept
        resultSlots = slots
    }

    /// The result kept for the current event in `slot`, if any.
    @inline(__always)
    func result(_ slot: Int) -> Bool? {
        guard slot < resultSlots, resultStamps.unsafelyUnwrapped[slot] == resultStamp else { return nil }
        return results.unsafelyUnwrapped[slot]
    }

    /// Keeps a test's result for the current event.
    @inline(__always)
    func keep(_ result: Bool, _ slot: Int) {
        guard slot < resultSlots else { return }
        resultStamps.unsafelyUnwrapped[slot] = resultStamp
        results.unsafelyUnwrapped[slot] = result
    }

    /// Judges `event` next.
    public func reset(_ event: AuditEvent) {
        withUnsafePointer(to: event) { reset(at: $0) }
    }

    /// Judges the event at `pointer` next (read where it lies, not copied).
    func reset(at pointer: UnsafePointer<AuditEvent>) {
        event.show(at: pointer)
        index = event.index
        resultStamp &+= 1
        if resultStamp == 0, let stamps = resultStamps {
            stamps.update(repeating: 0, count: resultSlots)
            resultStamp = 1
        }
        if specLooked {
            specLooked = false
            specInRequest = false
            spec = nil
            specMembers.removeAll(keepingCapacity: true)
        }
        bodyEntry = -2
        if containersLooked {
            containersLooked = false
            containerList.removeAll(keepingCapacity: true)
        }
        if !listedStarts.isEmpty {
            listedStarts.removeAll(keepingCapacity: true)
            listedRanges.removeAll(keepingCapacity: true)
            listedMembers.removeAll(keepingCapacity: true)
        }
        element = nil
        elementScope = nil
        elementKind = nil
    }

    /// The pod spec of the request body (or of the response, when the request has none),
    /// for Pods and every workload kind; looked for once per event.
    public var podSpec: PodSpecView? {
        if !specLooked {
            specLooked = true
            // Through the listed members: the rules about bodies list the same objects.
            let resource = index[nested: .refResource]
            func find(_ body: EnvelopeField) -> PodSpecView? {
                index[body].flatMap { PodSpecView(in: $0, resource: resource) { self.member(of: $0, $1) } }
            }
            spec = find(.requestObject)
            specInRequest = spec != nil
            if spec == nil { spec = find(.responseObject) }
            if let spec {
                var members = spec.spec.members
                while let m = members.next() { specMembers.append(m) }
            }
        }
        return spec
    }

    /// The result of test `slot` remembered for this event's request body (see
    /// `BodyVerdicts`), if any; the body is looked up on the first call per event.
    @inline(__always)
    func rememberedBodyResult(_ slot: Int) -> Bool? {
        var entry = bodyEntry
        guard entry != -1, let memo = bodyMemo else { return nil }
        if entry == -2 {
            entry = memo._withUnsafeGuaranteedRef { lookUpBody($0) }
            bodyEntry = entry
            guard entry >= 0 else { return nil }
        }
        return memo._withUnsafeGuaranteedRef { $0.result(entry, slot) }
    }

    /// Remembers test `slot`'s result for this event's request body, if the body is kept
    /// (after `rememberedBodyResult`). `needsSpecInRequest`: a pod-spec test, whose result
    /// is the body's only when the spec was found there.
    @inline(__always)
    func rememberBodyResult(_ result: Bool, _ slot: Int, needsSpecInRequest: Bool) {
        let entry = bodyEntry
        guard entry >= 0, let memo = bodyMemo, !needsSpecInRequest || specInRequest else { return }
        memo._withUnsafeGuaranteedRef { $0.remember(result, entry, slot) }
    }

    private func lookUpBody(_ memo: BodyVerdicts) -> Int {
        guard let body = index[.requestObject] else { return -1 }
        return memo.entry(
            resource: index[nested: .refResource]?.rawBytes ?? UnsafeBufferPointer(start: nil, count: 0), body: body.rawBytes)
    }

    /// A member of the pod spec (`hostNetwork`, `volumes`, ...), from the cached members.
    public func specMember(_ key: StaticString) -> JSONValue? {
        guard podSpec != nil else { return nil }
        for m in specMembers where m.key.equals(key) { return m.value }
        return nil
    }

    /// Every container, init container and ephemeral container of the pod spec, in that
    /// order; found once per event.
    public var containers: [ContainerView] {
        if !containersLooked {
            containersLooked = true
            if podSpec != nil {
                for kind in ContainerView.Kind.allCases {
                    guard let list = specMember(kind.specKey), list.kind == .array else { continue }
                    for c in list.elements where c.kind == .object { containerList.append(ContainerView(kind: kind, object: c)) }
                }
            }
        }
        return containerList
    }
}

/// What a per-element rule ranges over: its condition is evaluated once per element, and
/// the rule matches when it holds for one of them, so "privileged and the image not
/// allow-listed" is about the same container, never two different ones.
///
/// A rule enters a scope by naming a field of it (`container.*` or `volume.*`); see
/// `FieldCatalogue`. Event-level fields read the same for every element. An event with no
/// element of the scope is judged once with the element's fields absent.
public enum ElementScope: String, Sendable, CaseIterable {
    /// Every container, init container and ephemeral container of the pod spec.
    case container
    /// Every volume of the pod spec.
    case volume

    /// The field-name prefix that selects the scope.
    public var prefix: String { rawValue + "." }
}
