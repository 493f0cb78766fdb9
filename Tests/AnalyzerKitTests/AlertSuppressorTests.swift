import AnalyzerKit
import DetectionEngine
import Testing

/// Suppression in event time: the first alert at once, repeats folded into one summary per
/// window, nothing lost.
struct AlertSuppressorTests {
    /// Runs `alerts` through a suppressor, moving its clock to each alert's time first (as
    /// the detector's clock would be), then finishes. Returns what came out.
    static func run(_ alerts: [Alert], options: AlertSuppressor.Options = AlertSuppressor.Options()) -> (out: [Alert], counters: AlertSuppressor.Counters) {
        var out: [Alert] = []
        let s = AlertSuppressor(options: options) { out.append($0) }
        for a in alerts {
            s.advance(to: a.time)
            s.offer(a)
        }
        s.finish()
        return (out, s.counters)
    }

    /// Alerts each emitted one stands for: itself, or the repeats a summary folded.
    static func represented(_ out: [Alert]) -> Int { out.reduce(0) { $0 + max(1, $1.repeats) } }

    static let secs: Int64 = 1_000_000

    @Test func theFirstAlertGoesOutAtOnceAndRepeatsBecomeOneSummary() {
        var out: [Alert] = []
        let s = AlertSuppressor { out.append($0) }
        s.offer(Fixtures.alert(at: 0))
        #expect(out.count == 1 && out[0].repeats == 0, "the first alert is not held back")
        for t in [5.0, 20, 41] {
            s.advance(to: Fixtures.base + Int64(t) * Self.secs)
            s.offer(Fixtures.alert(at: t))
        }
        #expect(out.count == 1)
        // The window (60 s) plus the grace (5 s) must pass on the event clock.
        s.advance(to: Fixtures.base + 64 * Self.secs)
        #expect(out.count == 1)
        s.advance(to: Fixtures.base + 65 * Self.secs)
        #expect(out.count == 2)
        let summary = out[1]
        #expect(summary.repeats == 3 && summary.count == 3)
        #expect(summary.firstTime == Fixtures.base + 5 * Self.secs && summary.time == Fixtures.base + 41 * Self.secs)
        #expect(summary.evidence.count == 3 && summary.evidenceTotal == 3)
        #expect(summary.evidence.map(\.time) == [5, 20, 41].map { Fixtures.base + $0 * Self.secs })
        #expect(s.counters == { var c = AlertSuppressor.Counters(); c.passed = 1; c.folded = 3; c.summaries = 1; return c }())
    }

    @Test func groupsAreRuleActorAndObjectOrTheCorrelationGroup() {
        let alerts = [
            Fixtures.alert(at: 0), Fixtures.alert(user: "bob", at: 1), Fixtures.alert(name: "web-2", at: 2),
            Fixtures.alert(namespace: "dev", at: 3), Fixtures.alert(at: 4),
            Fixtures.alert(Fixtures.secretsRule, user: "alice", at: 5, group: [("user.username", "mallory")], count: 30),
            Fixtures.alert(Fixtures.secretsRule, user: "bob", at: 6, group: [("user.username", "mallory")], count: 45),
            Fixtures.alert(Fixtures.secretsRule, at: 7, group: [("user.username", "eve")], count: 25),
        ]
        let (out, c) = Self.run(alerts)
        // Passed at once: four exec groups and two correlation groups; the fifth exec alert and
        // the second "mallory" firing (another actor, same group-by value) are repeats.
        #expect(c.passed == 6 && c.folded == 2 && c.summaries == 2)
        let mallory = out.first { $0.repeats > 0 && $0.rule.id == "rule-secrets" }
        #expect(mallory?.count == 45, "a correlation summary carries the largest count, not a sum")
        #expect(Self.represented(out) == alerts.count)
    }

    @Test func aConditionThatGoesOnYieldsOneSummaryPerWindow() {
        // One alert every 10 s for 10 minutes: 61 alerts.
        let alerts = (0...60).map { Fixtures.alert(at: Double($0 * 10)) }
        let (out, c) = Self.run(alerts)
        #expect(out[0].repeats == 0)
        #expect(out.dropFirst().allSatisfy { $0.repeats > 0 })
        // Windows [0,60) [60,120) ... [600,660): the first holds 5 repeats (10 s to 50 s), the
        // next nine 6 each, the last only the alert at 600 s (closed by finish): 11 summaries.
        #expect(out.map(\.repeats) == [0, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 1])
        #expect(c.folded == 60 && Self.represented(out) == 61)
        // Summaries' times are their own repeats', in order and without overlap.
        for (a, b) in zip(out.dropFirst(), out.dropFirst(2)) { #expect(a.time < b.firstTime) }
    }

    @Test func aQuietWindowEndsTheGroupSoTheNextAlertIsImmediateAgain() {
        var out: [Alert] = []
        let s = AlertSuppressor { out.append($0) }
        s.offer(Fixtures.alert(at: 0))
        s.advance(to: Fixtures.base + 300 * Self.secs)
        #expect(out.count == 1, "no repeats: no summary")
        #expect(s.openGroups == 0)
        s.offer(Fixtures.alert(at: 300))
        #expect(out.count == 2 && out[1].repeats == 0)
    }

    @Test func anAlertPastItsWindowClosesItEvenBeforeTheClockDoes() {
        // The clock lags (nothing advanced it): the alert at 70 s still closes the window
        // [0, 60) with its summary first, then is folded into the window that follows.
        var out: [Alert] = []
        let s = AlertSuppressor { out.append($0) }
        s.offer(Fixtures.alert(at: 0))
        s.offer(Fixtures.alert(at: 30))
        s.offer(Fixtures.alert(at: 70))
        #expect(out.map(\.repeats) == [0, 1])
        s.finish()
        #expect(out.map(\.repeats) == [0, 1, 1])
        #expect(out[2].time == Fixtures.base + 70 * Self.secs)
    }

    @Test func theGroupBoundClosesWindowsEarlyAndLosesNothing() {
        var options = AlertSuppressor.Options()
        options.maxGroups = 3
        var alerts: [Alert] = []
        for round in 0..<3 {
            for user in ["u1", "u2", "u3", "u4", "u5"] { alerts.append(Fixtures.alert(user: user, at: Double(round))) }
        }
        let (out, c) = Self.run(alerts, options: options)
        #expect(c.windowsClosedEarly > 0)
        #expect(Self.represented(out) == alerts.count)
        #expect(c.passed + c.folded == alerts.count)
    }

    @Test func theEvidenceBoundKeepsCountsButNotEvents() {
        var options = AlertSuppressor.Options()
        options.maxEvidenceBytes = Fixtures.event().utf8.count + 200
        let alerts = (0..<5).map { Fixtures.alert(at: Double($0)) }
        let (out, c) = Self.run(alerts, options: options)
        let summary = out[1]
        #expect(summary.repeats == 4 && summary.evidenceTotal == 4)
        #expect(summary.evidence.count == 1)
        #expect(c.evidenceNotKept == 3)
    }

    @Test func theSameInputGivesTheSameOutput() {
        var alerts: [Alert] = []
        var rng = UInt64(42)
        for i in 0..<400 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let user = "u\(rng >> 60)"
            alerts.append(Fixtures.alert(user: user, name: "pod-\((rng >> 40) % 3)", at: Double(i) * 2.5))
        }
        let first = Self.run(alerts).out.map { AlertFormat.json($0) }
        let second = Self.run(alerts).out.map { AlertFormat.json($0) }
        #expect(first == second)
        #expect(Self.represented(Self.run(alerts).out) == 400)
    }
}
