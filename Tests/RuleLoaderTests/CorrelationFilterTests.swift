// Correlation documents of every type, and filter documents.
import DetectionEngine
import RuleLoader
import Testing

@Suite("Correlations")
struct CorrelationTests {
    @Test("timespans: s, m, h, d into seconds; anything else rejected")
    func timespans() {
        #expect(Timespan("30s")?.seconds == 30)
        #expect(Timespan("5m")?.seconds == 300)
        #expect(Timespan("1h")?.seconds == 3600)
        #expect(Timespan("2d")?.seconds == 172_800)
        #expect(Timespan("90m")?.seconds == 5400)
        #expect(Timespan("5m")?.description == "5m")
        for bad in [
            "", "5", "m", "5M", "1H", "0s", "-5m", "+5m", "5 m", "1.5h", "5w", "1h30m", "99999999999999999999d", "٥m",
        ] {
            #expect(Timespan(bad) == nil, "\(bad)")
        }
    }

    @Test("event_count: rules, group-by, timespan, condition, metadata")
    func eventCount() throws {
        let doc = try loadDocument(
            """
            title: Many failed logins
            id: 0e95725d-7320-415d-80f7-004da920fc11
            name: many_failed
            status: test
            level: high
            correlation:
                type: event_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                    - failed_login
                group-by:
                    - ComputerName
                    - User
                timespan: 1h
                condition:
                    gte: 100
            falsepositives: [Scanners]
            """)
        let c = try #require(doc.correlation)
        #expect(c.type == .eventCount)
        #expect(c.title == "Many failed logins" && c.name == "many_failed" && c.level == .high && c.status == .test)
        #expect(c.rules == ["5638f7c0-ac70-491d-8465-2a65075e0d86", "failed_login"])
        #expect(c.rulePositions == [SourcePosition(line: 9, column: 11), SourcePosition(line: 10, column: 11)])
        #expect(c.groupBy == ["ComputerName", "User"])
        #expect(c.timespan.seconds == 3600)
        let condition = try #require(c.condition)
        #expect(condition.fields.isEmpty)
        #expect(condition.comparisons.map(\.op) == [.gte])
        #expect(condition.comparisons.map(\.threshold) == [100])
        #expect(condition.holds(100) && !condition.holds(99))
        #expect(!c.generate)
        #expect(c.aliases.isEmpty)
        #expect(c.falsepositives == ["Scanners"])
        #expect(c.position == SourcePosition(line: 6, column: 1))
    }

    @Test("value_count: `field`, a range condition, generate")
    func valueCount() throws {
        let c = try #require(
            try loadDocument(
                """
                title: Failed login
                id: 0e95725d-7320-415d-80f7-004da920fc12
                correlation:
                    type: value_count
                    rules: 5638f7c0-ac70-491d-8465-2a65075e0d86
                    group-by: ComputerName
                    timespan: 1d
                    condition:
                        field: User
                        gt: 100
                        lte: 200
                    generate: true
                """
            ).correlation)
        #expect(c.type == .valueCount)
        #expect(c.rules == ["5638f7c0-ac70-491d-8465-2a65075e0d86"])
        #expect(c.groupBy == ["ComputerName"])
        #expect(c.timespan.seconds == 86400)
        #expect(c.condition?.fields == ["User"])
        #expect(c.condition?.comparisons.map(\.op) == [.gt, .lte])
        #expect(c.condition?.holds(101) == true)
        #expect(c.condition?.holds(100) == false)
        #expect(c.condition?.holds(200) == true)
        #expect(c.condition?.holds(201) == false)
        #expect(c.generate)
    }

    @Test("temporal with aliases; temporal_ordered keeps the rule order; condition optional")
    func temporal() throws {
        let c = try #require(
            try loadDocument(
                """
                title: Internal error then connection
                id: 0e95725d-7320-415d-80f7-004da920fc13
                correlation:
                    type: temporal
                    rules:
                        - internal_error
                        - new_network_connection
                    group-by:
                        - internal_ip
                        - remote_ip
                    timespan: 10s
                    aliases:
                        internal_ip:
                            internal_error: destination.ip
                            new_network_connection: source.ip
                        remote_ip:
                            internal_error: source.ip
                            new_network_connection: destination.ip
                """
            ).correlation)
        #expect(c.type == .temporal)
        #expect(c.condition == nil)
        #expect(c.timespan.seconds == 10)
        #expect(c.aliases.map(\.name) == ["internal_ip", "remote_ip"])
        #expect(
            c.aliases[0].mappings == [
                CorrelationAlias.Mapping(rule: "internal_error", field: "destination.ip"),
                CorrelationAlias.Mapping(rule: "new_network_connection", field: "source.ip"),
            ])
        #expect(c.aliases[1].field(for: "internal_error") == "source.ip")
        #expect(c.aliases[0].position == SourcePosition(line: 13, column: 9))

        let ordered = try #require(
            try loadDocument(
                """
                title: Recon then exec
                id: 0e95725d-7320-415d-80f7-004da920fc14
                correlation:
                    type: temporal_ordered
                    rules: [recon_cmd_b, recon_cmd_a, recon_cmd_c]
                    group-by: [user.username]
                    timespan: 5m
                    condition:
                        gte: 2
                """
            ).correlation)
        #expect(ordered.type == .temporalOrdered)
        #expect(ordered.rules == ["recon_cmd_b", "recon_cmd_a", "recon_cmd_c"])
        #expect(ordered.condition?.comparisons.first?.threshold == 2)
    }

    @Test("the spec's metric types and every comparison operator")
    func metricTypes() throws {
        for (type, op) in [
            ("value_sum", "gt"), ("value_avg", "lt"), ("value_percentile", "lte"), ("value_sum", "eq"),
            ("value_avg", "neq"),
        ] {
            let c = try #require(
                try loadDocument(
                    """
                    title: metric
                    id: 0e95725d-7320-415d-80f7-004da920fc15
                    correlation:
                        type: \(type)
                        rules: [website_access]
                        group-by: [SourceIP]
                        timespan: 24h
                        condition:
                            field: bytes_sent
                            \(op): 1.5
                    """
                ).correlation)
            #expect(c.type.rawValue == type)
            #expect(c.condition?.comparisons.first?.op.rawValue == op)
            #expect(c.condition?.comparisons.first?.threshold == 1.5)
        }
        let ops = CorrelationCondition.Operator.self
        #expect(ops.gt.holds(2, 1) && ops.gte.holds(1, 1) && ops.lt.holds(0, 1) && ops.lte.holds(1, 1))
        #expect(ops.eq.holds(1, 1) && ops.neq.holds(2, 1) && !ops.neq.holds(1, 1))
    }

    @Test("`generate` at the top level is accepted too; group-by may be omitted")
    func topLevelGenerate() throws {
        let c = try #require(
            try loadDocument(
                """
                title: c
                id: 0e95725d-7320-415d-80f7-004da920fc16
                generate: true
                correlation:
                    type: event_count
                    rules: [a]
                    timespan: 30s
                    condition: {eq: 3}
                """
            ).correlation)
        #expect(c.generate)
        #expect(c.groupBy.isEmpty)
    }

    @Test("`generate` must be a boolean; unknown correlation keys warn")
    func badGenerate() {
        let file = load(
            """
            title: c
            id: 0e95725d-7320-415d-80f7-004da920fc16
            correlation:
                type: event_count
                rules: [a]
                timespan: 30s
                timeframe: 1m
                condition: {eq: 3}
                generate: yes
            """)
        #expect(file.places(.badType) == ["9:15"])
        #expect(file.places(.unknownAttribute) == ["7:5"])
        #expect(file.documents.isEmpty)
    }

    @Test("the spec's multi-document example: a chain of correlations and the rules they use")
    func specExample() throws {
        let set = RuleSet(sources: [("mr_failed_then_success.yml", specMultiDocument)])
        #expect(set.errors.isEmpty, "\(set.errors)")
        #expect(set.warnings.isEmpty, "\(set.warnings)")
        #expect(set.documents.count == 4)
        #expect(set.correlations.map(\.type) == [.temporalOrdered, .eventCount])
        #expect(set.rules.map(\.name) == ["failed_login", "successful_login"])
        #expect(set.documents.map(\.metadata.origin.index) == [0, 1, 2, 3])
        #expect(set.documents.map(\.metadata.origin.position.line) == [1, 21, 35, 48])
        let outer = set.correlations[0]
        #expect(outer.rules == ["multiple_failed_login", "successful_login"])
        #expect(set.document("multiple_failed_login")?.correlation?.condition?.comparisons.first?.threshold == 10)
        #expect(set.document("53ba33fd-3a50-4468-a5ef-c583635cfa92")?.rule?.name == "failed_login")
        let failed = try #require(set.rules.first)
        guard case .fieldMap(let conditions) = failed.detection.selections[0].identifier else { return }
        #expect(conditions[0].values == [.int(529), .int(4625)])
    }
}

/// The correlation example from sigma-correlation-rules-specification.md, verbatim.
let specMultiDocument = """
    title: Correlation - Multiple Failed Logins Followed by Successful Login
    id: b180ead8-d58f-40b2-ae54-c8940995b9b6
    status: experimental
    description: Detects multiple failed logins by a single user followed by a successful login of that user
    references:
        - https://reference.com
    author: Florian Roth (Nextron Systems)
    date: 2023-06-16
    correlation:
        type: temporal_ordered
        rules:
            - multiple_failed_login
            - successful_login
        group-by:
            - User
        timespan: 10m
    falsepositives:
        - Unlikely
    level: high
    ---
    title: Multiple failed logons
    id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
    description: Detects multiple failed logins within a certain amount of time
    name: multiple_failed_login
    correlation:
        type: event_count
        rules:
            - failed_login
        group-by:
            - User
        timespan: 10m
        condition:
            gte: 10
    ---
    title: Single failed login
    id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
    name: failed_login
    logsource:
        product: windows
        service: security
    detection:
        selection:
            EventID:
                - 529
                - 4625
        condition: selection
    ---
    title: Successful login
    id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
    description: Detects a successful login
    name: successful_login
    logsource:
        product: windows
        service: security
    detection:
        selection:
            EventID:
                - 528
                - 4624
        condition: selection

    """

@Suite("Filters")
struct FilterTests {
    @Test("the spec's example filter")
    func specExample() throws {
        let file = load(
            """
            title: Filter Administrator account
            description: The valid administrator account start with adm_
            logsource:
                category: process_creation
                product: windows
            filter:
                rules:
                    - 6f3e2987-db24-4c78-a860-b4f4095a7095 # Data Compressed - rar.exe
                    - df0841c0-9846-4e9f-ad8a-7df91571771b # Login on jump host
                selection:
                    User|startswith: 'adm_'
                condition: selection
            """)
        #expect(file.errors.isEmpty, "\(file.errors)")
        #expect(file.codes == [.missingID])  // the example has no id: a warning
        let f = try #require(file.documents.first?.filter)
        #expect(f.title == "Filter Administrator account")
        #expect(f.rules == ["6f3e2987-db24-4c78-a860-b4f4095a7095", "df0841c0-9846-4e9f-ad8a-7df91571771b"])
        #expect(f.rulePositions.map(\.line) == [8, 9])
        #expect(f.logsource.category == "process_creation")
        #expect(f.detection.selectionNames == ["selection"])
        #expect(f.detection.condition == .selection(0))
        guard case .fieldMap(let conditions) = f.detection.selections[0].identifier else { return }
        #expect(conditions[0].field == "User" && conditions[0].modifiers == ["startswith"])
        #expect(conditions[0].matcher?.matches("ADM_joe") == true)
    }

    @Test("several selections, a rule given by name, condition lists")
    func severalSelections() throws {
        let f = try #require(
            try loadDocument(
                """
                title: Ignore the CI system
                id: 7a3e2987-db24-4c78-a860-b4f4095a7095
                logsource: {product: kubernetes, service: audit}
                filter:
                    rules: kubernetes_secrets_enumeration
                    ci_user:
                        user.username: 'system:serviceaccount:ci:runner'
                    ci_agent:
                        userAgent|startswith: 'argocd/'
                    condition:
                        - ci_user
                        - ci_agent
                """
            ).filter)
        #expect(f.rules == ["kubernetes_secrets_enumeration"])
        #expect(f.detection.selectionNames == ["ci_user", "ci_agent"])
        #expect(f.detection.condition == .or([.selection(0), .selection(1)]))
    }

    @Test("what a filter must have")
    func requirements() {
        let file = load(
            """
            title: f
            id: 7a3e2987-db24-4c78-a860-b4f4095a7095
            filter:
                selection:
                    verb: get
            ---
            title: f2
            id: 7a3e2987-db24-4c78-a860-b4f4095a7096
            logsource: {product: kubernetes}
            filter: [a, b]
            """)
        #expect(file.places(.missingLogsource) == ["1:1"])
        #expect(file.places(.missingAttribute) == ["3:1"])
        #expect(file.places(.missingCondition) == ["3:1"])
        #expect(file.places(.badType) == ["10:9"])
        #expect(file.documents.isEmpty)
    }
}
