import AuditInputs
import AuditJSON
import AuditModel
import Foundation
import Testing

/// liggitt/audit2rbac testdata/demo.log (Apache-2.0): impersonation and RBAC denials.
/// Its events have no stageTimestamp or requestReceivedTimestamp (converted from
/// v1beta1): event times come from `metadata.creationTimestamp` and `timestamp`.
@Suite("audit2rbac demo.log", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct Audit2RBACTests {
    @Test("37 events: 23 get, 14 list, all impersonated, 11 forbidden")
    func demoLog() throws {
        let r = Reading.stream(try Corpus.url("audit2rbac/demo.log"))
        #expect(r.inputError == nil)
        #expect(r.issues.isEmpty, "\(r.issues)")
        #expect(r.events.count == 37)
        #expect(r.stats?.layout == .ndjson)
        #expect(r.stats?.records == 37)
        var verbs: [String: Int] = [:]
        var impersonated: [String: Int] = [:]
        var codes: [Int: Int] = [:]
        var withObjectRef = 0
        for (n, c) in r.events.enumerated() {
            #expect(c.location.line == n + 1)
            #expect(c.apiVersion == "audit.k8s.io/v1")
            try c.withEvent { e in
                verbs[e.verb?.string ?? "-", default: 0] += 1
                let imp = try #require(e.impersonatedUser, "event \(n + 1) has no impersonatedUser")
                impersonated[imp.username?.string ?? "-", default: 0] += 1
                #expect(e.user?.username?.string == "system:admin")
                #expect(e.user?.isMember(of: "system:masters") == true)
                codes[e.responseStatus?.code ?? -1, default: 0] += 1
                if e.objectRef != nil { withObjectRef += 1 }
                #expect(e[.stageTimestamp] == nil && e[.requestReceivedTimestamp] == nil)
                let stage = try #require(e.stageMicros)
                #expect(stage == e.requestReceivedMicros)  // both second precision, same second
                #expect(stage % 1_000_000 == 0)
                if e.responseStatus?.code == 403 {
                    #expect(e.responseStatus?.reason?.string == "Forbidden")
                    #expect(e.responseStatus?.status?.string == "Failure")
                    #expect(e.responseStatus?.message?.string?.contains("is forbidden: User \"") == true)
                }
            }
        }
        #expect(verbs == ["get": 23, "list": 14])
        #expect(impersonated == ["bob": 29, "system:serviceaccount:ns1:sa1": 5, "alice": 3])
        #expect(codes == [200: 26, 403: 11])
        #expect(withObjectRef == 14)  // the 23 gets are discovery requests (/api, /apis/...)

        try r.events[0].withEvent { e in
            #expect(e.stageMicros == micros(2017, 9, 11, 19, 55, 5))
            #expect(e.requestURI?.string == "/api/v1/namespaces/default/pods")
            #expect(e.responseStatus?.message?.string
                == "pods is forbidden: User \"bob\" cannot list pods in the namespace \"default\"")
            #expect(e.impersonatedUser?.groups?.stringArray == ["system:authenticated"])
        }
        try r.events[36].withEvent { e in
            #expect(e.stageMicros == micros(2017, 9, 11, 20, 29, 4))
            #expect(e.objectRef?.resource?.string == "secrets")
            #expect(e.objectRef?.namespace?.string == "ns1")
            #expect(e.impersonatedUser?.username?.string == "alice")
            #expect(e.responseStatus?.code == 403)
        }
    }
}

/// crowdsecurity/hub .tests/k8s-audit-* (MIT): one event per file, minikube 2023.
@Suite("CrowdSec hub k8s-audit tests", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct CrowdSecTests {
    static let dir = "crowdsec-hub-k8s-audit/.tests"

    @Test("pod-exec: kubectl exec /bin/bash by minikube-user")
    func podExec() throws {
        let r = Reading.stream(try Corpus.url("\(Self.dir)/k8s-audit-pod-exec-file/k8s-audit-pod-exec-file.log"))
        #expect(r.issues.isEmpty)
        #expect(r.events.count == 1)
        let c = try #require(r.events.first)
        #expect(c.apiVersion == "audit.k8s.io/v1")
        try c.withEvent { e in
            #expect(e.user?.username?.string == "minikube-user")
            #expect(e.sourceIPs?.stringArray == ["192.168.49.1"])
            #expect(e.verb?.string == "create")
            #expect(e.stage == .responseComplete)
            #expect(e.responseStatus?.code == 101)
            #expect(e.objectRef?.namespace?.string == "foo")
            #expect(e.objectRef?.name?.string == "test-pod-1")
            // The URI's '&' are written as \u0026 and the argv is percent-encoded.
            #expect(e.requestURI?.jsonString?.hasEscapes == true)
            let exec = try #require(e.execRequest)
            #expect(exec.kind == .exec)
            #expect(exec.command == ["/bin/bash"])
            #expect(exec.container == "centos")
            #expect(exec.stdin && exec.stdout && exec.tty && !exec.stderr)
            #expect(e.requestReceivedMicros == micros(2023, 5, 17, 15, 8, 22, 763_960))
            #expect(e.stageMicros == micros(2023, 5, 17, 15, 8, 30, 619_910))
            #expect(e.annotation("apiserver.latency.k8s.io/total")?.string == "7.85594907s")
            #expect(e.annotation("apiserver.latency.k8s.io/etcd")?.string == "561.927µs")
        }
    }

    @Test("priv-pod: privileged pod test-pod-1 created by minikube-user in foo")
    func privilegedPod() throws {
        let r = Reading.stream(try Corpus.url("\(Self.dir)/k8s-audit-priv-pod-file/k8s-audit-priv-pod-file.log"))
        #expect(r.issues.isEmpty)
        #expect(r.events.count == 1)
        try #require(r.events.first).withEvent { e in
            #expect(e.level == .requestResponse)
            #expect(e.verb?.string == "create")
            #expect(e.user?.username?.string == "minikube-user")
            #expect(e.objectRef?.resource?.string == "pods")
            #expect(e.objectRef?.namespace?.string == "foo")
            #expect(e.objectRef?.name?.string == "test-pod-1")
            #expect(e.responseStatus?.code == 201)
            #expect(e.requestObject?["kind"]?.string == "Pod")
            let spec = try #require(e.podSpec())
            #expect(spec.allContainers.count == 1)
            #expect(spec.allContainers[0].name?.string == "centos")
            #expect(spec.allContainers[0].privileged)
            let response = try #require(e.podSpec(in: .response))
            #expect(response.allContainers.map(\.privileged) == [true])
            #expect(response.serviceAccountName?.string == "default")
            #expect(e.annotation("pod-security.kubernetes.io/enforce-policy")?.string == "privileged:latest")
            #expect(e.requestReceivedMicros == micros(2023, 5, 17, 13, 59, 57, 756_152))
            #expect(e.stageMicros == micros(2023, 5, 17, 13, 59, 57, 759_439))
        }
    }
}

/// elastic/integrations kubernetes audit_logs pipeline tests (Elastic License 2.0): three
/// native v1 events, then a GKE Cloud Audit LogEntry and an AKS diagnostic-log wrapper,
/// which are JSON objects but not audit events: they must be reported, not crash or count.
@Suite("Elastic integrations audit logs", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct ElasticTests {
    @Test("test-audit.log: 3 events, the GKE and AKS lines reported as not audit events")
    func testAuditLog() throws {
        let url = try Corpus.url("elastic-integrations-k8s-audit/test-audit.log")
        let r = Reading.stream(url)
        #expect(r.inputError == nil)
        #expect(r.events.count == 3)
        #expect(r.events.map(\.location.line) == [1, 2, 3])
        #expect(r.stats?.records == 5)
        #expect(r.issues.map(\.line) == [4, 5])
        #expect(r.issues.map(\.kind) == [.notAnEvent, .notAnEvent])
        for issue in r.issues { #expect(issue.source == "test-audit.log") }
        // Each report says which wrapper the record is and what to do about it.
        #expect(r.issues.map(\.detail) == [
            "object is not an audit event: it is a Google Cloud Logging entry (GKE's audit log, protoPayload), whose schema kaudit does not translate; read the cluster's audit.k8s.io events instead",
            "object is not an audit event: it is an Azure diagnostic record (AKS kube-audit) with the event in properties.log; take the events out first: jq -c '.properties.log | if type == \"string\" then fromjson else . end'",
        ])
        let first = r.events[0]
        try first.withEvent { e in
            #expect(e.level == .metadata)
            #expect(e.auditID?.string == "abcde12345")
            #expect(e.verb?.string == "get")
            #expect(e.requestURI?.string == "/api/v1/namespaces/default/pods")
            #expect(e.user?.username?.string == "system:serviceaccounts:default:default")
            #expect(e.user?.uid?.string == "12345678")
            #expect(e.user?.groups?.stringArray == ["system:authenticated"])
            #expect(e.userAgent?.string == "kubectl/v1.26.1")
            let ref = try #require(e.objectRef)
            #expect(ref.resource?.string == "pods")
            #expect(ref.name?.string == "my-pod")
            #expect(ref.apiGroup?.string == "")
            #expect(e.responseStatus?.code == 200)
            #expect(e.stageMicros == micros(2025, 3, 4, 6, 22, 18, 822_532))
            #expect(e.requestReceivedMicros == micros(2025, 3, 4, 6, 22, 18, 819_232))
        }
        for c in r.events[1...] {
            try c.withEvent { e in
                #expect(e.user?.username?.string == "system:serviceaccount:kube-system:elastic-agent")
                #expect(e.objectRef?.resource?.string == "leases")
                #expect(e.objectRef?.apiGroup?.string == "coordination.k8s.io")
                #expect(e.objectRef?.name?.string == "elastic-agent-cluster-test")
                #expect(e.user?.extra?.kind == .object)
                #expect(e.authorizationReason?.string
                    == "RBAC: allowed by RoleBinding \"elastic-agent/kube-system\" of Role \"elastic-agent\" to ServiceAccount \"elastic-agent/kube-system\"")
                #expect(e.stageMicros == micros(2025, 7, 16, 10, 12, 56, 563_177))
            }
        }
        // The same in place.
        let inPlace = try Reading.inPlace(url)
        #expect(inPlace.events.map(\.bytes) == r.events.map(\.bytes))
        #expect(inPlace.issues.map(\.description) == r.issues.map(\.description))
    }

    @Test("test-kube-audit.log: an AKS wrapper whose event is a JSON string")
    func testKubeAuditLog() throws {
        let r = Reading.stream(try Corpus.url("elastic-integrations-k8s-audit/test-kube-audit.log"))
        #expect(r.inputError == nil)
        #expect(r.events.isEmpty)
        #expect(r.issues.count == 1)
        #expect(r.issues.first?.kind == .notAnEvent)
        #expect(r.issues.first?.line == 1)
        #expect(r.issues.first?.byteOffset == 0)
        #expect(r.issues.first?.detail.hasPrefix("object is not an audit event: it is an Azure diagnostic record (AKS kube-audit)") == true)
    }
}

/// GoogleCloudPlatform/khi test logs (Apache-2.0). All of them are YAML, not JSON: the
/// GKE LogEntries and the one OSS Event (a kube-scheduler lease update). kaudit reads
/// JSON only, and converting YAML would need a YAML parser (a third-party dependency that
/// the package does not take for a test), so the events themselves are not checked here.
/// What is checked: fed to the reader as they are, the YAML files are reported line by
/// line as not JSON, with no event and no crash.
@Suite("KHI (YAML) logs", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct KHITests {
    @Test("the OSS event file is YAML: reported, not read as events")
    func ossEventIsYAML() throws {
        let url = try Corpus.url("khi-gke-audit/oss/test-log.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("kind: Event"))
        #expect(text.contains("apiVersion: audit.k8s.io/v1"))
        let r = Reading.stream(url)
        #expect(r.inputError == nil)
        #expect(r.events.isEmpty)
        let nonBlankLines = text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.allSatisfy(\.isWhitespace) }.count
        #expect(r.issues.count == nonBlankLines)
        #expect(r.issues.allSatisfy { $0.kind == .notAnObject })
        #expect(r.issues.first?.line == 1)
    }

    @Test("the GKE LogEntry files are YAML too")
    func gkeEntriesAreYAML() throws {
        let dir = try Corpus.url("khi-gke-audit/k8s_audit")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
        #expect(names.count == 6)
        for name in names {
            let r = Reading.stream(dir.appendingPathComponent(name))
            #expect(r.inputError == nil)
            #expect(r.events.isEmpty, "\(name)")
            #expect(!r.issues.isEmpty, "\(name)")
        }
    }
}

@Suite("Corpus location")
struct CorpusLocationTests {
    @Test("corpora are present on CI")
    func presentOnCI() throws {
        if Corpus.onCI {
            _ = try Corpus.require()
        } else if Corpus.root == nil {
            // Not a failure outside CI; the corpus suites above are skipped.
            print("note: \(Corpus.skipMessage)")
        }
        #expect(FileManager.default.fileExists(atPath: Corpus.packageRoot.appendingPathComponent("Package.swift").path))
    }
}
