import AuditTestSupport
@testable import DetectionEngine
import Testing

// The correlation state machine: every type and condition shape, windows (inclusive at
// both ends, sliding, tumbling), late and out-of-order inputs, expiry and deadlines, every
// limit, and a randomized comparison of event_count against a brute-force reference.
// Times are plain small numbers of microseconds; the timespan is 10 unless said otherwise.

/// Drives one state and records what it emits.
private final class Harness {
    let state: CorrelationState
    var fired: [CorrelationFiring] = []
    var rawSize = 10

    init(
        _ kind: CorrelationSpec.Kind, rules: Int = 1, timespan: Int64 = 10,
        _ condition: [(op: CountCondition.Operator, threshold: Double)]?, limits: CorrelationLimits = .init()
    ) {
        state = CorrelationState(
            spec: CorrelationSpec(
                kind: kind, inputCount: rules, timespan: timespan, condition: condition.map { CountCondition($0) }),
            limits: limits)
    }

    static func evidence(_ id: String, _ t: Int64, raw: Int = 10) -> Evidence {
        Evidence(auditID: id, stage: "ResponseComplete", time: t, raw: Array(repeating: 0x20, count: raw))
    }

    /// One rule match at `t`; its evidence's auditID is `id`, or "<group>@<t>" ("r<rule>" added for temporal types).
    func add(_ t: Int64, group: String = "g", rule: Int = 0, value: String? = nil, id: String? = nil) {
        let kind = state.spec.kind
        let name = id ?? (kind == .temporal || kind == .temporalOrdered ? "\(group)@\(t)r\(rule)" : "\(group)@\(t)")
        add(
            CorrelationInput(
                input: rule, time: t, group: GroupKey([group]), value: value,
                evidence: [Self.evidence(name, t, raw: rawSize)], evidenceTotal: 1))
    }

    func add(_ input: CorrelationInput) {
        state.ingest(input) { fired.append($0) }
    }

    func advance(_ t: Int64) { state.advance(to: t) { fired.append($0) } }
    func flush() { state.flush { fired.append($0) } }

    /// "<group> <first>-<last> #<count>" per firing.
    var summary: [String] { fired.map { "\($0.group.values[0] ?? "nil") \($0.firstTime)-\($0.lastTime) #\($0.count)" } }
    var evidenceIDs: [[String]] { fired.map { $0.evidence.map(\.auditID) } }
    var counters: CorrelationCounters { state.counters }
}

@Suite("Correlation state: event_count firing early")
struct EventCountEarlyTests {
    @Test("gte fires at exactly the threshold, the window inclusive at both ends")
    func threshold() {
        let h = Harness(.eventCount, [(.gte, 3)])
        h.add(0)
        h.add(5)
        #expect(h.fired.isEmpty)
        h.add(10)  // 10 - 0 == timespan: still one window
        #expect(h.summary == ["g 0-10 #3"])
        #expect(h.evidenceIDs == [["g@0", "g@5", "g@10"]])
        #expect(h.fired[0].evidenceTotal == 3)
        #expect(h.counters.inputs == 3)
        #expect(h.counters.firings == 1)
        #expect(h.state.groupCount == 0)
        #expect(h.state.estimatedBytes == 0)
    }

    @Test("gt needs one more than its threshold")
    func greaterThan() {
        let h = Harness(.eventCount, [(.gt, 2)])
        h.add(0)
        h.add(1)
        #expect(h.fired.isEmpty)
        h.add(2)
        #expect(h.summary == ["g 0-2 #3"])
    }

    @Test("gte 1 (and gt 0) fire on every input")
    func everyInput() {
        for cond: (op: CountCondition.Operator, threshold: Double) in [(.gte, 1), (.gt, 0), (.gt, 0.5)] {
            let h = Harness(.eventCount, [cond])
            h.add(0)
            h.add(0)
            h.add(7)
            #expect(h.summary == ["g 0-0 #1", "g 0-0 #1", "g 7-7 #1"])
        }
    }

    @Test("inputs spread wider than the timespan never fire; one past the end is outside")
    func spread() {
        let h = Harness(.eventCount, [(.gte, 2)])
        h.add(0)
        h.add(11)
        h.add(22)
        h.add(33)
        #expect(h.fired.isEmpty)
        #expect(h.state.groupCount == 1)
    }

    @Test("the window slides: old entries are pruned")
    func sliding() {
        let h = Harness(.eventCount, [(.gte, 3)])
        h.add(0)
        h.add(6)
        h.add(12)  // 0 is gone: 6 and 12 remain
        #expect(h.fired.isEmpty)
        h.add(13)
        #expect(h.summary == ["g 6-13 #3"])
    }

    @Test("after firing the group starts afresh: a second alert needs the full threshold again")
    func resetAfterFiring() {
        let h = Harness(.eventCount, [(.gte, 2)])
        h.add(0)
        h.add(1)
        #expect(h.summary == ["g 0-1 #2"])
        h.add(2)
        #expect(h.fired.count == 1)
        h.add(3)
        #expect(h.summary == ["g 0-1 #2", "g 2-3 #2"])
    }

    @Test("groups are counted independently")
    func groupsIndependent() {
        let h = Harness(.eventCount, [(.gte, 2)])
        h.add(0, group: "a")
        h.add(1, group: "b")
        #expect(h.fired.isEmpty)
        #expect(h.state.groupCount == 2)
        h.add(2, group: "a")
        h.add(3, group: "c")
        h.add(4, group: "b")
        #expect(h.summary == ["a 0-2 #2", "b 1-4 #2"])
        #expect(h.state.groupCount == 1)
    }

    @Test("a group key with a missing field is its own group")
    func nilGroupValue() {
        let h = Harness(.eventCount, [(.gte, 2)])
        let missing = CorrelationInput(input: 0, time: 0, group: GroupKey([nil]), value: nil, evidence: [], evidenceTotal: 1)
        h.add(missing)
        h.add(1, group: "g")
        #expect(h.fired.isEmpty)
        h.add(CorrelationInput(input: 0, time: 2, group: GroupKey([nil]), value: nil, evidence: [], evidenceTotal: 1))
        #expect(h.summary == ["nil 0-2 #2"])
    }

    @Test("inputs older than the newest time seen minus the timespan are late: counted and ignored")
    func lateInputs() {
        let h = Harness(.eventCount, [(.gte, 2)])
        h.add(100)
        h.add(89)  // 100 - 10 = 90 > 89
        #expect(h.counters.lateInputs == 1)
        #expect(h.fired.isEmpty)
        h.add(90)  // exactly at the window's start: not late, and counted
        #expect(h.counters.lateInputs == 1)
        #expect(h.summary == ["g 90-100 #2"])
        #expect(h.counters.inputs == 3)
        // advance(to:) moves the newest time too.
        h.advance(200)
        h.add(189)
        #expect(h.counters.lateInputs == 2)
        #expect(h.state.groupCount == 0)
    }

    @Test("out-of-order inputs inside the window are counted")
    func outOfOrder() {
        // Older than what the group holds, completing a window that ends at the newest.
        var h = Harness(.eventCount, [(.gte, 3)])
        h.add(100)
        h.add(95)
        #expect(h.fired.isEmpty)
        h.add(102)
        #expect(h.summary == ["g 95-102 #3"])
        #expect(h.evidenceIDs == [["g@95", "g@100", "g@102"]])

        // The late-coming input opens a window that holds the entries after it.
        h = Harness(.eventCount, [(.gte, 3)])
        h.add(100)
        h.add(108)
        h.add(99)  // [99, 109] holds 99, 100, 108
        #expect(h.summary == ["g 99-108 #3"])
        #expect(h.evidenceIDs == [["g@99", "g@100", "g@108"]])

        // One microsecond further back it is late: it could not share a window with the newest.
        h = Harness(.eventCount, [(.gte, 3)])
        h.add(100)
        h.add(110)
        h.add(99)
        #expect(h.fired.isEmpty)
        #expect(h.counters.lateInputs == 1)
        h.add(100)
        #expect(h.summary == ["g 100-110 #3"])
        #expect(h.evidenceIDs == [["g@100", "g@100", "g@110"]])
    }

    @Test("a newer input arriving first does not make an older one inside the window drop out")
    func newerFirstKeepsOlder() {
        let h = Harness(.eventCount, [(.gte, 3)])
        h.add(10)
        h.add(14)
        h.add(12)  // inserted between; the queue stays in time order
        #expect(h.summary == ["g 10-14 #3"])
        let s = Harness(.eventCount, [(.gte, 3)])
        s.add(10)
        s.add(14)
        s.add(3)  // [3, 13] holds 3 and 10 only; gte 3 keeps the newest 2 (10, 14)
        s.add(21)  // prunes what is older than 11: 10 goes, 14 and 21 remain
        #expect(s.fired.isEmpty)
        s.add(22)
        #expect(s.summary == ["g 14-22 #3"])
    }
}

@Suite("Correlation state: conditions judged at window close")
struct WindowConditionTests {
    @Test("a range is judged when the window closes, through advance(to:)")
    func rangeAtClose() {
        let h = Harness(.eventCount, [(.gte, 2), (.lte, 3)])
        h.add(0, group: "three")
        h.add(1, group: "three")
        h.add(2, group: "three")
        h.add(0, group: "four")
        for t: Int64 in 1...3 { h.add(t, group: "four") }
        h.add(0, group: "one")
        #expect(h.fired.isEmpty)  // never early, even with the lower bound reached
        h.advance(10)  // the windows [0, 10] are still open at 10
        #expect(h.fired.isEmpty)
        h.advance(11)
        #expect(h.summary == ["three 0-2 #3"])
        #expect(h.counters.groupsExpired == 2)  // four and one: judged, nothing to fire
        #expect(h.state.groupCount == 0)
        #expect(h.state.nextDeadline == nil)
    }

    @Test("lt fires for few events at close, not for many")
    func lessThan() {
        let h = Harness(.eventCount, [(.lt, 3)])
        h.add(0, group: "few")
        h.add(0, group: "many")
        h.add(4, group: "many")
        h.add(9, group: "many")
        h.advance(11)
        #expect(h.summary == ["few 0-0 #1"])
        #expect(h.evidenceIDs == [["few@0"]])
    }

    @Test("eq and neq")
    func equality() {
        let eq = Harness(.eventCount, [(.eq, 2)])
        let neq = Harness(.eventCount, [(.neq, 2)])
        for h in [eq, neq] {
            h.add(0, group: "two")
            h.add(10, group: "two")  // at the window's end: included
            h.add(0, group: "split")
            h.add(11, group: "split")  // past it: this input closes [0, 10] and opens [11, 21]
            h.advance(30)
        }
        #expect(eq.summary == ["two 0-10 #2"])
        #expect(neq.summary == ["split 0-0 #1", "split 11-11 #1"])
    }

    @Test("an input past the window closes it and opens the next one; flush judges the open one")
    func closedByInput() {
        let h = Harness(.eventCount, [(.lt, 3)])
        h.add(0)
        h.add(1)
        h.add(20)
        #expect(h.summary == ["g 0-1 #2"])
        #expect(h.state.groupCount == 1)
        h.add(21)
        h.add(22)
        #expect(h.fired.count == 1)
        h.flush()  // [20, 30] holds 3: no
        #expect(h.fired.count == 1)
        #expect(h.state.groupCount == 0)
    }

    @Test("flush judges every open window and drops all state")
    func flushJudges() {
        let h = Harness(.eventCount, [(.lte, 2)])
        h.add(0, group: "a")
        h.add(1, group: "b")
        h.add(2, group: "b")
        h.add(3, group: "c")
        h.add(4, group: "c")
        h.add(5, group: "c")
        #expect(h.state.estimatedBytes > 0)
        h.flush()
        #expect(Set(h.summary) == ["a 0-0 #1", "b 1-2 #2"])
        #expect(h.state.groupCount == 0)
        #expect(h.state.estimatedBytes == 0)
        #expect(h.state.nextDeadline == nil)
        #expect(h.counters.firings == 2)
    }

    @Test("early conditions do not fire at flush")
    func flushEarly() {
        let h = Harness(.eventCount, [(.gte, 3)])
        h.add(0)
        h.add(1)
        h.flush()
        #expect(h.fired.isEmpty)
        #expect(h.state.groupCount == 0)
    }
}

@Suite("Correlation state: value_count")
struct ValueCountTests {
    @Test("distinct values: repeats count once, nil values are ignored")
    func distinct() {
        let h = Harness(.valueCount, [(.gte, 3)])
        h.add(0, value: "a")
        h.add(1, value: "a")
        h.add(2, value: "b")
        h.add(3, value: nil)
        h.add(4, value: "b")
        #expect(h.fired.isEmpty)
        h.add(5, value: "c")
        // Each value with its latest time and evidence, oldest first.
        #expect(h.summary == ["g 1-5 #3"])
        #expect(h.evidenceIDs == [["g@1", "g@4", "g@5"]])
        #expect(h.fired[0].evidenceTotal == 3)
        #expect(h.counters.inputs == 6)
    }

    @Test("one value repeated never fires; nil-only inputs make no group")
    func repeatsAndNil() {
        let h = Harness(.valueCount, [(.gte, 2)])
        for t: Int64 in 0..<5 { h.add(t, value: "same") }
        for t: Int64 in 0..<5 { h.add(t, group: "other", value: nil) }
        #expect(h.fired.isEmpty)
        #expect(h.state.groupCount == 1)
        #expect(h.counters.inputs == 10)
    }

    @Test("values slide by their latest time")
    func sliding() {
        var h = Harness(.valueCount, [(.gte, 3)])
        h.add(0, value: "a")
        h.add(5, value: "b")
        h.add(11, value: "c")  // a (0) is out
        #expect(h.fired.isEmpty)
        h.add(12, value: "d")
        #expect(h.summary == ["g 5-12 #3"])

        h = Harness(.valueCount, [(.gte, 3)])
        h.add(0, value: "a")
        h.add(5, value: "b")
        h.add(9, value: "a")  // a refreshed: now at 9
        h.add(12, value: "c")  // prunes before 2: a (9) and b (5) stay
        #expect(h.summary == ["g 5-12 #3"])
        #expect(h.evidenceIDs == [["g@5", "g@9", "g@12"]])
    }

    @Test("gt and reset after firing")
    func resetAfterFiring() {
        let h = Harness(.valueCount, [(.gt, 1)])
        h.add(0, value: "a")
        h.add(1, value: "b")
        h.add(2, value: "b")
        h.add(3, value: "c")
        #expect(h.summary == ["g 0-1 #2", "g 2-3 #2"])
    }

    @Test("an out-of-order input is counted in its window")
    func outOfOrder() {
        let h = Harness(.valueCount, [(.gte, 3)])
        h.add(100, value: "a")
        h.add(109, value: "b")
        h.add(99, value: "c")  // [99, 109]
        #expect(h.summary == ["g 99-109 #3"])
        #expect(h.evidenceIDs == [["g@99", "g@100", "g@109"]])
    }

    @Test("upper bounds are judged on the distinct values of the tumbling window")
    func window() {
        let h = Harness(.valueCount, [(.lt, 3)])
        h.add(0, group: "two", value: "a")
        h.add(1, group: "two", value: "b")
        h.add(2, group: "two", value: "a")
        h.add(3, group: "two", value: nil)
        h.add(0, group: "three", value: "a")
        h.add(1, group: "three", value: "b")
        h.add(2, group: "three", value: "c")
        h.advance(11)
        #expect(h.summary == ["two 0-2 #2"])
        #expect(h.evidenceIDs == [["two@0", "two@1", "two@2"]])
        #expect(h.fired[0].evidenceTotal == 3)
        #expect(h.counters.groupsExpired == 1)
    }

    @Test("eq at flush")
    func eqAtFlush() {
        let h = Harness(.valueCount, [(.eq, 1)])
        h.add(0, value: "x")
        h.add(5, value: "x")
        h.flush()
        #expect(h.summary == ["g 0-5 #1"])
    }
}

@Suite("Correlation state: temporal")
struct TemporalTests {
    @Test("every rule, in any order, within the timespan")
    func anyOrder() {
        let h = Harness(.temporal, rules: 3, nil)
        h.add(0, rule: 2)
        h.add(3, rule: 0)
        #expect(h.fired.isEmpty)
        h.add(3, rule: 0)  // a repeat refreshes the rule, it does not count twice
        #expect(h.fired.isEmpty)
        h.add(7, rule: 1)
        #expect(h.summary == ["g 0-7 #3"])
        #expect(h.evidenceIDs == [["g@0r2", "g@3r0", "g@7r1"]])
        #expect(h.fired[0].evidenceTotal == 3)
        #expect(h.state.groupCount == 0)
    }

    @Test("rules spread wider than the timespan do not fire; each rule keeps its latest match")
    func spread() {
        let h = Harness(.temporal, rules: 3, nil)
        h.add(0, rule: 0)
        h.add(5, rule: 1)
        h.add(11, rule: 2)  // rule 0 (0) is out
        #expect(h.fired.isEmpty)
        h.add(12, rule: 0)
        #expect(h.summary == ["g 5-12 #3"])
    }

    @Test("window inclusive at both ends")
    func inclusive() {
        let h = Harness(.temporal, rules: 2, nil)
        h.add(0, rule: 0)
        h.add(10, rule: 1)
        #expect(h.summary == ["g 0-10 #2"])
        h.add(20, rule: 0)
        h.add(31, rule: 1)
        #expect(h.fired.count == 1)
    }

    @Test("a lower-bound condition counts distinct rules and fires early")
    func condition() {
        let h = Harness(.temporal, rules: 3, [(.gte, 2)])
        h.add(0, rule: 0)
        h.add(1, rule: 0)
        #expect(h.fired.isEmpty)
        h.add(2, rule: 2)
        #expect(h.summary == ["g 1-2 #2"])
        #expect(h.evidenceIDs == [["g@1r0", "g@2r2"]])
    }

    @Test("an upper-bound condition is judged at window close")
    func conditionAtClose() {
        let h = Harness(.temporal, rules: 3, [(.eq, 1)])
        h.add(0, group: "one", rule: 1)
        h.add(3, group: "one", rule: 1)
        h.add(0, group: "two", rule: 0)
        h.add(2, group: "two", rule: 2)
        h.advance(11)
        #expect(h.summary == ["one 0-3 #1"])
        #expect(h.counters.groupsExpired == 1)
    }

    @Test("inputs at a position outside the rule list are ignored")
    func badPosition() {
        let h = Harness(.temporal, rules: 2, nil)
        h.add(0, rule: 5)
        h.add(0, rule: -1)
        #expect(h.state.groupCount == 0)
        #expect(h.counters.inputs == 2)
    }
}

@Suite("Correlation state: temporal_ordered")
struct TemporalOrderedTests {
    @Test("the rules in order within the timespan fire")
    func rightOrder() {
        let h = Harness(.temporalOrdered, rules: 3, nil)
        h.add(0, rule: 0)
        h.add(2, rule: 1)
        #expect(h.fired.isEmpty)
        h.add(4, rule: 2)
        #expect(h.summary == ["g 0-4 #3"])
        #expect(h.evidenceIDs == [["g@0r0", "g@2r1", "g@4r2"]])
        #expect(h.fired[0].evidenceTotal == 3)
        #expect(h.state.groupCount == 0)
    }

    @Test("the wrong order does not fire")
    func wrongOrder() {
        let h = Harness(.temporalOrdered, rules: 3, nil)
        h.add(0, rule: 2)
        h.add(1, rule: 1)
        h.add(2, rule: 0)
        #expect(h.fired.isEmpty)
        h.add(3, rule: 2)  // step 1 is missing after the 0
        #expect(h.fired.isEmpty)
        h.add(4, rule: 1)
        h.add(5, rule: 2)
        #expect(h.summary == ["g 2-5 #3"])
    }

    @Test("steps at the same time follow each other")
    func sameTime() {
        let h = Harness(.temporalOrdered, rules: 3, nil)
        h.add(5, rule: 0)
        h.add(5, rule: 1)
        h.add(5, rule: 2)
        #expect(h.summary == ["g 5-5 #3"])
    }

    @Test("a repeated step keeps the latest start; a repeat of a later step keeps the earliest completion")
    func repeatedStep() {
        let h = Harness(.temporalOrdered, rules: 3, nil)
        h.add(0, rule: 0)
        h.add(5, rule: 0)
        h.add(6, rule: 1)
        h.add(7, rule: 1)
        h.add(8, rule: 2)
        #expect(h.summary == ["g 5-8 #3"])
        #expect(h.evidenceIDs == [["g@5r0", "g@6r1", "g@8r2"]])
    }

    @Test("a chain older than the timespan is pruned")
    func pruned() {
        let h = Harness(.temporalOrdered, rules: 3, nil)
        h.add(0, rule: 0)
        h.add(5, rule: 1)
        h.add(11, rule: 2)  // 11 - 0 > 10
        #expect(h.fired.isEmpty)
        h.add(12, rule: 0)
        h.add(13, rule: 1)
        h.add(22, rule: 2)  // 22 - 12 == 10
        #expect(h.summary == ["g 12-22 #3"])
    }

    @Test("a later start replaces a chain that could no longer finish in time")
    func laterStart() {
        let h = Harness(.temporalOrdered, rules: 2, nil)
        h.add(0, rule: 0)
        h.add(9, rule: 0)
        h.add(15, rule: 1)  // from 0: too late; from 9: fits
        #expect(h.summary == ["g 9-15 #2"])
    }

    @Test("the same rule at two positions: one event never advances two steps")
    func sameRuleTwice() {
        // rules: [A, A, B]. The engine sends an A event as position 1, then position 0.
        let h = Harness(.temporalOrdered, rules: 3, nil)
        func a(_ t: Int64) {
            h.add(t, rule: 1, id: "A@\(t)")
            h.add(t, rule: 0, id: "A@\(t)")
        }
        a(1)
        h.add(2, rule: 2, id: "B@2")  // a single A is not A, A
        #expect(h.fired.isEmpty)
        a(3)
        #expect(h.fired.isEmpty)
        h.add(4, rule: 2, id: "B@4")
        #expect(h.summary == ["g 1-4 #3"])
        #expect(h.evidenceIDs == [["A@1", "A@3", "B@4"]])
        #expect(h.counters.inputs == 6)
    }

    @Test("later steps with no started sequence keep no state and push no started sequence out")
    func laterStepsWithoutStart() {
        var limits = CorrelationLimits()
        limits.maxGroups = 1
        let h = Harness(.temporalOrdered, rules: 2, nil, limits: limits)
        h.add(0, group: "started", rule: 0)
        // A flood of second-step inputs in groups where nothing started (a building block
        // that matches often, such as any allowed write) makes no group at all...
        for i in 0..<100 { h.add(1, group: "other\(i)", rule: 1) }
        #expect(h.state.groupCount == 1)
        #expect(h.counters.groupsEvicted == 0)
        // ...so the sequence that did start is still there to complete.
        h.add(2, group: "started", rule: 1)
        #expect(h.summary == ["started 0-2 #2"])
        #expect(h.counters.inputs == 102)
    }

    @Test("later steps find their groups through the group filter: more groups than its buckets, groups removed and made again")
    func laterStepsFindGroupsAfterChurn() {
        var limits = CorrelationLimits()
        limits.maxGroups = 3000
        let h = Harness(.temporalOrdered, rules: 2, timespan: 1_000_000, nil, limits: limits)
        // 5,000 started sequences: 2,000 of them push the oldest out (removed groups).
        for i in 0..<5000 { h.add(Int64(i), group: "g\(i)", rule: 0) }
        #expect(h.state.groupCount == 3000)
        #expect(h.counters.groupsEvicted == 2000)
        // The evicted ones find nothing; every kept one completes (and its group goes).
        for i in 0..<5000 { h.add(Int64(5000 + i), group: "g\(i)", rule: 1) }
        #expect(h.fired.count == 3000)
        #expect(Set(h.fired.map { $0.group.values[0] ?? "" }) == Set((2000..<5000).map { "g\($0)" }))
        #expect(h.state.groupCount == 0)
        // Made again under keys removed before: found again.
        for i in 0..<100 { h.add(Int64(20_000 + i), group: "g\(i)", rule: 0) }
        for i in 0..<100 { h.add(Int64(20_200 + i), group: "g\(i)", rule: 1) }
        #expect(h.fired.count == 3100)
    }

    @Test("a lower-bound condition fires when the first rules have occurred in order")
    func condition() {
        let h = Harness(.temporalOrdered, rules: 3, [(.gte, 2)])
        h.add(0, rule: 1)
        h.add(1, rule: 0)
        #expect(h.fired.isEmpty)
        h.add(2, rule: 1)
        #expect(h.summary == ["g 1-2 #2"])
    }

    @Test("an upper-bound condition is judged on the longest chain at window close")
    func conditionAtClose() {
        let h = Harness(.temporalOrdered, rules: 3, [(.lt, 3)])
        h.add(0, group: "two", rule: 0)
        h.add(1, group: "two", rule: 1)
        h.add(0, group: "all", rule: 0)
        h.add(1, group: "all", rule: 1)
        h.add(2, group: "all", rule: 2)
        h.advance(11)
        #expect(h.summary == ["two 0-1 #2"])
    }

    @Test("groups keep their own chains")
    func groups() {
        let h = Harness(.temporalOrdered, rules: 2, nil)
        h.add(0, group: "a", rule: 0)
        h.add(1, group: "b", rule: 1)
        h.add(2, group: "b", rule: 0)
        h.add(3, group: "a", rule: 1)
        #expect(h.summary == ["a 0-3 #2"])
    }
}

@Suite("Correlation state: expiry and deadlines")
struct CorrelationDeadlineTests {
    @Test("advance(to:) expires groups with nothing left in the window; nextDeadline follows")
    func expiry() {
        let h = Harness(.eventCount, [(.gte, 3)])
        #expect(h.state.nextDeadline == nil)
        h.add(0, group: "a")
        #expect(h.state.nextDeadline == 11)
        h.add(5, group: "a")
        #expect(h.state.nextDeadline == 16)  // moved with the newest entry
        h.add(8, group: "b")
        h.advance(15)
        #expect(h.state.groupCount == 2)
        #expect(h.counters.groupsExpired == 0)
        h.advance(16)
        #expect(h.state.groupCount == 1)
        #expect(h.counters.groupsExpired == 1)
        #expect(h.state.nextDeadline == 19)
        h.advance(100)
        #expect(h.state.groupCount == 0)
        #expect(h.counters.groupsExpired == 2)
        #expect(h.state.nextDeadline == nil)
        #expect(h.state.estimatedBytes == 0)
        #expect(h.fired.isEmpty)
    }

    @Test("a group that fired leaves no deadline behind")
    func firedNoDeadline() {
        let h = Harness(.eventCount, [(.gte, 2)])
        h.add(0)
        h.add(1)
        #expect(h.fired.count == 1)
        #expect(h.state.nextDeadline == nil)
        h.advance(1000)
        #expect(h.counters.groupsExpired == 0)
    }

    @Test("window close: nextDeadline is one past the window's end")
    func windowDeadline() {
        let h = Harness(.eventCount, [(.lt, 3)])
        h.add(0, group: "a")
        h.add(4, group: "b")
        h.add(9, group: "a")  // does not move a's window
        #expect(h.state.nextDeadline == 11)
        h.advance(10)
        #expect(h.fired.isEmpty)
        h.advance(11)
        #expect(h.summary == ["a 0-9 #2"])
        #expect(h.state.nextDeadline == 15)
        h.advance(15)
        #expect(h.summary == ["a 0-9 #2", "b 4-4 #1"])
        #expect(h.state.nextDeadline == nil)
    }

    @Test("temporal and ordered groups expire when all they hold is older than the window")
    func temporalExpiry() {
        let t = Harness(.temporal, rules: 2, nil)
        t.add(0, rule: 0)
        t.add(4, rule: 0)
        #expect(t.state.nextDeadline == 15)
        t.advance(15)
        #expect(t.state.groupCount == 0)
        #expect(t.counters.groupsExpired == 1)

        let o = Harness(.temporalOrdered, rules: 3, nil)
        o.add(0, rule: 0)
        o.add(8, rule: 1)  // the chain started at 0
        #expect(o.state.nextDeadline == 11)
        o.advance(11)
        #expect(o.state.groupCount == 0)
    }

    @Test("many groups created and fired: deadlines stay correct")
    func churn() {
        let h = Harness(.eventCount, [(.gte, 2)])
        for i in 0..<5000 {
            let t = Int64(i)
            h.add(t, group: "g\(i)")
            h.add(t, group: "g\(i)")
        }
        #expect(h.fired.count == 5000)
        #expect(h.state.nextDeadline == nil)
        h.add(6000, group: "last")
        #expect(h.state.nextDeadline == 6011)
    }
}

@Suite("Correlation state: limits")
struct CorrelationLimitTests {
    @Test("maxGroups evicts the least recently updated group")
    func maxGroups() {
        var limits = CorrelationLimits()
        limits.maxGroups = 2
        let h = Harness(.eventCount, [(.gte, 3)], limits: limits)
        h.add(0, group: "a")
        h.add(1, group: "b")
        h.add(2, group: "a")  // b is now the least recently updated
        h.add(3, group: "c")
        #expect(h.counters.groupsEvicted == 1)
        #expect(h.state.groupCount == 2)
        h.add(4, group: "a")  // a survived with its two entries
        #expect(h.summary == ["a 0-4 #3"])
        h.add(5, group: "b")
        h.add(6, group: "b")
        #expect(h.fired.count == 1)  // b started over
        #expect(h.counters.groupsEvicted == 1)  // a fired and left room
    }

    @Test("maxBytes evicts least recently updated groups until the estimate is under it")
    func maxBytes() {
        let probe = Harness(.eventCount, [(.gte, 10)])
        probe.rawSize = 1000
        probe.add(0, group: "a")
        let one = probe.state.estimatedBytes
        #expect(one > 1000)
        probe.add(1, group: "a")
        #expect(probe.state.estimatedBytes > one + 1000)

        var limits = CorrelationLimits()
        limits.maxBytes = one * 2 + one / 2
        let h = Harness(.eventCount, [(.gte, 10)], limits: limits)
        h.rawSize = 1000
        h.add(0, group: "a")
        h.add(1, group: "b")
        #expect(h.counters.groupsEvicted == 0)
        h.add(2, group: "c")  // three groups are over the budget: a goes
        #expect(h.counters.groupsEvicted == 1)
        #expect(h.state.groupCount == 2)
        #expect(h.state.estimatedBytes <= limits.maxBytes)
        h.add(3, group: "b")  // b grows past the budget: the least recently updated (c) goes
        #expect(h.counters.groupsEvicted == 2)
        #expect(h.state.groupCount == 1)
        #expect(h.state.estimatedBytes <= limits.maxBytes)
    }

    @Test("maxEntriesPerGroup drops the oldest entries, counted")
    func maxEntries() {
        var limits = CorrelationLimits()
        limits.maxEntriesPerGroup = 3
        let h = Harness(.eventCount, [(.gte, 10)], limits: limits)
        for t: Int64 in 0..<6 { h.add(t) }
        #expect(h.counters.entriesDropped == 3)  // the 4th, 5th and 6th inputs each made 4 entries
        #expect(h.fired.isEmpty)
        let v = Harness(.valueCount, [(.gte, 10)], limits: limits)
        for (i, value) in ["a", "b", "c", "d", "a"].enumerated() { v.add(Int64(i), value: value) }
        #expect(v.counters.entriesDropped == 2)
        let w = Harness(.valueCount, [(.lt, 100)], limits: limits)
        for (i, value) in ["a", "b", "c", "d", "e"].enumerated() { w.add(Int64(i), value: value) }
        w.flush()
        #expect(w.counters.entriesDropped == 2)
        #expect(w.summary == ["g 0-4 #5"])  // dropped values still count in the window
        let t = Harness(.temporal, rules: 3, nil, limits: { var l = limits; l.maxEntriesPerGroup = 1; return l }())
        t.add(0, rule: 0)
        t.add(1, rule: 1)  // rule 0 dropped
        t.add(2, rule: 2)
        #expect(t.fired.isEmpty)
        #expect(t.counters.entriesDropped == 2)
    }

    @Test("the entries kept are the newest ones")
    func maxEntriesKeepsNewest() {
        var limits = CorrelationLimits()
        limits.maxEntriesPerGroup = 2
        let h = Harness(.eventCount, [(.gte, 3)], limits: limits)
        h.add(0)
        h.add(1)
        h.add(5, group: "x")
        #expect(h.counters.entriesDropped == 0)
        // gte 3 needs only 2 kept between inputs, so nothing is dropped and 0, 1, 2 fire.
        h.add(2)
        #expect(h.summary == ["g 0-2 #3"])
        limits.maxEntriesPerGroup = 1
        let s = Harness(.eventCount, [(.gte, 3)], limits: limits)
        s.add(0)
        s.add(1)  // 0 dropped (counted)
        s.add(2)
        #expect(s.fired.isEmpty)
        #expect(s.counters.entriesDropped == 2)
    }

    @Test("evidence keeps the oldest maxEvidence-1 and the newest; evidenceTotal counts all")
    func maxEvidence() {
        var limits = CorrelationLimits()
        limits.maxEvidence = 3
        let h = Harness(.eventCount, [(.gte, 5)], limits: limits)
        for t: Int64 in 0..<5 { h.add(t) }
        #expect(h.evidenceIDs == [["g@0", "g@1", "g@4"]])
        #expect(h.fired[0].evidenceTotal == 5)

        let w = Harness(.eventCount, [(.lt, 10)], limits: limits)
        for t: Int64 in 0..<6 { w.add(t) }
        w.flush()
        #expect(w.evidenceIDs == [["g@0", "g@1", "g@5"]])
        #expect(w.fired[0].evidenceTotal == 6)

        let o = Harness(.temporalOrdered, rules: 4, nil, limits: limits)
        for r in 0..<4 { o.add(Int64(r), rule: r) }
        #expect(o.evidenceIDs == [["g@0r0", "g@1r1", "g@3r3"]])
        #expect(o.fired[0].evidenceTotal == 4)

        limits.maxEvidence = 1
        let one = Harness(.eventCount, [(.gte, 3)], limits: limits)
        for t: Int64 in 0..<3 { one.add(t) }
        #expect(one.evidenceIDs == [["g@2"]])
        #expect(one.fired[0].evidenceTotal == 3)
    }

    @Test("chained inputs: their evidence is capped and their totals add up")
    func chainedInputs() {
        var limits = CorrelationLimits()
        limits.maxEvidence = 4
        let h = Harness(.eventCount, [(.gte, 2)], limits: limits)
        func chained(_ t: Int64, _ prefix: String, _ n: Int, total: Int) -> CorrelationInput {
            CorrelationInput(
                input: 0, time: t, group: GroupKey(["g"]), value: nil,
                evidence: (0..<n).map { Harness.evidence("\(prefix)\($0)", t) }, evidenceTotal: total)
        }
        h.add(chained(0, "x", 6, total: 50))
        h.add(chained(1, "y", 3, total: 3))
        #expect(h.evidenceIDs == [["x0", "x1", "x2", "y2"]])
        #expect(h.fired[0].evidenceTotal == 53)
        #expect(h.fired[0].count == 2)
    }

    @Test("estimatedBytes grows with kept evidence and returns to zero")
    func bytes() {
        let h = Harness(.eventCount, [(.gte, 4)])
        h.rawSize = 500
        h.add(0, id: "e")
        let one = h.state.estimatedBytes
        h.add(1, id: "e")
        #expect(h.state.estimatedBytes >= one + 500)
        h.add(12, id: "e")  // prunes both
        #expect(h.state.estimatedBytes == one)
        h.add(13, id: "e")
        h.add(14, id: "e")
        h.add(15, id: "e")
        #expect(h.fired.count == 1)
        #expect(h.state.estimatedBytes == 0)
    }
}

@Suite("Correlation state: randomized against a brute-force reference")
struct CorrelationRandomTests {
    /// event_count firing early, straight from the definition: an input fires when the inputs
    /// of its group since the group's last firing, within the timespan before it, reach the
    /// threshold.
    static func reference(
        _ inputs: [(group: Int, time: Int64)], timespan: Int64, need: Int, maxEvidence: Int
    ) -> [String] {
        var sinceFiring: [Int: [Int]] = [:]  // group -> input indices since its last firing
        var out: [String] = []
        for (i, input) in inputs.enumerated() {
            sinceFiring[input.group, default: []].append(i)
            let inWindow = sinceFiring[input.group]!.filter { inputs[$0].time >= input.time - timespan }
            if inWindow.count >= need {
                var ids = inWindow.map { "\(inputs[$0].group)@\($0)" }
                if ids.count > maxEvidence { ids = Array(ids.prefix(maxEvidence - 1)) + [ids.last!] }
                out.append(
                    "\(input.group) \(inputs[inWindow.first!].time)-\(input.time) #\(inWindow.count) \(ids.joined(separator: ","))")
                sinceFiring[input.group] = []
            }
        }
        return out
    }

    @Test("event_count early matches the reference over random sorted times", arguments: 0..<40)
    func eventCount(seed: Int) {
        var rng = SplitMix64(seed: 0xC0_22E1 &+ UInt64(seed))
        let timespan = Int64.random(in: 0...40, using: &rng)
        let need = Int.random(in: 1...6, using: &rng)
        let useGt = Bool.random(using: &rng)
        let groups = Int.random(in: 1...4, using: &rng)
        var limits = CorrelationLimits()
        limits.maxEvidence = 3
        let state = CorrelationState(
            spec: CorrelationSpec(
                kind: .eventCount, inputCount: 1, timespan: timespan,
                condition: CountCondition([useGt ? (.gt, Double(need - 1)) : (.gte, Double(need))])),
            limits: limits)
        var inputs: [(group: Int, time: Int64)] = []
        var t: Int64 = 1_700_000_000_000_000
        for _ in 0..<400 {
            t += Int64.random(in: 0...6, using: &rng)
            inputs.append((Int.random(in: 0..<groups, using: &rng), t))
        }
        var got: [String] = []
        let record = { (f: CorrelationFiring) in
            got.append(
                "\(f.group.values[0]!) \(f.firstTime)-\(f.lastTime) #\(f.count) \(f.evidence.map(\.auditID).joined(separator: ","))"
            )
            #expect(f.evidenceTotal == f.count)
        }
        for (i, input) in inputs.enumerated() {
            // The engine advances time as it goes; that must not change any alert.
            if Int.random(in: 0..<4, using: &rng) == 0 { state.advance(to: input.time, emit: record) }
            state.ingest(
                CorrelationInput(
                    input: 0, time: input.time, group: GroupKey(["\(input.group)"]), value: nil,
                    evidence: [Evidence(auditID: "\(input.group)@\(i)", stage: "s", time: input.time, raw: [])],
                    evidenceTotal: 1),
                emit: record)
        }
        let expected = Self.reference(inputs, timespan: timespan, need: need, maxEvidence: 3)
        #expect(got == expected)
        #expect(state.counters.firings == expected.count)
        #expect(state.counters.lateInputs == 0)
        #expect(state.counters.entriesDropped == 0)
        state.advance(to: t + timespan + 1, emit: record)
        #expect(state.groupCount == 0)
        #expect(state.estimatedBytes == 0)
    }
}

@Suite("Correlation state: randomized temporal_ordered and value_count")
struct CorrelationRandomMoreTests {
    /// temporal_ordered from the definition: the latest start of a chain of steps 0...k ending at
    /// input i is its own time for step 0, else the latest start over the earlier inputs of step
    /// k-1 (no later than i) that stays within the timespan of i. A group fires when an input of
    /// the last step has such a chain, and starts over.
    @Test("temporal_ordered matches a brute-force chain search over random sorted inputs", arguments: 0..<30)
    func ordered(seed: Int) {
        var rng = SplitMix64(seed: 0x0DE2 &+ UInt64(seed))
        let timespan = Int64.random(in: 0...30, using: &rng)
        let rules = Int.random(in: 2...4, using: &rng)
        let groups = Int.random(in: 1...3, using: &rng)
        let state = CorrelationState(
            spec: CorrelationSpec(kind: .temporalOrdered, inputCount: rules, timespan: timespan, condition: nil))
        var got: [String] = []
        var expected: [String] = []
        var since: [Int: [(rule: Int, time: Int64, start: Int64?)]] = [:]
        var t: Int64 = 0
        for _ in 0..<500 {
            t += Int64.random(in: 0...4, using: &rng)
            let g = Int.random(in: 0..<groups, using: &rng)
            let rule = Int.random(in: 0..<rules, using: &rng)
            // Reference.
            var start: Int64? = nil
            if rule == 0 {
                start = t
            } else {
                for prior in since[g, default: []] where prior.rule == rule - 1 && prior.time <= t {
                    if let s = prior.start, t - s <= timespan, start == nil || s > start! { start = s }
                }
            }
            since[g, default: []].append((rule, t, start))
            if rule == rules - 1, let s = start {
                expected.append("\(g) \(s)-\(t) #\(rules)")
                since[g] = []
            }
            // State.
            state.ingest(
                CorrelationInput(input: rule, time: t, group: GroupKey(["\(g)"]), value: nil, evidence: [], evidenceTotal: 1)
            ) { got.append("\($0.group.values[0]!) \($0.firstTime)-\($0.lastTime) #\($0.count)") }
        }
        #expect(got == expected)
    }

    /// value_count firing early from the definition: the distinct values among a group's inputs
    /// since its last firing, within the timespan before the current one.
    @Test("value_count early matches a brute-force distinct count over random sorted inputs", arguments: 0..<30)
    func valueCount(seed: Int) {
        var rng = SplitMix64(seed: 0x7A1E &+ UInt64(seed))
        let timespan = Int64.random(in: 0...30, using: &rng)
        let need = Int.random(in: 1...5, using: &rng)
        let values = Int.random(in: 1...6, using: &rng)
        let groups = Int.random(in: 1...3, using: &rng)
        let state = CorrelationState(
            spec: CorrelationSpec(
                kind: .valueCount, inputCount: 1, timespan: timespan, condition: CountCondition([(.gte, Double(need))])))
        var got: [String] = []
        var expected: [String] = []
        var since: [Int: [(value: String, time: Int64)]] = [:]
        var t: Int64 = 0
        for i in 0..<500 {
            t += Int64.random(in: 0...4, using: &rng)
            let g = Int.random(in: 0..<groups, using: &rng)
            let value: String? = Int.random(in: 0..<8, using: &rng) == 0 ? nil : "v\(Int.random(in: 0..<values, using: &rng))"
            if let value {
                since[g, default: []].append((value, t))
                var latest: [String: Int64] = [:]
                for e in since[g]! where e.time >= t - timespan { latest[e.value] = e.time }
                if latest.count >= need {
                    expected.append("\(g) \(latest.values.min()!)-\(t) #\(latest.count)")
                    since[g] = []
                }
            }
            if i % 7 == 0 { state.advance(to: t) { got.append("advance fired \($0.count)") } }
            state.ingest(
                CorrelationInput(input: 0, time: t, group: GroupKey(["\(g)"]), value: value, evidence: [], evidenceTotal: 1)
            ) { got.append("\($0.group.values[0]!) \($0.firstTime)-\($0.lastTime) #\($0.count)") }
        }
        #expect(got == expected)
    }
}

@Suite("Group keys")
struct GroupKeyTests {
    @Test("keys are equal exactly when their values are, in order; absent differs from empty")
    func equality() {
        let keys: [GroupKey] = [
            GroupKey(["alice", "payments"]), GroupKey(["payments", "alice"]), GroupKey(["alicepayments"]),
            GroupKey(["alice", nil]), GroupKey(["alice", ""]), GroupKey([nil, "alice"]), GroupKey([]),
            GroupKey([nil]), GroupKey([""]), GroupKey(["ünïcode", "payments"]),
        ]
        for (i, a) in keys.enumerated() {
            for (j, b) in keys.enumerated() { #expect((a == b) == (i == j), "\(a.values) vs \(b.values)") }
        }
        #expect(GroupKey(["alice", "payments"]) == GroupKey(["alice", "pay" + "ments"]))
        #expect(Set(keys + keys).count == keys.count)
        var table: [GroupKey: Int] = [:]
        for (i, k) in keys.enumerated() { table[k] = i }
        for (i, k) in keys.enumerated() { #expect(table[GroupKey(k.values)] == i) }
    }

    /// One builder makes key after key (the detector's, reset between inputs), through values
    /// longer than its first room: each key holds exactly its own values, whichever way they
    /// were appended (whole, or opened, written in parts and closed).
    @Test("a reused builder makes each key from its own values, past its first room")
    func reusedBuilder() {
        let builder = GroupKey.Builder()
        let values: [[String?]] = [
            ["alice", "payments"], [String(repeating: "x", count: 300), nil, "y"], [], [nil],
            ["a", String(repeating: "z", count: 1_000)], ["", "b"], ["alice", "payments"],
        ]
        for (round, wanted) in (values + values.reversed()).enumerated() {
            builder.reset()
            for value in wanted {
                guard let value else {
                    builder.appendAbsent()
                    continue
                }
                var text = value
                text.withUTF8 { bytes in
                    if round % 2 == 0 {
                        builder.append(value: bytes)
                    } else {
                        // In two parts, as a value of several array elements is written.
                        builder.open()
                        let half = bytes.count / 2
                        builder.appendBytes(UnsafeBufferPointer(rebasing: bytes[0..<half]))
                        builder.appendBytes(UnsafeBufferPointer(rebasing: bytes[half...]))
                        builder.close()
                    }
                }
            }
            let key = builder.key()
            #expect(key == GroupKey(wanted), "round \(round)")
            #expect(key.values == wanted, "round \(round)")
        }
    }
}
