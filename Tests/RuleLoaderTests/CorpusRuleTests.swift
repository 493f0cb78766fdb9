// The 16 SigmaHQ Kubernetes audit rules load with no error, into the right model.
import DetectionEngine
import Foundation
import RuleLoader
import Testing

/// What the tests expect of one corpus rule: the selections as `name: field|mods=N values`.
struct CorpusExpectation: Sendable, CustomTestStringConvertible {
    let file: String
    let title: String
    let id: String
    let level: RuleLevel
    let tags: [String]
    let logsource: (category: String?, product: String?, service: String?)
    let selections: [String]
    let condition: String

    var testDescription: String { file }
}

private let k8s = (category: String?.none, product: String?.some("kubernetes"), service: String?.some("audit"))
private let app = (
    category: String?.some("application"), product: String?.some("kubernetes"), service: String?.some("audit")
)

let corpusExpectations: [CorpusExpectation] = [
    CorpusExpectation(
        file: "kubernetes_audit_change_admission_controller.yml", title: "Kubernetes Admission Controller Modification",
        id: "eed82177-38f5-4299-8a76-098d50d225ab", level: .medium,
        tags: [
            "attack.privilege-escalation", "attack.initial-access", "attack.persistence", "attack.stealth",
            "attack.t1078",
            "attack.credential-access", "attack.t1552", "attack.t1552.007",
        ],
        logsource: k8s,
        selections: ["selection: objectRef.apiGroup=1, objectRef.resource=2, verb=5"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_cronjob_modification.yml", title: "Kubernetes CronJob/Job Modification",
        id: "0c9b3bda-41a6-4442-9345-356ae86343dc", level: .medium,
        tags: ["attack.persistence", "attack.privilege-escalation", "attack.execution"], logsource: k8s,
        selections: ["selection: objectRef.apiGroup=1, objectRef.resource=2, verb=5"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_deployment_deleted.yml", title: "Deployment Deleted From Kubernetes Cluster",
        id: "40967487-139b-4811-81d9-c9767a92aa5a", level: .low, tags: ["attack.t1498", "attack.impact"],
        logsource: app,
        selections: ["selection: verb=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_events_deleted.yml", title: "Kubernetes Events Deleted",
        id: "3132570d-cab2-4561-9ea6-1743644b2290",
        level: .medium, tags: ["attack.stealth", "attack.t1070"], logsource: app,
        selections: ["selection: verb=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_exec_into_container.yml", title: "Potential Remote Command Execution In Pod Container",
        id: "a1b0ca4e-7835-413e-8471-3ff2b8a66be6", level: .medium, tags: ["attack.t1609", "attack.execution"],
        logsource: app,
        selections: ["selection: verb=1, objectRef.resource=1, objectRef.subresource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_hostpath_mount.yml", title: "Container With A hostPath Mount Created",
        id: "402b955c-8fe0-4a8c-b635-622b4ac5f902", level: .low, tags: ["attack.t1611", "attack.privilege-escalation"],
        logsource: app, selections: ["selection: verb=1, objectRef.resource=1, hostPath=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_pod_in_system_namespace.yml", title: "Creation Of Pod In System Namespace",
        id: "a80d927d-ac6e-443f-a867-e8d6e3897318", level: .medium, tags: ["attack.stealth", "attack.t1036.005"],
        logsource: app,
        selections: ["selection: verb=1, objectRef.resource=1, objectRef.namespace=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_potential_enumeration_activity.yml", title: "Kubernetes Potential Enumeration Activity",
        id: "597a7e84-187d-458b-9e4f-2f5a0e676711", level: .medium,
        tags: ["attack.execution", "attack.discovery", "attack.t1609", "attack.t1613"], logsource: k8s,
        selections: [
            "selection_status: responseStatus.code=1", "selection_request_uri: requestURI|contains=22",
            "selection_request_user_agent: userAgent|contains=4",
        ],
        condition: "selection_status and 1 of selection_request_*"),
    CorpusExpectation(
        file: "kubernetes_audit_privileged_pod_creation.yml", title: "Privileged Container Deployed",
        id: "c5cd1b20-36bb-488d-8c05-486be3d0cb97", level: .low, tags: ["attack.t1611", "attack.privilege-escalation"],
        logsource: app, selections: ["selection: verb=1, objectRef.resource=1, capabilities=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_rbac_permisions_listing.yml", title: "RBAC Permission Enumeration Attempt",
        id: "84b777bd-c946-4d17-aa2e-c39f5a454325", level: .low,
        tags: ["attack.t1069.003", "attack.t1087.004", "attack.discovery"], logsource: app,
        selections: ["selection: verb=1, apiGroup=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_rolebinding_modification.yml", title: "Kubernetes Rolebinding Modification",
        id: "10b97915-ec8d-455f-a815-9a78926585f6", level: .medium, tags: ["attack.privilege-escalation"],
        logsource: k8s,
        selections: ["selection: objectRef.apiGroup=1, objectRef.resource=2, verb=5"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_secrets_enumeration.yml", title: "Kubernetes Secrets Enumeration",
        id: "eeb3e9e1-b685-44e4-9232-6bb701f925b5", level: .low,
        tags: ["attack.t1552.007", "attack.credential-access"],
        logsource: app, selections: ["selection: verb=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_secrets_modified_or_deleted.yml", title: "Kubernetes Secrets Modified or Deleted",
        id: "58d31a75-a4f8-4c40-985b-373d58162ca2", level: .medium, tags: ["attack.credential-access"], logsource: k8s,
        selections: ["selection: objectRef.resource=1, verb=5"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_serviceaccount_creation.yml", title: "New Kubernetes Service Account Created",
        id: "e31bae15-83ed-473e-bf31-faf4f8a17d36", level: .low, tags: ["attack.persistence", "attack.t1136"],
        logsource: app,
        selections: ["selection: verb=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_sidecar_injection.yml", title: "Potential Sidecar Injection Into Running Deployment",
        id: "ad9012a6-e518-4432-9890-f3b82b8fc71f", level: .medium, tags: ["attack.t1609", "attack.execution"],
        logsource: app,
        selections: ["selection: verb=1, apiGroup=1, objectRef.resource=1"], condition: "selection"),
    CorpusExpectation(
        file: "kubernetes_audit_unauthorized_unauthenticated_actions.yml",
        title: "Kubernetes Unauthorized or Unauthenticated Access",
        id: "0d933542-1f1f-420d-97d4-21b2c3c492d9", level: .low, tags: ["attack.privilege-escalation"], logsource: k8s,
        selections: ["selection: responseStatus.code=2"], condition: "selection"),
]

/// `name: field|mods=count, ...` for a selection (the shape `corpusExpectations` uses).
func selectionSummary(_ selection: Selection) -> String {
    func conditions(_ list: [FieldCondition]) -> String {
        list.map { c in ([c.field] + c.modifiers).joined(separator: "|") + "=\(c.values.count)" }.joined(
            separator: ", ")
    }
    switch selection.identifier {
    case .fieldMap(let list): return "\(selection.name): " + conditions(list)
    case .anyOfMaps(let maps):
        return "\(selection.name): " + maps.map { "{" + conditions($0) + "}" }.joined(separator: " | ")
    case .keywords(let values, let all): return "\(selection.name): keywords\(all ? "|all" : "")=\(values.count)"
    }
}

@Suite("SigmaHQ Kubernetes rules", .enabled(if: LoaderCorpus.shouldRun, LoaderCorpus.skipMessage))
struct CorpusRuleTests {
    @Test("the directory loads: 16 rules, no error, no warning")
    func wholeDirectory() throws {
        let dir = try LoaderCorpus.requireDirectory()
        let set = RuleSet.load(paths: [dir.path])
        #expect(set.errors.isEmpty, "\(set.errors.map(\.description).joined(separator: "\n"))")
        #expect(set.warnings.isEmpty, "\(set.warnings.map(\.description).joined(separator: "\n"))")
        #expect(set.rules.count == 16)
        #expect(set.correlations.isEmpty && set.filters.isEmpty)
        // Sorted by path, so in the order of the expectations table (which is sorted by name).
        #expect(set.rules.map { ($0.origin.file as NSString).lastPathComponent } == corpusExpectations.map(\.file))
        #expect(set.files.count == 16)
        #expect(expectationsCoverCorpus(dir))
    }

    private func expectationsCoverCorpus(_ dir: URL) -> Bool {
        let names =
            (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yml") }.sorted())
            ?? []
        return names == corpusExpectations.map(\.file)
    }

    @Test("each rule's attributes and detection", arguments: corpusExpectations)
    func rule(_ expected: CorpusExpectation) throws {
        let dir = try LoaderCorpus.requireDirectory()
        let path = dir.appendingPathComponent(expected.file).path
        let file = RuleFile.read(path: path)
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
        let rule = try #require(file.documents.first?.rule)
        #expect(file.documents.count == 1)
        #expect(rule.title == expected.title)
        #expect(rule.id == expected.id)
        #expect(rule.level == expected.level)
        #expect(rule.tags == expected.tags)
        #expect(rule.logsource.category == expected.logsource.category)
        #expect(rule.logsource.product == expected.logsource.product)
        #expect(rule.logsource.service == expected.logsource.service)
        #expect(rule.detection.selections.map(selectionSummary) == expected.selections)
        #expect(rule.detection.conditions.count == 1)
        #expect(rule.detection.conditions.first?.parsed.text == expected.condition)
        #expect(rule.origin.file == path)
        #expect(rule.origin.position == SourcePosition(line: 1, column: 1))
        #expect(rule.status != nil)
        #expect(rule.author != nil && rule.date != nil)
        #expect(!rule.references.isEmpty && !rule.falsepositives.isEmpty)
        #expect(rule.customAttributes.isEmpty)
        // Every field condition has a compiled matcher.
        for selection in rule.detection.selections {
            guard case .fieldMap(let conditions) = selection.identifier else {
                Issue.record("\(selection.name) is not a field map")
                continue
            }
            for c in conditions {
                #expect(c.matcher != nil)
                #expect(c.valuePositions.count == c.values.count)
            }
        }
    }

    @Test("details: values, types, positions, related, description")
    func details() throws {
        let dir = try LoaderCorpus.requireDirectory()

        let unauthorized = try #require(
            RuleFile.read(
                path: dir.appendingPathComponent("kubernetes_audit_unauthorized_unauthenticated_actions.yml").path
            )
            .documents.first?.rule)
        guard case .fieldMap(let codes) = unauthorized.detection.selections[0].identifier else {
            Issue.record("not a map")
            return
        }
        #expect(codes[0].field == "responseStatus.code")
        #expect(codes[0].values == [.int(401), .int(403)])
        #expect(
            codes[0].valuePositions == [SourcePosition(line: 20, column: 15), SourcePosition(line: 21, column: 15)])
        #expect(codes[0].position == SourcePosition(line: 19, column: 9))
        #expect(codes[0].matcher?.matches("403") == true)
        #expect(codes[0].matcher?.matches("404") == false)

        let admission = try #require(
            RuleFile.read(path: dir.appendingPathComponent("kubernetes_audit_change_admission_controller.yml").path)
                .documents.first?.rule)
        #expect(admission.related == [RelatedRule(id: "6ad91e31-53df-4826-bd27-0166171c8040", type: .similar)])
        #expect(admission.status == .test)
        #expect(admission.date == "2024-07-11")
        #expect(admission.author == "kelnage")
        #expect(admission.description?.hasPrefix("Detects when a modification") == true)
        #expect(admission.description?.hasSuffix("credentials.\n") == true)
        guard case .fieldMap(let fields) = admission.detection.selections[0].identifier else { return }
        #expect(fields[0].values == [.string("admissionregistration.k8s.io")])
        #expect(fields[2].values.count == 5)
        #expect(fields[2].matcher?.exactLowercasedStrings == ["create", "delete", "patch", "replace", "update"])

        let enumeration = try #require(
            RuleFile.read(path: dir.appendingPathComponent("kubernetes_audit_potential_enumeration_activity.yml").path)
                .documents.first?.rule)
        #expect(enumeration.status == .experimental)
        #expect(enumeration.detection.condition == .and([.selection(0), .or([.selection(1), .selection(2)])]))
        guard case .fieldMap(let uri) = enumeration.detection.selections[1].identifier else { return }
        #expect(uri[0].modifiers == ["contains"])
        #expect(uri[0].matcher?.matches("/api/v1/namespaces/x/pods/p/exec?command=%2fbin%2fbash") == true)

        let hostPath = try #require(
            RuleFile.read(path: dir.appendingPathComponent("kubernetes_audit_hostpath_mount.yml").path).documents.first?
                .rule)
        guard case .fieldMap(let hp) = hostPath.detection.selections[0].identifier else { return }
        #expect(hp[2].field == "hostPath" && hp[2].values == [.string("*")])
    }
}
