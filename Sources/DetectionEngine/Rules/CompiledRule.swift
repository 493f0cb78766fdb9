import AuditJSON
import AuditModel

/// One `field|modifiers: values` line of a selection, ready to run on events.
///
/// Semantics over the field's values (see `FieldSource.forEachValue`):
/// - true when any value matches (arrays: any element);
/// - `exists`: true when the field's presence is what the rule asks;
/// - `neq`: true when no value equals the rule's (an absent field counts as not equal);
/// - an absent field matches only a `null` value (Sigma backends read `field: null` as
///   "null or absent");
/// - `fieldref`: true when a value of the field equals (or contains, starts or ends with) a
///   value of the other field in the same event.
public final class FieldTest: Sendable {
    /// What the field's values are compared with.
    public enum Check: Sendable {
        case value(ValueMatcher)
        case reference(FieldReference)
    }

    public let field: FieldDefinition
    public let check: Check
    /// Whether the matcher accepts `null`, decided once so absence costs nothing per event.
    let absentMatches: Bool
    /// `field.source` and the matcher, kept apart so evaluation copies neither the field's
    /// definition nor the enum payload.
    let source: FieldSource
    let valueMatcher: ValueMatcher?
    /// The matcher again, unretained: `valueMatcher` keeps it alive, and reading it through
    /// this costs no reference counting per evaluation (a retain and release of the matcher
    /// around every field read showed as a few percent of judging).
    private let unretainedMatcher: Unmanaged<ValueMatcher>?
    /// Where an `EventContext` keeps this test's result for the event it judges (see
    /// `EventContext.result`); -1 when it is not kept: a test made outside a plan's
    /// `FieldTestCache`, or one whose result depends on the element a per-element rule is on.
    public let resultSlot: Int
    /// Whether the result depends on the request body alone, so that `BodyVerdicts` can
    /// remember it for the body (only tests with a `resultSlot`).
    let bodyBinding: BodyBinding

    /// What a test's result depends on, as far as `BodyVerdicts` is concerned.
    enum BodyBinding: UInt8 {
        /// Other parts of the event too.
        case none
        /// `requestObject` or a path into it.
        case requestBody
        /// A pod-spec field: the request body and the resource (which says where the spec
        /// sits), when the spec was found in the request body (else the response's is read).
        case podSpec

        init(_ source: FieldSource) {
            switch source {
            case .envelope(.requestObject), .body(.request, _): self = .requestBody
            case .derived(let d):
                switch d {
                case .podContainerName, .podImage, .podPrivileged, .podAllowPrivilegeEscalation, .podRunAsUser,
                    .podCapabilitiesAdd, .podVolumeMountPath, .podCommand, .podArgs, .podHostNetwork, .podHostPID,
                    .podHostIPC, .podServiceAccountName, .podHostPath, .podHostPathType:
                    self = .podSpec
                case .execCommand, .execCommandLine, .execContainer, .execStdin, .execTTY, .serviceAccountNamespace,
                    .serviceAccountName, .sourceIP:
                    self = .none
                }
            default: self = .none
            }
        }
    }

    /// `resultSlot`: a number no other test of the plan has (the plan's `FieldTestCache`
    /// numbers its tests), or -1.
    public init(field: FieldDefinition, matcher: ValueMatcher, resultSlot: Int = -1) {
        self.field = field
        source = field.source
        self.resultSlot = field.source.elementScope == nil ? resultSlot : -1
        bodyBinding = self.resultSlot >= 0 ? BodyBinding(field.source) : .none
        valueMatcher = matcher
        unretainedMatcher = Unmanaged.passUnretained(matcher)
        check = .value(matcher)
        let null: StaticString = "null"
        absentMatches =
            !matcher.isNegated && matcher.existsCheck == nil
            && JSONValue.parse(UnsafeBufferPointer(start: null.utf8Start, count: 4)).map { matcher.matches($0) } == true
    }

    public init(field: FieldDefinition, reference: FieldReference) {
        self.field = field
        source = field.source
        valueMatcher = nil
        unretainedMatcher = nil
        resultSlot = -1
        bodyBinding = .none
        check = .reference(reference)
        absentMatches = false
    }

    /// The value matcher, unless the test compares with another field.
    public var matcher: ValueMatcher? { valueMatcher }

    /// Whether the event passes this test.
    public func evaluate(_ event: AuditEvent) -> Bool { evaluate(EventContext(event)) }

    /// Whether the context's event (and element) passes this test: the result kept for the
    /// event when another rule asked first.
    public func evaluate(_ context: EventContext) -> Bool {
        let slot = resultSlot
        guard slot >= 0 else { return compute(context) }
        if let kept = context.result(slot) { return kept }
        if bodyBinding != .none, let remembered = context.rememberedBodyResult(slot) {
            context.keep(remembered, slot)
            return remembered
        }
        let result = compute(context)
        context.keep(result, slot)
        if bodyBinding != .none { context.rememberBodyResult(result, slot, needsSpecInRequest: bodyBinding == .podSpec) }
        return result
    }

    private func compute(_ context: EventContext) -> Bool {
        guard let unretainedMatcher else {
            if case .reference(let r) = check { return r.evaluate(source, context) }
            return false
        }
        let (exists, negated, groups) = unretainedMatcher._withUnsafeGuaranteedRef {
            ($0.existsCheck, $0.isNegated, $0.allGroupCount)
        }
        if let exists {
            return (source.forEachValue(in: context) { _ in false } > 0) == exists
        }
        // The closures capture the unretained reference (a plain word), not the matcher.
        if negated {
            // `matches` already negates: every present value must pass.
            var every = true
            source.forEachValue(in: context) { v in
                every = unretainedMatcher._withUnsafeGuaranteedRef { Self.matches($0, v) }
                return every
            }
            return every
        }
        if groups > 1 && groups <= 64 {
            return unretainedMatcher._withUnsafeGuaranteedRef { allAcrossValues($0, groups, context) }
        }
        var hit = false
        let count = source.forEachValue(in: context) { v in
            hit = unretainedMatcher._withUnsafeGuaranteedRef { Self.matches($0, v) }
            return !hit
        }
        return count == 0 ? absentMatches : hit
    }

    /// `all` over several rule values on a field with several values (`user.groups`,
    /// `exec.command`): true when every rule value is matched by some value of the field,
    /// not necessarily the same one. On a single value it is the plain `all`.
    private func allAcrossValues(_ matcher: ValueMatcher, _ groups: Int, _ context: EventContext) -> Bool {
        let full: UInt64 = groups == 64 ? ~0 : (1 << UInt64(groups)) - 1
        var mask: UInt64 = 0
        source.forEachValue(in: context) { v in
            switch v {
            case .text(let t):
                mask |= matcher.matchedGroups(.string(t))
            case .json(let j):
                switch j.kind {
                case .string:
                    if let s = j.jsonString {
                        if s.hasEscapes {
                            s.withDecodedBytes { mask |= matcher.matchedGroups(.string($0)) }
                        } else {
                            mask |= matcher.matchedGroups(.string(s.rawBytes))
                        }
                    }
                case .number:
                    mask |= matcher.matchedGroups(.number(j.rawBytes))
                default:
                    if Self.matches(matcher, v) { mask = full }
                }
            }
            return mask != full
        }
        return mask == full
    }

    @inline(__always)
    static func matches(_ matcher: ValueMatcher, _ value: FieldValue) -> Bool {
        switch value {
        case .json(let j): return matcher.matches(j)
        case .text(let t): return matcher.matches(utf8: t)
        }
    }

    /// Whether the result depends on this test's own field alone (not `fieldref`).
    var readsOneField: Bool { valueMatcher != nil }

    /// Whether the test reads `stage`.
    var readsStage: Bool {
        if case .envelope(.stage) = field.source { return true }
        if case .reference(let r) = check, case .envelope(.stage) = r.other.source { return true }
        return false
    }
}

/// The `fieldref` modifier: compare a field with another field of the same event.
public struct FieldReference: Sendable {
    public enum Comparison: String, Sendable { case equals, contains, startswith, endswith }

    public let other: FieldDefinition
    public let comparison: Comparison
    /// `cased`: compare bytes exactly; otherwise ASCII letters compare case-insensitively.
    public let cased: Bool

    public init(other: FieldDefinition, comparison: Comparison = .equals, cased: Bool = false) {
        self.other = other
        self.comparison = comparison
        self.cased = cased
    }

    /// True when some value of `source` relates to some value of `other` as asked. Strings
    /// compare by their decoded text, other JSON values by their text as written.
    func evaluate(_ source: FieldSource, _ context: EventContext) -> Bool {
        var hit = false
        source.forEachValue(in: context) { a in
            Self.withText(a) { left in
                other.source.forEachValue(in: context) { b in
                    Self.withText(b) { right in hit = related(left, right) }
                    return !hit
                }
            }
            return !hit
        }
        return hit
    }

    private func related(_ value: UnsafeBufferPointer<UInt8>, _ reference: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = reference.count
        guard n <= value.count, let v = value.baseAddress else { return n == 0 && comparison != .equals }
        guard let r = reference.baseAddress else { return comparison != .equals || value.isEmpty }
        switch comparison {
        case .equals: return n == value.count && bytesMatch(v, r, n, fold: !cased)
        case .startswith: return bytesMatch(v, r, n, fold: !cased)
        case .endswith: return bytesMatch(v + (value.count - n), r, n, fold: !cased)
        case .contains:
            var i = 0
            while i + n <= value.count {
                if bytesMatch(v + i, r, n, fold: !cased) { return true }
                i += 1
            }
            return false
        }
    }

    private static func withText(_ value: FieldValue, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        switch value {
        case .text(let t): body(t)
        case .json(let j):
            if let s = j.jsonString { s.withDecodedBytes(body) } else { body(j.rawBytes) }
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
    public func evaluate(_ event: AuditEvent) -> Bool { evaluate(EventContext(event)) }

    public func evaluate(_ context: EventContext) -> Bool {
        switch self {
        case .all(let tests):
            for t in tests where !t.evaluate(context) { return false }
            return true
        case .any(let maps):
            for tests in maps where tests.allSatisfy({ $0.evaluate(context) }) { return true }
            return false
        case .keywords(let matcher):
            return matcher.matches(utf8: context.event.object.rawBytes)
        }
    }

    /// Every field test, whatever the shape.
    public var tests: [FieldTest] {
        switch self {
        case .all(let t): t
        case .any(let maps): maps.flatMap { $0 }
        case .keywords: []
        }
    }
}

/// A single-event Sigma rule (or a filter's condition), compiled: its selections and its
/// resolved condition.
public final class CompiledRule: Sendable {
    public let info: RuleInfo
    public let selectionNames: [String]
    public let selections: [CompiledSelection]
    public let condition: ResolvedCondition
    /// Set when the rule names per-element fields: judged once per element.
    public let elementScope: ElementScope?
    /// Whether a selection the condition uses tests `stage`: such a rule sees every stage of
    /// a request, the others see each request once (see `Detector`).
    public let namesStage: Bool
    /// The condition and selections, flat, for evaluation.
    let program: RuleProgram

    /// The rule's `id` (or its title when it has none).
    public var id: String { info.id }
    public var title: String { info.title }

    public init(info: RuleInfo, selectionNames: [String], selections: [CompiledSelection], condition: ResolvedCondition) {
        self.info = info
        self.selectionNames = selectionNames
        self.selections = selections
        self.condition = condition
        let used = condition.referencedSelections
        var scope: ElementScope?
        var stage = false
        for (i, s) in selections.enumerated() where used.contains(i) {
            for t in s.tests {
                scope = scope ?? t.field.source.elementScope
                if case .reference(let r) = t.check { scope = scope ?? r.other.source.elementScope }
                stage = stage || t.readsStage
            }
        }
        elementScope = scope
        namesStage = stage
        program = RuleProgram(condition: condition, selections: selections)
    }

    public convenience init(id: String, title: String, selectionNames: [String], selections: [CompiledSelection], condition: ResolvedCondition) {
        self.init(
            info: RuleInfo(id: id, title: title, level: .medium), selectionNames: selectionNames, selections: selections,
            condition: condition)
    }

    /// Whether the event matches the rule.
    public func matches(_ event: AuditEvent) -> Bool { matches(EventContext(event)) }

    /// The rule's condition with only the `known` tests evaluated (`RuleProgram.partial`);
    /// read here, the program is not copied out of the rule.
    func partial(_ context: EventContext, known: UnsafeBufferPointer<Bool>) -> Bool? {
        program.partial(context, known: known)
    }

    /// Whether the context's event matches the rule. Selections are evaluated lazily, left to
    /// right, as the condition needs them; a per-element rule is tried on each element until
    /// one satisfies the whole condition.
    public func matches(_ context: EventContext) -> Bool {
        guard let scope = elementScope else { return program.evaluate(context) }
        var hit = false
        var sawElement = false
        if context.podSpec != nil {
            context.elementScope = scope
            switch scope {
            case .container:
                for c in context.containers where !hit {
                    sawElement = true
                    context.element = c.object
                    context.elementKind = c.kind
                    hit = program.evaluate(context)
                }
            case .volume:
                if let list = context.specMember("volumes"), list.kind == .array {
                    for v in list.elements where v.kind == .object && !hit {
                        sawElement = true
                        context.element = v
                        hit = program.evaluate(context)
                    }
                }
            }
            context.element = nil
            context.elementKind = nil
            context.elementScope = nil
        }
        if !sawElement { hit = program.evaluate(context) }
        return hit
    }
}
