// Tests that read only the request body are remembered per body (`BodyVerdicts`): a body
// seen again must get exactly the verdicts it would get judged afresh, and only the tests
// whose result depends on the body alone may be answered from memory.
import AuditJSON
import AuditModel
import AuditSynth
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite("Request bodies remembered across events")
struct BodyVerdictsTests {
    /// Rules reading the request body through a path, a pod-spec field (found in the request
    /// or, without one there, the response), and the body together with the user.
    static let rules = pack([
        ruleYAML(
            title: "Host network", detection: """
                selection:
                  verb: [create, patch]
                  pod.hostNetwork: true
                condition: selection
                """),
        ruleYAML(
            title: "Debug image", detection: """
                selection:
                  verb: [create, patch]
                  requestObject.spec.containers.image|contains: debug
                condition: selection
                """),
        ruleYAML(
            title: "Named by alice", detection: """
                selection:
                  user.username: alice
                  requestObject.metadata.name|exists: true
                condition: selection
                """),
    ])

    static func body(image: String, hostNetwork: Bool, name: String? = "web", padding: Int = 0) -> String {
        let meta = name.map { #""name":"\#($0)","# } ?? ""
        let pad = padding > 0 ? #","note":"\#(String(repeating: "x", count: padding))""# : ""
        return #"{"metadata":{\#(meta)"labels":{"app":"web"}\#(pad)},"spec":{"hostNetwork":\#(hostNetwork),"#
            + #""containers":[{"name":"c","image":"\#(image)"}]}}"#
    }

    /// The alert titles and counters of `events` with bodies remembered, and the titles without.
    static func both(_ events: [Ev]) -> (with: [String], counters: DetectorCounters, without: [String]) {
        let texts = events.map(\.json)
        var off = DetectorOptions()
        off.rememberRequestBodies = false
        let (on, detector) = run(rules, texts)
        let (without, _) = run(rules, texts, options: off)
        return (titles(on), detector.counters, titles(without))
    }

    @Test("a body seen again is answered from memory, with the same verdicts")
    func repeatedBody() {
        let b = Self.body(image: "registry.local/debug-tools:1", hostNetwork: true)
        let events = (0..<5).map { i in Ev(verb: "create", name: "web-\(i)", requestObject: b) }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with.count == 15, "three rules on each of five events")
        // Seen once (hash noted), twice (kept), then remembered three times.
        #expect(r.counters.requestBodiesNotKept == 1)
        #expect(r.counters.requestBodiesKept == 1)
        #expect(r.counters.requestBodiesRemembered == 3)
    }

    @Test("tests that also read something else are judged per event")
    func otherFieldsStillRead() {
        let b = Self.body(image: "nginx", hostNetwork: false)
        let users = ["alice", "bob", "alice", "bob", "alice", "carol", "alice"]
        let events = users.enumerated().map { i, u in Ev(verb: "create", name: "p\(i)", user: u, requestObject: b) }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with == Array(repeating: "Named by alice", count: 4))
        #expect(r.counters.requestBodiesRemembered > 0)
    }

    @Test("a pod spec found in the response is not remembered with the request body")
    func specFromResponse() {
        // A patch of labels only: the spec is read from the response, which differs each time.
        let patch = #"{"metadata":{"labels":{"tier":"web"}}}"#
        let events = (0..<8).map { i in
            Ev(
                verb: "patch", name: "web", requestObject: patch,
                responseObject: #"{"metadata":{"name":"web"},"spec":{"hostNetwork":\#(i % 2 == 0),"containers":[]}}"#)
        }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with == Array(repeating: "Host network", count: 4))
    }

    @Test("the resource is part of the key: it says where the pod spec sits")
    func resourceInKey() {
        // As a pod, `spec` is the pod spec (host network); as a Deployment, the template's is.
        let b = #"{"metadata":{"name":"w"},"spec":{"hostNetwork":true,"template":{"spec":{"hostNetwork":false,"containers":[]}}}}"#
        let events = (0..<4).map { Ev(verb: "create", resource: "pods", name: "w\($0)", requestObject: b) }
            + (0..<4).map { Ev(verb: "create", resource: "deployments", name: "w\($0)", requestObject: b) }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with.filter { $0 == "Host network" }.count == 4)
    }

    @Test("a body differing in one byte is judged afresh")
    func oneByteApart() {
        let a = Self.body(image: "debug", hostNetwork: false)
        let b = Self.body(image: "debuh", hostNetwork: false)
        #expect(a.utf8.count == b.utf8.count)
        let events = [a, a, a, b, b, b, a, b].enumerated().map { Ev(verb: "create", name: "x\($0.offset)", requestObject: $0.element) }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with.filter { $0 == "Debug image" }.count == 4)
    }

    @Test("bodies over the size bound are judged every time and not kept")
    func oversizeBodies() {
        let big = Self.body(image: "debug", hostNetwork: true, padding: 20_000)
        let events = (0..<4).map { Ev(verb: "create", name: "big\($0)", requestObject: big) }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with.count == 12)
        #expect(r.counters.requestBodiesRemembered == 0 && r.counters.requestBodiesKept == 0)
        #expect(r.counters.requestBodiesNotKept == 4)
        // A resource name past its bound (the log sets it) keeps its body out too.
        let long = String(repeating: "r", count: 300)
        let small = Self.body(image: "debug", hostNetwork: true)
        let named = Self.both((0..<4).map { Ev(verb: "create", resource: long, name: "n\($0)", requestObject: small) })
        #expect(named.with == named.without)
        #expect(named.counters.requestBodiesKept == 0 && named.counters.requestBodiesNotKept == 4)
    }

    @Test("random streams of a few bodies, resources and responses give the same alerts")
    func randomStreams() {
        var rng = SplitMix64(seed: 42)
        let bodies = [
            Self.body(image: "debug", hostNetwork: true), Self.body(image: "nginx", hostNetwork: true),
            Self.body(image: "debug", hostNetwork: false, name: nil), Self.body(image: "nginx", hostNetwork: false, name: nil),
            #"{"metadata":{"labels":{"a":"b"}}}"#, #"{"spec":{"template":{"spec":{"hostNetwork":true}}}}"#,
        ]
        let resources = ["pods", "deployments", "cronjobs"]
        let users = ["alice", "bob"]
        var events: [Ev] = []
        for i in 0..<400 {
            let response = #"{"spec":{"hostNetwork":\#(rng.next() % 2 == 0),"containers":[{"image":"debug"}]}}"#
            events.append(
                Ev(
                    verb: rng.next() % 3 == 0 ? "patch" : "create", resource: resources[Int(rng.next() % 3)], name: "r\(i)",
                    user: users[Int(rng.next() % 2)], requestObject: bodies[Int(rng.next() % UInt64(bodies.count))],
                    responseObject: rng.next() % 2 == 0 ? response : nil))
        }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.with.count > 100)
        #expect(r.counters.requestBodiesRemembered > 200)
    }

    @Test("bodies a letter apart, duplicate keys and escaped names: the same alerts as judged afresh")
    func nearDuplicates() {
        var rng = SplitMix64(seed: 7)
        // Duplicate keys (the last one counts), an escaped name, and a name or image that a
        // one-letter change turns into a match or out of one.
        var pool = [
            #"{"metadata":{"name":"a"},"spec":{"hostNetwork":false,"hostNetwork":true,"containers":[{"image":"debug"}]}}"#,
            #"{"metadata":{"name":"a"},"spec":{"hostNetwork":true,"hostNetwork":false,"containers":[{"image":"nginx"}]}}"#,
            #"{"metadata":{"n\u0061me":"b"},"spec":{"host\u004eetwork":true,"containers":[{"image":"debuf"}]}}"#,
            Self.body(image: "debug", hostNetwork: true), Self.body(image: "xebug", hostNetwork: false, name: "webb"),
        ]
        var events: [Ev] = []
        for i in 0..<600 {
            var body = pool[Int(rng.next() % UInt64(pool.count))]
            if rng.next() % 3 == 0 {
                // One letter of a string changed to another: still JSON, same length.
                var bytes = Array(body.utf8)
                let letters = bytes.indices.filter { bytes[$0] >= 0x61 && bytes[$0] <= 0x7A }
                let at = letters[Int(rng.next() % UInt64(letters.count))]
                bytes[at] = 0x61 + UInt8(rng.next() % 26)
                body = String(decoding: bytes, as: UTF8.self)
                if pool.count < 40 { pool.append(body) }
            }
            events.append(Ev(verb: "create", name: "n\(i)", user: rng.next() % 2 == 0 ? "alice" : "bob", requestObject: body))
        }
        let r = Self.both(events)
        #expect(r.with == r.without)
        #expect(r.counters.requestBodiesRemembered > 200)
    }

    @Test("the bundled pack on generated traffic gives the same alerts with bodies remembered")
    func generatedTraffic() {
        var log = SyntheticAuditLog(.init(seed: 5, attackInterval: 1_000))
        var bytes: [UInt8] = []
        log.generate(bytes: 6 << 20) { bytes.append(contentsOf: $0) }
        let plan = VerdictMemoTests.bundledPlan()
        let (with, counters) = VerdictMemoTests.alerts(plan, bytes, memo: true, rememberBodies: true)
        let (without, _) = VerdictMemoTests.alerts(plan, bytes, memo: true, rememberBodies: false)
        #expect(!with.isEmpty)
        #expect(with == without)
        #expect(counters.requestBodiesRemembered > 0, "controllers create pods from the same templates")
    }
}
