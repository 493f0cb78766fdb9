import AuditInputs
import AuditJSON
import AuditModel
import Foundation
import Testing

/// falcosecurity/falco test/trace_files/k8s_audit (Apache-2.0): real minikube captures,
/// 2018–2020, audit.k8s.io/v1beta1, v1 and no apiVersion at all.
@Suite("Falco k8s_audit trace files", .enabled(if: Corpus.shouldRun, Corpus.skipMessage))
struct FalcoCorpusTests {
    func read(_ name: String) throws -> ReadResult {
        Reading.stream(try Corpus.url("\(Corpus.falcoDirectory)/\(name)"))
    }

    /// The only event of a trace file.
    func single(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CapturedEvent {
        let r = try read(name)
        #expect(r.issues.isEmpty, "\(name): \(r.issues)", sourceLocation: sourceLocation)
        #expect(r.events.count == 1, "\(name)", sourceLocation: sourceLocation)
        return try #require(r.events.first, sourceLocation: sourceLocation)
    }

    @Test("47 files: 51 events in 46 audit files, one error for fal_01_003.json")
    func wholeDirectory() throws {
        _ = try Corpus.require()
        let files = Corpus.falcoFiles
        #expect(files.count == 47)
        var events = 0
        var perVersion: [String: Int] = [:]
        var perStage: [String: Int] = [:]
        var issues: [(String, ReadIssue)] = []
        for name in files {
            let r = try read(name)
            #expect(r.inputError == nil, "\(name)")
            events += r.events.count
            for i in r.issues { issues.append((name, i)) }
            if name != "fal_01_003.json" {
                #expect(!r.events.isEmpty, "\(name) has no event")
                let version = r.events[0].apiVersion ?? "none"
                perVersion[version, default: 0] += 1
            }
            for e in r.events {
                let stage = try e.withEvent { $0.stage?.rawValue } ?? "none"
                perStage[stage, default: 0] += 1
            }
        }
        #expect(events == 51)
        #expect(perVersion == ["none": 33, "audit.k8s.io/v1beta1": 9, "audit.k8s.io/v1": 4])
        #expect(perStage == ["ResponseComplete": 49, "ResponseStarted": 2])
        try #require(issues.count == 1, "\(issues)")
        let (file, issue) = issues[0]
        #expect(file == "fal_01_003.json")
        #expect(issue.kind == .wrongKind)
        #expect(issue.line == 1)
        #expect(issue.description.hasPrefix("fal_01_003.json:1: byte "))
    }

    @Test("every trace file has verb, resource and stage, and an event time", arguments: Corpus.falcoFiles)
    func envelopeOfEveryFile(_ name: String) throws {
        let r = try read(name)
        if name == "fal_01_003.json" {
            // `{"kind": 0}`: valid JSON, not an audit event (Falco: "data not recognized").
            #expect(r.events.isEmpty)
            #expect(r.issues.map(\.kind) == [.wrongKind])
            return
        }
        #expect(r.issues.isEmpty, "\(r.issues)")
        #expect(!r.events.isEmpty)
        for captured in r.events {
            try captured.withEvent { e in
                #expect(e.verb?.string?.isEmpty == false, "verb")
                #expect(e.objectRef?.resource?.string?.isEmpty == false, "objectRef.resource")
                #expect(e.stage != nil, "stage")
                #expect(e.level != nil, "level")
                #expect(e.auditID?.string?.count == 36, "auditID")
                #expect(e.user?.username?.string?.isEmpty == false, "user.username")
                #expect(e.responseStatus?.code != nil, "responseStatus.code")
                let stage = try #require(e.stageMicros, "stageMicros")
                let received = try #require(e.requestReceivedMicros, "requestReceivedMicros")
                #expect(stage >= received)
                // 2018-01-01 .. 2021-01-01
                #expect((1_514_764_800_000_000..<1_609_459_200_000_000).contains(stage))
                #expect(e.authorizationDecision?.string == "allow")
                #expect(!e.hasDuplicateKeys)
            }
        }
        // Reading the bytes in place gives the same events and problems.
        let inPlace = try Reading.inPlace(try Corpus.url("\(Corpus.falcoDirectory)/\(name)"))
        #expect(inPlace.events.map(\.bytes) == r.events.map(\.bytes))
        #expect(inPlace.events.map(\.location) == r.events.map(\.location))
        #expect(inPlace.issues.map(\.description) == r.issues.map(\.description))
    }

    @Test("v1beta1 namespace creation by system:anonymous: envelope and timestamps")
    func anonymousNamespace() throws {
        let c = try single("anonymous_creates_namespace_foo.json")
        #expect(c.apiVersion == "audit.k8s.io/v1beta1")
        #expect(c.location.line == 1 && c.location.byteOffset == 0 && c.location.itemIndex == nil)
        try c.withEvent { e in
            #expect(e.kind?.string == "Event")
            #expect(e.level == .request)
            #expect(e.stage == .responseComplete)
            #expect(e.auditID?.string == "841d3e6d-90d2-43df-8da4-684738bee3d5")
            #expect(e.verb?.string == "create")
            #expect(e.requestURI?.string == "/api/v1/namespaces")
            let user = try #require(e.user)
            #expect(user.username?.string == "system:anonymous")
            #expect(user.groups?.stringArray == ["system:masters", "system:authenticated"])
            #expect(user.isMember(of: "system:masters"))
            #expect(e.sourceIPs?.stringArray == ["192.168.99.1"])
            let ref = try #require(e.objectRef)
            #expect(ref.resource?.string == "namespaces")
            #expect(ref.name?.string == "foo")
            #expect(ref.apiVersion?.string == "v1")
            #expect(ref.namespace == nil)
            #expect(ref.subresource == nil)
            #expect(e.responseStatus?.code == 201)
            #expect(e.requestObject?["kind"]?.string == "Namespace")
            #expect(e.stageMicros == micros(2018, 10, 25, 13, 58, 49, 736_141))
            #expect(e.requestReceivedMicros == micros(2018, 10, 25, 13, 58, 49, 730_588))
            #expect(e.authorizationDecision?.string == "allow")
            #expect(e.authorizationReason?.string == "")
        }
    }

    /// v1beta1 events carry `metadata.creationTimestamp` and `timestamp` (second precision).
    /// With the v1 fields removed, those must stand in for stageTimestamp and
    /// requestReceivedTimestamp. (audit2rbac's demo.log is real data of this shape.)
    @Test("v1beta1 fallbacks: metadata.creationTimestamp and timestamp")
    func v1beta1TimestampFallbacks() throws {
        let c = try single("anonymous_creates_namespace_foo.json")
        var text = String(decoding: c.bytes, as: UTF8.self)
        for key in ["requestReceivedTimestamp", "stageTimestamp"] {
            let r = try #require(text.range(of: #","\#(key)":"[^"]*""#, options: .regularExpression))
            text.removeSubrange(r)
        }
        #expect(!text.contains("stageTimestamp"))
        let r = Reading.inPlace(Array(text.utf8))
        #expect(r.issues.isEmpty)
        let e = try #require(r.events.first)
        try e.withEvent { e in
            #expect(e[.stageTimestamp] == nil)
            #expect(e.stageMicros == micros(2018, 10, 25, 13, 58, 49))
            #expect(e.requestReceivedMicros == micros(2018, 10, 25, 13, 58, 49))
        }
    }

    @Test("exec_pod.json: exec argv, container and stream flags")
    func execPod() throws {
        let c = try single("exec_pod.json")
        #expect(c.apiVersion == nil)
        try c.withEvent { e in
            #expect(e.stage == .responseStarted)
            #expect(e.responseStatus?.code == 101)
            #expect(e.verb?.string == "create")
            #expect(e.user?.username?.string == "minikube-user")
            let ref = try #require(e.objectRef)
            #expect(ref.resource?.string == "pods")
            #expect(ref.subresource?.string == "exec")
            #expect(ref.namespace?.string == "default")
            #expect(ref.name?.string == "nginx-deployment-7998647bdf-phvq7")
            let exec = try #require(e.execRequest)
            #expect(exec.kind == .exec)
            #expect(exec.command == ["bash"])
            #expect(exec.commandLine == "bash")
            #expect(exec.container == "nginx1")
            #expect(exec.stdin && exec.stdout && exec.tty)
            #expect(!exec.stderr)
            #expect(e.stageMicros == micros(2018, 10, 26, 13, 38, 34, 902_914))
            #expect(e.requestReceivedMicros == micros(2018, 10, 26, 13, 38, 34, 867_116))
        }
    }

    @Test("attach_pod.json: attach, no command")
    func attachPod() throws {
        let c = try single("attach_pod.json")
        try c.withEvent { e in
            #expect(e.stage == .responseStarted)
            #expect(e.responseStatus?.code == 101)
            let exec = try #require(e.execRequest)
            #expect(exec.kind == .attach)
            #expect(exec.command.isEmpty)
            #expect(exec.container == "nginx1")
            #expect(exec.stdin && exec.stdout && exec.stderr)
            #expect(!exec.tty)
            #expect(e.objectRef?.subresource?.string == "attach")
        }
    }

    @Test("create_nginx_pod_privileged.json: one privileged container")
    func privilegedPod() throws {
        let c = try single("create_nginx_pod_privileged.json")
        #expect(c.apiVersion == "audit.k8s.io/v1beta1")
        try c.withEvent { e in
            #expect(e.level == .requestResponse)
            #expect(e.verb?.string == "create")
            let user = try #require(e.user)
            #expect(user.username?.string == "system:serviceaccount:kube-system:replicaset-controller")
            #expect(user.uid?.string == "8d5e1349-d30f-11e8-96d9-080027728ac4")
            #expect(user.groups?.stringArray == [
                "system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated",
            ])
            #expect(e.sourceIPs?.stringArray == ["::1"])
            #expect(e.objectRef?.resource?.string == "pods")
            #expect(e.objectRef?.namespace?.string == "default")
            #expect(e.objectRef?.name == nil)  // generateName: the name is not known yet
            let spec = try #require(e.podSpec())
            let containers = spec.allContainers
            #expect(containers.count == 1)
            #expect(containers[0].name?.string == "nginx")
            #expect(containers[0].image?.string == "nginx")
            #expect(containers[0].kind == .container)
            #expect(containers[0].privileged)
            #expect(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC)
            #expect(spec.volumes.isEmpty)
            #expect(e.stageMicros == micros(2018, 10, 25, 14, 9, 12, 581_541))
        }
    }

    @Test("unprivileged pod: request and response bodies agree", arguments: [
        "create_nginx_pod_unprivileged.json", "create_nginx_pod_nohostnetwork.json",
    ])
    func unprivilegedPod(_ name: String) throws {
        try single(name).withEvent { e in
            for body in [AuditEvent.Body.request, .response] {
                let spec = try #require(e.podSpec(in: body), "\(body)")
                #expect(!spec.allContainers.isEmpty)
                #expect(!spec.allContainers.contains { $0.privileged })
                #expect(!spec.hostNetwork)
            }
        }
    }

    @Test("privileged second container", arguments: [
        ("create_nginx_pod_privileged_2nd_container.json", true),
        ("create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json", false),
    ])
    func privilegedSecondContainer(_ name: String, firstHasSecurityContext: Bool) throws {
        try single(name).withEvent { e in
            let spec = try #require(e.podSpec())
            let containers = spec.allContainers
            #expect(containers.map { $0.name?.string } == ["nginx1", "mysql"])
            #expect(containers.map { $0.image?.string } == ["nginx", "mysql:latest"])
            #expect(containers.map(\.privileged) == [false, true])
            #expect((containers[0].securityContext != nil) == firstHasSecurityContext)
            // forEachContainer stops when asked to.
            var seen = 0
            spec.forEachContainer { c in
                seen += 1
                return !c.privileged
            }
            #expect(seen == 2)
        }
    }

    @Test("hostNetwork pod")
    func hostNetworkPod() throws {
        try single("create_nginx_pod_hostnetwork.json").withEvent { e in
            #expect(e.podSpec()?.hostNetwork == true)
            #expect(e.podSpec(in: .response)?.hostNetwork == true)
            #expect(e.podSpec()?.allContainers.first?.privileged == false)
        }
        try single("create_nginx_pod_nohostnetwork.json").withEvent { e in
            #expect(e.podSpec()?.hostNetwork == false)
        }
    }

    @Test("sensitive hostPath mounts", arguments: [
        ("create_nginx_pod_sensitive_mount.json", ["nginx"]),
        ("create_nginx_pod_sensitive_mount_2nd_container.json", ["nginx1", "mysql"]),
    ])
    func sensitiveMount(_ name: String, containers: [String]) throws {
        let hostPath = "/etc"
        try single(name).withEvent { e in
            let spec = try #require(e.podSpec())
            #expect(spec.allContainers.map { $0.name?.string } == containers)
            let volumes = spec.volumes
            #expect(volumes.count == 1)
            #expect(volumes[0].name?.string == "etc")
            #expect(volumes[0].hostPath?.string == hostPath)
            #expect(volumes[0].hostPathType?.string == "")
            // The mount is on the last container.
            let last = try #require(spec.allContainers.last)
            let mount = try #require(last.volumeMounts?.elements.first { _ in true })
            #expect(mount["name"]?.string == "etc")
            #expect(mount["mountPath"]?.string == "/host/etc")
            if containers.count > 1 { #expect(spec.allContainers[0].volumeMounts == nil) }
        }
    }

    /// The Falco quirk: this "create" trace is really a kubelet `get` with only a response body.
    @Test("create_nginx_pod_unsensitive_mount.json: a get with a hostPath in the response only")
    func unsensitiveMount() throws {
        try single("create_nginx_pod_unsensitive_mount.json").withEvent { e in
            #expect(e.verb?.string == "get")
            #expect(e.user?.username?.string == "system:node:minikube")
            #expect(e.requestObject == nil)
            #expect(e.podSpec() == nil)
            let spec = try #require(e.podSpec(in: .response))
            #expect(spec.volumes.compactMap { $0.hostPath?.string } == ["/usr/local"])
        }
    }

    @Test("create_deployment.json: the pod template inside the Deployment")
    func deployment() throws {
        try single("create_deployment.json").withEvent { e in
            #expect(e.level == .request)
            #expect(e.user?.username?.string == "minikube-user")
            let ref = try #require(e.objectRef)
            #expect(ref.resource?.string == "deployments")
            #expect(ref.apiGroup?.string == "extensions")
            #expect(ref.apiVersion?.string == "v1beta1")
            #expect(ref.name?.string == "nginx-deployment")
            #expect(ref.namespace?.string == "default")
            #expect(e.requestObject?["kind"]?.string == "Deployment")
            #expect(e.requestObject?["spec"]?["replicas"]?.int64 == 1)
            let spec = try #require(e.podSpec())
            #expect(spec.allContainers.map { $0.name?.string } == ["nginx1"])
            #expect(spec.allContainers.map { $0.image?.string } == ["nginx"])
            #expect(spec["dnsPolicy"] == "ClusterFirst")
            #expect(e.stageMicros == micros(2018, 10, 26, 13, 7, 36, 911_442))
        }
    }

    @Test("configmap data")
    func configMapData() throws {
        try single("create_configmap.json").withEvent { e in
            #expect(e.objectRef?.resource?.string == "configmaps")
            #expect(e.objectRef?.uid?.string == "b4952dc3-d670-11e5-8cd0-68f728db1985")
            let data = try #require(e.requestObject?["data"])
            #expect(data["ui.properties"]?.string == "color.good=purple\ncolor.bad=yellow\nallow.textmode=true\n")
            #expect(e.podSpec() == nil)
        }
        let r = try read("create_configmap_sensitive_values.json")
        #expect(r.issues.isEmpty)
        #expect(r.events.map(\.location.line) == [1, 2, 3, 4, 5, 6])
        let secrets = try r.events.map { c in
            try c.withEvent { e -> String in
                let text = try #require(e.requestObject?["data"]?["access.properties"]?.string)
                return String(text.prefix { $0 != " " })
            }
        }
        #expect(secrets == [
            "aws_access_key_id", "aws-access-key-id", "aws_s3_access_key_id", "aws-s3-access-key-id", "password",
            "passphrase",
        ])
        #expect(try r.events[5].withEvent { $0.stageMicros } == micros(2018, 10, 26, 9, 52, 32, 993_095))
    }

    @Test("binding to cluster-admin, NodePort service, kube-system secret")
    func rbacServiceSecret() throws {
        try single("attach_cluster_admin_role.json").withEvent { e in
            #expect(e.objectRef?.resource?.string == "clusterrolebindings")
            #expect(e.objectRef?.name?.string == "some-reader-binding")
            #expect(e.requestObject?["roleRef"]?["name"]?.string == "cluster-admin")
            #expect(e.requestObject?["subjects"]?.elements.first { _ in true }?["name"]?.string == "minikube")
        }
        let service = try read("create_nginx_service_nodeport.json")
        #expect(service.events.count == 1)
        try service.events[0].withEvent { e in
            #expect(e.requestObject?["spec"]?["type"]?.string == "NodePort")
            #expect(e.requestObject?["spec"]?["ports"]?.elements.first { _ in true }?["nodePort"]?.int64 == 30080)
        }
        let secret = try single("create_kube_system_secret.json")
        #expect(secret.apiVersion == "audit.k8s.io/v1")
        try secret.withEvent { e in
            #expect(e.level == .metadata)
            #expect(e.user?.username?.string == "admin")
            #expect(e.userAgent?.string == "kubeadm/v1.16.2 (linux/amd64) kubernetes/c97fe50")
            #expect(e.objectRef?.namespace?.string == "kube-system")
            #expect(e.objectRef?.name?.string == "bootstrap-token-ne7bxu")
            #expect(e.requestObject == nil)
            #expect(e.stageMicros == micros(2020, 3, 24, 18, 53, 49, 25_530))
        }
        try single("modify_cluster_role_node_problem_detector.json").withEvent { e in
            #expect(e.verb?.string == "patch")
            #expect(e.objectRef?.name?.string == "system:node-problem-detector")
        }
    }
}

extension PodSpecView {
    /// A spec member as a string (test convenience).
    subscript(key: String) -> String? { spec[key]?.string }
}
