import DetectionEngine

/// A rule set compiled into what the engine runs, with every diagnostic of loading and
/// compiling.
public struct RulePack: Sendable {
    public let set: RuleSet
    public let lists: ValueLists
    public let plan: DetectionPlan
    /// Loading, compiling and wiring diagnostics, sorted by file and position.
    public let diagnostics: [RuleDiagnostic]

    /// Loads rule files and directories (and their `lists/` folders) and compiles them;
    /// `activity/` folders inside the directories only when `activity` is set (see `RuleSet.load`).
    public static func load(paths: [String], activity: Bool = false, catalogue: FieldCatalogue = .standard) -> RulePack {
        let set = RuleSet.load(paths: paths, activity: activity)
        let (lists, listDiagnostics) = ValueLists.load(near: paths)
        return RulePack(set: set, lists: lists, extraDiagnostics: listDiagnostics, catalogue: catalogue)
    }

    public init(set: RuleSet, lists: ValueLists = .empty, extraDiagnostics: [RuleDiagnostic] = [], catalogue: FieldCatalogue = .standard) {
        self.set = set
        self.lists = lists
        let (plan, diagnostics) = PlanCompiler.compile(set, catalogue: catalogue, lists: lists)
        self.plan = plan
        self.diagnostics = (set.diagnostics + extraDiagnostics + diagnostics).sorted {
            ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column)
        }
    }

    public var errors: [RuleDiagnostic] { diagnostics.filter(\.isError) }
    public var warnings: [RuleDiagnostic] { diagnostics.filter { !$0.isError } }
}

/// Wires loaded documents into a `DetectionPlan`:
/// - each rule compiled (`RuleCompiler`), with the filters that name it;
/// - each correlation bound to the rules or correlations it refers to, its `group-by` fields
///   (and aliases) resolved per referenced rule, in dependency order;
/// - `generate`: a rule or correlation that a correlation refers to raises alerts of its own
///   only when one of the correlations referring to it says `generate: true`.
public enum PlanCompiler {
    public static func compile(
        _ set: RuleSet, catalogue: FieldCatalogue = .standard, lists: ValueLists = .empty
    ) -> (plan: DetectionPlan, diagnostics: [RuleDiagnostic]) {
        var diagnostics: [RuleDiagnostic] = []

        // Rules.
        var compiled: [(rule: SigmaRule, compiled: CompiledRule)] = []
        let shared = FieldTestCache()
        for rule in set.rules {
            let (c, d) = RuleCompiler.compile(rule, catalogue: catalogue, lists: lists, shared: shared)
            diagnostics += d
            if let c { compiled.append((rule, c)) }
            checkThreatMatrix(rule.metadata, &diagnostics)
        }
        var ruleIndex: [String: Int] = [:]
        for (i, r) in compiled.enumerated() {
            if let id = r.rule.metadata.id { ruleIndex[id] = i }
            if let name = r.rule.metadata.name, ruleIndex[name] == nil { ruleIndex[name] = i }
        }

        // Filters.
        var filters: [[CompiledRule]] = Array(repeating: [], count: compiled.count)
        for filter in set.filters {
            let (c, d) = RuleCompiler.compile(filter, catalogue: catalogue, lists: lists, shared: shared)
            diagnostics += d
            guard let c else { continue }
            for (reference, position) in zip(filter.rules, filter.rulePositions) {
                if let i = ruleIndex[reference] {
                    filters[i].append(c)
                } else if let doc = set.document(reference), doc.correlation != nil {
                    diagnostics.append(
                        RuleDiagnostic(
                            .warning, .unknownRuleReference,
                            "filters apply to detection rules; `\(reference)` is a correlation (filter the rules it uses)",
                            file: filter.metadata.origin.file, at: position))
                }
            }
        }

        // Correlations, inner before outer.
        let correlations = set.correlations
        var corrIndex: [String: Int] = [:]
        for (i, c) in correlations.enumerated() {
            if let id = c.metadata.id { corrIndex[id] = i }
            if let name = c.metadata.name, corrIndex[name] == nil { corrIndex[name] = i }
        }
        var order: [Int] = []
        var placed: Set<Int> = []
        func place(_ i: Int) {
            guard !placed.contains(i) else { return }
            placed.insert(i)  // cycles were rejected by the rule set
            for r in correlations[i].rules where ruleIndex[r] == nil { if let j = corrIndex[r] { place(j) } }
            order.append(i)
        }
        for i in correlations.indices { place(i) }
        var position: [Int: Int] = [:]  // correlation index in `correlations` -> plan index
        for (p, i) in order.enumerated() { position[i] = p }

        var planned: [DetectionPlan.Correlation?] = Array(repeating: nil, count: order.count)
        var ruleFeeds: [[DetectionPlan.Feed]] = Array(repeating: [], count: compiled.count)
        var corrFeeds: [[DetectionPlan.Feed]] = Array(repeating: [], count: order.count)
        var ruleGenerates: [Bool?] = Array(repeating: nil, count: compiled.count)
        var corrGenerates: [Bool?] = Array(repeating: nil, count: order.count)
        for (p, i) in order.enumerated() {
            let c = correlations[i]
            let file = c.metadata.origin.file
            func error(_ message: String, _ at: SourcePosition) {
                diagnostics.append(RuleDiagnostic(.error, .badCorrelationCondition, message, file: file, at: at))
            }
            let kind: CorrelationSpec.Kind
            switch c.type {
            case .eventCount: kind = .eventCount
            case .valueCount: kind = .valueCount
            case .temporal: kind = .temporal
            case .temporalOrdered: kind = .temporalOrdered
            case .valueSum, .valueAvg, .valuePercentile:
                diagnostics.append(
                    RuleDiagnostic(
                        .error, .unknownCorrelationType,
                        "the engine does not evaluate `\(c.type.rawValue)` correlations (event_count, value_count, temporal and temporal_ordered)",
                        file: file, at: c.position))
                continue
            }
            var inputs: [DetectionPlan.Input] = []
            var sources: [DetectionPlan.Input.Source] = []
            var ok = true
            for (reference, at) in zip(c.rules, c.rulePositions) {
                let source: DetectionPlan.Input.Source
                var innerGroupBy: [String] = []
                if let r = ruleIndex[reference] {
                    source = .rule(r)
                } else if let j = corrIndex[reference], let q = position[j], let inner = planned[q] {
                    source = .correlation(q)
                    innerGroupBy = inner.groupBy
                } else {
                    // Refers to a rule that failed to compile (its errors are reported).
                    diagnostics.append(
                        RuleDiagnostic(
                            .error, .unknownRuleReference, "the correlation refers to `\(reference)`, which did not compile",
                            file: file, at: at))
                    ok = false
                    break
                }
                func valueSource(_ name: String) -> DetectionPlan.ValueSource? {
                    let fieldName = c.aliases.first { $0.name == name }.flatMap { $0.field(for: reference) } ?? name
                    if case .correlation = source {
                        guard let k = innerGroupBy.firstIndex(of: fieldName) else {
                            error(
                                "`\(fieldName)` is not among the group-by fields of the correlation `\(reference)` (\(innerGroupBy.joined(separator: ", ")))",
                                at)
                            return nil
                        }
                        return .group(k)
                    }
                    guard let field = catalogue.resolve(fieldName) else {
                        diagnostics.append(
                            RuleDiagnostic(
                                .error, .unknownField, "unknown field '\(fieldName)' in the correlation (for `\(reference)`)",
                                file: file, at: at))
                        return nil
                    }
                    return .field(field)
                }
                var groupValues: [DetectionPlan.ValueSource] = []
                for name in c.groupBy {
                    guard let v = valueSource(name) else {
                        ok = false
                        break
                    }
                    groupValues.append(v)
                }
                var value: DetectionPlan.ValueSource?
                if kind == .valueCount {
                    guard let field = c.condition?.fields.first else {
                        error("value_count needs `condition.field`", c.position)
                        ok = false
                        break
                    }
                    value = valueSource(field)
                    if value == nil { ok = false }
                }
                guard ok else { break }
                inputs.append(DetectionPlan.Input(source: source, groupValues: groupValues, value: value))
                sources.append(source)
            }
            guard ok else { continue }
            var condition: CountCondition?
            if let cc = c.condition {
                condition = CountCondition(
                    cc.comparisons.map { (op: CountCondition.Operator(rawValue: $0.op.rawValue) ?? .gte, threshold: $0.threshold) })
            }
            let spec = CorrelationSpec(
                kind: kind, inputCount: inputs.count, timespan: Int64(c.timespan.seconds) * 1_000_000, condition: condition)
            planned[p] = DetectionPlan.Correlation(
                info: c.metadata.ruleInfo(kind: .correlation), spec: spec, groupBy: c.groupBy, inputs: inputs)
            checkThreatMatrix(c.metadata, &diagnostics)
            // Feeds and generate.
            var positions: [DetectionPlan.Input.Source: [Int]] = [:]
            for (k, s) in sources.enumerated() { positions[s, default: []].append(k) }
            for (s, ks) in positions.sorted(by: { $0.value[0] < $1.value[0] }) {
                switch s {
                case .rule(let r):
                    ruleFeeds[r].append(DetectionPlan.Feed(correlation: p, positions: ks))
                    ruleGenerates[r] = (ruleGenerates[r] ?? false) || c.generate
                case .correlation(let q):
                    corrFeeds[q].append(DetectionPlan.Feed(correlation: p, positions: ks))
                    corrGenerates[q] = (corrGenerates[q] ?? false) || c.generate
                }
            }
        }

        // A correlation that failed leaves a hole; plan indices must stay dense, so the
        // survivors are renumbered.
        var renumber: [Int: Int] = [:]
        var survivors: [Int] = []
        for (p, c) in planned.enumerated() where c != nil {
            renumber[p] = survivors.count
            survivors.append(p)
        }
        func remap(_ feeds: [DetectionPlan.Feed]) -> [DetectionPlan.Feed] {
            feeds.compactMap { f in renumber[f.correlation].map { DetectionPlan.Feed(correlation: $0, positions: f.positions) } }
        }
        let planRules = compiled.indices.map { i in
            DetectionPlan.Rule(
                compiled: compiled[i].compiled, filters: filters[i], emitsAlerts: ruleGenerates[i] ?? true,
                feeds: remap(ruleFeeds[i]))
        }
        let planCorrelations = survivors.map { p -> DetectionPlan.Correlation in
            let c = planned[p]!
            let inputs = c.inputs.map { input -> DetectionPlan.Input in
                guard case .correlation(let q) = input.source, let n = renumber[q] else { return input }
                return DetectionPlan.Input(source: .correlation(n), groupValues: input.groupValues, value: input.value)
            }
            return DetectionPlan.Correlation(
                info: c.info, spec: c.spec, groupBy: c.groupBy, inputs: inputs, emitsAlerts: corrGenerates[p] ?? true,
                feeds: remap(corrFeeds[p]))
        }
        return (DetectionPlan(rules: planRules, correlations: planCorrelations), diagnostics)
    }

    /// `threat_matrix` ids must be techniques of the Kubernetes threat matrix.
    static func checkThreatMatrix(_ metadata: RuleMetadata, _ diagnostics: inout [RuleDiagnostic]) {
        guard let attribute = metadata.customAttributes.first(where: { $0.name == "threat_matrix" }) else { return }
        guard let ids = attribute.value.scalarTexts else {
            diagnostics.append(
                RuleDiagnostic(
                    .error, .badType, "`threat_matrix` is a list of technique ids such as MS-TA9006",
                    file: metadata.origin.file, at: attribute.position))
            return
        }
        for id in ids where !isThreatMatrixID(id) {
            diagnostics.append(
                RuleDiagnostic(
                    .warning, .badTag, "`\(id)` is not a technique of the threat matrix (`kaudit matrix` lists them)",
                    file: metadata.origin.file, at: attribute.position))
        }
    }

    static func isThreatMatrixID(_ id: String) -> Bool { ThreatMatrix.technique(id) != nil }
}
