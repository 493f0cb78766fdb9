import AuditJSON
import AuditModel

/// One `field|modifiers: values` line of a selection, ready to run on events.
///
/// Semantics over the field's values (see `FieldSource.forEachValue`):
/// - true when any value matches (arrays: any element);
/// - `exists`: true when the field's presence is what the rule asks;
/// - `neq`: true when no value equals the rule's (an absent field counts as not equal);
/// - an absent field matches only a `null` value (Sigma backends read `field: null` as
///   "null or absent").
public struct FieldTest: Sendable {
    public let field: FieldDefinition
    public let matcher: ValueMatcher
    /// Whether the matcher accepts `null`, decided once so absence costs nothing per event.
    let absentMatches: Bool

    public init(field: FieldDefinition, matcher: ValueMatcher) {
        self.field = field
        self.matcher = matcher
        let null: StaticString = "null"
        absentMatches =
            !matcher.isNegated && matcher.existsCheck == nil
            && JSONValue.parse(UnsafeBufferPointer(start: null.utf8Start, count: 4)).map { matcher.matches($0) } == true
    }

    /// Whether the event passes this test.
    public func evaluate(_ event: AuditEvent) -> Bool {
        if let exists = matcher.existsCheck {
            return (field.source.forEachValue(in: event) { _ in false } > 0) == exists
        }
        if matcher.isNegated {
            // `matches` already negates: every present value must pass.
            var every = true
            field.source.forEachValue(in: event) { v in
                every = Self.matches(matcher, v)
                return every
            }
            return every
        }
        var hit = false
        let count = field.source.forEachValue(in: event) { v in
            hit = Self.matches(matcher, v)
            return !hit
        }
        return count == 0 ? absentMatches : hit
    }

    @inline(__always)
    static func matches(_ matcher: ValueMatcher, _ value: FieldValue) -> Bool {
        switch value {
        case .json(let j): return matcher.matches(j)
        case .text(let t): return matcher.matches(utf8: t)
        }
    }
}

/// A search identifier of a rule's `detection`, compiled.
public enum CompiledSelection: Sendable {
    /// A map: every test must pass.
    case all([FieldTest])
    /// A list of maps: any map must pass in full.
    case any([[FieldTest]])
    /// A keyword list: a value must occur in the event's raw text (the matcher carries the
    /// `contains` semantics and the OR/`all` of the list).
    case keywords(ValueMatcher)

    /// Whether the event passes this selection.
    public func evaluate(_ event: AuditEvent) -> Bool {
        switch self {
        case .all(let tests):
            for t in tests where !t.evaluate(event) { return false }
            return true
        case .any(let maps):
            for tests in maps where tests.allSatisfy({ $0.evaluate(event) }) { return true }
            return false
        case .keywords(let matcher):
            return matcher.matches(utf8: event.object.rawBytes)
        }
    }
}

/// A single-event Sigma rule, compiled: its selections and its resolved condition.
public struct CompiledRule: Sendable {
    /// The rule's `id` (or its title when it has none).
    public let id: String
    public let title: String
    public let selectionNames: [String]
    public let selections: [CompiledSelection]
    public let condition: ResolvedCondition

    public init(id: String, title: String, selectionNames: [String], selections: [CompiledSelection], condition: ResolvedCondition) {
        self.id = id
        self.title = title
        self.selectionNames = selectionNames
        self.selections = selections
        self.condition = condition
    }

    /// Whether the event matches the rule. Selections are evaluated lazily, left to right,
    /// as the condition needs them.
    public func matches(_ event: AuditEvent) -> Bool {
        condition.evaluate { (i: Int) -> Bool in selections[i].evaluate(event) }
    }
}
