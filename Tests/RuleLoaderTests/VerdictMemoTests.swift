// The verdict memo must never change a result: the same alerts, in the same order, with
// and without it, on the generated cluster traffic (with its injected attacks), on every
// rule fixture, and when its tables overflow.
import AuditJSON
import AuditModel
import AuditSynth
import AuditTestSupport
import DetectionEngine
import Foundation
import RuleLoader
import Testing

@Suite struct VerdictMemoTests {
    /// What identifies an alert for comparison.
    static func summary(_ a: Alert) -> String {
        "\(a.rule.id) \(a.time) \(a.count) \(a.actor.user ?? "-") \(a.object.namespace ?? "-")/\(a.object.name ?? "-") \(a.evidenceTotal)"
    }

    /// Runs NDJSON text through a detector with the memo on or off (and request bodies
    /// remembered or not, see `BodyVerdictsTests`).
    static func alerts(
        _ plan: DetectionPlan, _ ndjson: [UInt8], memo: Bool, rememberBodies: Bool = true, classCapacity: Int = 16_384,
        maxQueuedInputs: Int = 200_000
    ) -> (alerts: [String], counters: DetectorCounters) {
        var options = DetectorOptions()
        options.maxQueuedInputs = maxQueuedInputs
        options.memoizeVerdicts = memo
        options.rememberRequestBodies = rememberBodies
        options.eventClassCapacity = classCapacity
        var out: [String] = []
        let detector = Detector(plan: plan, options: options) { out.append(summary($0)) }
        ndjson.withUnsafeBufferPointer { buf in
            var start = 0
            var event = AuditEvent()
            for i in 0..<buf.count where buf[i] == 0x0A {
                if i > start, case .event = event.load(buf.baseAddress!, start: start, end: i) { detector.process(event) }
                start = i + 1
            }
        }
        detector.finish()
        return (out, detector.counters)
    }

    static func bundledPlan() -> DetectionPlan {
        let pack = RulePack.load(paths: [PackagePaths.detections.path])
        #expect(pack.errors.isEmpty)
        return pack.plan
    }

    @Test func generatedTrafficGivesTheSameAlerts() {
        var log = SyntheticAuditLog(.init(seed: 11, attackInterval: 2_000))
        var bytes: [UInt8] = []
        log.generate(bytes: 12 << 20) { bytes.append(contentsOf: $0) }
        let plan = Self.bundledPlan()
        let with = Self.alerts(plan, bytes, memo: true)
        let without = Self.alerts(plan, bytes, memo: false)
        #expect(!without.alerts.isEmpty, "the injected attacks raise alerts")
        #expect(with.alerts == without.alerts)
        #expect(with.counters.ruleMatches == without.counters.ruleMatches)
        #expect(
            with.counters.eventClassHits > 8 * with.counters.eventClassMisses,
            "most events are settled by their identity's and shape's records; few make a new class")
        #expect(without.counters.verdictMemoHits == 0 && without.counters.eventClassHits == 0)

        // A lateness queue of 5 inputs: in-order traffic correlates the same, the overflow counted.
        let shortQueue = Self.alerts(plan, bytes, memo: true, maxQueuedInputs: 5)
        #expect(shortQueue.alerts == without.alerts)
        #expect(shortQueue.counters.latenessQueueOverflows > 100)
        #expect(with.counters.latenessQueueOverflows == 0)

        // With room for only 50 classes, they are forgotten and relearnt all the time.
        let small = Self.alerts(plan, bytes, memo: true, classCapacity: 50)
        #expect(small.alerts == without.alerts)
        #expect(small.counters.verdictMemoResets > 10)
    }

    @Test func everyFixtureGivesTheSameAlerts() throws {
        let plan = Self.bundledPlan()
        let dir = PackagePaths.sampleLogs.appendingPathComponent("detections")
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "ndjson" }
        #expect(files.count > 200)
        var total = 0
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file)) + [0x0A]
            let with = Self.alerts(plan, bytes, memo: true)
            let without = Self.alerts(plan, bytes, memo: false)
            #expect(with.alerts == without.alerts, "\(file.lastPathComponent)")
            total += with.alerts.count
        }
        #expect(total > 100)
    }

    /// Rules whose verdict needs the identity and the request shape together (an `or` of
    /// pairs across the halves, a `not` over both), one identity and one shape that rule out
    /// each rule alone, and an agent too long to sign (so its identity rules nothing out):
    /// the records' possible rules skip only what cannot match.
    @Test func identityAndShapeRuleOutOnlyWhatCannotMatch() {
        let rules = [
            ruleYAML(
                title: "Cross",
                detection: """
                    a:
                      user.username: x-1
                    b:
                      objectRef.resource: pods
                    c:
                      userAgent|contains: evil
                    d:
                      verb: delete
                    condition: (a and b) or (c and d)
                    """),
            ruleYAML(
                title: "Neither",
                detection: """
                    a:
                      user.username|startswith: x-
                    b:
                      objectRef.resource: secrets
                    condition: not (a or b)
                    """),
            ruleYAML(
                title: "Both",
                detection: """
                    a:
                      user.username|endswith: '-2'
                    b:
                      objectRef.namespace: kube-system
                    condition: a and b
                    """),
        ]
        let plan = pack(rules).plan
        var random = SplitMix64(seed: 9)
        let users = ["x-1", "x-2", "alice", "bob-2", "system:node:n1"]
        let resources = ["pods", "secrets", "configmaps"]
        let verbs = ["get", "delete", "list"]
        let namespaces = ["default", "kube-system"]
        let agents = ["kubectl/v1.31.2", "evil-tool/1.0", String(repeating: "evil", count: 200)]
        var text = ""
        for i in 0..<3_000 {
            var e = Ev(user: users[Int(random.next() % 5)], at: Double(i) / 100)
            e.resource = resources[Int(random.next() % 3)]
            e.verb = verbs[Int(random.next() % 3)]
            e.namespace = namespaces[Int(random.next() % 2)]
            text += e.json.replacingOccurrences(of: "kubectl/v1.31.2", with: agents[Int(random.next() % 3)]) + "\n"
        }
        let bytes = Array(text.utf8)
        let with = Self.alerts(plan, bytes, memo: true)
        let without = Self.alerts(plan, bytes, memo: false)
        #expect(with.alerts == without.alerts)
        let fired = Set(with.alerts.map { $0.split(separator: " ")[0] })
        #expect(fired.count == 3, "every rule fires on some events")
        #expect(with.counters.eventClassHits > 10 * with.counters.eventClassMisses)
    }

    /// A request shape's record keeps the candidate list the index gave its first event;
    /// verbs and resources written with escapes have no list (every rule is checked), and
    /// two spellings of one verb are two shapes: each is judged as its text says.
    @Test func escapedVerbsAndResourcesAreJudgedAsTheyDecode() {
        let rules = [
            ruleYAML(title: "Delete", detection: "sel:\n  verb: delete\n  objectRef.resource: secrets\ncondition: sel"),
            ruleYAML(title: "Anyone", detection: "sel:\n  user.username: mallory\ncondition: sel"),
            ruleYAML(title: "List", detection: "sel:\n  verb: list\n  objectRef.resource: pods\ncondition: sel"),
            // A rule reading the subresource: the shape then holds all three index keys.
            ruleYAML(title: "Exec", detection: "sel:\n  objectRef.subresource: exec\ncondition: sel"),
        ]
        let plan = pack(rules).plan
        var text = ""
        let spellings = [
            ("delete", "secrets"), (#"d\u0065lete"#, "secrets"), ("delete", #"s\u0065crets"#), ("DELETE", "secrets"),
            ("get", "secrets"), (#"g\u0065t"#, "secrets"),
        ]
        for i in 0..<60 {
            var e = Ev(verb: "VERB", resource: "RESOURCE", user: i % 3 == 0 ? "mallory" : "alice", at: Double(i))
            let (verb, resource) = spellings[i % spellings.count]
            e.requestURI = "/api/v1/x"
            text += e.json.replacingOccurrences(of: "VERB", with: verb).replacingOccurrences(of: "RESOURCE", with: resource) + "\n"
        }
        let bytes = Array(text.utf8)
        let with = Self.alerts(plan, bytes, memo: true)
        let without = Self.alerts(plan, bytes, memo: false)
        #expect(with.alerts == without.alerts)
        // Ten rounds of four spellings of "delete secrets" (values compare case-insensitively),
        // and every third event's user.
        #expect(with.alerts.count == 40 + 20)
    }

    /// More distinct user names and agents than a memo table holds: tables are cleared and
    /// refilled (counted), and nothing changes.
    @Test func overflowingTablesChangeNothing() {
        let rules = [
            ruleYAML(
                title: "Agent", detection: "sel:\n  userAgent|contains: evil\ncondition: sel"),
            ruleYAML(
                title: "Outsider",
                detection: "sel:\n  user.username|startswith: 'x-'\nfilter:\n  user.username|endswith: '-7'\ncondition: sel and not filter"),
        ]
        let plan = pack(rules).plan
        var random = SplitMix64(seed: 5)
        var text = ""
        for i in 0..<9_000 {
            var e = Ev(user: "x-\(random.next() % 6_000)", at: Double(i) / 100)
            if random.next() % 50 == 0 { e.user = "x-7" }
            var json = e.json
            let agent = random.next() % 40 == 0 ? "evil-\(i)" : "kubectl/\(random.next() % 5_000)"
            json = json.replacingOccurrences(of: "kubectl/v1.31.2", with: agent)
            text += json + "\n"
        }
        let bytes = Array(text.utf8)
        let with = Self.alerts(plan, bytes, memo: true)
        let without = Self.alerts(plan, bytes, memo: false)
        #expect(with.alerts.count > 100)
        #expect(with.alerts == without.alerts)
        #expect(with.counters.verdictMemoResets > 0, "6,000 names and 5,000 agents overflow the tables")
    }
}
