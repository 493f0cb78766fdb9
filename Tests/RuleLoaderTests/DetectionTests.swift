// The detection model: maps, lists of maps, keyword lists (`|all`), values and their types,
// null and empty values, modifiers, condition lists, matchers.
import DetectionEngine
import RuleLoader
import Testing

private let header = """
    title: t
    id: 929a690e-bef0-4204-a928-ef5e620d6fcc
    logsource: {product: kubernetes, service: audit}

    """

/// A rule made of `header` and this detection block (starting on line 4).
private func rule(_ detection: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SigmaRule {
    try loadRule(header + detection, sourceLocation: sourceLocation)
}

private func fieldMap(_ selection: Selection?) -> [FieldCondition] {
    if case .fieldMap(let conditions)? = selection?.identifier { return conditions }
    Issue.record("not a field map: \(String(describing: selection?.identifier))")
    return []
}

@Suite("Detection")
struct DetectionTests {
    @Test("a map is an AND of field conditions, in order, with modifiers split off")
    func fieldMapSelection() throws {
        let r = try rule(
            """
            detection:
                selection:
                    verb: create
                    objectRef.resource|startswith|cased: Pod
                    requestURI|contains|all:
                        - '/exec'
                        - 'command='
                condition: selection
            """)
        let conditions = fieldMap(r.detection.selection("selection"))
        #expect(conditions.map(\.field) == ["verb", "objectRef.resource", "requestURI"])
        #expect(conditions.map(\.modifiers) == [[], ["startswith", "cased"], ["contains", "all"]])
        #expect(conditions[2].values == [.string("/exec"), .string("command=")])
        #expect(
            conditions[2].valuePositions == [SourcePosition(line: 9, column: 15), SourcePosition(line: 10, column: 15)])
        #expect(conditions[1].position == SourcePosition(line: 7, column: 9))
        #expect(conditions[0].matcher?.matches("CREATE") == true)
        #expect(conditions[1].matcher?.matches("Pods") == true)
        #expect(conditions[1].matcher?.matches("pods") == false)
        #expect(conditions[2].matcher?.matches("/api/exec?command=ls") == true)
        #expect(conditions[2].matcher?.matches("/api/exec") == false)
        #expect(r.detection.selections[0].position == SourcePosition(line: 5, column: 5))
        #expect(r.detection.position == SourcePosition(line: 4, column: 1))
    }

    @Test("a list of maps is an OR of ANDs")
    func listOfMaps() throws {
        let r = try rule(
            """
            detection:
                selection:
                    - verb: delete
                      objectRef.resource: events
                    - userAgent|startswith: 'kubectl/'
                condition: selection
            """)
        guard case .anyOfMaps(let maps)? = r.detection.selection("selection")?.identifier else {
            Issue.record("not a list of maps")
            return
        }
        #expect(maps.count == 2)
        #expect(maps[0].map(\.field) == ["verb", "objectRef.resource"])
        #expect(maps[1].map(\.field) == ["userAgent"])
        #expect(maps[1][0].modifiers == ["startswith"])
        #expect(maps.allSatisfy { $0.allSatisfy { $0.matcher != nil } })
    }

    @Test("keyword lists: OR, and `'|all':` for AND; a lone scalar is one keyword")
    func keywords() throws {
        let r = try rule(
            """
            detection:
                keywords:
                    - 'event::clear'
                    - 'svchost.exe -n evil'
                    - 4625
                keywords_all:
                    '|all':
                        - 'OabVirtualDirectory'
                        - ' -ExternalUrl '
                single: 'mimikatz'
                condition: keywords or keywords_all or single
            """)
        guard case .keywords(let values, let all)? = r.detection.selection("keywords")?.identifier else {
            Issue.record("keywords")
            return
        }
        #expect(values == [.string("event::clear"), .string("svchost.exe -n evil"), .int(4625)])
        #expect(!all)
        #expect(
            r.detection.selection("keywords")?.keywordPositions == [
                SourcePosition(line: 6, column: 11), SourcePosition(line: 7, column: 11),
                SourcePosition(line: 8, column: 11),
            ])
        guard case .keywords(let allValues, let isAll)? = r.detection.selection("keywords_all")?.identifier else {
            Issue.record("keywords_all")
            return
        }
        #expect(allValues == [.string("OabVirtualDirectory"), .string(" -ExternalUrl ")])
        #expect(isAll)
        guard case .keywords(let single, false)? = r.detection.selection("single")?.identifier else {
            Issue.record("single")
            return
        }
        #expect(single == [.string("mimikatz")])
    }

    @Test("keyword-style entries mixed into a map keep an empty field name")
    func keywordFieldInMap() throws {
        let r = try rule(
            """
            detection:
                selection:
                    verb: create
                    '|contains|all':
                        - 'alpha'
                        - 'beta'
                condition: selection
            """)
        let conditions = fieldMap(r.detection.selection("selection"))
        #expect(conditions.map(\.field) == ["verb", ""])
        #expect(conditions[1].modifiers == ["contains", "all"])
        #expect(conditions[1].matcher != nil)
    }

    @Test("null, empty and typed values")
    func valuesAndTypes() throws {
        let r = try rule(
            """
            detection:
                explicit_null:
                    user.username: null
                tilde_null:
                    user.username: ~
                empty_value:
                    user.username:
                empty_string:
                    user.username: ''
                typed:
                    responseStatus.code: 403
                    latency: 1.5
                    requestObject.spec.hostPID: true
                    quoted_number: '403'
                    hex: 0x1F
                    date_like: 2024-07-11
                    word: kube-system
                exists:
                    requestObject.spec.volumes|exists: true
                condition: 1 of them
            """)
        #expect(fieldMap(r.detection.selection("explicit_null"))[0].values == [.null])
        #expect(fieldMap(r.detection.selection("tilde_null"))[0].values == [.null])
        #expect(fieldMap(r.detection.selection("empty_value"))[0].values == [.null])
        #expect(fieldMap(r.detection.selection("empty_string"))[0].values == [.string("")])
        let typed = fieldMap(r.detection.selection("typed"))
        #expect(
            typed.map(\.values) == [
                [.int(403)], [.double(1.5)], [.bool(true)], [.string("403")], [.int(31)], [.string("2024-07-11")],
                [.string("kube-system")],
            ])
        let exists = fieldMap(r.detection.selection("exists"))[0]
        #expect(exists.matcher?.existsCheck == true)
        // The null matcher matches JSON null (the engine adds "or absent").
        #expect(fieldMap(r.detection.selection("empty_string"))[0].matcher?.matches("") == true)
    }

    @Test("`expand` and `fieldref` are kept, without a matcher and without a diagnostic")
    func engineModifiers() throws {
        let file = load(
            header + """
                detection:
                    selection:
                        user.username|expand: '%Administrators%'
                        impersonatedUser.username|fieldref|neq: user.username
                    condition: selection
                """)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
        let conditions = fieldMap(file.documents.first?.rule?.detection.selection("selection"))
        #expect(conditions.map { $0.matcher == nil } == [true, true])
        #expect(conditions[0].usesExpand && !conditions[0].usesFieldref)
        #expect(conditions[1].usesFieldref && conditions[1].modifiers == ["fieldref", "neq"])
        #expect(conditions[1].values == [.string("user.username")])
    }

    @Test("a condition list is an OR of its conditions, each resolved")
    func conditionList() throws {
        let r = try rule(
            """
            detection:
                selection_a:
                    verb: create
                selection_b:
                    verb: delete
                filter:
                    user.username|startswith: 'system:'
                condition:
                    - selection_a and not filter
                    - 'selection_b'
            """)
        #expect(r.detection.conditions.count == 2)
        #expect(r.detection.conditions.map(\.parsed.text) == ["selection_a and not filter", "selection_b"])
        #expect(r.detection.conditions[0].resolved == .and([.selection(0), .not(.selection(2))]))
        #expect(r.detection.conditions[1].resolved == .selection(1))
        #expect(r.detection.condition == .or([.and([.selection(0), .not(.selection(2))]), .selection(1)]))
        #expect(
            r.detection.conditions.map(\.position) == [
                SourcePosition(line: 12, column: 11), SourcePosition(line: 13, column: 11),
            ])
        #expect(r.detection.selectionNames == ["selection_a", "selection_b", "filter"])
    }

    @Test("quantifiers expand in file order; `them` skips `_` names")
    func quantifiers() throws {
        let r = try rule(
            """
            detection:
                sel_2:
                    verb: create
                _helper:
                    verb: get
                sel_1:
                    verb: delete
                condition: all of sel_* or (1 of them and _helper)
            """)
        #expect(
            r.detection.condition
                == .or([
                    .and([.selection(0), .selection(2)]), .and([.or([.selection(0), .selection(2)]), .selection(1)]),
                ]))
    }

    @Test("a condition as a block scalar")
    func blockCondition() throws {
        let r = try rule(
            """
            detection:
                selection:
                    verb: create
                filter:
                    verb: get
                condition: >
                    selection and
                    not filter
            """)
        #expect(r.detection.conditions[0].parsed.text == "selection and not filter")  // no final line break to keep
        #expect(r.detection.condition == .and([.selection(0), .not(.selection(1))]))
    }

    @Test("scalar typing: YAML 1.2 core, YAML 1.1 differences read as strings with a warning")
    func scalarTyping() throws {
        let file = load(
            header + """
                detection:
                    sel:
                        a: [yes, No, off, ON]
                        b: 0755
                        c: 1_000
                        d: 1:30
                        e: 1e5
                        f: 1.5e+3
                        g: 0o17
                        h: 99999999999999999999
                        i: -12
                        j: +7
                        k: .5
                        l: '1e5'
                    condition: sel
                """)
        #expect(file.errors.isEmpty, "\(file.errors)")
        #expect(
            file.places(.ambiguousScalar) == [
                "6:13", "6:18", "6:22", "6:27", "7:12", "8:12", "9:12", "10:12", "12:12", "13:12",
            ])
        let conditions = fieldMap(file.documents.first?.rule?.detection.selection("sel"))
        #expect(
            conditions.map(\.values) == [
                [.string("yes"), .string("No"), .string("off"), .string("ON")], [.string("0755")], [.string("1_000")],
                [.string("1:30")], [.string("1e5")], [.double(1500)], [.string("0o17")],
                [.string("99999999999999999999")],
                [.int(-12)], [.int(7)], [.double(0.5)], [.string("1e5")],
            ])
    }

    @Test("custom top-level attributes are kept as raw values")
    func customAttributes() throws {
        let r = try loadRule(
            """
            title: t
            id: 929a690e-bef0-4204-a928-ef5e620d6fcc
            threat_matrix: [MS-TA9001, MS-TA9002]
            kaudit:
                stage: ResponseComplete
                weight: 3
            logsource:
                product: kubernetes
                service: audit
                audit_level: RequestResponse
            detection: {sel: {verb: create}, condition: sel}
            """)
        #expect(r.customAttributes.map(\.name) == ["threat_matrix", "kaudit"])
        #expect(r.customAttribute("threat_matrix")?.scalarTexts == ["MS-TA9001", "MS-TA9002"])
        #expect(r.customAttribute("kaudit")?["stage"] == .string("ResponseComplete"))
        #expect(r.customAttribute("kaudit")?["weight"] == .int(3))
        #expect(r.customAttributes[0].position == SourcePosition(line: 3, column: 1))
        #expect(r.logsource.custom.map(\.name) == ["audit_level"])
        #expect(r.logsource.custom.first?.value == .string("RequestResponse"))
    }

    @Test("metadata: status, level, tags, lists, dates, fields, scope, name, license")
    func metadata() throws {
        let r = try loadRule(
            """
            title: Full rule
            id: 929A690E-BEF0-4204-A928-EF5E620D6FCC
            name: full_rule
            status: stable
            description: Something
            license: DRL-1.1
            author: a, b
            references:
                - https://example.com/1
            date: 2024-01-02
            modified: 2024-03-04
            taxonomy: sigma
            tags: [attack.t1609, cve.2021-44228, detection.emerging-threats]
            fields: [user.username, sourceIPs]
            falsepositives: [Admins]
            scope: [server]
            level: critical
            logsource: {category: application, product: kubernetes, service: audit, definition: audit policy at Metadata}
            detection: {sel: {verb: create}, condition: sel}
            """)
        #expect(r.name == "full_rule")
        #expect(r.id == "929A690E-BEF0-4204-A928-EF5E620D6FCC")
        #expect(r.status == .stable && r.level == .critical)
        #expect(r.license == "DRL-1.1" && r.author == "a, b" && r.taxonomy == "sigma")
        #expect(r.date == "2024-01-02" && r.modified == "2024-03-04")
        #expect(r.fields == ["user.username", "sourceIPs"] && r.scope == ["server"])
        #expect(r.logsource.definition == "audit policy at Metadata" && r.logsource.category == "application")
        #expect(RuleLevel.high < RuleLevel.critical && RuleLevel.informational.rank == 0)
    }
}
