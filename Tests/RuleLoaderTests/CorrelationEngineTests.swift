import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// A correlation document's YAML.
func correlationYAML(
    name: String, type: String, rules: [String], groupBy: [String], timespan: String, condition: String? = nil,
    aliases: String? = nil, generate: Bool? = nil, level: String = "high"
) -> String {
    var y = """
        title: Correlation \(name)
        id: \(UUID().uuidString.lowercased())
        name: \(name)
        status: test
        level: \(level)
        correlation:
          type: \(type)
          rules:
        \(rules.map { "    - \($0)" }.joined(separator: "\n"))
          group-by:
        \(groupBy.map { "    - \($0)" }.joined(separator: "\n"))
          timespan: \(timespan)

        """
    if let condition { y += "  condition:\n" + condition.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n" }
    if let aliases { y += "  aliases:\n" + aliases.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n" }
    if let generate { y += "  generate: \(generate)\n" }
    return y
}

private let secretGet = ruleYAML(
    name: "secret_get", title: "Secret read",
    detection: """
        selection:
          verb: get
          objectRef.resource: secrets
        condition: selection
        """)

private let forbidden = ruleYAML(
    name: "forbidden", title: "Forbidden request",
    detection: """
        selection:
          responseStatus.code: 403
        condition: selection
        """)

private let secretReadOK = ruleYAML(
    name: "secret_read_ok", title: "Secret read allowed",
    detection: """
        selection:
          verb: get
          objectRef.resource: secrets
          responseStatus.code: 200
        condition: selection
        """)

private let bindingToSA = ruleYAML(
    name: "binding_to_sa", title: "Binding to a service account",
    detection: """
        selection:
          verb: create
          objectRef.resource: [rolebindings, clusterrolebindings]
          requestObject.subjects.kind: ServiceAccount
        condition: selection
        """)

private let tokenRequest = ruleYAML(
    name: "token_request", title: "Token requested",
    detection: """
        selection:
          verb: create
          objectRef.resource: serviceaccounts
          objectRef.subresource: token
        condition: selection
        """)

private func secret(_ user: String, _ name: String, at: Double, code: Int = 200) -> String {
    Ev(verb: "get", resource: "secrets", name: name, user: user, at: at, code: code).json
}

/// "denied_then_allowed": a user refused, then allowed to read a secret, within a minute.
private func deniedThenAllowedPack() -> RulePack {
    pack([
        forbidden, secretReadOK,
        correlationYAML(
            name: "denied_then_allowed", type: "temporal_ordered", rules: ["forbidden", "secret_read_ok"],
            groupBy: ["user.username"], timespan: "1m"),
    ])
}

/// "probe_then_success": three refusals of a user within a minute (the inner correlation
/// "denials"), then a secret read allowed to that user within five minutes.
private func probeThenSuccessPack() -> RulePack {
    let burst = correlationYAML(
        name: "denials", type: "event_count", rules: ["forbidden"], groupBy: ["user.username"], timespan: "1m",
        condition: "gte: 3")
    let chain = correlationYAML(
        name: "probe_then_success", type: "temporal_ordered", rules: ["denials", "secret_read_ok"],
        groupBy: ["user.username"], timespan: "5m")
    return pack([forbidden, secretReadOK, burst, chain])
}

/// Reads of `secrets` secrets by five users about a second apart over an hour, a quarter
/// refused, one in six a burst of three in 20 ms (in order: a burst ends before the next read);
/// then an event an hour later. `disorder`: reads swapped with one up to 4 s later (within
/// the lateness). `lateReads`: every 300th read replaced by one 90 s older than its place.
private func randomReads(seed: UInt64, secrets: UInt64, disorder: Bool, lateReads: Bool = false) -> [String] {
    var rng = SplitMix64(seed: seed)
    var timed: [(at: Double, json: String)] = []
    var at = 0.0
    for _ in 0..<1_500 {
        at += Double(rng.next() % 2_000) / 1_000
        let user = "user-\(rng.next() % 5)"
        let refused = rng.next() % 4 == 0
        let burst = rng.next() % 6 == 0 ? 3 : 1
        for k in 0..<burst {
            let t = at + Double(k) * 0.01
            timed.append((t, secret(user, "s\(rng.next() % secrets)", at: t, code: refused ? 403 : 200)))
        }
        at += Double(burst - 1) * 0.01
    }
    if disorder {
        for i in timed.indices where rng.next() % 6 == 0 {
            let j = min(timed.count - 1, i + Int(rng.next() % 4))
            if timed[j].at - timed[i].at < 4 { timed.swapAt(i, j) }
        }
    }
    if lateReads {
        for i in stride(from: 200, to: timed.count, by: 300) { timed[i] = (timed[i].at, secret("user-0", "late", at: timed[i].at - 90)) }
    }
    return timed.map(\.json) + [Ev(at: at + 3_600).json]
}

/// Secret reads counted three ways: per user (event_count, 12 in 20 s), distinct names per user
/// (value_count, 5 in 30 s), both firing early, and names read fewer than twice in 10 s
/// (judged at the window's end).
private func countingPack() -> RulePack {
    pack([
        secretGet,
        correlationYAML(
            name: "reads", type: "event_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "20s",
            condition: "gte: 12"),
        correlationYAML(
            name: "distinct", type: "value_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "30s",
            condition: "gte: 5\nfield: objectRef.name"),
        correlationYAML(
            name: "few", type: "event_count", rules: ["secret_get"], groupBy: ["objectRef.name"], timespan: "10s",
            condition: "lt: 2"),
    ])
}

/// `p` run over `events` with one option changed from the defaults (`off`), then with the
/// defaults: what each run raised, and its detector.
private func runOffAndOn(
    _ p: RulePack, _ events: [String], off: (inout DetectorOptions) -> Void
) -> (off: (alerts: [Alert], detector: Detector), on: (alerts: [Alert], detector: Detector)) {
    var options = DetectorOptions()
    off(&options)
    return (run(p, events, options: options), run(p, events))
}

/// The same alerts in the same order (some at least): rule, times, count, totals and group,
/// and, with `evidence`, the same events as evidence.
private func expectSameAlerts(_ alerts: [Alert], _ expected: [Alert], evidence: Bool) {
    #expect(alerts.count == expected.count)
    #expect(!alerts.isEmpty)
    for (a, b) in zip(alerts, expected) {
        #expect(a.rule.title == b.rule.title && a.time == b.time && a.firstTime == b.firstTime)
        #expect(a.count == b.count && a.evidenceTotal == b.evidenceTotal)
        #expect(a.group.map(\.value) == b.group.map(\.value))
        if evidence { #expect(a.evidence.map(\.raw) == b.evidence.map(\.raw)) }
    }
}

/// Alerts a detector raised, collected by its sink.
private final class AlertLog {
    var alerts: [Alert] = []
}

/// Secret reads counted per user within a minute, under `condition`.
private func secretReadsPack(name: String, condition: String) -> RulePack {
    pack([
        secretGet,
        correlationYAML(
            name: name, type: "event_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1m",
            condition: condition),
    ])
}

/// A detector running "few": fewer than three secret reads by one user within a minute,
/// judged when the window closes in event time.
private func fewReadsDetector() -> (Detector, AlertLog) {
    let log = AlertLog()
    return (Detector(plan: secretReadsPack(name: "few", condition: "lt: 3").plan) { log.alerts.append($0) }, log)
}

@Suite("Engine: correlations")
struct CorrelationEngineTests {
    @Test("event_count: three reads by one user within a minute; spread out, nothing")
    func eventCount() throws {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "burst", type: "event_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1m",
                condition: "gte: 3"),
        ])
        let events = [
            secret("alice", "a", at: 0), secret("bob", "a", at: 1), secret("alice", "b", at: 20),
            secret("alice", "c", at: 40), secret("bob", "b", at: 90), secret("bob", "c", at: 200),
        ]
        let (alerts, _) = run(p, events)
        #expect(titles(alerts) == ["Correlation burst"], "the base rule does not alert on its own (generate: false)")
        let alert = try #require(alerts.first)
        #expect(alert.group.map(\.field) == ["user.username"] && alert.group.first?.value == "alice")
        #expect(alert.count == 3 && alert.evidence.count == 3 && alert.evidenceTotal == 3)
        #expect(alert.rule.kind == .correlation)
        #expect(alert.actor.user == "alice")
        #expect(alert.time - alert.firstTime == 40_000_000)
    }

    @Test("generate: true keeps the base rule's own alerts")
    func generate() {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "burst", type: "event_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1m",
                condition: "gte: 2", generate: true),
        ])
        let (alerts, _) = run(p, [secret("alice", "a", at: 0), secret("alice", "b", at: 1)])
        #expect(titles(alerts) == ["Secret read", "Secret read", "Correlation burst"])
    }

    @Test("value_count: distinct secret names, repeats not counted")
    func valueCount() {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "many", type: "value_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "5m",
                condition: "gte: 3\nfield: objectRef.name"),
        ])
        let repeats = [secret("alice", "a", at: 0), secret("alice", "a", at: 1), secret("alice", "b", at: 2), secret("alice", "b", at: 3)]
        #expect(run(p, repeats).alerts.isEmpty)
        let (alerts, _) = run(p, repeats + [secret("alice", "c", at: 4)])
        #expect(alerts.count == 1)
        #expect(alerts.first?.count == 3)
    }

    @Test("temporal_ordered with aliases: a binding to a service account, then a token for it")
    func orderedWithAliases() throws {
        let correlation = correlationYAML(
            name: "bound_then_token", type: "temporal_ordered", rules: ["binding_to_sa", "token_request"],
            groupBy: ["account"], timespan: "10m",
            aliases: "account:\n  binding_to_sa: requestObject.subjects.name\n  token_request: objectRef.name")
        let p = pack([bindingToSA, tokenRequest, correlation])
        let binding = Ev(
            verb: "create", resource: "rolebindings", name: "rb", user: "mallory", at: 0,
            requestObject: "{\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"builder\",\"namespace\":\"ci\"}]}").json
        let token = Ev(verb: "create", resource: "serviceaccounts", subresource: "token", name: "builder", user: "mallory", at: 120).json
        let otherToken = Ev(verb: "create", resource: "serviceaccounts", subresource: "token", name: "deployer", at: 130).json
        let (alerts, _) = run(p, [binding, otherToken, token])
        #expect(alerts.count == 1)
        #expect(alerts.first?.group.first?.field == "account" && alerts.first?.group.first?.value == "builder")
        #expect(alerts.first?.evidence.count == 2)
        let earlyToken = Ev(verb: "create", resource: "serviceaccounts", subresource: "token", name: "builder", at: 0).json
        let laterBinding = Ev(
            verb: "create", resource: "rolebindings", name: "rb", at: 60,
            requestObject: "{\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"builder\"}]}").json
        #expect(run(p, [earlyToken, laterBinding]).alerts.isEmpty, "the token came first: wrong order")
        let late = Ev(verb: "create", resource: "serviceaccounts", subresource: "token", name: "builder", at: 700).json
        #expect(run(p, [binding, late]).alerts.isEmpty, "beyond the timespan")
    }

    @Test("temporal: both rules in any order")
    func temporal() {
        let p = pack([
            bindingToSA, tokenRequest,
            correlationYAML(
                name: "both", type: "temporal", rules: ["binding_to_sa", "token_request"], groupBy: ["user.username"],
                timespan: "10m"),
        ])
        let binding = Ev(
            verb: "create", resource: "rolebindings", user: "mallory", at: 60,
            requestObject: "{\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"x\"}]}").json
        let token = Ev(verb: "create", resource: "serviceaccounts", subresource: "token", user: "mallory", at: 0).json
        #expect(run(p, [token, binding]).alerts.count == 1)
        #expect(run(p, [token]).alerts.isEmpty)
    }

    @Test("events out of order within the lateness correlate in event-time order")
    func outOfOrder() {
        let p = deniedThenAllowedPack()
        // The success (t=3) arrives before the denial (t=1) it follows in event time.
        let events = [secret("eve", "s", at: 3), secret("eve", "s", at: 1, code: 403), Ev(at: 20).json]
        #expect(run(p, events).alerts.count == 1)
        var strict = DetectorOptions()
        strict.lateness = 0
        #expect(run(p, events, options: strict).alerts.isEmpty, "with no lateness the denial is applied after the success")
    }

    @Test("a later step held until its input is applied keeps its event exactly, across many held events")
    func heldLaterSteps() throws {
        let p = deniedThenAllowedPack()
        // Each user's success arrives before the denial it follows in event time (held in the
        // ring meanwhile); every third user has no denial (the success is dropped). Large
        // request bodies make the ring grow and wrap.
        var events: [String] = []
        var successes: [String: String] = [:]
        var denials: [String: String] = [:]
        for i in 0..<300 {
            let user = "user-\(i)"
            let body = "{\"pad\":\"" + String(repeating: "x", count: (i * 977) % 20_000) + "\"}"
            var success = Ev(verb: "get", resource: "secrets", name: "s", user: user, at: Double(i) * 0.1 + 2, code: 200)
            success.requestObject = body
            events.append(success.json)
            if i % 3 != 0 {
                let denial = Ev(verb: "get", resource: "secrets", name: "s", user: user, at: Double(i) * 0.1 + 1, code: 403).json
                events.append(denial)
                denials[user] = denial
                successes[user] = success.json
            }
        }
        events.append(Ev(at: 200).json)
        let (alerts, detector) = run(p, events)
        #expect(alerts.count == 200)
        for alert in alerts {
            let user = try #require(alert.group.first?.value ?? nil)
            #expect(alert.evidence.map { String(decoding: $0.raw, as: UTF8.self) } == [denials[user], successes[user]])
        }
        #expect(detector.correlationCounters.first?.inputs == 500)

        // A queue bound smaller than one event: held inputs are applied early (counted), and
        // whatever still fires carries its events exactly.
        var tight = DetectorOptions()
        tight.maxQueuedBytes = 1024
        let (early, small) = run(p, events, options: tight)
        #expect(small.counters.latenessQueueOverflows > 0)
        for alert in early {
            let user = try #require(alert.group.first?.value ?? nil)
            #expect(alert.evidence.map { String(decoding: $0.raw, as: UTF8.self) } == [denials[user], successes[user]])
        }
    }

    @Test("later steps no sequence can be waiting for are set aside: the same alerts, evidence and input counts")
    func setAsideSteps() throws {
        let p = deniedThenAllowedPack()
        // In order throughout. Setting aside starts twice the lateness (10 s) after the first
        // input; from then on the successes of users never refused are set aside, and each
        // refused user's success (its denial queued, then applied) is applied as an input.
        var events: [String] = []
        var expected: [String: [String]] = [:]
        for i in 0..<60 {
            let at = Double(i)
            events.append(secret("quiet-\(i)", "s", at: at))
            if i % 10 == 5 {
                let denial = secret("eve-\(i)", "s", at: at + 0.2, code: 403)
                let success = secret("eve-\(i)", "s", at: at + 0.4)
                events += [denial, success]
                expected["eve-\(i)"] = [denial, success]
            }
        }
        events.append(Ev(at: 200).json)
        let (alerts, detector) = run(p, events)
        #expect(alerts.count == 6)
        for alert in alerts {
            let user = try #require(alert.group.first?.value ?? nil)
            #expect(alert.evidence.map { String(decoding: $0.raw, as: UTF8.self) } == expected[user])
            #expect(alert.evidenceTotal == 2)
        }
        #expect(detector.counters.sequenceStepsSetAside >= 49, "the quiet successes from 10 s on")
        #expect(detector.counters.sequenceStepsSetAside <= 50)
        #expect(detector.counters.setAsideStepsWithoutEvidence == 0)
        #expect(detector.correlationCounters.first?.inputs == 72, "every success and denial is counted")
    }

    @Test("a first step out of order after a stretch in order: the step set aside counts, without its evidence, and setting aside stops")
    func setAsideThenOutOfOrder() throws {
        let p = deniedThenAllowedPack()
        var events = (0..<30).map { secret("quiet-\($0)", "s", at: Double($0)) }
        // eve's success is set aside; her denial, earlier in event time, arrives after it.
        let eveSuccess = secret("eve", "s", at: 30)
        let eveDenial = secret("eve", "s", at: 29.5, code: 403)
        // The same shape again at once: setting aside is suspended, so nothing is lost.
        let malSuccess = secret("mallory", "s", at: 31)
        let malDenial = secret("mallory", "s", at: 30.5, code: 403)
        events += [eveSuccess, eveDenial, malSuccess, malDenial, Ev(at: 200).json]
        let (alerts, detector) = run(p, events)
        #expect(alerts.count == 2)
        let eve = try #require(alerts.first { $0.group.first?.value == "eve" })
        #expect(eve.evidence.map { String(decoding: $0.raw, as: UTF8.self) } == [eveDenial])
        #expect(eve.evidenceTotal == 2, "the success still counts")
        let mallory = try #require(alerts.first { $0.group.first?.value == "mallory" })
        #expect(mallory.evidence.map { String(decoding: $0.raw, as: UTF8.self) } == [malDenial, malSuccess])
        #expect(detector.counters.setAsideStepsWithoutEvidence == 1)
    }

    @Test("a chained first step: a later step waits as an input while the inner correlation has a group or a queued input for its key")
    func setAsideWithChainedFirstStep() throws {
        let p = probeThenSuccessPack()
        // Setting aside starts at 10 s. eve's denials are still queued when her success is
        // matched (within the lateness), bob has one denial applied long before (the inner
        // correlation's group), carol none at all: only carol's success is set aside.
        var events = [secret("carol", "warm-up", at: 0), secret("bob", "x", at: 20, code: 403)]
        events += (0..<3).map { secret("eve", "s\($0)", at: 40 + Double($0), code: 403) }
        events += [secret("eve", "s9", at: 43), secret("bob", "x", at: 44), secret("carol", "x", at: 45), Ev(at: 500).json]
        let (alerts, detector) = run(p, events)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.group.first?.value == "eve")
        #expect(alert.evidenceTotal == 4)
        #expect(alert.evidence.last.map { String(decoding: $0.raw, as: UTF8.self) } == events[5])
        #expect(detector.counters.sequenceStepsSetAside == 1)
    }

    @Test(
        "random streams give the same alerts and counts whether later steps are set aside or not; in order, the same evidence too",
        arguments: [(0, false), (1, false), (2, true), (3, true)])
    func setAsideChangesNothing(seed: Int, disorder: Bool) throws {
        let events = randomReads(seed: 0x5E7A_51DE &+ UInt64(seed), secrets: 3, disorder: disorder)
        for p in [deniedThenAllowedPack(), probeThenSuccessPack()] {
            let ((expected, plain), (alerts, detector)) = runOffAndOn(p, events) { $0.setAsideSequenceSteps = false }
            #expect(plain.counters.sequenceStepsSetAside == 0)
            #expect(detector.counters.sequenceStepsSetAside > 0)
            expectSameAlerts(alerts, expected, evidence: false)
            #expect(detector.correlationCounters == plain.correlationCounters)
            if detector.counters.setAsideStepsWithoutEvidence == 0 {
                let evidence = alerts.map { $0.evidence.map(\.raw) }
                #expect(evidence == expected.map { $0.evidence.map(\.raw) })
            }
            if !disorder { #expect(detector.counters.setAsideStepsWithoutEvidence == 0) }
        }
    }

    @Test(
        "random streams give the same alerts, evidence and counts whether counting inputs are queued as records or as inputs",
        arguments: [(0, false), (1, false), (2, true), (3, true)])
    func recordedInputsChangeNothing(seed: Int, disorder: Bool) throws {
        // With a few reads later than the lateness when out of order (late inputs, counted as
        // such either way).
        let events = randomReads(seed: 0x7EC0_12D5 &+ UInt64(seed), secrets: 6, disorder: disorder, lateReads: disorder)
        for (k, p) in [countingPack(), probeThenSuccessPack()].enumerated() {
            let ((expected, plain), (alerts, detector)) = runOffAndOn(p, events) { $0.recordCountingInputs = false }
            expectSameAlerts(alerts, expected, evidence: true)
            #expect(detector.correlationCounters == plain.correlationCounters)
            #expect(plain.counters.countingInputsRecorded == 0)
            // The correlations firing early on counts ("few" is judged at its window's end):
            // in order, every input of theirs is recorded; out of order, most are.
            let early = detector.plan.correlations.indices.filter {
                [CorrelationSpec.Kind.eventCount, .valueCount].contains(detector.plan.correlations[$0].spec.kind)
                    && detector.plan.correlations[$0].spec.condition?.firesEarly == true
            }
            let counted = early.reduce(0) { $0 + detector.correlationCounters[$1].inputs }
            #expect(early.count == (k == 0 ? 2 : 1))
            if disorder {
                #expect(detector.counters.countingInputsRecorded > counted / 2)
            } else {
                #expect(detector.counters.countingInputsRecorded == counted)
            }
            var counters = detector.counters
            counters.countingInputsRecorded = 0
            #expect(counters == plain.counters)
            #expect(detector.correlationBytes == plain.correlationBytes)
            // The reads 90 s late are late for the counting pack's windows (not for the sequence's 5 minutes).
            if disorder && k == 0 { #expect(detector.counters.lateInputs > 0) }
        }
    }

    @Test(
        "random streams give the same alerts, evidence and counts whether inputs are applied in steps of the watermark or at every event",
        arguments: [(0, false), (1, false), (2, true), (3, true)])
    func steppedApplyChangesNothing(seed: Int, disorder: Bool) throws {
        let events = randomReads(seed: 0x57E9_0A11 &+ UInt64(seed), secrets: 6, disorder: disorder, lateReads: disorder)
        for p in [countingPack(), probeThenSuccessPack(), deniedThenAllowedPack()] {
            let ((expected, plain), (alerts, detector)) = runOffAndOn(p, events) { $0.applyInSteps = false }
            // The same alerts; those a window's end raises may come out in another order
            // among the alerts of the same step.
            func key(_ a: Alert) -> String {
                "\(a.time) \(a.rule.title) \(a.group.map { $0.value ?? "-" }) \(a.count) \(a.evidenceTotal) \(a.evidence.map(\.auditID))"
            }
            #expect(!alerts.isEmpty)
            #expect(alerts.map(key).sorted() == expected.map(key).sorted())
            // Which later steps can be set aside depends on when groups are made and dropped:
            // only that count may differ.
            var counters = detector.counters
            counters.sequenceStepsSetAside = plain.counters.sequenceStepsSetAside
            #expect(counters == plain.counters)
            #expect(detector.correlationCounters.map(\.inputs) == plain.correlationCounters.map(\.inputs))
            #expect(detector.correlationCounters.map(\.firings) == plain.correlationCounters.map(\.firings))
            #expect(detector.correlationCounters.map(\.lateInputs) == plain.correlationCounters.map(\.lateInputs))
        }
    }

    @Test("a counting input whose key and value do not fit a record's slot is queued as an input, and counts the same")
    func longKeysQueuedAsInputs() throws {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "distinct", type: "value_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1m",
                condition: "gte: 3\nfield: objectRef.name"),
        ])
        let long = String(repeating: "u", count: 150)
        let events = [
            secret(long, "a", at: 0), secret(long, String(repeating: "n", count: 60), at: 1), secret("bob", "a", at: 2),
            secret(long, "c", at: 3),
        ]
        let (alerts, detector) = run(p, events)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.group.first?.value == long && alert.count == 3 && alert.evidence.count == 3)
        #expect(detector.counters.countingInputsRecorded == 3, "all but the long user's read of the long name")
    }

    @Test("chaining: a burst of 403s, then success on secrets, by the same user")
    func chaining() throws {
        let p = probeThenSuccessPack()
        var events = (0..<3).map { secret("eve", "s\($0)", at: Double($0), code: 403) }
        events.append(secret("eve", "s9", at: 30))
        events.append(secret("carol", "x", at: 31))
        let (alerts, _) = run(p, events)
        #expect(titles(alerts) == ["Correlation probe_then_success"], "the inner correlation does not alert itself")
        let alert = try #require(alerts.first)
        #expect(alert.group.first?.value == "eve")
        #expect(alert.evidenceTotal == 4, "three denials and the success")
    }

    @Test("a correlation may group by a field its rules do not have: the group value is absent")
    func missingGroupField() throws {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "by_ns", type: "event_count", rules: ["secret_get"], groupBy: ["objectRef.namespace"], timespan: "1m",
                condition: "gte: 2"),
        ])
        let cluster = Ev(verb: "get", resource: "secrets", namespace: nil, name: nil, at: 0).json
        let (alerts, _) = run(p, [cluster, Ev(verb: "get", resource: "secrets", namespace: nil, name: nil, at: 1).json])
        #expect(alerts.count == 1)
        #expect(alerts.first?.group.first?.value == nil)
    }

    @Test("windows close in event time: an upper-bounded condition is judged when the window ends")
    func windowClose() {
        let (d, log) = fewReadsDetector()
        feed(d, secret("alice", "a", at: 0))
        feed(d, secret("alice", "b", at: 10))
        #expect(log.alerts.isEmpty, "the window is still open")
        feed(d, Ev(at: 120).json)  // event time moves past the window (and the lateness)
        #expect(log.alerts.count == 1)
        #expect(log.alerts.first?.count == 2)
    }

    @Test("one event stamped a year ahead moves no window: later events still correlate and duplicates are still found")
    func farFutureOutlier() throws {
        let p = secretReadsPack(name: "burst", condition: "gte: 3")
        let again = secret("alice", "c", at: 20)
        let events = [
            secret("alice", "a", at: 0), secret("alice", "b", at: 10), Ev(at: 365 * 86_400).json, again, again,
        ]
        let (alerts, detector) = run(p, events)
        #expect(titles(alerts) == ["Correlation burst"], "the read after the outlier is not late")
        #expect(alerts.first?.count == 3)
        let c = detector.counters
        #expect(c.clockJumpsHeld == 1)
        #expect(c.duplicates == 1, "the duplicate table kept its keys")
        #expect(c.lateInputs == 0)
    }

    @Test("a gap in the log: the first event after it is held, the next one moves the clock")
    func gapInTheLog() {
        let (d, log) = fewReadsDetector()
        feed(d, secret("alice", "a", at: 0))
        feed(d, Ev(at: 7_200).json)  // two hours later: held, the window stays open
        #expect(log.alerts.isEmpty)
        #expect(d.counters.clockJumpsHeld == 1)
        feed(d, Ev(at: 7_201).json)  // agrees with it: the clock moves and the window closes
        #expect(log.alerts.count == 1)
        #expect(d.newestEventTime.map { $0 - Int64(1_793_613_600_000_000) } == Int64(7_201_000_000))
    }

    @Test("a stream quieter than the allowed jump still moves its clock, one event late")
    func quietStream() {
        let (d, log) = fewReadsDetector()
        feed(d, secret("alice", "a", at: 0))
        feed(d, Ev(at: 1_200).json)  // 20 minutes on, beyond the 10-minute jump
        #expect(log.alerts.isEmpty)
        feed(d, Ev(at: 2_400).json)  // ahead as well and not earlier: the clock follows
        #expect(log.alerts.count == 1)
        #expect(d.counters.clockJumpsHeld == 1)
    }

    @Test("metric correlations and unknown group fields are load errors")
    func loadErrors() {
        let sum = correlationYAML(
            name: "s", type: "value_sum", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1m",
            condition: "gte: 3\nfield: responseStatus.code")
        let p1 = RulePack(set: RuleSet(sources: [(file: "a.yml", yaml: secretGet), (file: "b.yml", yaml: sum)]))
        #expect(p1.errors.contains { $0.code == .unknownCorrelationType })
        let bad = correlationYAML(
            name: "b", type: "event_count", rules: ["secret_get"], groupBy: ["user.nickname"], timespan: "1m", condition: "gte: 3")
        let p2 = RulePack(set: RuleSet(sources: [(file: "a.yml", yaml: secretGet), (file: "b.yml", yaml: bad)]))
        #expect(p2.errors.contains { $0.code == .unknownField })
        #expect(p2.plan.correlations.isEmpty)
    }

    @Test("correlation state stays within its group bound, counting evictions")
    func bounded() {
        let p = pack([
            secretGet,
            correlationYAML(
                name: "burst", type: "event_count", rules: ["secret_get"], groupBy: ["user.username"], timespan: "1h",
                condition: "gte: 1000"),
        ])
        var options = DetectorOptions()
        options.correlationLimits.maxGroups = 50
        var alerts: [Alert] = []
        let d = Detector(plan: p.plan, options: options) { alerts.append($0) }
        for i in 0..<500 { feed(d, secret("user-\(i)", "s", at: Double(i))) }
        d.finish()
        #expect(d.correlationCounters[0].groupsEvicted >= 400)
        #expect(alerts.isEmpty)
    }
}
