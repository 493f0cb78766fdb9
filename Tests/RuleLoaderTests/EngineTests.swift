import AuditJSON
import AuditModel
import DetectionEngine
import Foundation
import RuleLoader
import Testing

private let execRule = ruleYAML(
    title: "Exec into pod",
    detection: """
        selection:
          objectRef.resource: pods
          objectRef.subresource: exec
        condition: selection
        """)

private let podCreateRule = ruleYAML(
    title: "Pod created",
    detection: """
        selection:
          verb: create
          objectRef.resource: pods
        condition: selection
        """)

@Suite("Engine: judging each request once")
struct StageTests {
    @Test("RequestReceived then ResponseComplete: one alert, from the later stage")
    func requestReceivedSuperseded() {
        let p = pack([podCreateRule])
        let id = "a1"
        let (alerts, d) = run(
            p,
            [
                Ev(verb: "create", stage: "RequestReceived", auditID: id, at: 0).json,
                Ev(verb: "create", stage: "ResponseComplete", auditID: id, at: 0.2).json,
            ])
        #expect(titles(alerts) == ["Pod created"])
        #expect(alerts.first?.evidence.first?.stage == "ResponseComplete")
        #expect(d.counters.requestReceivedHeld == 1)
        #expect(d.counters.requestReceivedSuperseded == 1)
    }

    @Test("RequestReceived alone is judged after the request timeout, or at the end")
    func requestReceivedAlone() {
        let p = pack([podCreateRule])
        let atEnd = run(p, [Ev(verb: "create", stage: "RequestReceived", at: 0).json])
        #expect(atEnd.alerts.count == 1)
        #expect(atEnd.detector.counters.requestReceivedJudged == 1)

        var alerts: [Alert] = []
        let d = Detector(plan: p.plan) { alerts.append($0) }
        for text in [Ev(verb: "create", stage: "RequestReceived", at: 0).json, Ev(at: 30).json] { feed(d, text) }
        #expect(alerts.isEmpty, "still waiting for the later stage")
        feed(d, Ev(at: 70).json)  // 70 s minus 5 s lateness is past the 60 s request timeout
        #expect(alerts.count == 1)
    }

    @Test("exec: judged at ResponseStarted, its ResponseComplete is not judged again")
    func longRunning() {
        let p = pack([execRule])
        let id = "e1"
        let (alerts, d) = run(
            p,
            [
                Ev(verb: "create", subresource: "exec", stage: "RequestReceived", auditID: id, at: 0).json,
                Ev(verb: "create", subresource: "exec", stage: "ResponseStarted", auditID: id, at: 0.1).json,
                Ev(verb: "create", subresource: "exec", stage: "ResponseComplete", auditID: id, at: 40).json,
            ])
        #expect(alerts.count == 1)
        #expect(alerts.first?.evidence.first?.stage == "ResponseStarted")
        #expect(d.counters.laterStagesSkipped == 1)
    }

    /// Watches and proxies are long-running by their verb, however it is spelled: each
    /// request below is judged once, at ResponseStarted, and its completion skipped; a verb of
    /// five letters that is neither (patch), and longer ones plain or escaped (update,
    /// `w\u0061tchx`), complete as ordinary requests.
    @Test("watch and proxy, plain or escaped, are judged at ResponseStarted only")
    func longRunningVerbs() {
        let rule = ruleYAML(title: "Any Pod Request", detection: "sel:\n  objectRef.resource: pods\ncondition: sel")
        let p = pack([rule])
        let verbs = ["watch", "proxy", #"w\u0061tch"#, #"pr\u006fxy"#, "patch", "update", #"w\u0061tchx"#]
        var lines: [String] = []
        for (i, verb) in verbs.enumerated() {
            let started = Ev(verb: "VERB", stage: "ResponseStarted", auditID: "r\(i)", at: Double(i))
            let done = Ev(verb: "VERB", stage: "ResponseComplete", auditID: "r\(i)", at: Double(i) + 0.5)
            lines += [started.json, done.json].map { $0.replacingOccurrences(of: "\"VERB\"", with: "\"\(verb)\"") }
        }
        let (alerts, d) = run(p, lines)
        #expect(d.counters.laterStagesSkipped == 4, "the four spellings of watch and proxy")
        // Long-running: one alert each (at ResponseStarted); the others: one per stage.
        #expect(alerts.count == 4 + 3 * 2)
    }

    @Test("exec logged only at ResponseComplete (policy omits ResponseStarted) is judged there")
    func longRunningWithoutStarted() {
        let p = pack([execRule])
        let (alerts, _) = run(p, [Ev(verb: "create", subresource: "exec", stage: "ResponseComplete", at: 1).json])
        #expect(alerts.count == 1)
    }

    @Test("a rule that names stage sees every stage it asks for")
    func namesStage() {
        let rule = ruleYAML(
            title: "Any stage",
            detection: """
                selection:
                  verb: create
                  stage: [RequestReceived, ResponseComplete]
                condition: selection
                """)
        let p = pack([rule])
        let (alerts, _) = run(
            p,
            [
                Ev(verb: "create", stage: "RequestReceived", auditID: "s1", at: 0).json,
                Ev(verb: "create", stage: "ResponseComplete", auditID: "s1", at: 0.1).json,
            ])
        #expect(alerts.map { $0.evidence[0].stage } == ["RequestReceived", "ResponseComplete"])
    }
}

/// A rule whose tests read the user name, the verb and the status code, so the verdict memo's
/// class keys hold all three and the event's fingerprint folds in the keys' hashes
/// (`EventIdentity.fingerprint(_:stageTime:identityHash:shapeHash:)`); `podCreateRule` reads
/// no user name, and its events are fingerprinted value by value.
private let podCreateByUserRule = ruleYAML(
    title: "Pod created",
    detection: """
        selection:
          verb: create
          objectRef.resource: pods
          responseStatus.code|lt: 400
        filter:
          user.username|startswith: 'system:'
        condition: selection and not filter
        """)

@Suite("Engine: duplicates (fingerprinted value by value, and through the memo's class keys)")
struct DuplicateTests {
    static let packs = [podCreateRule, podCreateByUserRule]

    @Test("the same event delivered twice is judged once", arguments: packs)
    func duplicate(rule: String) {
        let p = pack([rule])
        let e = Ev(verb: "create", at: 1).json
        let (alerts, d) = run(p, [e, Ev(at: 2).json, e])
        #expect(alerts.count == 1)
        #expect(d.counters.duplicates == 1)
    }

    @Test("re-serialized with other whitespace, it is still the same event", arguments: packs)
    func duplicateReformatted(rule: String) {
        let p = pack([rule])
        let e = Ev(verb: "create", at: 1).json
        let spaced = e.replacingOccurrences(of: ",\"", with: ", \"")
        let (alerts, d) = run(p, [e, spaced])
        #expect(alerts.count == 1)
        #expect(d.counters.duplicates == 1)
    }

    @Test("two different events with one audit ID and stage: both judged, and a finding", arguments: packs)
    func reuse(rule: String) {
        let p = pack([rule])
        let (alerts, d) = run(
            p,
            [
                Ev(verb: "create", name: "a", user: "alice", auditID: "same", at: 1).json,
                Ev(verb: "create", name: "b", user: "mallory", auditID: "same", at: 2).json,
            ])
        #expect(titles(alerts) == ["Pod created", Detector.auditIDReuseRule.title, "Pod created"])
        #expect(alerts[1].actor.user == "mallory")
        #expect(d.counters.auditIDReuses == 1)
    }

    /// Same times, same audit ID and stage: only the user name, the verb or the status code
    /// differs (each a value the fingerprint takes, by its hash or through a class key's).
    @Test("one value apart at the same instant: another event under the same audit ID", arguments: packs)
    func reuseBySingleValue(rule: String) {
        let p = pack([rule])
        let base = Ev(verb: "create", user: "alice", auditID: "same", at: 1)
        var otherUser = base
        otherUser.user = "mallory"
        var otherVerb = base
        otherVerb.verb = "update"
        var otherCode = base
        otherCode.code = 201
        for other in [otherUser, otherVerb, otherCode] {
            let (_, d) = run(p, [base.json, other.json, other.json])
            #expect(d.counters.auditIDReuses == 1)
            #expect(d.counters.duplicates == 1, "the other event again is a second delivery of it")
        }
    }

    /// The fingerprint takes the stage time as the judge read it, to the microsecond: one
    /// microsecond apart, the same request under one audit ID is another event.
    @Test("one microsecond apart in stageTimestamp: another event under the same audit ID", arguments: packs)
    func reuseByStageTime(rule: String) {
        let p = pack([rule])
        let e = Ev(verb: "create", auditID: "same", at: 1).json
        let later = e.replacingOccurrences(of: "\"stageTimestamp\":\"2026-11-02T10:00:01.000000Z\"", with: "\"stageTimestamp\":\"2026-11-02T10:00:01.000001Z\"")
        #expect(later != e, "the test changes the stage time")
        let (alerts, d) = run(p, [e, later, later])
        #expect(titles(alerts) == ["Pod created", Detector.auditIDReuseRule.title, "Pod created"])
        #expect(d.counters.auditIDReuses == 1)
        #expect(d.counters.duplicates == 1, "the later event again is a second delivery of it")
    }

    @Test("identities are forgotten after the duplicate window", arguments: packs)
    func window(rule: String) {
        let p = pack([rule])
        var options = DetectorOptions()
        options.duplicateWindow = 10_000_000
        let e = Ev(verb: "create", at: 1).json
        let (alerts, _) = run(p, [e, Ev(at: 100).json, e], options: options)
        #expect(alerts.count == 2)
    }
}

@Suite("Engine: per-element rules, filters, fieldref, expand")
struct RuleFeatureTests {
    static let privilegedNotAllowed = privilegedNotAllowed(title: "Privileged container from an unknown registry")

    static func privilegedNotAllowed(title: String) -> String {
        ruleYAML(
            title: title,
            detection: """
                writes:
                  verb: [create, update, patch]
                privileged:
                  container.privileged: true
                allowed:
                  container.image|startswith: 'registry.k8s.io/'
                condition: writes and privileged and not allowed
                """)
    }

    static func pod(_ containers: [(image: String, privileged: Bool)], template: Bool = false) -> String {
        let list = containers.map {
            "{\"name\":\"c\",\"image\":\"\($0.image)\",\"securityContext\":{\"privileged\":\($0.privileged)}}"
        }.joined(separator: ",")
        let spec = "{\"containers\":[\(list)]}"
        if template {
            return "{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"spec\":\(spec)}}}"
        }
        return "{\"kind\":\"Pod\",\"spec\":\(spec)}"
    }

    @Test("the same container must be privileged and not allow-listed")
    func sameContainer() {
        let p = pack([Self.privilegedNotAllowed])
        let split = Ev(verb: "create", requestObject: Self.pod([("registry.k8s.io/kube-proxy:v1", true), ("evil/miner", false)]))
        let bad = Ev(verb: "create", requestObject: Self.pod([("registry.k8s.io/pause", false), ("evil/miner", true)]))
        let deployment = Ev(
            verb: "create", resource: "deployments",
            requestObject: Self.pod([("evil/miner", true)], template: true))
        #expect(run(p, [split.json]).alerts.isEmpty, "two different containers")
        #expect(run(p, [bad.json]).alerts.count == 1)
        #expect(run(p, [deployment.json]).alerts.count == 1, "workload templates too")
        #expect(run(p, [Ev(verb: "create").json]).alerts.isEmpty, "no pod spec: no container is privileged")
    }

    @Test("a line several rules share is judged afresh for each event and each container")
    func sharedLines() {
        // The same lines in two rules are one test (FieldTestCache), whose result a judge
        // keeps for the event: never for the next event, never across containers.
        let twin = Self.privilegedNotAllowed(title: "Twin")
        let hostNetwork = { (title: String) in
            ruleYAML(
                title: title,
                detection: """
                    selection:
                      verb: create
                      requestObject.spec.hostNetwork: true
                    condition: selection
                    """)
        }
        let p = pack([Self.privilegedNotAllowed, twin, hostNetwork("Host network A"), hostNetwork("Host network B")])
        let split = Ev(verb: "create", requestObject: Self.pod([("registry.k8s.io/kube-proxy:v1", true), ("evil/miner", false)]))
        let bad = Ev(verb: "create", requestObject: Self.pod([("registry.k8s.io/pause", false), ("evil/miner", true)]))
        let host = Ev(verb: "create", requestObject: #"{"kind":"Pod","spec":{"hostNetwork":true,"containers":[]}}"#)
        let notHost = Ev(verb: "create", requestObject: #"{"kind":"Pod","spec":{"hostNetwork":false,"containers":[]}}"#)
        var again = host
        again.auditID = UUID().uuidString.lowercased()
        var splitAgain = split
        splitAgain.auditID = UUID().uuidString.lowercased()
        let alerts = run(p, [split.json, bad.json, splitAgain.json, host.json, notHost.json, again.json]).alerts
        #expect(
            titles(alerts) == [
                "Privileged container from an unknown registry", "Twin", "Host network A", "Host network B",
                "Host network A", "Host network B",
            ])
        #expect(alerts.map { $0.evidence.first?.auditID } == [bad, bad, host, host, again, again].map { $0.auditID }.map(Optional.some))
    }

    @Test("container and volume fields in one rule are refused")
    func oneScope() {
        let bad = ruleYAML(
            detection: """
                a:
                  container.privileged: true
                  volume.hostPath.path: /
                condition: a
                """)
        let p = RulePack(set: RuleSet(sources: [(file: "x.yml", yaml: bad)]))
        #expect(p.errors.contains { $0.code == .badSelection })
    }

    @Test("a filter document suppresses the rules it names when its condition holds (the spec's example)")
    func filters() {
        let id = "5b0a1c8e-54f2-4b55-9c8d-3f2f0d1f6a01"
        let filter = """
            title: CI may create pods in ci
            id: 0b9e6a36-3f0f-4a64-8f64-2b7d3c1a5a11
            logsource:
              product: kubernetes
              service: audit
            filter:
              rules:
                - \(id)
              ci:
                objectRef.namespace: ci
                user.username|startswith: 'system:serviceaccount:ci:'
              condition: ci
            """
        let p = pack([ruleYAML(id: id, title: "Pod created", detection: "selection:\n  verb: create\n  objectRef.resource: pods\ncondition: selection"), filter])
        let (alerts, d) = run(
            p,
            [
                Ev(verb: "create", namespace: "ci", user: "system:serviceaccount:ci:runner").json,
                Ev(verb: "create", namespace: "prod", user: "system:serviceaccount:ci:runner").json,
            ])
        #expect(alerts.map { $0.object.namespace } == ["prod"])
        #expect(d.counters.filtered == 1)
    }

    @Test("fieldref compares two fields of one event")
    func fieldref() {
        let rule = ruleYAML(
            title: "Self-named",
            detection: """
                selection:
                  requestObject.metadata.name|fieldref: objectRef.name
                condition: selection
                """)
        let p = pack([rule])
        let same = Ev(verb: "create", name: "web-1", requestObject: "{\"metadata\":{\"name\":\"WEB-1\"}}")
        let other = Ev(verb: "create", name: "web-1", requestObject: "{\"metadata\":{\"name\":\"web-2\"}}")
        #expect(run(p, [same.json]).alerts.count == 1, "case-insensitive, like every Sigma comparison")
        #expect(run(p, [other.json]).alerts.isEmpty)
    }

    @Test("expand fills placeholders from value lists")
    func expand() {
        let rule = ruleYAML(
            title: "Not an admin",
            detection: """
                selection:
                  verb: delete
                admins:
                  user.username|expand: '%admins%'
                condition: selection and not admins
                """)
        let lists = ValueLists(lists: ["admins": ["alice", "ops-*"]])
        let p = pack([rule], lists: lists)
        let (alerts, _) = run(
            p, [Ev(verb: "delete", user: "alice").json, Ev(verb: "delete", user: "ops-7").json, Ev(verb: "delete", user: "eve").json])
        #expect(alerts.map { $0.actor.user } == ["eve"])

        let missing = RulePack(set: RuleSet(sources: [(file: "x.yml", yaml: rule)]))
        #expect(missing.errors.contains { $0.message.contains("no value list `admins`") })
    }

    @Test("an empty value list matches nothing: a filter on it drops nothing, a selection on it never holds")
    func emptyList() {
        let rule = ruleYAML(
            title: "Not an exempt identity",
            detection: """
                selection:
                  verb: delete
                exempt:
                  user.username|expand: '%exempt%'
                condition: selection and not exempt
                """)
        let p = pack([rule], lists: ValueLists(lists: ["exempt": []]))
        let events = [Ev(verb: "delete", user: "alice").json, Ev(verb: "delete", user: "eve").json]
        #expect(run(p, events).alerts.map { $0.actor.user } == ["alice", "eve"])

        let positive = ruleYAML(
            title: "An exempt identity deletes",
            detection: """
                selection:
                  - verb: delete
                    user.username|expand: '%exempt%'
                  - verb: delete
                    user.username: eve
                condition: selection
                """)
        let q = pack([positive], lists: ValueLists(lists: ["exempt": []]))
        #expect(run(q, events).alerts.map { $0.actor.user } == ["eve"], "only the map without the empty list can match")

        let all = ruleYAML(
            detection: """
                selection:
                  user.username|expand|all: '%exempt%'
                condition: selection
                """)
        let refused = RulePack(set: RuleSet(sources: [(file: "x.yml", yaml: all)]), lists: ValueLists(lists: ["exempt": []]))
        #expect(refused.errors.contains { $0.message.contains("empty value list") })
    }

    @Test("value list files: comments, blanks and whitespace")
    func listFiles() {
        #expect(ValueLists.parse("# allow-list\nalice\n\n  bob  \r\n#x\ncarol") == ["alice", "bob", "carol"])
        let lists = ValueLists(lists: ["a": ["1", "2"], "b": ["x"]])
        guard case .success(let v) = lists.expand("%a%-%b%") else {
            Issue.record("expand failed")
            return
        }
        #expect(v == ["1-x", "2-x"])
    }
}

@Suite("Engine: index and alerts")
struct IndexAlertTests {
    @Test("rules are indexed by verb, resource and subresource")
    func index() {
        let p = pack([podCreateRule, execRule])
        let index = RuleIndex(p.plan.rules.map(\.compiled))
        #expect(index.candidates(verb: "create", resource: "pods") == [0])
        #expect(index.candidates(verb: "create", resource: "pods", subresource: "exec") == [0, 1])
        #expect(index.candidates(verb: "get", resource: "pods", subresource: "exec") == [1])
        #expect(index.candidates(verb: "get", resource: "pods") == [])
        #expect(index.candidates(verb: "list", resource: "secrets") == [])
        #expect(index.candidates(verb: "CREATE", resource: "Pods", subresource: "EXEC") == [0, 1])
    }

    @Test("an alert carries the rule, actor, object and the raw event")
    func alertJSON() throws {
        let p = pack([podCreateRule])
        let e = Ev(verb: "create", namespace: "prod", name: "x", user: "bob", sourceIPs: ["1.2.3.4", "10.0.0.7"], at: 5)
        let (alerts, _) = run(p, [e.json])
        let alert = try #require(alerts.first)
        #expect(alert.actor.sourceIP == "10.0.0.7", "the last address is the one the client cannot forge")
        #expect(alert.rule.threatMatrix == ["MS-TA9006"])
        #expect(alert.rule.attack == ["execution", "t1609"])
        #expect(alert.rule.level == .high)
        #expect(alert.object.namespace == "prod" && alert.object.name == "x" && alert.object.resource == "pods")
        #expect(alert.evidence.count == 1 && alert.evidenceTotal == 1 && alert.count == 1)
        #expect(String(decoding: alert.evidence[0].raw, as: UTF8.self) == e.json)
        #expect(RFC3339.format(microseconds: alert.time) == "2026-11-02T10:00:05Z" || alert.time == 1_793_613_605_000_000)
    }
}

/// Feeds one event (JSON text) to a detector.
func feed(_ d: Detector, _ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBufferPointer { buf in
        var event = AuditEvent()
        guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else { return }
        d.process(event)
    }
}

@Suite("Engine: derived identity fields")
struct IdentityFieldTests {
    @Test("user.serviceaccount.namespace and .name split a service account's username")
    func serviceAccount() {
        let rule = ruleYAML(
            title: "SA in ci",
            detection: """
                selection:
                  user.serviceaccount.namespace: ci
                  user.serviceaccount.name: builder
                condition: selection
                """)
        let p = pack([rule])
        #expect(run(p, [Ev(user: "system:serviceaccount:ci:builder").json]).alerts.count == 1)
        #expect(run(p, [Ev(user: "system:serviceaccount:ci:other").json]).alerts.isEmpty)
        #expect(run(p, [Ev(user: "builder").json]).alerts.isEmpty)
        #expect(run(p, [Ev(user: "system:serviceaccount:ci").json]).alerts.isEmpty)
    }
}

@Suite("Engine: keys with dots")
struct DottedKeyTests {
    @Test("escaped dots reach annotation keys inside bodies; user.extra keys are whole")
    func dottedKeys() {
        let rule = ruleYAML(
            title: "IRSA role set",
            detection: """
                selection:
                  requestObject.metadata.annotations.eks\\.amazonaws\\.com/role-arn|exists: true
                condition: selection
                """)
        let p = pack([rule])
        let body = "{\"metadata\":{\"annotations\":{\"eks.amazonaws.com/role-arn\":\"arn:aws:iam::1:role/x\"}}}"
        #expect(run(p, [Ev(verb: "patch", resource: "serviceaccounts", requestObject: body).json]).alerts.count == 1)
        #expect(run(p, [Ev(verb: "patch", resource: "serviceaccounts", requestObject: "{\"metadata\":{}}").json]).alerts.isEmpty)

        let extra = FieldCatalogue.standard.resolve("user.extra.authentication.kubernetes.io/pod-name")
        guard case .path(let path)? = extra?.source else {
            Issue.record("user.extra keys resolve to a path")
            return
        }
        #expect(path.segments.count == 3)
    }
}

@Suite("Engine: all over multi-valued fields")
struct AllAcrossValuesTests {
    @Test("`all` is satisfied across the elements of a list field")
    func groups() {
        let rule = ruleYAML(
            title: "Both groups",
            detection: """
                selection:
                  user.groups|all: [system:masters, 'team-*']
                condition: selection
                """)
        let p = pack([rule])
        #expect(run(p, [Ev(groups: ["system:masters", "team-a"]).json]).alerts.count == 1)
        #expect(run(p, [Ev(groups: ["system:masters", "other"]).json]).alerts.isEmpty)
        #expect(run(p, [Ev(groups: []).json]).alerts.isEmpty)
    }

    @Test("exec argv: contains|all across elements, a single string as before")
    func argv() {
        let rule = ruleYAML(
            title: "curl to http",
            detection: """
                selection:
                  exec.command|contains|all: [curl, 'http://']
                condition: selection
                """)
        let p = pack([rule])
        let uri = "/api/v1/namespaces/default/pods/web-1/exec?command=curl&command=-s&command=http%3A%2F%2Fevil&container=app&stdout=true"
        let other = "/api/v1/namespaces/default/pods/web-1/exec?command=wget&command=http%3A%2F%2Fevil&container=app&stdout=true"
        #expect(run(p, [Ev(verb: "create", subresource: "exec", requestURI: uri).json]).alerts.count == 1)
        #expect(run(p, [Ev(verb: "create", subresource: "exec", requestURI: other).json]).alerts.isEmpty)
    }
}
