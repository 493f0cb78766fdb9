// One YAML document -> a rule, a correlation or a filter, with every problem reported.
//
// The decoder never stops at the first problem: each attribute is checked on its own, a bad
// selection does not keep the others (or the condition) from being checked, and a document
// with errors is still walked to the end. Only then is it dropped (its diagnostics stay).
//
// What kind a document is: one with `correlation:` is a correlation, one with `filter:` a
// filter, anything else a rule (so a rule without `detection:` is reported as such).
import DetectionEngine

struct DocumentDecoder {
    let source: SourceText
    let origin: DocumentOrigin
    var sink: DiagnosticSink
    /// Positions of the top-level keys, for rule-set checks (duplicate ids, references).
    var keyPositions: [String: SourcePosition] = [:]
    var valuePositions: [String: SourcePosition] = [:]
    /// The id and name as written, even when the document is rejected (so that references to
    /// it can say it failed to load).
    var declaredID: String? = nil
    var declaredName: String? = nil

    init(source: SourceText, origin: DocumentOrigin, file: String) {
        self.source = source
        self.origin = origin
        self.sink = DiagnosticSink(file: file)
    }

    enum Kind: String {
        case rule, correlation, filter
    }

    static let commonKeys: Set<String> = [
        "title", "id", "name", "related", "taxonomy", "status", "description", "license", "author", "references",
        "date", "modified", "tags", "falsepositives", "level",
    ]
    static let ruleKeys: Set<String> = commonKeys.union(["logsource", "detection", "fields", "scope"])
    static let correlationKeys: Set<String> = commonKeys.union(["correlation", "generate"])
    static let filterKeys: Set<String> = commonKeys.union(["logsource", "filter"])
    static let allKnownKeys: Set<String> = ruleKeys.union(correlationKeys).union(filterKeys)

    // MARK: - Entry

    /// Decodes the document; nil when it has errors (they are in `sink`) or no content.
    /// A detection value typed as pySigma would read it, with a warning where YAML 1.1 and
    /// YAML 1.2 disagree about an unquoted scalar.
    mutating func typedValue(_ scalar: YScalar, at position: SourcePosition) -> ScalarTyping.Typed {
        let typed = ScalarTyping.value(of: scalar)
        if let ambiguity = typed.ambiguity {
            sink.warning(
                .ambiguousScalar, ambiguity + "; kaudit reads it as the string '\(scalar.text)' (quote it)", at: position)
        }
        return typed
    }

    mutating func decode(_ root: YNode) -> RuleDocument? {
        guard let pairs = root.pairs else {
            if let s = root.scalar, ScalarTyping.value(of: s).value == .null {
                sink.warning(.emptyDocument, "empty YAML document", at: root.position)
            } else {
                sink.error(
                    .notAMapping,
                    "a Sigma document is a map of attributes (title, logsource, detection, ...), not \(root.kindName)",
                    at: root.position)
            }
            return nil
        }
        var byKey: [String: YPair] = [:]
        for pair in pairs {
            guard let key = pair.key.scalar?.text else {
                sink.error(
                    .badType, "a top-level key must be a string, not \(pair.key.kindName)", at: pair.key.position)
                continue
            }
            byKey[key] = pair
            keyPositions[key] = pair.key.position
            valuePositions[key] = pair.value.position
        }
        if let action = byKey["action"], let text = action.value.scalar?.text,
            ["global", "reset", "repeat"].contains(text)
        {
            sink.error(
                .unsupportedAction,
                "`action: \(text)` belongs to Sigma 1 rule collections, which the specification no longer has;"
                    + " write each rule as a complete document",
                at: action.key.position)
        }

        let markers = ["detection", "correlation", "filter"].filter { byKey[$0] != nil }
        if markers.count > 1 {
            let second = byKey[markers[1]]!
            sink.error(
                .ambiguousDocument,
                "a document is a rule (`detection`), a correlation (`correlation`) or a filter (`filter`),"
                    + " not several; this one has "
                    + markers.map { "`\($0)`" }.joined(separator: " and "),
                at: second.key.position)
        }
        let kind: Kind = byKey["correlation"] != nil ? .correlation : (byKey["filter"] != nil ? .filter : .rule)

        let metadata = decodeMetadata(root: root, pairs: pairs, byKey: byKey, kind: kind)
        var document: RuleDocument?
        switch kind {
        case .rule: document = decodeRule(root: root, byKey: byKey, metadata: metadata).map(RuleDocument.rule)
        case .correlation: document = decodeCorrelation(byKey: byKey, metadata: metadata).map(RuleDocument.correlation)
        case .filter: document = decodeFilter(root: root, byKey: byKey, metadata: metadata).map(RuleDocument.filter)
        }
        return sink.hasErrors ? nil : document
    }

    // MARK: - Metadata

    private mutating func decodeMetadata(root: YNode, pairs: [YPair], byKey: [String: YPair], kind: Kind)
        -> RuleMetadata
    {
        var title = ""
        if let pair = byKey["title"] {
            if let text = requiredText(pair, what: "title") {
                title = text
                if text.isEmpty {
                    sink.error(.missingTitle, "the title is empty", at: pair.value.position)
                } else if text.count > 256 {
                    sink.warning(
                        .titleTooLong, "the title has \(text.count) characters; the spec allows 256",
                        at: pair.value.position)
                }
            }
        } else {
            sink.error(.missingTitle, "missing `title` (required)", at: root.position)
        }

        var id: String? = nil
        if let pair = byKey["id"] {
            if let text = requiredText(pair, what: "id") {
                id = text
                if !Self.isUUID(text) {
                    let severity: RuleDiagnostic.Severity = kind == .rule ? .error : .warning
                    sink.report(
                        severity, .badUUID,
                        "`\(text)` is not a UUID (8-4-4-4-12 hexadecimal digits,"
                            + " such as 929a690e-bef0-4204-a928-ef5e620d6fcc)",
                        at: pair.value.position)
                }
            }
        } else {
            sink.warning(
                .missingID,
                "no `id`: other rules, filters and correlations cannot refer to this \(kind.rawValue) by id",
                at: root.position)
        }

        let name = byKey["name"].flatMap { requiredText($0, what: "name") }
        declaredID = id
        declaredName = name

        var status: RuleStatus? = nil
        if let pair = byKey["status"], let text = optionalText(pair) {
            if let s = RuleStatus(rawValue: text) {
                status = s
                if s == .deprecated || s == .unsupported {
                    sink.warning(.inactiveStatus, "the \(kind.rawValue)'s status is `\(text)`", at: pair.value.position)
                }
            } else {
                sink.warning(
                    .unknownStatus,
                    "unknown status `\(text)` (ignored); the spec's statuses are "
                        + RuleStatus.allCases.map(\.rawValue).joined(separator: ", "),
                    at: pair.value.position)
            }
        }

        var level: RuleLevel? = nil
        if let pair = byKey["level"], let text = optionalText(pair) {
            if let l = RuleLevel(rawValue: text) {
                level = l
            } else {
                sink.error(
                    .unknownLevel,
                    "unknown level `\(text)`; the spec's levels are "
                        + RuleLevel.allCases.map(\.rawValue).joined(separator: ", "),
                    at: pair.value.position)
            }
        }

        let tags = byKey["tags"].map { stringList($0, what: "tags") } ?? []
        if let pair = byKey["tags"], let items = pair.value.items ?? (pair.value.scalar != nil ? [pair.value] : nil) {
            for item in items {
                guard let text = item.scalar?.text, !Self.isTag(text) else { continue }
                sink.warning(
                    .badTag,
                    "tag `\(text)` is not `namespace.value` in lower-case letters, digits, `_` and `-`"
                        + " (such as attack.t1609)",
                    at: item.position)
            }
        }

        let date = byKey["date"].flatMap { dateText($0) }
        let modified = byKey["modified"].flatMap { dateText($0) }

        var related: [RelatedRule] = []
        if let pair = byKey["related"] { related = decodeRelated(pair) }

        // Custom attributes: every key the document kind does not define.
        let known: Set<String>
        switch kind {
        case .rule: known = Self.ruleKeys
        case .correlation: known = Self.correlationKeys
        case .filter: known = Self.filterKeys
        }
        var custom: [CustomAttribute] = []
        for pair in pairs {
            guard let key = pair.key.scalar?.text, !known.contains(key) else { continue }
            if key == "action" || ["detection", "correlation", "filter"].contains(key) {
                // Reported above (unsupported action, ambiguous document).
            } else if Self.allKnownKeys.contains(key) {
                sink.warning(
                    .unknownAttribute, "a \(kind.rawValue) has no `\(key)` (kept as a custom attribute)",
                    at: pair.key.position)
            } else if let suggestion = Self.suggestion(for: key, among: known) {
                sink.warning(
                    .unknownAttribute,
                    "`\(key)` is not a Sigma attribute; did you mean `\(suggestion)`? (kept as a custom attribute)",
                    at: pair.key.position)
            }
            custom.append(CustomAttribute(name: key, value: Self.yamlValue(pair.value), position: pair.key.position))
        }

        return RuleMetadata(
            origin: origin, title: title, id: id, name: name,
            taxonomy: byKey["taxonomy"].flatMap { optionalText($0) },
            status: status,
            description: byKey["description"].flatMap { optionalText($0) },
            license: byKey["license"].flatMap { optionalText($0) },
            author: byKey["author"].flatMap { optionalText($0) },
            references: byKey["references"].map { stringList($0, what: "references") } ?? [],
            date: date, modified: modified, tags: tags,
            falsepositives: byKey["falsepositives"].map { stringList($0, what: "falsepositives") } ?? [],
            level: level, related: related, customAttributes: custom)
    }

    private mutating func decodeRelated(_ pair: YPair) -> [RelatedRule] {
        guard let items = pair.value.items else {
            if pair.value.scalar.map({ ScalarTyping.value(of: $0).value }) != .null {
                sink.warning(
                    .badType, "`related` is a list of `id`/`type` maps, not \(pair.value.kindName) (ignored)",
                    at: pair.value.position)
            }
            return []
        }
        var result: [RelatedRule] = []
        for item in items {
            guard let entry = item.pairs else {
                sink.warning(
                    .badRelated, "a `related` entry is a map with `id` and `type`, not \(item.kindName)",
                    at: item.position)
                continue
            }
            var id: String? = nil
            var type: RelatedRule.Relation? = nil
            var sawType = false
            for p in entry {
                switch p.key.scalar?.text {
                case "id":
                    id = p.value.scalar?.text
                    if let text = id, !Self.isUUID(text) {
                        sink.warning(.badRelated, "related id `\(text)` is not a UUID", at: p.value.position)
                    }
                case "type":
                    sawType = true
                    let text = p.value.scalar?.text ?? ""
                    type = RelatedRule.Relation(rawValue: text)
                    if type == nil {
                        sink.warning(
                            .badRelated,
                            "unknown related type `\(text)`; the spec's types are "
                                + RelatedRule.Relation.allCases.map(\.rawValue).joined(separator: ", "),
                            at: p.value.position)
                    }
                default:
                    sink.warning(.unknownAttribute, "a `related` entry has only `id` and `type`", at: p.key.position)
                }
            }
            guard let id else {
                sink.warning(.badRelated, "a `related` entry without `id` (ignored)", at: item.position)
                continue
            }
            if !sawType { sink.warning(.badRelated, "a `related` entry without `type`", at: item.position) }
            result.append(RelatedRule(id: id, type: type))
        }
        return result
    }

    // MARK: - Rules

    private mutating func decodeRule(root: YNode, byKey: [String: YPair], metadata: RuleMetadata) -> SigmaRule? {
        let logsource = decodeLogsource(byKey["logsource"], root: root, kind: .rule)
        var detection: Detection? = nil
        if let pair = byKey["detection"] {
            if let pairs = pair.value.pairs {
                detection = decodeDetection(pairs, at: pair.key.position, owner: "detection", skipping: [])
            } else {
                sink.error(
                    .badType, "`detection` is a map of selections and a `condition`, not \(pair.value.kindName)",
                    at: pair.value.position)
            }
        } else {
            sink.error(.missingDetection, "missing `detection` (required)", at: root.position)
        }
        let fields = byKey["fields"].map { stringList($0, what: "fields") } ?? []
        let scope = byKey["scope"].map { stringList($0, what: "scope") } ?? []
        guard let logsource, let detection else { return nil }
        return SigmaRule(metadata: metadata, logsource: logsource, detection: detection, fields: fields, scope: scope)
    }

    private mutating func decodeLogsource(_ pair: YPair?, root: YNode, kind: Kind) -> LogSource? {
        guard let pair else {
            sink.error(.missingLogsource, "missing `logsource` (required)", at: root.position)
            return nil
        }
        guard let pairs = pair.value.pairs else {
            sink.error(
                .badType, "`logsource` is a map (category, product, service, definition), not \(pair.value.kindName)",
                at: pair.value.position)
            return nil
        }
        var fields: [String: String] = [:]
        var custom: [CustomAttribute] = []
        for p in pairs {
            guard let key = p.key.scalar?.text else {
                sink.error(.badType, "a `logsource` key must be a string", at: p.key.position)
                continue
            }
            switch key {
            case "category", "product", "service", "definition":
                guard let s = p.value.scalar else {
                    sink.error(
                        .badType, "logsource `\(key)` is a string, not \(p.value.kindName)", at: p.value.position)
                    continue
                }
                if ScalarTyping.value(of: s).value != .null { fields[key] = s.text }
            default:
                custom.append(CustomAttribute(name: key, value: Self.yamlValue(p.value), position: p.key.position))
            }
        }
        if fields["category"] == nil && fields["product"] == nil && fields["service"] == nil {
            sink.warning(.emptyLogsource, "`logsource` names no category, product or service", at: pair.key.position)
        }
        return LogSource(
            category: fields["category"], product: fields["product"], service: fields["service"],
            definition: fields["definition"], custom: custom, position: pair.key.position)
    }

    // MARK: - Detection

    /// Decodes selections and conditions from the entries of `detection:` (or `filter:`, whose
    /// `rules` key the caller lists in `skipping`).
    private mutating func decodeDetection(
        _ pairs: [YPair], at position: SourcePosition, owner: String, skipping: Set<String>
    ) -> Detection? {
        var selections: [Selection] = []
        var conditionNodes: [YNode] = []
        var sawCondition = false
        var ok = true
        for pair in pairs {
            guard let name = pair.key.scalar?.text else {
                sink.error(
                    .badSelection, "a selection name must be a string, not \(pair.key.kindName)", at: pair.key.position)
                ok = false
                continue
            }
            if skipping.contains(name) { continue }
            switch name {
            case "condition":
                sawCondition = true
                if let items = pair.value.items {
                    if items.isEmpty {
                        sink.error(.missingCondition, "`condition` is an empty list", at: pair.value.position)
                    }
                    for item in items {
                        if item.scalar != nil {
                            conditionNodes.append(item)
                        } else {
                            sink.error(.badType, "a condition is a string, not \(item.kindName)", at: item.position)
                        }
                    }
                } else if pair.value.scalar != nil {
                    conditionNodes.append(pair.value)
                } else {
                    sink.error(
                        .badType, "`condition` is a string or a list of strings, not \(pair.value.kindName)",
                        at: pair.value.position)
                }
            case "timeframe":
                sink.warning(
                    .deprecatedTimeframe,
                    "`timeframe` belongs to Sigma 1 aggregations, which the specification replaced by correlation"
                        + " rules (ignored)",
                    at: pair.key.position)
            default:
                if let selection = decodeSelection(name: name, pair) {
                    selections.append(selection)
                } else {
                    ok = false
                }
            }
        }
        if !sawCondition {
            sink.error(.missingCondition, "`\(owner)` has no `condition`", at: position)
        }

        // Conditions resolve against every selection name, even of selections with errors, so
        // a bad selection does not also show up as an unknown one.
        let names = pairs.compactMap { pair -> String? in
            guard let name = pair.key.scalar?.text, !skipping.contains(name), name != "condition", name != "timeframe"
            else {
                return nil
            }
            return name
        }
        var conditions: [DetectionCondition] = []
        for node in conditionNodes {
            guard let condition = decodeCondition(node, names: names) else {
                ok = false
                continue
            }
            conditions.append(condition)
        }

        if ok, !conditions.isEmpty, conditions.count == conditionNodes.count {
            var used: Set<Int> = []
            for c in conditions { used.formUnion(c.resolved.referencedSelections) }
            for (index, selection) in selections.enumerated() where !used.contains(index) {
                sink.warning(
                    .unusedSelection, "selection `\(selection.name)` is not used by the condition",
                    at: selection.position)
            }
        }
        guard ok, sawCondition, !conditions.isEmpty, conditions.count == conditionNodes.count else { return nil }
        return Detection(selections: selections, conditions: conditions, position: position)
    }

    private mutating func decodeCondition(_ node: YNode, names: [String]) -> DetectionCondition? {
        guard let scalar = node.scalar else { return nil }
        let text = scalar.text
        let parsed: ParsedCondition
        do {
            parsed = try ParsedCondition(text)
        } catch {
            var message = error.message
            if text.contains("|") {
                message += "; `| count() ...` aggregations were removed from Sigma: use a correlation rule"
            }
            sink.error(
                .conditionSyntax, message, at: source.position(of: scalar, at: node.position, offset: error.offset))
            return nil
        }
        do {
            let resolved = try parsed.resolve(selections: names)
            return DetectionCondition(parsed: parsed, resolved: resolved, position: node.position)
        } catch {
            sink.error(
                .unknownSelection, error.message,
                at: source.position(of: scalar, at: node.position, offset: error.offset))
            return nil
        }
    }

    private mutating func decodeSelection(name: String, _ pair: YPair) -> Selection? {
        let value = pair.value
        let position = pair.key.position
        switch value.kind {
        case .mapping(let entries):
            guard !entries.isEmpty else {
                sink.error(.emptySelection, "selection `\(name)` is an empty map", at: value.position)
                return nil
            }
            // The keyword form with `all`: a map whose only key is `'|all'`.
            if entries.count == 1, entries[0].key.scalar?.text == "|all" {
                guard let (values, positions) = keywordValues(entries[0].value, selection: name, all: true) else {
                    return nil
                }
                return Selection(
                    name: name, identifier: .keywords(values, all: true), position: position,
                    keywordPositions: positions)
            }
            guard let conditions = decodeFieldMap(entries) else { return nil }
            return Selection(name: name, identifier: .fieldMap(conditions), position: position, keywordPositions: [])
        case .sequence(let items):
            guard !items.isEmpty else {
                sink.error(.emptySelection, "selection `\(name)` is an empty list", at: value.position)
                return nil
            }
            let maps = items.filter { $0.pairs != nil }.count
            let scalars = items.filter { $0.scalar != nil }.count
            if maps == items.count {
                var alternatives: [[FieldCondition]] = []
                var ok = true
                for item in items {
                    let entries = item.pairs!
                    if entries.isEmpty {
                        sink.error(
                            .emptySelection, "an empty map in the list of selection `\(name)`", at: item.position)
                        ok = false
                    } else if let conditions = decodeFieldMap(entries) {
                        alternatives.append(conditions)
                    } else {
                        ok = false
                    }
                }
                return ok
                    ? Selection(
                        name: name, identifier: .anyOfMaps(alternatives), position: position, keywordPositions: [])
                    : nil
            }
            if scalars == items.count {
                guard let (values, positions) = keywordValues(value, selection: name, all: false) else { return nil }
                return Selection(
                    name: name, identifier: .keywords(values, all: false), position: position,
                    keywordPositions: positions)
            }
            let odd = items.first { $0.pairs == nil && (maps > 0 || $0.scalar == nil) }!
            sink.error(
                .badSelection,
                "selection `\(name)` is a list of maps (any matches) or a list of keywords, not a mix;"
                    + " this item is \(odd.kindName)",
                at: odd.position)
            return nil
        case .scalar(let s):
            if ScalarTyping.value(of: s).value == .null {
                sink.error(.emptySelection, "selection `\(name)` is empty", at: value.position)
                return nil
            }
            // pySigma reads a lone scalar as a one-keyword list; so does kaudit.
            guard let (values, positions) = keywordValues(value, selection: name, all: false) else { return nil }
            return Selection(
                name: name, identifier: .keywords(values, all: false), position: position, keywordPositions: positions)
        }
    }

    /// The values of a keyword list (or a single keyword).
    /// The engine searches the event's text for keywords (`contains`); values that cannot be
    /// compiled so are reported here.
    private mutating func keywordValues(_ node: YNode, selection: String, all: Bool) -> (
        [SigmaValue], [SourcePosition]
    )? {
        let items = node.items ?? [node]
        if items.isEmpty {
            sink.error(.emptySelection, "selection `\(selection)` has no keywords", at: node.position)
            return nil
        }
        var values: [SigmaValue] = []
        var positions: [SourcePosition] = []
        var ok = true
        for item in items {
            guard let scalar = item.scalar else {
                sink.error(.badValue, "a keyword is a string, not \(item.kindName)", at: item.position)
                ok = false
                continue
            }
            let typed = typedValue(scalar, at: item.position)
            switch typed.value {
            case .null, .bool:
                sink.error(.badValue, "a keyword is a string or a number, not \(item.kindName)", at: item.position)
                ok = false
                continue
            default:
                break
            }
            values.append(typed.value)
            positions.append(item.position)
        }
        guard ok else { return nil }
        let modifiers = all ? ["contains", "all"] : ["contains"]
        for (value, position) in zip(values, positions) {
            do {
                _ = try ValueMatcher(values: [value], modifiers: modifiers)
            } catch {
                sink.error(.badValue, error.message, at: position)
                ok = false
            }
        }
        return ok ? (values, positions) : nil
    }

    private mutating func decodeFieldMap(_ entries: [YPair]) -> [FieldCondition]? {
        var conditions: [FieldCondition] = []
        var ok = true
        for entry in entries {
            if let condition = decodeFieldCondition(entry) { conditions.append(condition) } else { ok = false }
        }
        return ok ? conditions : nil
    }

    static let knownModifiers: Set<String> = [
        "all", "startswith", "endswith", "contains", "exists", "cased", "neq", "windash", "re", "i", "m", "s", "base64",
        "base64offset", "utf16le", "utf16be", "utf16", "wide", "lt", "lte", "gt", "gte", "cidr", "expand", "fieldref",
    ]
    static let timeModifiers: Set<String> = ["minute", "hour", "day", "week", "month", "year"]

    private mutating func decodeFieldCondition(_ entry: YPair) -> FieldCondition? {
        guard let keyScalar = entry.key.scalar else {
            sink.error(.badSelection, "a field name is a string, not \(entry.key.kindName)", at: entry.key.position)
            return nil
        }
        let keyPosition = entry.key.position
        let key = keyScalar.text
        // Split at the byte "|" (splitting Characters ran grapheme breaking over every key).
        let parts = key.utf8.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let field = parts[0]
        let modifiers = Array(parts.dropFirst())
        var ok = true

        // Modifiers, each checked at its own column.
        var offset = field.utf8.count + 1
        for modifier in modifiers {
            let at = source.position(of: keyScalar, at: keyPosition, offset: offset)
            if modifier.isEmpty {
                sink.error(.unknownModifier, "empty modifier in `\(key)` (a doubled or trailing `|`?)", at: at)
                ok = false
            } else if Self.timeModifiers.contains(modifier) {
                sink.error(.unsupportedModifier, "the time modifier `\(modifier)` is not supported by kaudit", at: at)
                ok = false
            } else if !Self.knownModifiers.contains(modifier) {
                var message = "unknown modifier `\(modifier)`"
                if let s = Self.suggestion(for: modifier, among: Self.knownModifiers.union(Self.timeModifiers)) {
                    message += "; did you mean `\(s)`?"
                }
                sink.error(.unknownModifier, message, at: at)
                ok = false
            }
            offset += modifier.utf8.count + 1
        }

        // Values.
        var values: [SigmaValue] = []
        var positions: [SourcePosition] = []
        let value = entry.value
        let items: [YNode]
        switch value.kind {
        case .mapping:
            sink.error(
                .badValue,
                "the value of `\(key)` is a map; a field takes a value or a list of values"
                    + " (nested fields are written `a.b`)",
                at: value.position)
            return nil
        case .sequence(let list):
            if list.isEmpty {
                sink.error(.badValue, "`\(key)` has an empty list of values", at: value.position)
                return nil
            }
            items = list
        case .scalar:
            items = [value]
        }
        for item in items {
            guard let scalar = item.scalar else {
                sink.error(
                    .badValue, "a value of `\(key)` is \(item.kindName); values are strings, numbers, booleans or null",
                    at: item.position)
                ok = false
                continue
            }
            let typed = typedValue(scalar, at: item.position)
            values.append(typed.value)
            positions.append(item.position)
        }
        guard ok else { return nil }
        if values.count > 1, let nullIndex = values.firstIndex(of: .null) {
            sink.error(
                .badValue,
                "null cannot be listed with other values (the spec: give `\(field): null` its own selection)",
                at: positions[nullIndex])
            return nil
        }

        if modifiers.contains("expand") || modifiers.contains("fieldref") {
            return FieldCondition(
                field: field, modifiers: modifiers, values: values, valuePositions: positions, position: keyPosition,
                matcher: nil)
        }
        do {
            let matcher = try ValueMatcher(values: values, modifiers: modifiers)
            return FieldCondition(
                field: field, modifiers: modifiers, values: values, valuePositions: positions, position: keyPosition,
                matcher: matcher)
        } catch {
            reportMatcherError(
                error, key: keyScalar, keyPosition: keyPosition, field: field, modifiers: modifiers, values: values,
                positions: positions)
            return nil
        }
    }

    /// Places a matcher error: at the modifiers when no value could ever satisfy the chain,
    /// at the first value that fails by itself, else (the values only fail together) at the key.
    private mutating func reportMatcherError(
        _ error: MatcherError, key: YScalar, keyPosition: SourcePosition, field: String, modifiers: [String],
        values: [SigmaValue], positions: [SourcePosition]
    ) {
        let probes: [SigmaValue] = [.string("x"), .string("10.0.0.0/8"), .int(1), .bool(true)]
        let chainBroken = probes.allSatisfy { (try? ValueMatcher(values: [$0], modifiers: modifiers)) == nil }
        if chainBroken {
            let at = source.position(of: key, at: keyPosition, offset: field.utf8.count + 1)
            sink.error(.badModifier, error.message, at: at)
            return
        }
        if values.count > 1 {
            for (value, position) in zip(values, positions) {
                do {
                    _ = try ValueMatcher(values: [value], modifiers: modifiers)
                } catch {
                    sink.error(.badValue, error.message, at: position)
                    return
                }
            }
            sink.error(.badValue, error.message, at: keyPosition)
            return
        }
        sink.error(.badValue, error.message, at: positions.first ?? keyPosition)
    }

    // MARK: - Correlations

    private mutating func decodeCorrelation(byKey: [String: YPair], metadata: RuleMetadata) -> SigmaCorrelation? {
        let pair = byKey["correlation"]!
        guard let pairs = pair.value.pairs else {
            sink.error(
                .badType,
                "`correlation` is a map (type, rules, group-by, timespan, condition, ...), not \(pair.value.kindName)",
                at: pair.value.position)
            return nil
        }
        var entries: [String: YPair] = [:]
        for p in pairs {
            guard let key = p.key.scalar?.text else {
                sink.error(.badType, "a `correlation` key must be a string", at: p.key.position)
                continue
            }
            entries[key] = p
            switch key {
            case "type", "rules", "group-by", "timespan", "condition", "aliases", "generate": break
            default:
                var message = "`correlation` has no `\(key)` (ignored)"
                if let s = Self.suggestion(
                    for: key, among: ["type", "rules", "group-by", "timespan", "condition", "aliases", "generate"])
                {
                    message += "; did you mean `\(s)`?"
                }
                sink.warning(.unknownAttribute, message, at: p.key.position)
            }
        }

        // type
        var type: CorrelationType? = nil
        if let p = entries["type"] {
            let text = p.value.scalar?.text ?? ""
            type = CorrelationType(rawValue: text)
            if type == nil {
                sink.error(
                    .unknownCorrelationType,
                    "unknown correlation type `\(text)`; the types are "
                        + CorrelationType.allCases.map(\.rawValue).joined(separator: ", "),
                    at: p.value.position)
            }
        } else {
            sink.error(.missingAttribute, "`correlation` has no `type` (required)", at: pair.key.position)
        }

        // rules
        var rules: [String] = []
        var rulePositions: [SourcePosition] = []
        if let p = entries["rules"] {
            (rules, rulePositions) = referenceList(p, what: "correlated rules")
        } else {
            sink.error(.missingAttribute, "`correlation` has no `rules` (required)", at: pair.key.position)
        }

        // group-by
        var groupBy: [String] = []
        if let p = entries["group-by"] {
            if let s = p.value.scalar {
                if ScalarTyping.value(of: s).value != .null { groupBy = [s.text] }
            } else if let items = p.value.items {
                for item in items {
                    if let text = item.scalar?.text {
                        groupBy.append(text)
                    } else {
                        sink.error(.badType, "a `group-by` field is a string, not \(item.kindName)", at: item.position)
                    }
                }
            } else {
                sink.error(.badType, "`group-by` is a list of fields, not \(p.value.kindName)", at: p.value.position)
            }
        }

        // timespan
        var timespan: Timespan? = nil
        if let p = entries["timespan"] {
            let text = p.value.scalar?.text ?? ""
            timespan = Timespan(text)
            if timespan == nil {
                sink.error(
                    .badTimespan,
                    "timespan `\(p.value.scalar?.text ?? p.value.kindName)` is not a positive number followed by"
                        + " s, m, h or d (such as 5m, 1h, 30s, 2d)",
                    at: p.value.position)
            }
        } else {
            sink.error(.missingAttribute, "`correlation` has no `timespan` (required)", at: pair.key.position)
        }

        // condition
        var condition: CorrelationCondition? = nil
        if let p = entries["condition"] {
            condition = decodeCorrelationCondition(p, type: type)
        } else if let type, type.requiresCondition {
            sink.error(
                .missingCondition, "a \(type.rawValue) correlation needs a `condition` (such as `gte: 10`)",
                at: pair.key.position)
        }

        // aliases
        var aliases: [CorrelationAlias] = []
        if let p = entries["aliases"] {
            aliases = decodeAliases(p, rules: rules, groupBy: groupBy)
        }

        // generate (inside `correlation`, as pySigma reads it; also accepted at the top level,
        // where the spec's list of components puts it)
        var generate = false
        for p in [byKey["generate"], entries["generate"]].compactMap({ $0 }) {
            if let s = p.value.scalar, case .bool(let b) = ScalarTyping.value(of: s).value {
                generate = b
            } else {
                sink.error(.badType, "`generate` is true or false, not \(p.value.kindName)", at: p.value.position)
            }
        }

        guard let type, let timespan, !rules.isEmpty else { return nil }
        return SigmaCorrelation(
            metadata: metadata, type: type, rules: rules, rulePositions: rulePositions, groupBy: groupBy,
            timespan: timespan,
            condition: condition, aliases: aliases, generate: generate, position: pair.key.position)
    }

    private mutating func decodeCorrelationCondition(_ pair: YPair, type: CorrelationType?) -> CorrelationCondition? {
        guard let entries = pair.value.pairs else {
            sink.error(
                .badCorrelationCondition,
                "a correlation condition is a map of comparisons such as `gte: 10` (and `field` for"
                    + " value_count), not \(pair.value.kindName)",
                at: pair.value.position)
            return nil
        }
        var fields: [String] = []
        var fieldPosition: SourcePosition? = nil
        var comparisons: [CorrelationCondition.Comparison] = []
        var ok = true
        for entry in entries {
            let key = entry.key.scalar?.text ?? ""
            if key == "field" {
                fieldPosition = entry.key.position
                if let s = entry.value.scalar, ScalarTyping.value(of: s).value != .null {
                    fields = [s.text]
                } else if let items = entry.value.items, !items.isEmpty, items.allSatisfy({ $0.scalar != nil }) {
                    fields = items.map { $0.scalar!.text }
                } else {
                    sink.error(
                        .badCorrelationCondition,
                        "`field` is a field name or a list of them, not \(entry.value.kindName)",
                        at: entry.value.position)
                    ok = false
                }
                continue
            }
            guard let op = CorrelationCondition.Operator(rawValue: key) else {
                sink.error(
                    .badCorrelationCondition, "unknown comparison `\(key)`; use gt, gte, lt, lte, eq or neq",
                    at: entry.key.position)
                ok = false
                continue
            }
            let number: Double?
            if let s = entry.value.scalar {
                switch ScalarTyping.value(of: s).value {
                case .int(let i): number = Double(i)
                case .double(let d) where d.isFinite: number = d
                default: number = nil
                }
            } else {
                number = nil
            }
            guard let number else {
                sink.error(
                    .badCorrelationCondition, "`\(key)` compares with a number, not \(entry.value.kindName)",
                    at: entry.value.position)
                ok = false
                continue
            }
            comparisons.append(CorrelationCondition.Comparison(op: op, threshold: number, position: entry.key.position))
        }
        if comparisons.isEmpty && ok {
            sink.error(
                .badCorrelationCondition, "the condition has no comparison (gt, gte, lt, lte, eq, neq)",
                at: pair.value.position)
            ok = false
        }
        if let type {
            if type.requiresField && fields.isEmpty && ok {
                sink.error(
                    .badCorrelationCondition, "a \(type.rawValue) correlation needs `field` in its condition",
                    at: pair.value.position)
                ok = false
            } else if !type.requiresField && !fields.isEmpty, let fieldPosition {
                sink.warning(
                    .badCorrelationCondition, "a \(type.rawValue) correlation does not use `field` (ignored)",
                    at: fieldPosition)
                fields = []
            }
        }
        guard ok else { return nil }
        // A range that can never hold (gt: 10, lt: 5) is almost certainly a mistake.
        var lower = -Double.infinity
        var lowerStrict = false
        var upper = Double.infinity
        var upperStrict = false
        for c in comparisons {
            switch c.op {
            case .gt where c.threshold >= lower: (lower, lowerStrict) = (c.threshold, true)
            case .gte where c.threshold > lower: (lower, lowerStrict) = (c.threshold, false)
            case .lt where c.threshold <= upper: (upper, upperStrict) = (c.threshold, true)
            case .lte where c.threshold < upper: (upper, upperStrict) = (c.threshold, false)
            default: break
            }
        }
        if lower > upper || (lower == upper && (lowerStrict || upperStrict)) {
            sink.warning(
                .badCorrelationCondition, "the condition can never hold (its range is empty)", at: pair.value.position)
        }
        return CorrelationCondition(fields: fields, comparisons: comparisons, position: pair.key.position)
    }

    private mutating func decodeAliases(_ pair: YPair, rules: [String], groupBy: [String]) -> [CorrelationAlias] {
        guard let entries = pair.value.pairs else {
            sink.error(
                .badAlias, "`aliases` maps alias names to `rule: field` maps, not \(pair.value.kindName)",
                at: pair.value.position)
            return []
        }
        var aliases: [CorrelationAlias] = []
        for entry in entries {
            let name = entry.key.scalar?.text ?? ""
            guard let mappings = entry.value.pairs, !mappings.isEmpty else {
                sink.error(
                    .badAlias,
                    "alias `\(name)` maps rule names to fields (`rule_name: field`), not \(entry.value.kindName)",
                    at: entry.value.position)
                continue
            }
            var result: [CorrelationAlias.Mapping] = []
            for m in mappings {
                let rule = m.key.scalar?.text ?? ""
                guard let field = m.value.scalar?.text, ScalarTyping.value(of: m.value.scalar!).value != .null else {
                    sink.error(
                        .badAlias, "alias `\(name)`: the field for `\(rule)` is a field name, not \(m.value.kindName)",
                        at: m.value.position)
                    continue
                }
                if !rules.isEmpty && !rules.contains(rule) {
                    sink.error(
                        .badAlias, "alias `\(name)` names `\(rule)`, which is not one of the correlation's rules",
                        at: m.key.position)
                }
                result.append(CorrelationAlias.Mapping(rule: rule, field: field))
            }
            if !groupBy.contains(name) {
                sink.warning(.unusedAlias, "alias `\(name)` is not used in `group-by`", at: entry.key.position)
            }
            aliases.append(CorrelationAlias(name: name, mappings: result, position: entry.key.position))
        }
        return aliases
    }

    // MARK: - Filters

    private mutating func decodeFilter(root: YNode, byKey: [String: YPair], metadata: RuleMetadata) -> SigmaFilter? {
        let logsource = decodeLogsource(byKey["logsource"], root: root, kind: .filter)
        let pair = byKey["filter"]!
        guard let pairs = pair.value.pairs else {
            sink.error(
                .badType, "`filter` is a map of `rules`, selections and a `condition`, not \(pair.value.kindName)",
                at: pair.value.position)
            return nil
        }
        var rules: [String] = []
        var rulePositions: [SourcePosition] = []
        if let p = pairs.first(where: { $0.key.scalar?.text == "rules" }) {
            (rules, rulePositions) = referenceList(p, what: "rules the filter applies to")
        } else {
            sink.error(
                .missingAttribute, "`filter` has no `rules` (required: the rules it applies to)", at: pair.key.position)
        }
        let detection = decodeDetection(pairs, at: pair.key.position, owner: "filter", skipping: ["rules"])
        guard let logsource, let detection, !rules.isEmpty else { return nil }
        return SigmaFilter(
            metadata: metadata, logsource: logsource, rules: rules, rulePositions: rulePositions, detection: detection)
    }

    /// A list of rule ids or names (a single one is accepted as a one-element list).
    private mutating func referenceList(_ pair: YPair, what: String) -> ([String], [SourcePosition]) {
        if let s = pair.value.scalar, ScalarTyping.value(of: s).value != .null {
            return ([s.text], [pair.value.position])
        }
        guard let items = pair.value.items else {
            if pair.value.scalar != nil {
                sink.error(
                    .missingAttribute, "`rules` is empty: list the ids or names of the \(what)", at: pair.value.position
                )
            } else {
                sink.error(
                    .badType, "\(what) are a list of rule ids or names, not \(pair.value.kindName)",
                    at: pair.value.position)
            }
            return ([], [])
        }
        if items.isEmpty {
            sink.error(
                .missingAttribute, "`rules` is an empty list: list the ids or names of the \(what)",
                at: pair.value.position)
        }
        var names: [String] = []
        var positions: [SourcePosition] = []
        for item in items {
            guard let s = item.scalar, ScalarTyping.value(of: s).value != .null else {
                sink.error(.badType, "a rule reference is an id or a name, not \(item.kindName)", at: item.position)
                continue
            }
            names.append(s.text)
            positions.append(item.position)
        }
        return (names, positions)
    }

    // MARK: - Scalars and lists

    /// A required string attribute (non-null scalar); errors otherwise.
    private mutating func requiredText(_ pair: YPair, what: String) -> String? {
        guard let s = pair.value.scalar else {
            sink.error(.badType, "`\(what)` is a string, not \(pair.value.kindName)", at: pair.value.position)
            return nil
        }
        if ScalarTyping.value(of: s).value == .null {
            sink.error(what == "title" ? .missingTitle : .badType, "`\(what)` is empty", at: pair.value.position)
            return nil
        }
        return s.text
    }

    /// An optional string attribute: nil (with a warning) for a list or map, nil for null.
    private mutating func optionalText(_ pair: YPair) -> String? {
        guard let s = pair.value.scalar else {
            sink.warning(
                .badType, "`\(pair.key.scalar?.text ?? "")` is a string, not \(pair.value.kindName) (ignored)",
                at: pair.value.position)
            return nil
        }
        return ScalarTyping.value(of: s).value == .null ? nil : s.text
    }

    /// A list of strings; a single string is a one-element list (with a warning).
    private mutating func stringList(_ pair: YPair, what: String) -> [String] {
        switch pair.value.kind {
        case .scalar(let s):
            if ScalarTyping.value(of: s).value == .null { return [] }
            sink.warning(
                .badType, "`\(what)` is a list; read this string as a one-element list", at: pair.value.position)
            return [s.text]
        case .mapping:
            sink.warning(.badType, "`\(what)` is a list of strings, not a map (ignored)", at: pair.value.position)
            return []
        case .sequence(let items):
            var result: [String] = []
            for item in items {
                if let s = item.scalar {
                    result.append(s.text)
                } else {
                    sink.warning(
                        .badType, "an item of `\(what)` is \(item.kindName), not a string (ignored)", at: item.position)
                }
            }
            return result
        }
    }

    private mutating func dateText(_ pair: YPair) -> String? {
        guard let text = optionalText(pair) else { return nil }
        if !Self.isDate(text) {
            sink.warning(.badDate, "`\(text)` is not a date written YYYY-MM-DD", at: pair.value.position)
        }
        return text
    }

    // MARK: - Helpers

    static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, c) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                let lower = c | 0x20
                guard
                    (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                        || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f"))
                else { return false }
            }
        }
        return true
    }

    /// `namespace.value`: dot-separated non-empty parts (at least two) of lower-case ASCII
    /// letters, digits, `_` and `-`.
    static func isTag(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty
                && part.utf8.allSatisfy {
                    ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                        || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                        || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                }
        }
    }

    /// YYYY-MM-DD with a plausible month and day.
    static func isDate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digits.allSatisfy({ b[$0] >= UInt8(ascii: "0") && b[$0] <= UInt8(ascii: "9") }) else { return false }
        let month = Int(b[5] - 48) * 10 + Int(b[6] - 48)
        let day = Int(b[8] - 48) * 10 + Int(b[9] - 48)
        return (1...12).contains(month) && (1...31).contains(day)
    }

    /// A known word `word` is probably a typo of: a case difference, or at most two edits for
    /// words of six or more characters (one for four or five).
    static func suggestion(for word: String, among candidates: Set<String>) -> String? {
        let lowered = word.lowercased()
        let sorted = candidates.sorted()
        if let exact = sorted.first(where: { $0.lowercased() == lowered }), exact != word { return exact }
        let allowed = word.count >= 6 ? 2 : (word.count >= 4 ? 1 : 0)
        guard allowed > 0 else { return nil }
        let target = Array(lowered.utf8)
        var best: (String, Int)? = nil
        for candidate in sorted {
            // The distance is at least the difference in length: most candidates stop here
            // (every custom attribute of every rule, such as `threat_matrix`, is checked).
            guard abs(candidate.utf8.count - target.count) <= allowed else { continue }
            let d = editDistance(target, Array(candidate.utf8))
            if d <= allowed && d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        return best?.0
    }

    static func yamlValue(_ node: YNode) -> YAMLValue {
        switch node.kind {
        case .scalar(let s):
            switch ScalarTyping.value(of: s).value {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let t): return .string(t)
            }
        case .sequence(let items):
            return .sequence(items.map(yamlValue))
        case .mapping(let pairs):
            return .mapping(pairs.map { YAMLValue.Entry(key: $0.key.scalar?.text ?? "", value: yamlValue($0.value)) })
        }
    }
}
