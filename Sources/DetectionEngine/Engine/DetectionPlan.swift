/// Everything the engine runs, compiled: single-event rules with their filters, and
/// correlations wired to the rules (or correlations) they refer to.
///
/// The rule loader builds a plan from Sigma documents; the engine (`Detector`) only reads
/// it. Correlations are in dependency order: a correlation comes after every correlation it
/// refers to.
public struct DetectionPlan: Sendable {
    /// A single-event rule.
    public struct Rule: Sendable {
        public let compiled: CompiledRule
        /// Filters that apply to the rule: a match is dropped when any of them matches too.
        public let filters: [CompiledRule]
        /// Whether a match raises an alert of its own (false for a rule that correlations
        /// use, unless one of them says `generate: true`).
        public let emitsAlerts: Bool
        /// The correlations a match feeds.
        public let feeds: [Feed]

        public init(compiled: CompiledRule, filters: [CompiledRule] = [], emitsAlerts: Bool = true, feeds: [Feed] = []) {
            self.compiled = compiled
            self.filters = filters
            self.emitsAlerts = emitsAlerts
            self.feeds = feeds
        }
    }

    /// A match (or firing) goes to `correlation` as input at each of `positions` (several
    /// when a temporal_ordered correlation lists the rule more than once; highest first, so
    /// one event never advances two steps).
    public struct Feed: Sendable {
        public let correlation: Int
        public let positions: [Int]

        public init(correlation: Int, positions: [Int]) {
            self.correlation = correlation
            self.positions = positions.sorted(by: >)
        }
    }

    /// Where a correlation input's group-by value (or value_count value) comes from.
    public enum ValueSource: Sendable {
        /// A field of the matching event (the alias's field for this rule, or the field named
        /// in `group-by`).
        case field(FieldDefinition)
        /// The value at this position of the referenced correlation's group (chaining).
        case group(Int)
        /// Nothing provides it: the value is absent.
        case absent
    }

    /// What a correlation reads from one of the rules it refers to.
    public struct Input: Sendable {
        public enum Source: Sendable, Hashable {
            case rule(Int)
            case correlation(Int)
        }

        public let source: Source
        /// One per `group-by` field, in order.
        public let groupValues: [ValueSource]
        /// value_count's field.
        public let value: ValueSource?

        public init(source: Source, groupValues: [ValueSource], value: ValueSource?) {
            self.source = source
            self.groupValues = groupValues
            self.value = value
        }
    }

    /// A Sigma correlation.
    public struct Correlation: Sendable {
        public let info: RuleInfo
        public let spec: CorrelationSpec
        /// The `group-by` field names (alias names where aliases are used), for alerts.
        public let groupBy: [String]
        /// One per referenced rule, in the correlation's order.
        public let inputs: [Input]
        public let emitsAlerts: Bool
        /// Correlations that refer to this one.
        public let feeds: [Feed]

        public init(
            info: RuleInfo, spec: CorrelationSpec, groupBy: [String], inputs: [Input], emitsAlerts: Bool = true,
            feeds: [Feed] = []
        ) {
            self.info = info
            self.spec = spec
            self.groupBy = groupBy
            self.inputs = inputs
            self.emitsAlerts = emitsAlerts
            self.feeds = feeds
        }
    }

    public let rules: [Rule]
    public let correlations: [Correlation]

    public init(rules: [Rule], correlations: [Correlation] = []) {
        self.rules = rules
        self.correlations = correlations
    }
}
