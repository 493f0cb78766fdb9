/// Which later steps of temporal_ordered correlations can be set aside when they are
/// matched: queued as a few plain words and their key's bytes, with no group key made and
/// no copy of their event.
///
/// A later step extends a sequence only if its group holds the steps before it by its turn,
/// and most find none ("refusals, then an allowed sensitive request": 41,630 of the 1 GiB
/// corpus's 90,005 correlation inputs, nearly all dropped when applied). Copying each one's
/// event (writes, with their bodies) and queueing it as an input cost 19-25 ns of detection
/// per event there. A group can only be made by an input that begins a sequence (step 0), so
/// when neither the correlation's groups nor the first steps queued for it have the step's
/// key (by its digest, in filters that never answer "no" for a key they hold), nothing can
/// be waiting for the step by its turn unless a first step arrives later, out of order. At
/// its turn a set-aside step is counted as an input that found no group would be; if a group
/// for its key may exist after all, it is applied as the input it stands for, without its
/// event in the evidence (`DetectorCounters.setAsideStepsWithoutEvidence`). The detector
/// stops setting steps aside for twice the lateness whenever a first step watched for
/// arrives out of order, so a stream that is out of order (several API servers, webhook
/// batches) keeps every step's evidence; only a first disorder after a stretch in order can
/// cost one.
///
/// A correlation qualifies when it fires early (a lower bound, or no condition: only then
/// is a later step with no group dropped) and its first step is a rule, or a correlation
/// whose firings carry the same group-by values in the same order and whose own groups are
/// made by rules' matches (then that correlation's groups and queued inputs are asked too:
/// its firings begin the sequences).
///
/// A class with counts in memory of its own (a filter of 4,096 counted buckets per
/// correlation, as `KeyFilter` keeps them), held as a constant: updating a filter in an array
/// of arrays checked both arrays' uniqueness at every queued and applied input.
final class SequenceWatch {
    /// For correlation `c`: whether its later steps may be set aside (then `c` itself is
    /// asked), and the other correlation to ask, `alsoWatched[c]` (-1: none).
    private let setsAside: [Bool]
    private let alsoWatched: [Int]
    /// For correlation `x`: the highest position whose queued inputs are counted in
    /// `queuedFirstSteps[x]` (-1: none are).
    private let trackedUpTo: [Int]
    /// The digests of queued inputs that may make a group: correlation `x`'s counted buckets,
    /// as a `KeyFilter` counts them, are `queuedFirstSteps[x * KeyFilter.buckets ..< (x + 1) *
    /// KeyFilter.buckets]`.
    private let queuedFirstSteps: UnsafeMutablePointer<UInt8>

    /// `enabled` false: no step is ever set aside.
    init(_ plan: DetectionPlan, states: [CorrelationState], enabled: Bool = true) {
        let correlations = plan.correlations
        var setsAside = [Bool](repeating: false, count: correlations.count)
        var alsoWatched = [Int](repeating: -1, count: correlations.count)
        var trackedUpTo = [Int](repeating: -1, count: correlations.count)
        /// The highest position of `x` whose inputs may make a group, when every such input
        /// comes from a rule (nil otherwise: firings are not queued, so not tracked).
        func groupMakers(_ x: Int) -> Int? {
            let last = states[x].dropsLaterStepsWithoutGroup ? 0 : correlations[x].inputs.count - 1
            guard last >= 0 else { return nil }
            for input in correlations[x].inputs[0...last] {
                guard case .rule = input.source else { return nil }
            }
            return last
        }
        for (c, correlation) in correlations.enumerated() where enabled {
            guard states[c].dropsLaterStepsWithoutGroup, let first = correlation.inputs.first else { continue }
            switch first.source {
            case .rule:
                setsAside[c] = true
                trackedUpTo[c] = 0
            case .correlation(let inner):
                let n = correlations[inner].groupBy.count
                let sameValues =
                    first.groupValues.count == n
                    && first.groupValues.enumerated().allSatisfy { k, source in
                        if case .group(let j) = source { return j == k }
                        return false
                    }
                guard sameValues, let last = groupMakers(inner) else { continue }
                setsAside[c] = true
                alsoWatched[c] = inner
                trackedUpTo[inner] = max(trackedUpTo[inner], last)
            }
        }
        self.setsAside = setsAside
        self.alsoWatched = alsoWatched
        self.trackedUpTo = trackedUpTo
        let size = max(1, correlations.count) * KeyFilter.buckets
        queuedFirstSteps = .allocate(capacity: size)
        queuedFirstSteps.initialize(repeating: 0, count: size)
    }

    deinit { queuedFirstSteps.deallocate() }

    @inline(__always)
    private func bucket(_ x: Int, _ digest: UInt64) -> UnsafeMutablePointer<UInt8> {
        queuedFirstSteps + x * KeyFilter.buckets + KeyFilter.bucket(digest)
    }

    /// Whether a first step of correlation `x` with this digest may be queued.
    @inline(__always)
    private func mayBeQueued(_ x: Int, _ digest: UInt64) -> Bool { bucket(x, digest).pointee != 0 }

    /// Whether a later step of correlation `c` with this key digest can be set aside: no
    /// group, and no queued input that may make one, has the digest.
    @inline(__always)
    func canSetAside(_ c: Int, digest: UInt64, states: [CorrelationState]) -> Bool {
        guard setsAside[c] else { return false }
        if states[c].mayHaveGroup(digest) || mayBeQueued(c, digest) { return false }
        let y = alsoWatched[c]
        return y < 0 || !(states[y].mayHaveGroup(digest) || mayBeQueued(y, digest))
    }

    /// Whether an input to correlation `x` at `position` is a first step watched for (one
    /// that may make a group some set-aside step waits for).
    @inline(__always)
    func watches(_ x: Int, position: Int) -> Bool { position <= trackedUpTo[x] }

    /// A first step watched for (`watches`) was queued / applied.
    @inline(__always)
    func queued(_ x: Int, digest: UInt64) {
        let b = bucket(x, digest)
        b.pointee = KeyFilter.added(b.pointee)
    }

    @inline(__always)
    func applied(_ x: Int, digest: UInt64) {
        let b = bucket(x, digest)
        b.pointee = KeyFilter.removed(b.pointee)
    }
}
