// engine-throughput: how fast the detection engine judges audit logs, against parsing alone.
//
//   engine-throughput CORPUS --rules PATH [--rules PATH...] [--reps N] [--batch N] [--profile-rules]
//                     [--unstepped]
//   engine-throughput --state-at-cap [--events N] [--event-bytes N] [--max-groups N]
//                     [--max-bytes N] [--control]
//
// Throughput (the first form): loads the rule pack (`RulePack.load`), loads CORPUS into
// memory once, then for each of N repetitions, interleaved, on one core:
//   parse   the stream reader over a `MemorySource` into a handler that counts events
//   detect  the same, the handler handing events to a fresh `Detector` for the pack's plan
//           as `kaudit scan` does, in batches of `--batch` (default 32; 1: `Detector.process`
//           per event), alerts counted, and `finish()` at the end
// Reports the medians (GB = 10^9 bytes), the ratio detect / parse, the alerts, the
// detector's counters, the correlation state left at the end, and the five rules with the
// most matches and correlations with the most inputs. `--profile-rules` adds an
// untimed pass that reports how many rules the verb x resource index leaves to try per
// event and what each rule costs (clock read around every evaluation), most costly first.
// `--unstepped` makes the detectors apply queued inputs at every event
// (`DetectorOptions.applyInSteps` off), to compare the two in one binary: a change in a
// module's size moves other code and data, and this machine's parse speed has moved 10%
// with that alone.
//
// State at cap (the second form): one event_count correlation grouped by `user.username`
// over a rule matching every event, 1 h window, a condition that never holds; N synthetic
// events (~1 KB each, every one from a different user, 1 ms apart) are generated in batches
// and fed to it, so the correlation's group and byte limits are reached. Reports the groups
// and estimated bytes kept, groups evicted, and the process RSS (VmRSS, VmHWM) before and
// after. `--control` runs the same events through the rule alone (no correlation), for the
// RSS the rest of the detector accounts for.
//
// Output: one JSON object per line on stdout, then a human summary on stderr.
import AnalyzerKit
import AuditInputs
import AuditJSON
import AuditModel
import BenchSupport
import DetectionEngine
import Glibc
import RuleLoader

// MARK: Setup

let usage = """
    usage: engine-throughput CORPUS --rules PATH [--rules PATH...] [--reps N] [--batch N] [--profile-rules] [--unstepped]
           engine-throughput --state-at-cap [--events N] [--event-bytes N] [--max-groups N] [--max-bytes N] [--control]

    """
let args = CommandLine.arguments
func value(_ flag: String) -> String? {
    args.firstIndex(of: flag).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
}
func intValue(_ flag: String, _ fallback: Int) -> Int {
    guard let v = value(flag) else { return fallback }
    guard let n = Int(v), n > 0 else {
        fputs("\(flag) takes a positive integer\n", stderr)
        exit(2)
    }
    return n
}




/// A string as a JSON string literal.
func quoted(_ s: String) -> String {
    var out = ""
    JSONWriter.escape(s, into: &out)
    return out
}

func json(_ c: DetectorCounters) -> String {
    let fields: [(String, Int)] = [
        ("events", c.events), ("duplicates", c.duplicates), ("audit_id_reuses", c.auditIDReuses),
        ("later_stages_skipped", c.laterStagesSkipped), ("request_received_held", c.requestReceivedHeld),
        ("request_received_superseded", c.requestReceivedSuperseded),
        ("request_received_judged", c.requestReceivedJudged), ("pending_overflows", c.pendingOverflows),
        ("duplicate_table_evictions", c.duplicateTableEvictions),
        ("long_running_table_evictions", c.longRunningTableEvictions), ("filtered", c.filtered),
        ("rule_matches", c.ruleMatches), ("correlation_firings", c.correlationFirings),
        ("late_inputs", c.lateInputs), ("alerts", c.alerts), ("verdict_memo_hits", c.verdictMemoHits),
        ("verdict_memo_misses", c.verdictMemoMisses), ("verdict_memo_resets", c.verdictMemoResets),
        ("event_class_hits", c.eventClassHits), ("event_class_misses", c.eventClassMisses),
        ("request_bodies_remembered", c.requestBodiesRemembered), ("request_bodies_kept", c.requestBodiesKept),
        ("request_bodies_not_kept", c.requestBodiesNotKept),
        ("lateness_queue_overflows", c.latenessQueueOverflows), ("clock_jumps_held", c.clockJumpsHeld),
        ("sequence_steps_set_aside", c.sequenceStepsSetAside),
        ("set_aside_steps_without_evidence", c.setAsideStepsWithoutEvidence),
        ("counting_inputs_recorded", c.countingInputsRecorded),
    ]
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

/// Per-correlation counters summed.
func sum(_ cs: [CorrelationCounters]) -> CorrelationCounters {
    var t = CorrelationCounters()
    for c in cs {
        t.inputs += c.inputs
        t.firings += c.firings
        t.groupsExpired += c.groupsExpired
        t.groupsEvicted += c.groupsEvicted
        t.entriesDropped += c.entriesDropped
        t.lateInputs += c.lateInputs
    }
    return t
}

func json(_ c: CorrelationCounters) -> String {
    "{\"inputs\":\(c.inputs),\"firings\":\(c.firings),\"groups_expired\":\(c.groupsExpired),"
        + "\"groups_evicted\":\(c.groupsEvicted),\"entries_dropped\":\(c.entriesDropped),\"late_inputs\":\(c.lateInputs)}"
}

/// VmRSS and VmHWM from /proc/self/status, KiB.
func memory() -> (rss: Int, hwm: Int) {
    var rss = 0
    var hwm = 0
    guard let f = fopen("/proc/self/status", "r") else { return (0, 0) }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let s = String(cString: line)
        func kib() -> Int { Int(s.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0 }
        if s.hasPrefix("VmRSS:") { rss = kib() } else if s.hasPrefix("VmHWM:") { hwm = kib() }
    }
    return (rss, hwm)
}

func printErrors(_ pack: RulePack) {
    for e in pack.errors { fputs("rule error: \(e.file):\(e.line):\(e.column): \(e.message)\n", stderr) }
}

// MARK: Handlers

/// Counts events and nothing else (the reader has indexed every envelope field by then).
struct CountEvents: AuditRecordHandler {
    var events: UInt64 = 0
    var issues: UInt64 = 0
    mutating func handle(event: AuditEvent, at location: RecordLocation) { events &+= 1 }
    mutating func handle(issue: ReadIssue) { issues &+= 1 }
}

/// Counts events and hands them to the detector as `kaudit scan` does
/// (`DetectingHandler`): in batches of `batchSize`, or one by one with a batch size of 1.
struct Detect: AuditRecordHandler {
    let detector: Detector
    let batchSize: Int
    var events: UInt64 = 0
    var issues: UInt64 = 0

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        events &+= 1
        if batchSize == 1 { detector.process(event) }
    }

    mutating func handle(issue: ReadIssue) { issues &+= 1 }

    mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) {
        if batchSize > 1 { detector.process(batch: events) }
    }
}

final class AlertCount {
    var n = 0
}

/// Times every candidate rule (as the index picks them) on every event.
struct ProfileRules: AuditRecordHandler {
    let rules: [CompiledRule]
    let index: RuleIndex
    let context = EventContext(AuditEvent())
    var events = 0
    var evaluations: [Int]
    var matches: [Int]
    var nanoseconds: [Double]
    init(_ rules: [CompiledRule]) {
        self.rules = rules
        index = RuleIndex(rules)
        evaluations = Array(repeating: 0, count: rules.count)
        matches = evaluations
        nanoseconds = Array(repeating: 0, count: rules.count)
    }
    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        events += 1
        context.reset(event)
        for i in index.candidates(verb: event[.verb]?.string, resource: event[nested: .refResource]?.string) {
            let t = now()
            let hit = rules[i].matches(context)
            nanoseconds[i] += (now() - t) * 1e9
            evaluations[i] += 1
            if hit { matches[i] += 1 }
        }
    }
    mutating func handle(issue: ReadIssue) {}
}

func profileRules(_ plan: DetectionPlan, _ data: UnsafeRawBufferPointer, name: String) {
    let rules = plan.rules.map(\.compiled)
    var h = ProfileRules(rules)
    AuditStreamReader().read(bytes: data, name: name, into: &h)
    let total = h.nanoseconds.reduce(0, +)
    let order = rules.indices.sorted { h.nanoseconds[$0] > h.nanoseconds[$1] }
    let top = order.prefix(15).map { i in
        "{\"rule\":\(quoted(rules[i].title)),\"evaluations\":\(h.evaluations[i]),\"matches\":\(h.matches[i]),"
            + "\"ns_per_evaluation\":\(Int(h.nanoseconds[i] / Double(max(h.evaluations[i], 1)))),"
            + "\"share\":\(fixed(h.nanoseconds[i] / max(total, 1), 3))}"
    }
    let perEvent = Double(h.evaluations.reduce(0, +)) / Double(max(h.events, 1))
    print(
        "{\"bench\":\"engine_rule_costs\",\"events\":\(h.events),\"rules\":\(rules.count),"
            + "\"indexed_rules\":\(h.index.indexedRuleCount),\"candidates_per_event\":\(fixed(perEvent, 1)),"
            + "\"rule_ns_per_event\":\(Int(total / Double(max(h.events, 1)))),\"top\":[\(top.joined(separator: ","))]}")
    fflush(stdout)
    fputs(
        "rule costs: \(h.index.indexedRuleCount) of \(rules.count) rules pinned by the index, "
            + "\(fixed(perEvent, 1)) tried per event, \(Int(total / Double(max(h.events, 1)))) ns of rule "
            + "evaluation per event; most costly:\n", stderr)
    for i in order.prefix(40) where h.evaluations[i] > 0 {
        fputs(
            "  \(fixed(100 * h.nanoseconds[i] / max(total, 1), 1, width: 5) + "%")  "
                + "\(Int(h.nanoseconds[i] / Double(max(h.evaluations[i], 1)))) ns x \(h.evaluations[i])  \(rules[i].title)\n",
            stderr)
    }
}

// MARK: Throughput

func throughput(corpus: String, rulePaths: [String], reps: Int, profile: Bool, batchSize: Int) {
    let t0 = now()
    let pack = RulePack.load(paths: rulePaths)
    let loadSeconds = now() - t0
    printErrors(pack)
    let plan = pack.plan
    print(
        "{\"bench\":\"engine_rules\",\"paths\":[\(rulePaths.map(quoted).joined(separator: ","))],"
            + "\"rules\":\(plan.rules.count),\"correlations\":\(plan.correlations.count),"
            + "\"rule_errors\":\(pack.errors.count),\"rule_warnings\":\(pack.warnings.count),\"load_seconds\":\(loadSeconds)}")
    fflush(stdout)

    let data = loadFile(corpus)
    let reader = AuditStreamReader()
    var parseTimes: [Double] = []
    var detectTimes: [Double] = []
    var events: UInt64 = 0
    var detectEvents: UInt64 = 0
    var issues: UInt64 = 0
    var alerts = 0
    var allocations: UInt64?
    var last: Detector?
    for _ in 0..<reps {
        do {
            var source = MemorySource(data)
            var h = CountEvents()
            let t = now()
            try! reader.read(from: &source, name: corpus, into: &h)
            parseTimes.append(now() - t)
            events = h.events
            issues = h.issues
        }
        do {
            last = nil  // the previous rep's detector is freed before this one runs
            let count = AlertCount()
            var options = DetectorOptions()
            options.applyInSteps = !args.contains("--unstepped")
            let detector = Detector(plan: plan, options: options) { _ in count.n += 1 }
            var source = MemorySource(data)
            var h = Detect(detector: detector, batchSize: batchSize)
            let m0 = mallocCalls()
            let t = now()
            try! reader.read(from: &source, name: corpus, into: &h)
            detector.finish()
            detectTimes.append(now() - t)
            if allocations == nil, let m0, let m1 = mallocCalls() { allocations = m1 &- m0 }
            detectEvents = h.events
            alerts = count.n
            last = detector
        }
    }
    let detector = last!
    let bytes = Double(data.count)
    let parseGBps = bytes / median(parseTimes) / 1e9
    let detectGBps = bytes / median(detectTimes) / 1e9
    let ratio = detectGBps / parseGBps
    func seconds(_ xs: [Double]) -> String { "[" + xs.map { fixed($0, 4) }.joined(separator: ",") + "]" }

    for (name, times) in [("engine_parse", parseTimes), ("engine_detect", detectTimes)] {
        let t = median(times)
        print(
            "{\"bench\":\"\(name)\",\"cores\":1,\"bytes\":\(data.count),\"events\":\(events),"
                + "\"median_seconds\":\(t),\"MBps\":\(Int(bytes / t / 1e6)),\"events_per_s\":\(Int(Double(events) / t)),"
                + "\"runs\":\(times.count),\"seconds\":\(seconds(times))}")
    }

    // The rules that matched most (a rule matching nearly everything costs alerts).
    let top = detector.matchesByRule.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(5)
    let topJSON = top.map { "{\"rule\":\(quoted(plan.rules[$0.offset].compiled.info.title)),\"matches\":\($0.element)}" }
    // The correlations taking most inputs (each input costs the event's evidence and a queued
    // entry whatever becomes of it: the part of detection that grows with the matches).
    let correlationCounters = detector.correlationCounters
    let perCorrelation = correlationCounters.enumerated().filter { $0.element.inputs > 0 }
        .sorted { $0.element.inputs > $1.element.inputs }.prefix(5)
    let topCorrelationsJSON = perCorrelation.map {
        "{\"correlation\":\(quoted(plan.correlations[$0.offset].info.title)),\"inputs\":\($0.element.inputs),\"firings\":\($0.element.firings)}"
    }
    let counters = detector.counters
    let correlation = sum(correlationCounters)
    let meetsThroughput = detectGBps >= 0.8
    let meetsRatio = ratio >= 0.6
    let meetsRules = plan.rules.count >= 100 && plan.correlations.count >= 10
    print(
        "{\"bench\":\"engine\",\"cores\":1,\"bytes\":\(data.count),\"events\":\(events),\"issues\":\(issues),"
            + "\"rules\":\(plan.rules.count),\"correlations\":\(plan.correlations.count),\"rule_errors\":\(pack.errors.count),"
            + "\"parse_GBps\":\(fixed(parseGBps, 3)),\"detect_GBps\":\(fixed(detectGBps, 3)),"
            + "\"ratio\":\(fixed(ratio, 3)),\"runs\":\(reps),\"alerts\":\(alerts),"
            + "\"detect_allocations\":\(allocations.map(String.init) ?? "null"),"
            + "\"counters\":\(json(counters)),\"correlation_counters\":\(json(correlation)),"
            + "\"correlation_groups\":\(detector.correlationGroups),\"correlation_bytes\":\(detector.correlationBytes),"
            + "\"top_rules\":[\(topJSON.joined(separator: ","))],"
            + "\"top_correlations\":[\(topCorrelationsJSON.joined(separator: ","))],"
            + "\"targets\":{\"detect_ge_0_8_GBps\":\(meetsThroughput),\"ratio_ge_0_6\":\(meetsRatio),"
            + "\"rules_ge_100_and_correlations_ge_10\":\(meetsRules)}}")
    fflush(stdout)
    if detectEvents != events { fputs("warning: parse saw \(events) events, detect \(detectEvents)\n", stderr) }
    fputs(
        "engine: \(plan.rules.count) rules, \(plan.correlations.count) correlations (\(pack.errors.count) rule errors); "
            + "\(events) events, parse \(fixed(parseGBps, 2)) GB/s, parse+detect "
            + "\(fixed(detectGBps, 2)) GB/s, ratio \(fixed(ratio, 2)), \(alerts) alerts, "
            + "\(counters.ruleMatches) rule matches, correlation state \(detector.correlationGroups) groups / "
            + "\(detector.correlationBytes) bytes (medians of \(reps))"
            + (allocations.map { "; \($0) heap allocations in the first detect pass (\(fixed(Double($0) / Double(max(events, 1)), 3)) per event)" } ?? "")
            + "\n", stderr)
    if profile { profileRules(plan, data, name: corpus) }
}

// MARK: State at cap

let capRules = """
    title: Every request
    id: 6d1c1f5e-0b8a-4f43-9d8e-3f1c2b7a9e01
    name: every_request
    status: test
    description: Matches every event (the input of the state-at-cap benchmark).
    logsource:
        product: kubernetes
        service: audit
    detection:
        selection:
            verb|exists: true
        condition: selection
    level: informational
    """
let capCorrelation = """
    ---
    title: Requests per user (never fires)
    id: 0b5e8f2a-7c3d-4e19-a6b4-5d2f9c8e1a02
    name: requests_per_user
    status: test
    correlation:
        type: event_count
        rules:
            - every_request
        group-by:
            - user.username
        timespan: 1h
        condition:
            gte: 1000000
    level: low
    """

/// Synthetic events of about `size` bytes each, all ResponseComplete, every one from its own
/// user and with its own audit ID, 1 ms apart from 2026-01-05T00:00:00Z.
func appendEvent(_ i: Int, size: Int, to out: inout [UInt8]) {
    func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    let ms = i % 1000
    let s = i / 1000
    let time = "2026-01-05T\(pad(s / 3600 % 24, 2)):\(pad(s / 60 % 60, 2)):\(pad(s % 60, 2)).\(pad(ms, 3))000Z"
    let user = "user-\(pad(i, 8))@example.com"
    let ns = "team-\(i % 50)"
    let head =
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
        + "\"auditID\":\"6f0c2a1e-0000-4000-8000-\(pad(i, 12))\",\"stage\":\"ResponseComplete\","
        + "\"requestURI\":\"/api/v1/namespaces/\(ns)/configmaps?limit=500\",\"verb\":\"list\","
        + "\"user\":{\"username\":\"\(user)\",\"groups\":[\"developers\",\"system:authenticated\"]},"
        + "\"sourceIPs\":[\"10.20.\(i / 256 % 256).\(i % 256)\"],"
        + "\"userAgent\":\"kubectl/v1.30.2 (linux/amd64) kubernetes/3968350\","
        + "\"objectRef\":{\"resource\":\"configmaps\",\"namespace\":\"\(ns)\",\"apiVersion\":\"v1\"},"
        + "\"responseStatus\":{\"metadata\":{},\"code\":200},"
        + "\"requestReceivedTimestamp\":\"\(time)\",\"stageTimestamp\":\"\(time)\","
        + "\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"RBAC: allowed by RoleBinding "
    let tail = "\"}}\n"
    out += head.utf8
    let filler = max(0, size - head.utf8.count - tail.utf8.count)
    for k in 0..<filler { out.append(UInt8(ascii: "a") + UInt8(k % 26)) }
    out += tail.utf8
}

func stateAtCap(events: Int, eventBytes: Int, limits: CorrelationLimits, control: Bool) {
    let set = RuleSet(sources: [("state-at-cap.yml", control ? capRules : capRules + "\n" + capCorrelation)])
    let pack = RulePack(set: set)
    printErrors(pack)
    guard pack.plan.rules.count == 1, pack.plan.correlations.count == (control ? 0 : 1) else {
        fputs("the state-at-cap plan did not compile\n", stderr)
        exit(1)
    }
    var options = DetectorOptions()
    options.correlationLimits = limits
    let count = AlertCount()
    let reader = AuditStreamReader()
    var batch: [UInt8] = []
    batch.reserveCapacity(4096 * (eventBytes + 64))
    let before = memory()
    let detector = Detector(plan: pack.plan, options: options) { _ in count.n += 1 }
    var h = Detect(detector: detector, batchSize: DetectingHandler.detectionBatchSize)
    var generated = 0
    var bytes = 0
    let t0 = now()
    while generated < events {
        batch.removeAll(keepingCapacity: true)
        let n = min(4096, events - generated)
        for i in generated..<(generated + n) { appendEvent(i, size: eventBytes, to: &batch) }
        generated += n
        bytes += batch.count
        batch.withUnsafeBytes { reader.read(bytes: $0, name: "synthetic", into: &h) }
    }
    let fed = memory()
    let groupsFed = detector.correlationGroups
    let bytesFed = detector.correlationBytes
    detector.finish()
    let seconds = now() - t0
    let after = memory()
    let correlation = sum(detector.correlationCounters)
    print(
        "{\"bench\":\"engine_state_at_cap\",\"control\":\(control),\"events\":\(h.events),\"bytes\":\(bytes),"
            + "\"issues\":\(h.issues),\"seconds\":\(fixed(seconds, 3)),"
            + "\"limits\":{\"max_groups\":\(limits.maxGroups),\"max_bytes\":\(limits.maxBytes),"
            + "\"max_entries_per_group\":\(limits.maxEntriesPerGroup),\"max_evidence\":\(limits.maxEvidence)},"
            + "\"correlation_groups\":\(groupsFed),\"correlation_bytes\":\(bytesFed),"
            + "\"correlation_groups_after_finish\":\(detector.correlationGroups),"
            + "\"correlation_bytes_after_finish\":\(detector.correlationBytes),"
            + "\"correlation_counters\":\(json(correlation)),\"counters\":\(json(detector.counters)),"
            + "\"alerts\":\(count.n),"
            + "\"rss_kib_before\":\(before.rss),\"rss_kib_fed\":\(fed.rss),\"rss_kib_after_finish\":\(after.rss),"
            + "\"hwm_kib_before\":\(before.hwm),\"hwm_kib_after\":\(after.hwm)}")
    fflush(stdout)
    fputs(
        "state at cap\(control ? " (control: rule only)" : ""): \(h.events) events of ~\(eventBytes) B, \(h.events) users; "
            + "limits \(limits.maxGroups) groups / \(limits.maxBytes) bytes; kept \(groupsFed) groups / \(bytesFed) bytes, "
            + "\(correlation.groupsEvicted) groups evicted; RSS \(before.rss / 1024) -> \(fed.rss / 1024) MiB "
            + "(peak \(after.hwm / 1024) MiB) in \(fixed(seconds, 2)) s\n", stderr)
}

// MARK: Run

if args.contains("--state-at-cap") {
    let defaults = CorrelationLimits()
    var limits = defaults
    limits.maxGroups = intValue("--max-groups", defaults.maxGroups)
    limits.maxBytes = intValue("--max-bytes", defaults.maxBytes)
    stateAtCap(
        events: intValue("--events", 1_000_000), eventBytes: intValue("--event-bytes", 1024), limits: limits,
        control: args.contains("--control"))
    exit(0)
}

guard args.count >= 2, !args[1].hasPrefix("--") else {
    fputs(usage, stderr)
    exit(2)
}
var rulePaths: [String] = []
for (i, a) in args.enumerated() where a == "--rules" && i + 1 < args.count { rulePaths.append(args[i + 1]) }
guard !rulePaths.isEmpty else {
    fputs(usage, stderr)
    exit(2)
}
throughput(
    corpus: args[1], rulePaths: rulePaths, reps: intValue("--reps", 5), profile: args.contains("--profile-rules"),
    batchSize: min(max(intValue("--batch", DetectingHandler.detectionBatchSize), 1), AuditStreamReader.maxBatchSize))
