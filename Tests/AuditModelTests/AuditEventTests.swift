import AuditJSON
import AuditModel
import Testing

// Reading the envelope of audit events: every field of a v1 event, v1beta1 fallbacks,
// events without apiVersion, EventLists, and documents that are not events.

@Suite("AuditEvent envelope")
struct AuditEventTests {
    @Test("every envelope field of a v1 event")
    func v1Fields() throws {
        try withEvent(Fixtures.v1Event) { e in
            #expect(e.kind?.stringEquals("Event") == true)
            #expect(text(e.apiVersion) == "audit.k8s.io/v1")
            #expect(e.level == .requestResponse)
            #expect(text(e.auditID) == "5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42")
            #expect(e.stage == .responseComplete)
            #expect(text(e.verb) == "patch")
            #expect(text(e.requestURI) == "/api/v1/namespaces/payments/pods/api-7d9f8b6c5-x2x7q/ephemeralcontainers")
            #expect(strings(e.sourceIPs) == ["203.0.113.9", "10.0.3.17"])
            #expect(text(e.userAgent) == "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350")
            #expect(!e.hasDuplicateKeys)
        }
    }

    /// The bytes of two different events (`Fixtures.v1Event`, `Fixtures.falcoExecPod`).
    func withTwoEventTexts(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let a = Array(Fixtures.v1Event.utf8)
        let b = Array(Fixtures.falcoExecPod.utf8)
        try a.withUnsafeBufferPointer { ab in try b.withUnsafeBufferPointer { bb in try body(ab, bb) } }
    }

    @Test("show: a view takes another event's fields, from its own storage or a shared one")
    func showOtherEvent() throws {
        try withTwoEventTexts { ab, bb in
            // A reader's way: one storage, loaded event after event.
            let storage = AuditEventStorage()
            var first = AuditEvent(reusing: storage)
            guard case .event = first.load(ab.baseAddress!, start: 0, end: ab.count) else { throw TestFailure("a") }
            var held = AuditEvent()
            held.show(first)
            #expect(text(held.verb) == "patch")
            var next = AuditEvent(reusing: storage)
            guard case .event = next.load(bb.baseAddress!, start: 0, end: bb.count) else { throw TestFailure("b") }
            held.show(next)
            #expect(text(held.verb) == text(next.verb))
            #expect(text(held.auditID) == text(next.auditID))
            #expect(held.stageMicros == next.stageMicros)
            // Another storage: the view follows it.
            var other = AuditEvent()
            guard case .event = other.load(ab.baseAddress!, start: 0, end: ab.count) else { throw TestFailure("c") }
            held.show(other)
            #expect(text(held.verb) == "patch")
            #expect(text(held.auditID) == "5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42")
        }
    }

    /// A reader's batch: views that do not keep their storages (the reader does), each with
    /// its own; a view shown one and then another follows each, times included.
    @Test("views over unowned storages: each its own index, followed by show")
    func unownedStorages() throws {
        try withTwoEventTexts { ab, bb in
            let storages = [AuditEventStorage(), AuditEventStorage()]
            var first = AuditEvent(unownedStorage: storages[0])
            var second = AuditEvent(unownedStorage: storages[1])
            guard case .event = first.load(ab.baseAddress!, start: 0, end: ab.count) else { throw TestFailure("a") }
            guard case .event = second.load(bb.baseAddress!, start: 0, end: bb.count) else { throw TestFailure("b") }
            // Loading the second left the first as it was.
            #expect(text(first.verb) == "patch")
            #expect(text(first.auditID) == "5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42")
            #expect(text(second.verb) == "create")
            #expect(first.stageMicros != second.stageMicros)
            var held = AuditEvent()
            held.show(first)
            #expect(text(held.auditID) == text(first.auditID))
            held.show(second)  // neither keeps a storage: the view still follows
            #expect(text(held.auditID) == text(second.auditID))
            #expect(held.stageMicros == second.stageMicros)
            held.show(first)
            #expect(text(held.verb) == "patch")
            #expect(held.stageMicros == first.stageMicros)
        }
    }

    @Test("user and impersonatedUser")
    func users() throws {
        try withEvent(Fixtures.v1Event) { e in
            let user = try #require(e.user)
            #expect(text(user.username) == "system:serviceaccount:ci:deployer")
            #expect(text(user.uid) == "0b8e2f64-1c3a-4d5e-8f90-a1b2c3d4e5f6")
            #expect(strings(user.groups) == ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"])
            #expect(user.isMember(of: "system:serviceaccounts:ci"))
            #expect(!user.isMember(of: "system:masters"))
            #expect(strings(user.extraValues("authentication.kubernetes.io/pod-name")) == ["runner-5f7d9c-abcde"])
            #expect(strings(user.extraValues("authentication.kubernetes.io/credential-id"))
                == ["JTI=8c1e6f2a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"])
            #expect(user.extra.map { Array($0.members).count } == 3)

            let target = try #require(e.impersonatedUser)
            #expect(text(target.username) == "alice@example.com")
            #expect(target.uid == nil)
            #expect(target.isMember(of: "payments-admins"))
            #expect(target.extra == nil)
        }
    }

    @Test("objectRef, responseStatus and bodies")
    func objectRefAndStatus() throws {
        try withEvent(Fixtures.v1Event) { e in
            let ref = try #require(e.objectRef)
            #expect(text(ref.resource) == "pods")
            #expect(text(ref.subresource) == "ephemeralcontainers")
            #expect(text(ref.namespace) == "payments")
            #expect(text(ref.name) == "api-7d9f8b6c5-x2x7q")
            #expect(text(ref.apiGroup) == "")  // the core group is present but empty
            #expect(text(ref.apiVersion) == "v1")
            #expect(text(ref.uid) == "9f3c1a2b-4d5e-6f70-8192-a3b4c5d6e7f8")
            #expect(text(ref.resourceVersion) == "4815162342")

            let status = try #require(e.responseStatus)
            #expect(status.code == 403)
            #expect(text(status.reason) == "Forbidden")
            #expect(text(status.status) == "Failure")
            #expect(text(status.message)
                == #"admission webhook "policy.example.com" denied the request: container "debugger-x7" must not run as root"#)

            #expect(e.requestObject?.kind == .object)
            #expect(e.requestObject?.firstValue(at: JSONPath("spec.ephemeralContainers.image"))?.string == "busybox:1.36")
            #expect(e.responseObject?["code"]?.int64 == 403)
            #expect(e[.authenticationMetadata] == nil)
        }
    }

    @Test("nested fields read straight from the index equal the views' fields")
    func nestedSubscript() throws {
        try withEvent(Fixtures.v1Event) { e in
            let ref = try #require(e.objectRef)
            let user = try #require(e.user)
            let status = try #require(e.responseStatus)
            let pairs: [(NestedField, JSONValue?)] = [
                (.userUsername, user.username), (.userUID, user.uid), (.userGroups, user.groups), (.userExtra, user.extra),
                (.refResource, ref.resource), (.refSubresource, ref.subresource), (.refNamespace, ref.namespace),
                (.refName, ref.name), (.refAPIGroup, ref.apiGroup), (.refAPIVersion, ref.apiVersion), (.refUID, ref.uid),
                (.refResourceVersion, ref.resourceVersion), (.statusCode, status.codeValue),
                (.statusStatus, status.status), (.statusReason, status.reason), (.statusMessage, status.message),
                (.annotationDecision, e.authorizationDecision), (.annotationReason, e.authorizationReason),
            ]
            for (field, viewValue) in pairs {
                let direct = e[nested: field]
                #expect(direct?.start == viewValue?.start && direct?.end == viewValue?.end, "\(field)")
            }
            #expect(text(e[nested: .refResource]) == "pods")
        }
    }

    @Test("timestamps are microseconds since the epoch")
    func timestamps() throws {
        try withEvent(Fixtures.v1Event) { e in
            #expect(e.requestReceivedMicros == 1_714_566_896_123_456)
            #expect(e.stageMicros == 1_714_566_896_234_567)
            #expect(e.stageMicros == utcMicros(2024, 5, 1, 12, 34, 56, 234_567))
        }
    }

    @Test("annotations, with escaped quotes in the RBAC reason")
    func annotations() throws {
        try withEvent(Fixtures.v1Event) { e in
            #expect(text(e.authorizationDecision) == "allow")
            #expect(e.authorizationDecision?.stringEquals("allow") == true)
            #expect(text(e.authorizationReason)
                == #"RBAC: allowed by ClusterRoleBinding "payments-admins" of ClusterRole "admin" to Group "payments-admins""#)
            #expect(text(e.annotation("pod-security.kubernetes.io/enforce-policy")) == "restricted:latest")
            #expect(e.annotation("audit.k8s.io/truncated") == nil)
        }
        // An event without annotations (RequestReceived stage) has no decision.
        try withEvent(Fixtures.event()) { e in
            #expect(e.authorizationDecision == nil)
            #expect(e.annotations == nil)
        }
    }

    @Test("paths from the event root use the envelope index")
    func pathsFromRoot() throws {
        try withEvent(Fixtures.v1Event) { e in
            var groups: [String] = []
            e.forEachValue(at: JSONPath("user.groups")) { v in
                groups.append(v.string ?? "?")
                return true
            }
            #expect(groups.count == 3)
            var names: [String] = []
            e.forEachValue(at: JSONPath("requestObject.spec.ephemeralContainers.name")) { v in
                names.append(v.string ?? "?")
                return true
            }
            #expect(names == ["debugger-x7"])
            var annotation: String?
            e.forEachValue(at: JSONPath(segments: ["annotations", "authorization.k8s.io/decision"])) { v in
                annotation = v.string
                return false
            }
            #expect(annotation == "allow")
        }
    }

    @Test("every level", arguments: AuditLevel.allCases)
    func levels(_ level: AuditLevel) throws {
        try withEvent(Fixtures.event().replacing(#""level":"Metadata""#, with: #""level":"\#(level.rawValue)""#)) { e in
            #expect(e.level == level)
        }
    }

    @Test("every stage", arguments: AuditStage.allCases)
    func stages(_ stage: AuditStage) throws {
        let json = Fixtures.event().replacing(#""stage":"ResponseComplete""#, with: #""stage":"\#(stage.rawValue)""#)
        try withEvent(json) { e in #expect(e.stage == stage) }
    }

    @Test("unknown level and stage values read as nil")
    func unknownEnums() throws {
        try withEvent(#"{"kind":"Event","auditID":"x","level":"Verbose","stage":"responsecomplete"}"#) { e in
            #expect(e.level == nil)
            #expect(e.stage == nil)
            #expect(text(e.auditID) == "x")
        }
    }

    @Test("envelope keys are recognised by name", arguments: EnvelopeField.allCases)
    func classify(_ field: EnvelopeField) {
        let key = utf8(field.key)
        #expect(key.withUnsafeBufferPointer { EnvelopeField.classify($0.baseAddress!, $0.count) } == field)
        // Case matters, and a longer or shorter key is another key.
        let upper = utf8(field.key.prefix(1).uppercased() + field.key.dropFirst())
        #expect(upper.withUnsafeBufferPointer { EnvelopeField.classify($0.baseAddress!, $0.count) } == nil)
        let longer = key + [UInt8(ascii: "s")]
        #expect(longer.withUnsafeBufferPointer { EnvelopeField.classify($0.baseAddress!, $0.count) } == nil)
    }

    // MARK: v1beta1 and missing apiVersion

    @Test("v1beta1: metadata.creationTimestamp and timestamp stand in for the v1 timestamps")
    func v1beta1Timestamps() throws {
        try withEvent(Fixtures.v1beta1Event) { e in
            #expect(text(e.apiVersion) == "audit.k8s.io/v1beta1")
            #expect(e.stageMicros == utcMicros(2018, 10, 25, 14, 9, 12))
            #expect(e.requestReceivedMicros == utcMicros(2018, 10, 25, 14, 9, 11))
            #expect(e.objectRef.flatMap { text($0.resource) } == "pods")
            #expect(e.responseStatus?.code == 201)
        }
    }

    @Test("v1 timestamps win over the v1beta1 ones when both are present")
    func v1WinsOverV1beta1() throws {
        try withEvent(Fixtures.falcoExecPod) { e in
            #expect(e.stageMicros == utcMicros(2018, 10, 26, 13, 38, 34, 902_914))
            #expect(e.requestReceivedMicros == utcMicros(2018, 10, 26, 13, 38, 34, 867_116))
        }
    }

    @Test(
        "stage time fallbacks",
        arguments: [
            // (members, expected stageMicros, expected requestReceivedMicros)
            (#""timestamp":"2018-10-25T14:09:11Z""#, 1_540_476_551_000_000, 1_540_476_551_000_000),
            (#""metadata":{"creationTimestamp":"2018-10-25T14:09:12Z"}"#, 1_540_476_552_000_000, nil),
            (#""stageTimestamp":"not a time","metadata":{"creationTimestamp":"2018-10-25T14:09:12Z"}"#,
             1_540_476_552_000_000, nil),
            (#""metadata":{"creationTimestamp":null},"requestReceivedTimestamp":"2018-10-25T14:09:10.5Z""#,
             1_540_476_550_500_000, 1_540_476_550_500_000),
            (#""metadata":{"name":"x"}"#, nil, nil),
            ("", nil, nil),
        ] as [(String, Int64?, Int64?)])
    func timestampFallbacks(_ members: String, _ stage: Int64?, _ received: Int64?) throws {
        try withEvent(Fixtures.event(members)) { e in
            #expect(e.stageMicros == stage)
            #expect(e.requestReceivedMicros == received)
        }
    }

    @Test("the event time is worked out once per load: a reused storage never shows the previous event's")
    func stageTimePerLoad() throws {
        let a = Array(Fixtures.event(#""stageTimestamp":"2018-10-25T14:09:11Z""#).utf8)
        let b = Array(Fixtures.event(#""requestReceivedTimestamp":"2018-10-25T14:09:10.5Z""#).utf8)
        let none = Array(Fixtures.event().utf8)
        try a.withUnsafeBufferPointer { ab in
            try b.withUnsafeBufferPointer { bb in
                try none.withUnsafeBufferPointer { nb in
                    let storage = AuditEventStorage()
                    var e = AuditEvent(reusing: storage)
                    guard case .event = e.load(ab.baseAddress!, start: 0, end: ab.count) else { throw TestFailure("a") }
                    #expect(e.stageMicros == 1_540_476_551_000_000)
                    #expect(e.stageMicros == 1_540_476_551_000_000)  // from the memo
                    let saved = UnsafeMutablePointer<FieldSlot>.allocate(capacity: AuditEvent.savedIndexCount)
                    defer { saved.deallocate() }
                    e.saveIndex(to: saved)
                    let objectA = e.object
                    guard case .event = e.load(bb.baseAddress!, start: 0, end: bb.count) else { throw TestFailure("b") }
                    #expect(e.stageMicros == 1_540_476_550_500_000)
                    guard case .event = e.load(nb.baseAddress!, start: 0, end: nb.count) else { throw TestFailure("n") }
                    #expect(e.stageMicros == nil)
                    // Loaded back from a saved index (the parallel replay's way).
                    e.load(object: objectA, savedIndex: saved, listAPIVersion: nil, hasDuplicateKeys: false)
                    #expect(e.stageMicros == 1_540_476_551_000_000)
                    // A fresh view over the storage shows no event, and no time.
                    let empty = AuditEvent(reusing: storage)
                    #expect(empty.stageMicros == nil)
                }
            }
        }
    }

    @Test("an event without apiVersion; an EventList item takes the list's")
    func noAPIVersion() throws {
        try withEvent(Fixtures.falcoExecPod) { e in
            #expect(e.apiVersion == nil)
            #expect(text(e.auditID) == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6")
            #expect(e.level == .request)
            #expect(e.stage == .responseStarted)
            #expect(e.responseStatus?.code == 101)
        }
        let list = #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#
            + Fixtures.falcoExecPod + "," + Fixtures.v1beta1Event + "]}"
        #expect(outcome(list) == .eventList(items: 2))
        let bytes = utf8(list)
        try bytes.withUnsafeBufferPointer { buffer in
            guard case .eventList(let items, let listVersion) = AuditEvent.decode(buffer.baseAddress!, start: 0, end: buffer.count)
            else { throw TestFailure("not an EventList") }
            #expect(text(listVersion) == "audit.k8s.io/v1")
            var versions: [String?] = []
            for item in items.elements {
                guard case .event(let e) = AuditEvent.decode(object: item, listAPIVersion: listVersion) else {
                    throw TestFailure("item is not an event")
                }
                versions.append(text(e.apiVersion))
            }
            // The item without apiVersion takes the list's; the one with its own keeps it.
            #expect(versions == ["audit.k8s.io/v1", "audit.k8s.io/v1beta1"])
        }
    }

    // MARK: Documents that are not events

    @Test(
        "documents that are not events fail with a reason and an offset",
        arguments: [
            (#"{"kind":0}"#, Outcome.failure(.wrongKind, offset: 8)),
            (#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}"#, .failure(.wrongKind, offset: 8)),
            ("{}", .failure(.notAnEvent, offset: 0)),
            (#"{"kind":"Event"}"#, .failure(.notAnEvent, offset: 0)),
            (#"{"metadata":{"name":"cm"},"data":{"k":"v"}}"#, .failure(.notAnEvent, offset: 0)),
            (#"{"kind":"Event","auditID":"abc"#, .failure(.notAnObject, offset: 0)),  // truncated line
            (#"{"kind":"Event","auditID":"abc","verb":"get""#, .failure(.notAnObject, offset: 0)),
            ("[]", .failure(.notAnObject, offset: 0)),
            (#""Event""#, .failure(.notAnObject, offset: 0)),
            ("  \t", .failure(.notAnObject, offset: 3)),
            ("not json at all", .failure(.notAnObject, offset: 0)),
            (#"{"a":1,}"#, .failure(.malformedObject, offset: 7)),
            (#"{"kind":"Event","auditID":"a"}}"#, .failure(.malformedObject, offset: 30)),
            (#"{"kind":"Event" "auditID":"a"}"#, .failure(.malformedObject, offset: 16)),
            // Bodies are skipped, not validated ("validate what you use").
            (#"{"kind":"Event","auditID":"a","requestObject":{"spec":}}"#, .event),
            (#"{"kind":"EventList","items":{}}"#, .failure(.badEventList, offset: 0)),
            (#"{"kind":"EventList"}"#, .failure(.badEventList, offset: 0)),
            (#"{"kind":"EventList","items":[]}"#, .eventList(items: 0)),
            ("\r\n  " + #"{"auditID":"only-an-id"}"# + " \r\n", .event),
            (#"{"verb":"get"}"#, .event),
        ])
    func notEvents(_ json: String, _ expected: Outcome) {
        #expect(outcome(json) == expected)
    }
}
