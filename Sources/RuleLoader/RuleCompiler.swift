import DetectionEngine

/// Turns a loaded Sigma rule into the engine's `CompiledRule`: every field name is checked
/// against the field catalogue and bound to where its values come from, and every field
/// condition gets its compiled matcher.
///
/// Problems are diagnostics, like the loader's: an unknown field is an error (a rule that
/// names one would silently never match), and so are the `expand` and `fieldref` modifiers
/// until the engine evaluates them.
public enum RuleCompiler {
    /// Compiles `rule`; the result is nil when any diagnostic is an error.
    public static func compile(
        _ rule: SigmaRule, catalogue: FieldCatalogue = .standard
    ) -> (rule: CompiledRule?, diagnostics: [RuleDiagnostic]) {
        var diagnostics: [RuleDiagnostic] = []
        let file = rule.metadata.origin.file
        func test(_ c: FieldCondition) -> FieldTest? {
            guard let field = catalogue.resolve(c.field) else {
                diagnostics.append(
                    RuleDiagnostic(
                        .error, .unknownField,
                        "unknown field '\(c.field)'; see `FieldCatalogue` for the fields rules can name",
                        file: file, at: c.position))
                return nil
            }
            if c.usesExpand || c.usesFieldref {
                diagnostics.append(
                    RuleDiagnostic(
                        .error, .unsupportedModifier,
                        "the '\(c.usesExpand ? "expand" : "fieldref")' modifier is not evaluated by the engine yet",
                        file: file, at: c.position))
                return nil
            }
            guard let matcher = c.matcher else { return nil }  // the loader reported why
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
            return FieldTest(field: field, matcher: matcher)
        }
        func tests(_ conditions: [FieldCondition]) -> [FieldTest] { conditions.compactMap(test) }

        var selections: [CompiledSelection] = []
        for selection in rule.detection.selections {
            switch selection.identifier {
            case .fieldMap(let conditions):
                selections.append(.all(tests(conditions)))
            case .anyOfMaps(let maps):
                selections.append(.any(maps.map(tests)))
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
        guard !diagnostics.contains(where: \.isError) else { return (nil, diagnostics) }
        let compiled = CompiledRule(
            id: rule.metadata.id ?? rule.metadata.title, title: rule.metadata.title,
            selectionNames: rule.detection.selectionNames, selections: selections, condition: rule.detection.condition)
        return (compiled, diagnostics)
    }
}
