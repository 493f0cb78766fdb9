// Every diagnostic code, each at an exact line:column; all problems of a document reported
// together; rendering.
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// One diagnostic case: a snippet, the code, its severity and where (every occurrence).
struct DiagnosticCase: Sendable, CustomTestStringConvertible {
    let code: RuleDiagnostic.Code
    let severity: RuleDiagnostic.Severity
    let yaml: String
    let places: [String]
    /// Whether the document still loads (warnings only).
    var loads: Bool { severity == .warning }

    init(_ code: RuleDiagnostic.Code, _ severity: RuleDiagnostic.Severity, _ places: [String], _ yaml: String) {
        self.code = code
        self.severity = severity
        self.places = places
        self.yaml = yaml
    }

    var testDescription: String { "\(code.rawValue) \(places.joined(separator: ","))" }
}

private let uuid = "929a690e-bef0-4204-a928-ef5e620d6fcc"

/// Cases for single files. Line 1 of every snippet is its first line.
let diagnosticCases: [DiagnosticCase] = [
    // Required attributes
    DiagnosticCase(
        .missingTitle, .error, ["1:1"],
        """
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel: {verb: create}
            condition: sel
        """),
    DiagnosticCase(
        .missingTitle, .error, ["1:8"],
        """
        title: ''
        id: \(uuid)
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .missingLogsource, .error, ["1:1"],
        """
        title: t
        id: \(uuid)
        detection:
            sel: {verb: create}
            condition: sel
        """),
    DiagnosticCase(
        .missingDetection, .error, ["1:1"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        """),
    DiagnosticCase(
        .missingCondition, .error, ["4:1"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel: {verb: create}
        """),
    DiagnosticCase(
        .missingID, .warning, ["1:1"],
        """
        title: t
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    // Attribute values
    DiagnosticCase(
        .badUUID, .error, ["2:5"],
        """
        title: t
        id: 929a690e-bef0-4204-a928-ef5e620d6fc
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .badType, .error, ["1:8"],
        """
        title: [a, b]
        id: \(uuid)
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .badType, .warning, ["3:13"],
        """
        title: t
        id: \(uuid)
        references: https://example.com/a
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .unknownStatus, .warning, ["3:9"],
        """
        title: t
        id: \(uuid)
        status: beta
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .inactiveStatus, .warning, ["3:9"],
        """
        title: t
        id: \(uuid)
        status: deprecated
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .unknownLevel, .error, ["3:8"],
        """
        title: t
        id: \(uuid)
        level: severe
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .badTag, .warning, ["5:5", "6:5", "7:5"],
        """
        title: t
        id: \(uuid)
        tags:
          - attack.t1609
          - attack
          - Attack.T1609
          - attack..t1
          - cve.2021-44228
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .badDate, .warning, ["3:7", "4:11"],
        """
        title: t
        id: \(uuid)
        date: 2024/07/11
        modified: 2024-13-01
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .badRelated, .warning, ["4:9", "7:11", "8:5"],
        """
        title: t
        id: \(uuid)
        related:
          - id: nope
            type: derived
          - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
            type: cousin
          - 42
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .titleTooLong, .warning, ["1:8"],
        """
        title: \(String(repeating: "x", count: 257))
        id: \(uuid)
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .unknownAttribute, .warning, ["3:1", "4:1"],
        """
        title: t
        id: \(uuid)
        falsepositive: [admins]
        Level: high
        threat_matrix: [MS-TA9001]
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .emptyLogsource, .warning, ["3:1"],
        """
        title: t
        id: \(uuid)
        logsource:
            definition: the apiserver's audit log
        detection: {sel: {verb: create}, condition: sel}
        """),
    // Detection
    DiagnosticCase(
        .badSelection, .error, ["7:11"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                - verb: create
                - 'keyword'
            condition: sel
        """),
    DiagnosticCase(
        .emptySelection, .error, ["5:8", "6:8", "7:7"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            a: {}
            b: []
            c:
            condition: a or b or c
        """),
    DiagnosticCase(
        .badValue, .error, ["6:25"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                sourceIPs|cidr: '10.0.0.0/33'
            condition: sel
        """),
    DiagnosticCase(
        .badValue, .error, ["8:15"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                userAgent|re:
                    - '^kubectl/'
                    - '(unclosed'
            condition: sel
        """),
    DiagnosticCase(
        .badValue, .error, ["8:15"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                user.username:
                    - ''
                    - null
            condition: sel
        """),
    DiagnosticCase(
        .badValue, .error, ["6:20"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                objectRef: {resource: pods}
            condition: sel
        """),
    DiagnosticCase(
        .ambiguousScalar, .warning, ["6:48", "7:30"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                requestObject.spec.hostNetwork: [true, yes]
                responseStatus.code: 0403
            condition: sel
        """),
    DiagnosticCase(
        .unknownModifier, .error, ["6:14", "7:20"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                verb|contans: create
                requestURI||endswith: /exec
            condition: sel
        """),
    DiagnosticCase(
        .badModifier, .error, ["6:19", "7:14"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                userAgent|re|contains: kubectl
                verb|i: create
            condition: sel
        """),
    DiagnosticCase(
        .unsupportedModifier, .error, ["6:34"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                requestReceivedTimestamp|hour: 3
            condition: sel
        """),
    DiagnosticCase(
        .conditionSyntax, .error, ["7:29"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                verb: create
            condition: sel and (sel or
        """),
    DiagnosticCase(
        .conditionSyntax, .error, ["7:20"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            sel:
                verb: create
            condition: sel | count() > 5
        """),
    DiagnosticCase(
        .unknownSelection, .error, ["8:30", "9:16"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            selection:
                verb: create
            condition:
                - 'selection and not filter'
                - 1 of filter_*
        """),
    DiagnosticCase(
        .unknownSelection, .error, ["9:13"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            selection:
                verb: create
            condition: |
                selection and
                not filtr
        """),
    DiagnosticCase(
        .unusedSelection, .warning, ["7:5"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            selection:
                verb: create
            filter:
                user.username: system:admin
            condition: selection
        """),
    DiagnosticCase(
        .deprecatedTimeframe, .warning, ["7:5"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            selection:
                verb: create
            timeframe: 5m
            condition: selection
        """),
    // Documents and YAML
    DiagnosticCase(
        .notAMapping, .error, ["1:1"],
        """
        - title: t
        - id: x
        """),
    DiagnosticCase(
        .ambiguousDocument, .error, ["5:1"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        correlation: {type: event_count, rules: [x], timespan: 5m, condition: {gte: 2}}
        """),
    DiagnosticCase(
        .unsupportedAction, .error, ["1:1"],
        """
        action: global
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .duplicateKey, .error, ["5:5"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes}
        detection:
            selection:
                verb: create
            selection:
                verb: delete
            condition: selection
        """),
    DiagnosticCase(
        .yamlSyntax, .error, ["4:10"],
        """
        title: t
        id: \(uuid)
        logsource: {product: kubernetes
        detection: {sel: {verb: create}, condition: sel}
        """),
    DiagnosticCase(
        .yamlSyntax, .error, ["2:6"],
        """
        title: 't
        id: x
        """),
    DiagnosticCase(
        .yamlLimit, .error, ["1:1"],
        """
        a: &a [x, x, x, x, x, x, x, x, x, x]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
        """),
    DiagnosticCase(
        .emptyDocument, .warning, ["2:1"],
        """
        ---
        ---
        \(minimalRule(id: uuid))
        """),
    // Correlations
    DiagnosticCase(
        .unknownCorrelationType, .error, ["4:11"],
        """
        title: c
        id: \(uuid)
        correlation:
            type: event_sum
            rules: [a]
            timespan: 5m
        """),
    DiagnosticCase(
        .badTimespan, .error, ["6:15", "13:15", "20:15"],
        """
        title: c
        correlation:
            type: temporal
            rules: [a, b]
            group-by: [user]
            timespan: 5M
        ---
        title: c
        correlation:
            type: temporal
            rules: [a, b]
            group-by: [user]
            timespan: 300
        ---
        title: c
        correlation:
            type: temporal
            rules: [a, b]
            group-by: [user]
            timespan: 0s
        """),
    DiagnosticCase(
        .badCorrelationCondition, .error, ["7:16", "14:17", "22:14", "29:16"],
        """
        title: count without field
        correlation:
            type: value_count
            rules: [a]
            group-by: [user]
            timespan: 1h
            condition: {gte: 10}
        ---
        title: unknown operator
        correlation:
            type: event_count
            rules: [a]
            timespan: 1h
            condition: {more: 10}
        ---
        title: string threshold
        correlation:
            type: event_count
            rules: [a]
            timespan: 1h
            condition:
                gte: many
        ---
        title: not a map
        correlation:
            type: event_count
            rules: [a]
            timespan: 1h
            condition: selection
        """),
    DiagnosticCase(
        .badCorrelationCondition, .warning, ["7:16", "15:9"],
        """
        title: empty range
        correlation:
            type: event_count
            rules: [a]
            timespan: 1h
            group-by: [user]
            condition: {gt: 10, lt: 5}
        ---
        title: field ignored
        correlation:
            type: event_count
            rules: [a]
            timespan: 1h
            condition:
                field: user
                gte: 3
        """),
    DiagnosticCase(
        .missingAttribute, .error, ["2:1", "2:1", "2:1", "9:12"],
        """
        title: c
        correlation:
            group-by: [user]
            condition: {gte: 2}
        ---
        title: c
        correlation:
            type: event_count
            rules: []
            timespan: 1h
            condition: {gte: 2}
        """),
    DiagnosticCase(
        .badAlias, .error, ["8:13", "10:13"],
        """
        title: c
        correlation:
            type: temporal
            rules: [internal_error, new_connection]
            group-by: [ip]
            timespan: 10s
            aliases:
                ip: source.ip
                other:
                    unrelated_rule: source.ip
        """),
    DiagnosticCase(
        .unusedAlias, .warning, ["11:9"],
        """
        title: c
        correlation:
            type: temporal
            rules: [a, b]
            group-by: [ip]
            timespan: 10s
            aliases:
                ip:
                    a: source.ip
                    b: destination.ip
                host:
                    a: host.name
                    b: host.hostname
        """),
]

@Suite("Diagnostics")
struct DiagnosticTests {
    @Test("each code at its line:column", arguments: diagnosticCases)
    func code(_ c: DiagnosticCase) {
        let file = load(c.yaml)
        let found = file.with(c.code)
        #expect(
            found.map { "\($0.line):\($0.column)" } == c.places,
            "\(file.diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(found.allSatisfy { $0.severity == c.severity })
        #expect(found.allSatisfy { $0.file == "test.yml" && !$0.message.isEmpty })
        if c.loads {
            #expect(file.errors.isEmpty, "\(file.errors)")
            #expect(!file.documents.isEmpty)
        } else {
            #expect(file.hasErrors)
        }
    }

    @Test("every code is exercised by some test")
    func everyCodeCovered() {
        var covered = Set(diagnosticCases.map(\.code))
        // Covered by RuleSetTests and FileTests (they need several files or real paths).
        covered.formUnion([.duplicateID, .duplicateName, .unknownRuleReference, .ioError, .badEncoding])
        // Covered by RuleCompilerTests (raised when compiling, not when loading).
        covered.formUnion([.unknownField, .neverMatches])
        let missing = RuleDiagnostic.Code.allCases.filter { !covered.contains($0) }
        #expect(missing.isEmpty, "no test for \(missing.map(\.rawValue))")
    }

    @Test("all problems of a rule are reported, in position order, and the rule is rejected")
    func allProblemsCollected() {
        let file = load(
            """
            title: [not, a, string]
            id: 1234
            status: beta
            level: severe
            tags: [Attack]
            logsource: {product: kubernetes}
            detection:
                sel:
                    verb|contans: create
                    objectRef.resource|re: '(pods'
                filter:
                    - user.username: x
                    - keyword
                condition: sel and not filtr
            """)
        #expect(file.documents.isEmpty)
        let summary = file.diagnostics.map { "\($0.line):\($0.column) \($0.severity.rawValue) \($0.code.rawValue)" }
        #expect(
            summary == [
                "1:8 error bad-type",
                "2:5 error bad-uuid",
                "3:9 warning unknown-status",
                "4:8 error unknown-level",
                "5:8 warning bad-tag",
                "9:14 error unknown-modifier",
                "10:32 error bad-value",
                "13:11 error bad-selection",
                "14:28 error unknown-selection",
            ])
    }

    @Test("rendering: file:line:col: severity: message [code]")
    func rendering() {
        let file = load(
            "title: t\nid: nope\nlogsource: {product: kubernetes}\ndetection: {sel: {verb: x}, condition: sel}\n",
            file: "rules/r.yml")
        let d = file.with(.badUUID)[0]
        #expect(
            d.description
                == "rules/r.yml:2:5: error: `nope` is not a UUID (8-4-4-4-12 hexadecimal digits, such as 929a690e-bef0-4204-a928-ef5e620d6fcc) [bad-uuid]"
        )
        let whole = RuleDiagnostic(.error, .ioError, "cannot open x", file: "x.yml", at: .file)
        #expect(whole.description == "x.yml: error: cannot open x [io-error]")
    }

    @Test("messages name what is wrong")
    func messages() {
        let file = load(
            """
            title: t
            id: \(uuid)
            logsource: {product: kubernetes}
            detection:
                selection:
                    verb|contans: create
                condition: selection and not filtr
            """)
        #expect(file.with(.unknownModifier).first?.message == "unknown modifier `contans`; did you mean `contains`?")
        #expect(file.with(.unknownSelection).first?.message.hasPrefix("unknown selection `filtr`") == true)
        let typo = load(minimalRule(id: uuid, extra: "falsepositive: [x]\n"))
        #expect(typo.with(.unknownAttribute).first?.message.contains("did you mean `falsepositives`?") == true)
        // The custom attribute is kept.
        #expect(typo.documents.first?.metadata.customAttribute("falsepositive") == .sequence([.string("x")]))
    }

    @Test("a condition error inside a quoted condition points into the quotes")
    func quotedConditionOffset() {
        let file = load(
            """
            title: t
            id: \(uuid)
            logsource: {product: kubernetes}
            detection:
                selection:
                    verb: create
                condition: "selection and filter"
            """)
        #expect(file.places(.unknownSelection) == ["7:31"])
    }
}
