// The typed Sigma model the loader produces: rules, correlations and filters.
//
// Everything here is plain Sendable data, already validated: a document is only handed out
// when loading it produced no error, so ids are UUID-shaped (rules), conditions parse and
// resolve against the selections, every field condition (but `expand`/`fieldref` ones) has a
// compiled `ValueMatcher`, and timespans are numbers of seconds. The engine compiles these
// into its evaluation plans; nothing in it needs YAML.
import DetectionEngine

// MARK: - Shared pieces

/// Where a document came from.
public struct DocumentOrigin: Sendable, Hashable, CustomStringConvertible {
    /// The file as given to the loader (or the name given with a string).
    public let file: String
    /// 0-based index of the document among the file's documents (`---` separated).
    public let index: Int
    /// The position of the document's root mapping (its first key).
    public let position: SourcePosition

    public var description: String { "\(file):\(position.line):\(position.column)" }
}

/// A YAML value kept as written, for attributes the loader does not interpret (custom
/// top-level keys, extra `logsource` keys). Scalars are typed as in detections (YAML 1.2
/// core schema; see ScalarTyping.swift); maps keep their key order.
public indirect enum YAMLValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case sequence([YAMLValue])
    case mapping([Entry])

    public struct Entry: Sendable, Hashable {
        public let key: String
        public let value: YAMLValue
    }

    /// The value of `key` in a mapping (the first, though YAML keys are unique).
    public subscript(key: String) -> YAMLValue? {
        guard case .mapping(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// A string scalar's text; numbers and booleans as written in canonical form.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null, .sequence, .mapping: return nil
        }
    }

    /// The texts of a list of scalars, or of a single scalar as a one-element list
    /// (`threat_matrix: [MS-TA9001]` and `threat_matrix: MS-TA9001` both give `["MS-TA9001"]`).
    /// nil for maps, null, or lists holding non-scalars.
    public var scalarTexts: [String]? {
        switch self {
        case .sequence(let items):
            var result: [String] = []
            for item in items {
                guard let text = item.scalarText else { return nil }
                result.append(text)
            }
            return result
        default:
            return scalarText.map { [$0] }
        }
    }
}

/// A top-level key the spec does not define, kept for the engine and tools (the spec allows
/// "arbitrary custom fields"). Example: kaudit's rule pack maps rules to the Microsoft threat
/// matrix for Kubernetes with `threat_matrix: [MS-TA9001]`; the engine reads it with
/// `rule.customAttribute("threat_matrix")?.scalarTexts`.
public struct CustomAttribute: Sendable, Hashable {
    public let name: String
    public let value: YAMLValue
    /// Where the key is written.
    public let position: SourcePosition
}

public enum RuleStatus: String, Sendable, Hashable, CaseIterable {
    case stable, test, experimental, deprecated, unsupported
}

public enum RuleLevel: String, Sendable, Hashable, CaseIterable, Comparable {
    case informational, low, medium, high, critical

    /// 0 (informational) to 4 (critical).
    public var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: RuleLevel, b: RuleLevel) -> Bool { a.rank < b.rank }
}

/// An entry of `related:`.
public struct RelatedRule: Sendable, Hashable {
    public enum Relation: String, Sendable, Hashable, CaseIterable {
        case derived, obsolete, merged, renamed, similar
    }

    public let id: String
    /// nil when the entry's type is missing or not one the spec defines (a warning says so).
    public let type: Relation?

    public init(id: String, type: Relation?) {
        self.id = id
        self.type = type
    }
}

/// `logsource:`.
public struct LogSource: Sendable, Hashable {
    public let category: String?
    public let product: String?
    public let service: String?
    public let definition: String?
    /// Other keys (the spec allows "an arbitrary number of optional elements"), in file order.
    public let custom: [CustomAttribute]
    public let position: SourcePosition
}

/// The attributes every kind of document can have. Rules, correlations and filters expose
/// them directly (`rule.title`) through dynamic member lookup.
public struct RuleMetadata: Sendable {
    public let origin: DocumentOrigin
    public let title: String
    /// The `id` as written: a UUID for rules (validated), any string for correlations and
    /// filters (where UUIDs are only recommended).
    public let id: String?
    /// The unique name correlations can refer to the document by.
    public let name: String?
    public let taxonomy: String?
    public let status: RuleStatus?
    public let description: String?
    public let license: String?
    public let author: String?
    public let references: [String]
    /// `YYYY-MM-DD` as written (a warning flags other forms, which are kept).
    public let date: String?
    public let modified: String?
    public let tags: [String]
    public let falsepositives: [String]
    public let level: RuleLevel?
    public let related: [RelatedRule]
    /// Unknown top-level keys, in file order.
    public let customAttributes: [CustomAttribute]

    /// The custom top-level attribute called `name`.
    public func customAttribute(_ name: String) -> YAMLValue? {
        customAttributes.first { $0.name == name }?.value
    }
}

// MARK: - Detection

/// One `field|mod1|mod2: values` entry of a selection map.
public struct FieldCondition: Sendable {
    /// The field name (a dotted path such as `objectRef.resource`), empty for a keyword-style
    /// entry (`'|all':` or `'|contains':` in a selection map: the values are searched for in
    /// the whole event).
    public let field: String
    /// The modifier chain in order, as written.
    public let modifiers: [String]
    /// The values: one for a scalar, the elements of a list. A YAML null (`field: null` or
    /// `field:`) is `.null`; `''` is `.string("")`.
    public let values: [SigmaValue]
    /// Where each value is written (same count as `values`).
    public let valuePositions: [SourcePosition]
    /// Where the key (`field|mods`) is written.
    public let position: SourcePosition
    /// The compiled matcher. nil exactly when the chain has `expand` or `fieldref`: those need
    /// the engine (placeholder values, the other field's value) before a matcher can exist.
    public let matcher: ValueMatcher?

    public var usesExpand: Bool { modifiers.contains("expand") }
    public var usesFieldref: Bool { modifiers.contains("fieldref") }
}

/// What a search identifier (a key of `detection:`) holds.
public enum SearchIdentifier: Sendable {
    /// A map: every condition must hold (AND).
    case fieldMap([FieldCondition])
    /// A list of maps: any map must hold (OR of ANDs).
    case anyOfMaps([[FieldCondition]])
    /// A list of values searched for in the whole event: any of them (OR), or with `all`
    /// (written as a map with the single key `'|all'`) every one.
    case keywords([SigmaValue], all: Bool)
}

/// A named search identifier.
public struct Selection: Sendable {
    public let name: String
    public let identifier: SearchIdentifier
    /// Where the name is written.
    public let position: SourcePosition
    /// For `.keywords`: where each value is written. Empty otherwise.
    public let keywordPositions: [SourcePosition]
}

/// One `condition:` (a rule has one, or a list, which is an OR).
public struct DetectionCondition: Sendable {
    public let parsed: ParsedCondition
    /// `parsed` bound to the detection's selections (indices into `Detection.selections`).
    public let resolved: ResolvedCondition
    public let position: SourcePosition
}

/// `detection:` of a rule, or the selections and condition of a filter's `filter:`.
public struct Detection: Sendable {
    /// In file order: the order `1 of sel*` expands in and condition indices refer to.
    public let selections: [Selection]
    /// At least one.
    public let conditions: [DetectionCondition]
    public let position: SourcePosition

    public var selectionNames: [String] { selections.map(\.name) }

    /// The rule's condition: the conditions ORed (the spec: a list "is logically linked
    /// with OR").
    public var condition: ResolvedCondition {
        var operands: [ResolvedCondition] = []
        for c in conditions {
            if case .or(let inner) = c.resolved {
                operands.append(contentsOf: inner)
            } else {
                operands.append(c.resolved)
            }
        }
        return operands.count == 1 ? operands[0] : .or(operands)
    }

    /// The selection called `name`.
    public func selection(_ name: String) -> Selection? { selections.first { $0.name == name } }
}

// MARK: - Documents

/// A Sigma detection rule.
@dynamicMemberLookup
public struct SigmaRule: Sendable {
    public let metadata: RuleMetadata
    public let logsource: LogSource
    public let detection: Detection
    /// `fields:`: what to show an analyst.
    public let fields: [String]
    public let scope: [String]

    public subscript<T>(dynamicMember keyPath: KeyPath<RuleMetadata, T>) -> T { metadata[keyPath: keyPath] }
}

public enum CorrelationType: String, Sendable, Hashable, CaseIterable {
    case eventCount = "event_count"
    case valueCount = "value_count"
    case temporal
    case temporalOrdered = "temporal_ordered"
    /// The metric types of spec v2.1 (the engine may not support them yet).
    case valueSum = "value_sum"
    case valueAvg = "value_avg"
    case valuePercentile = "value_percentile"

    /// Whether `condition` is required (every type but the temporal ones).
    public var requiresCondition: Bool { self != .temporal && self != .temporalOrdered }
    /// Whether `condition.field` is required (value_count and the metric types).
    public var requiresField: Bool { requiresCondition && self != .eventCount }
}

/// `timespan:`, `<number><s|m|h|d>`.
public struct Timespan: Sendable, Hashable, CustomStringConvertible {
    /// As written (`5m`).
    public let text: String
    public let seconds: Int

    /// Parses `30s`, `5m`, `1h`, `2d`; nil for anything else (the spec's format is a positive
    /// number and a lower-case unit letter).
    public init?(_ text: String) {
        guard let unit = text.last, text.count >= 2 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits), n > 0 else { return nil }
        let factor: Int
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3600
        case "d": factor = 86400
        default: return nil
        }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        self.text = text
        self.seconds = seconds
    }

    public var description: String { text }
}

/// A correlation's `condition:` map: comparisons that must all hold (`gt: 100, lte: 200` is
/// a range), and the field(s) value_count and the metric types aggregate.
public struct CorrelationCondition: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case gt, gte, lt, lte, eq, neq

        public func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .gt: value > threshold
            case .gte: value >= threshold
            case .lt: value < threshold
            case .lte: value <= threshold
            case .eq: value == threshold
            case .neq: value != threshold
            }
        }
    }

    public struct Comparison: Sendable, Hashable {
        public let op: Operator
        public let threshold: Double
        public let position: SourcePosition
    }

    /// `field:` (a string, or a list: several fields, ANDed); empty when absent.
    public let fields: [String]
    /// At least one.
    public let comparisons: [Comparison]
    public let position: SourcePosition

    /// Whether `value` (a count, or the aggregate) satisfies every comparison.
    public func holds(_ value: Double) -> Bool { comparisons.allSatisfy { $0.op.holds(value, $0.threshold) } }
}

/// One entry of `aliases:`: a name for a field that differs between the correlated rules.
public struct CorrelationAlias: Sendable, Hashable {
    public struct Mapping: Sendable, Hashable {
        /// The rule's `name` (or id).
        public let rule: String
        /// The field in that rule's events.
        public let field: String

        public init(rule: String, field: String) {
            self.rule = rule
            self.field = field
        }
    }

    public let name: String
    /// In file order.
    public let mappings: [Mapping]
    public let position: SourcePosition

    /// The field the alias stands for in events of `rule`.
    public func field(for rule: String) -> String? { mappings.first { $0.rule == rule }?.field }
}

/// A Sigma correlation rule (a document with `correlation:`).
@dynamicMemberLookup
public struct SigmaCorrelation: Sendable {
    public let metadata: RuleMetadata
    public let type: CorrelationType
    /// The correlated rules' ids or names, in order (the order matters to temporal_ordered).
    public let rules: [String]
    public let rulePositions: [SourcePosition]
    /// May be empty (one group for everything).
    public let groupBy: [String]
    public let timespan: Timespan
    /// nil only for the temporal types, where it means "every rule" (all rules must match).
    public let condition: CorrelationCondition?
    public let aliases: [CorrelationAlias]
    /// Whether the correlated rules also produce their own alerts (default false).
    public let generate: Bool
    public let position: SourcePosition

    public subscript<T>(dynamicMember keyPath: KeyPath<RuleMetadata, T>) -> T { metadata[keyPath: keyPath] }
}

/// A Sigma filter (a document with `filter:`): extra selections and a condition that suppress
/// matches of the listed rules when the filter's condition holds.
@dynamicMemberLookup
public struct SigmaFilter: Sendable {
    public let metadata: RuleMetadata
    public let logsource: LogSource
    /// `filter.rules`: ids or names of the rules the filter applies to.
    public let rules: [String]
    public let rulePositions: [SourcePosition]
    /// The keys of `filter:` other than `rules` and `condition` are its selections.
    public let detection: Detection

    public subscript<T>(dynamicMember keyPath: KeyPath<RuleMetadata, T>) -> T { metadata[keyPath: keyPath] }
}

extension SigmaRule {
    /// The custom top-level attribute called `name` (see `CustomAttribute`).
    public func customAttribute(_ name: String) -> YAMLValue? { metadata.customAttribute(name) }
}

extension SigmaCorrelation {
    public func customAttribute(_ name: String) -> YAMLValue? { metadata.customAttribute(name) }
}

extension SigmaFilter {
    public func customAttribute(_ name: String) -> YAMLValue? { metadata.customAttribute(name) }
}

/// One loaded document.
public enum RuleDocument: Sendable {
    case rule(SigmaRule)
    case correlation(SigmaCorrelation)
    case filter(SigmaFilter)

    public var metadata: RuleMetadata {
        switch self {
        case .rule(let r): r.metadata
        case .correlation(let c): c.metadata
        case .filter(let f): f.metadata
        }
    }

    public var rule: SigmaRule? {
        if case .rule(let r) = self { return r }
        return nil
    }

    public var correlation: SigmaCorrelation? {
        if case .correlation(let c) = self { return c }
        return nil
    }

    public var filter: SigmaFilter? {
        if case .filter(let f) = self { return f }
        return nil
    }
}
