import DetectionEngine

/// Turns a loaded Sigma rule (or a filter's detection) into the engine's `CompiledRule`:
/// every field name is checked against the field catalogue and bound to where its values
/// come from, `expand` placeholders are filled from the value lists, `fieldref` is bound to
/// the other field, and every field condition gets its compiled matcher.
///
/// Problems are diagnostics, like the loader's: an unknown field or list is an error (a rule
/// naming one would silently never match).
public enum RuleCompiler {
    /// Compiles `rule`; the result is nil when any diagnostic is an error. Rules compiled
    /// with the same `shared` cache share their identical field tests.
    public static func compile(
        _ rule: SigmaRule, catalogue: FieldCatalogue = .standard, lists: ValueLists = .empty,
        shared: FieldTestCache? = nil
    ) -> (rule: CompiledRule?, diagnostics: [RuleDiagnostic]) {
        compile(rule.detection, info: rule.metadata.ruleInfo(kind: .single), file: rule.metadata.origin.file,
            catalogue: catalogue, lists: lists, shared: shared)
    }

    /// Compiles a filter's selections and condition (matches of the rules it names are
    /// dropped when this matches).
    public static func compile(
        _ filter: SigmaFilter, catalogue: FieldCatalogue = .standard, lists: ValueLists = .empty,
        shared: FieldTestCache? = nil
    ) -> (rule: CompiledRule?, diagnostics: [RuleDiagnostic]) {
        compile(filter.detection, info: filter.metadata.ruleInfo(kind: .single), file: filter.metadata.origin.file,
            catalogue: catalogue, lists: lists, shared: shared)
    }

    static func compile(
        _ detection: Detection, info: RuleInfo, file: String, catalogue: FieldCatalogue, lists: ValueLists,
        shared: FieldTestCache?
    ) -> (rule: CompiledRule?, diagnostics: [RuleDiagnostic]) {
        var diagnostics: [RuleDiagnostic] = []
        func error(_ code: RuleDiagnostic.Code, _ message: String, _ at: SourcePosition) {
            diagnostics.append(RuleDiagnostic(.error, code, message, file: file, at: at))
        }
        func resolve(_ name: String, _ at: SourcePosition) -> FieldDefinition? {
            guard let field = catalogue.resolve(name) else {
                error(.unknownField, "unknown field '\(name)'; `kaudit rules fields` lists the fields rules can name", at)
                return nil
            }
            return field
        }
        // Conditions whose `expand` lists are all empty: the field equals none of no values,
        // so the map holding such a condition never matches.
        var emptyExpansions: Set<SourcePosition> = []
        func test(_ c: FieldCondition) -> FieldTest? {
            guard let field = resolve(c.field, c.position) else { return nil }
            if c.usesFieldref { return reference(c, field) }
            var matcher = c.matcher
            var modifiers = c.modifiers
            var values = c.values
            if c.usesExpand {
                values = []
                for (i, v) in c.values.enumerated() {
                    guard case .string(let text) = v else {
                        values.append(v)
                        continue
                    }
                    switch lists.expand(text) {
                    case .success(let expanded): values += expanded.map(SigmaValue.string)
                    case .failure(let missing):
                        error(
                            .badValue,
                            "no value list " + missing.names.map { "`\($0)`" }.joined(separator: ", ")
                                + " (lists are `lists/<name>.txt` beside the rules)",
                            i < c.valuePositions.count ? c.valuePositions[i] : c.position)
                        return nil
                    }
                }
                if values.isEmpty {
                    if c.modifiers.contains("all") || c.modifiers.contains("neq") {
                        error(.badValue, "an empty value list cannot be combined with `all` or `neq`", c.position)
                    } else {
                        emptyExpansions.insert(c.position)
                    }
                    return nil
                }
                modifiers = c.modifiers.filter { $0 != "expand" }
                do {
                    matcher = try ValueMatcher(values: values, modifiers: modifiers)
                } catch {
                    diagnostics.append(RuleDiagnostic(.error, .badValue, error.message, file: file, at: c.position))
                    return nil
                }
            }
            guard let matcher else { return nil }  // the loader reported why
            if field.type == .integer, c.modifiers.isEmpty || c.modifiers == ["neq"] {
                // Text that is not a number can never equal an integer-valued field.
                for (i, v) in c.values.enumerated() {
                    guard case .string(let text) = v, Int64(text) == nil, !text.contains("*"), !text.contains("?")
                    else { continue }
                    diagnostics.append(
                        RuleDiagnostic(
                            .warning, .neverMatches,
                            "'\(text)' is not a number, and '\(c.field)' holds integers: this value never matches",
                            file: file, at: i < c.valuePositions.count ? c.valuePositions[i] : c.position))
                }
            }
            guard let shared else { return FieldTest(field: field, matcher: matcher) }
            return shared.test(FieldTestCache.Key(field: field.name, modifiers: modifiers, values: values)) { slot in
                FieldTest(field: field, matcher: matcher, resultSlot: slot)
            }
        }
        func reference(_ c: FieldCondition, _ field: FieldDefinition) -> FieldTest? {
            guard c.values.count == 1, case .string(let name) = c.values[0] else {
                error(.badValue, "`fieldref` takes one field name", c.position)
                return nil
            }
            guard let other = resolve(name, c.valuePositions.first ?? c.position) else { return nil }
            var comparison = FieldReference.Comparison.equals
            var cased = false
            for m in c.modifiers where m != "fieldref" {
                switch m {
                case "contains": comparison = .contains
                case "startswith": comparison = .startswith
                case "endswith": comparison = .endswith
                case "cased": cased = true
                default:
                    error(.badModifier, "`fieldref` combines only with contains, startswith, endswith and cased", c.position)
                    return nil
                }
            }
            return FieldTest(field: field, reference: FieldReference(other: other, comparison: comparison, cased: cased))
        }
        /// A map's tests, or nil when it can never match (it expands an empty list).
        func tests(_ conditions: [FieldCondition]) -> [FieldTest]? {
            let compiled = conditions.compactMap(test)
            return conditions.contains { emptyExpansions.contains($0.position) } ? nil : compiled
        }

        var selections: [CompiledSelection] = []
        for selection in detection.selections {
            switch selection.identifier {
            case .fieldMap(let conditions):
                // A map that can never match is an `any` of no maps: false.
                selections.append(tests(conditions).map { .all($0) } ?? .any([]))
            case .anyOfMaps(let maps):
                selections.append(.any(maps.compactMap(tests)))
            case .keywords(let values, let all):
                // Keywords occur anywhere in the event's text.
                do {
                    let matcher = try ValueMatcher(values: values, modifiers: all ? ["contains", "all"] : ["contains"])
                    selections.append(.keywords(matcher))
                } catch {
                    diagnostics.append(
                        RuleDiagnostic(.error, .badValue, error.message, file: file, at: selection.position))
                }
            }
        }
        // One element scope per rule: `container.*` and `volume.*` tests cannot both be about
        // "the same element".
        let scopes = Set(selections.flatMap(\.tests).compactMap(\.field.source.elementScope))
        if scopes.count > 1 {
            error(
                .badSelection,
                "a rule can range over containers or over volumes, not both (it names container.* and volume.* fields)",
                detection.position)
        }
        guard !diagnostics.contains(where: \.isError) else { return (nil, diagnostics) }
        let compiled = CompiledRule(
            info: info, selectionNames: detection.selectionNames, selections: selections, condition: detection.condition)
        return (compiled, diagnostics)
    }
}

extension RuleMetadata {
    /// What alerts say about the document: id, title, level, threat-matrix ids (the
    /// `threat_matrix` attribute) and ATT&CK ids (tags `attack.*`).
    public func ruleInfo(kind: RuleInfo.Kind) -> RuleInfo {
        RuleInfo(
            id: id ?? name ?? title, title: title, level: level.flatMap { AlertLevel(rawValue: $0.rawValue) } ?? .medium,
            threatMatrix: customAttribute("threat_matrix")?.scalarTexts ?? [],
            attack: tags.filter { $0.hasPrefix("attack.") }.map { String($0.dropFirst("attack.".count)) }, kind: kind,
            name: name, description: description)
    }
}

/// One `FieldTest` per distinct `field|modifiers: values` line across the rules of a pack:
/// the same line in many rules (`user.username|startswith: 'system:serviceaccount:'`) is
/// compiled once, and the verdict memo, which evaluates every distinct test of a slot when
/// it first sees a value there, evaluates it once rather than once per rule.
public final class FieldTestCache {
    public struct Key: Hashable {
        let field: String
        let modifiers: [String]
        let values: [SigmaValue]
    }

    private var tests: [Key: FieldTest] = [:]
    /// Tests handed out again instead of compiled anew.
    public private(set) var reused = 0

    public init() {}

    /// The test compiled for `key`, made by `make` the first time, given the number of tests
    /// made before it (its `resultSlot`: per event, a context keeps its result there).
    func test(_ key: Key, make: (Int) -> FieldTest) -> FieldTest {
        if let t = tests[key] {
            reused += 1
            return t
        }
        let t = make(tests.count)
        tests[key] = t
        return t
    }
}
