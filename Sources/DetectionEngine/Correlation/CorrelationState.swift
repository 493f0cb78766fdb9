// TEMPORARY stub so the engine compiles while the real state machines are written (branch corr-state).
public final class CorrelationState {
    public let spec: CorrelationSpec
    public init(spec: CorrelationSpec, limits: CorrelationLimits = .init()) { self.spec = spec }
    public func ingest(_ input: CorrelationInput, emit: (CorrelationFiring) -> Void) {}
    public func advance(to time: Int64, emit: (CorrelationFiring) -> Void) {}
    public func flush(emit: (CorrelationFiring) -> Void) {}
    public private(set) var counters = CorrelationCounters()
    public var groupCount: Int { 0 }
    public var estimatedBytes: Int { 0 }
    public var nextDeadline: Int64? { nil }
}
