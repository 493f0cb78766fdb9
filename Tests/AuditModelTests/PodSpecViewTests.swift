import AuditJSON
import AuditModel
import Testing

// The same pod spec read out of a Pod and out of every workload that templates one.

@Suite("PodSpecView")
struct PodSpecViewTests {
    /// A pod spec with everything a privilege-escalation rule looks at.
    static let podSpec = #"""
        {"serviceAccountName":"builder","hostPID":true,"hostIPC":false,"hostNetwork":true,
         "securityContext":{"runAsNonRoot":false},
         "initContainers":[{"name":"init-perms","image":"busybox:1.36","securityContext":{"runAsUser":0},
           "volumeMounts":[{"name":"host-root","mountPath":"/host"}]}],
         "containers":[
           {"name":"app","image":"registry.example.com/app:2.4.1",
            "securityContext":{"privileged":true,"allowPrivilegeEscalation":true,
              "capabilities":{"add":["SYS_ADMIN","NET_RAW"],"drop":["MKNOD"]},"runAsUser":0},
            "volumeMounts":[{"name":"host-root","mountPath":"/host","readOnly":false},
                            {"name":"docker-sock","mountPath":"/var/run/docker.sock"}]},
           {"name":"sidecar","image":"envoyproxy/envoy:v1.29",
            "securityContext":{"allowPrivilegeEscalation":false,"runAsUser":1000}}],
         "ephemeralContainers":[{"name":"debugger","image":"nicolaka/netshoot","targetContainerName":"app",
            "securityContext":{"capabilities":{"add":["SYS_PTRACE"]}}}],
         "volumes":[{"name":"host-root","hostPath":{"path":"/","type":"Directory"}},
                    {"name":"docker-sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}},
                    {"name":"config","configMap":{"name":"app-config"}}]}
        """#

    /// Everything the view reads, as plain values.
    struct Facts: Equatable, CustomStringConvertible {
        struct Container: Equatable {
            var kind: ContainerView.Kind
            var name, image: String?
            var privileged: Bool
            var allowPrivilegeEscalation: Bool?
            var capabilitiesAdd: [String]?
            var runAsUser: Int64?
            var mountPaths: [String]
        }
        var containers: [Container]
        var hostPID, hostIPC, hostNetwork: Bool
        var serviceAccountName: String?
        var hostPaths: [String?]
        var description: String { "\(containers.map(\.name)), hostPID \(hostPID), sa \(serviceAccountName ?? "-")" }
    }

    static let expected = Facts(
        containers: [
            .init(kind: .container, name: "app", image: "registry.example.com/app:2.4.1", privileged: true,
                allowPrivilegeEscalation: true, capabilitiesAdd: ["SYS_ADMIN", "NET_RAW"], runAsUser: 0,
                mountPaths: ["/host", "/var/run/docker.sock"]),
            .init(kind: .container, name: "sidecar", image: "envoyproxy/envoy:v1.29", privileged: false,
                allowPrivilegeEscalation: false, capabilitiesAdd: nil, runAsUser: 1000, mountPaths: []),
            .init(kind: .initContainer, name: "init-perms", image: "busybox:1.36", privileged: false,
                allowPrivilegeEscalation: nil, capabilitiesAdd: nil, runAsUser: 0, mountPaths: ["/host"]),
            .init(kind: .ephemeralContainer, name: "debugger", image: "nicolaka/netshoot", privileged: false,
                allowPrivilegeEscalation: nil, capabilitiesAdd: ["SYS_PTRACE"], runAsUser: nil, mountPaths: []),
        ],
        hostPID: true, hostIPC: false, hostNetwork: true, serviceAccountName: "builder",
        hostPaths: ["/", "/var/run/docker.sock", nil])

    static func facts(_ view: PodSpecView) -> Facts {
        Facts(
            containers: view.allContainers.map { c in
                Facts.Container(
                    kind: c.kind, name: text(c.name), image: text(c.image), privileged: c.privileged,
                    allowPrivilegeEscalation: c.allowPrivilegeEscalation, capabilitiesAdd: strings(c.capabilitiesAdd),
                    runAsUser: c.runAsUser,
                    mountPaths: c.volumeMounts.map { $0.elements.compactMap { text($0["mountPath"]) } } ?? [])
            },
            hostPID: view.hostPID, hostIPC: view.hostIPC, hostNetwork: view.hostNetwork,
            serviceAccountName: text(view.serviceAccountName), hostPaths: view.volumes.map { text($0.hostPath) })
    }

    /// A workload body around `podSpec`, with or without its `kind`.
    struct Workload: Sendable, CustomTestStringConvertible {
        var kind: String
        var resource: String
        var apiVersion: String
        /// Wraps a pod spec in the workload's body (without `kind`).
        var wrap: @Sendable (String) -> String

        var testDescription: String { kind }

        func body(withKind: Bool) -> String {
            let head = withKind ? #"{"kind":"\#(kind)","apiVersion":"\#(apiVersion)","# : #"{"apiVersion":"\#(apiVersion)","#
            // A decoy "spec" in metadata must not be mistaken for the pod spec.
            return head + #""metadata":{"name":"x","annotations":{"spec":"{\"hostPID\":false}"}},"# + wrap(PodSpecViewTests.podSpec) + "}"
        }
    }

    static func template(_ kind: String, _ resource: String, _ apiVersion: String) -> Workload {
        Workload(kind: kind, resource: resource, apiVersion: apiVersion) { spec in
            #""spec":{"replicas":2,"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":"#
                + spec + "}}"
        }
    }

    static let workloads: [Workload] = [
        Workload(kind: "Pod", resource: "pods", apiVersion: "v1") { #""spec":"# + $0 + #","status":{}"# },
        template("Deployment", "deployments", "apps/v1"),
        template("DaemonSet", "daemonsets", "apps/v1"),
        template("StatefulSet", "statefulsets", "apps/v1"),
        template("ReplicaSet", "replicasets", "apps/v1"),
        template("ReplicationController", "replicationcontrollers", "v1"),
        template("Job", "jobs", "batch/v1"),
        Workload(kind: "CronJob", resource: "cronjobs", apiVersion: "batch/v1") {
            #""spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"backoffLimit":0,"template":{"spec":"#
                + $0 + "}}}}"
        },
        Workload(kind: "PodTemplate", resource: "podtemplates", apiVersion: "v1") { #""template":{"spec":"# + $0 + "}" },
    ]

    /// An event carrying `body` as its request and response objects.
    static func event(resource: String, body: String) -> String {
        #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"w1","stage":"ResponseComplete","#
            + #""requestURI":"/apis/x/namespaces/ci/\#(resource)","verb":"create","#
            + #""objectRef":{"resource":"\#(resource)","namespace":"ci","apiVersion":"v1"},"#
            + #""requestObject":"# + body + #","responseObject":"# + body + "}"
    }

    @Test("the same facts from every workload kind, found by kind", arguments: workloads)
    func byKind(_ workload: Workload) throws {
        try withEvent(Self.event(resource: workload.resource, body: workload.body(withKind: true))) { e in
            let view = try #require(e.podSpec())
            #expect(Self.facts(view) == Self.expected)
            let response = try #require(e.podSpec(in: .response))
            #expect(Self.facts(response) == Self.expected)
        }
    }

    @Test("the same facts with no kind, found by objectRef.resource", arguments: workloads)
    func byResource(_ workload: Workload) throws {
        try withEvent(Self.event(resource: workload.resource, body: workload.body(withKind: false))) { e in
            let view = try #require(e.podSpec())
            #expect(Self.facts(view) == Self.expected)
        }
        // Without a kind and without a resource there is nothing to go by.
        try withParsed(workload.body(withKind: false)) { object in
            #expect(PodSpecView(in: object) == nil)
        }
    }

    @Test("the falco privileged-pod trace (v1beta1)")
    func falcoPrivilegedPod() throws {
        let json = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2018-10-25T14:09:12Z"},"level":"RequestResponse","timestamp":"2018-10-25T14:09:12Z","auditID":"a362d22b-db3c-4590-9505-23782f12925f","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"8d5e1349-d30f-11e8-96d9-080027728ac4","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"sourceIPs":["::1"],"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"generateName":"nginx-deployment-5cdcc99dbf-","creationTimestamp":null},"spec":{"containers":[{"name":"nginx","image":"nginx","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"Always","securityContext":{"privileged":true}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"},"status":{}}}"#
        try withEvent(json) { e in
            let containers = try #require(e.podSpec()?.allContainers)
            #expect(containers.count == 1)
            #expect(containers.first?.privileged == true)
            #expect(text(containers.first?.image) == "nginx")
            #expect(e.podSpec()?.hostNetwork == false)
            #expect(e.podSpec()?.serviceAccountName == nil)
            #expect(e.podSpec(in: .response) == nil)  // no responseObject
        }
    }

    @Test("deprecated serviceAccount; absent booleans are false")
    func defaults() throws {
        try withParsed(#"{"kind":"Pod","spec":{"serviceAccount":"legacy","containers":[{"name":"c"}]}}"#) { object in
            let view = try #require(PodSpecView(in: object))
            #expect(text(view.serviceAccountName) == "legacy")
            #expect(!view.hostPID && !view.hostIPC && !view.hostNetwork)
            let c = try #require(view.allContainers.first)
            #expect(!c.privileged)
            #expect(c.allowPrivilegeEscalation == nil)
            #expect(c.runAsUser == nil)
            #expect(c.capabilitiesAdd == nil)
            #expect(view.volumes.isEmpty)
        }
    }

    @Test("forEachContainer stops early")
    func earlyStop() throws {
        try withParsed(#"{"kind":"Pod","spec":"# + Self.podSpec + "}") { object in
            let view = try #require(PodSpecView(in: object))
            var names: [String?] = []
            let finished = view.forEachContainer { c in
                names.append(text(c.name))
                return !c.privileged
            }
            #expect(!finished)
            #expect(names == ["app"])
        }
    }

    @Test(
        "bodies that hold no pod spec",
        arguments: [
            (#"{"kind":"ConfigMap","data":{"spec":"x"}}"#, "configmaps"),
            (#"{"kind":"Service","spec":{"type":"NodePort"}}"#, "pods"),  // kind wins over resource
            (#"{"spec":{"containers":[]}}"#, "configmaps"),
            (#"{"kind":"Deployment","spec":{"replicas":1}}"#, "deployments"),  // no template
            (#"{"kind":"Pod","spec":"not an object"}"#, "pods"),
            (#"[{"op":"replace","path":"/spec/replicas","value":3}]"#, "deployments"),  // a JSON Patch body
        ])
    func noPodSpec(_ body: String, _ resource: String) throws {
        try withEvent(Self.event(resource: resource, body: body)) { e in
            #expect(e.podSpec() == nil)
        }
    }
}

/// Parses one JSON value for the duration of `body`.
func withParsed<R>(_ text: String, _ body: (JSONValue) throws -> R) throws -> R {
    try utf8(text).withUnsafeBufferPointer { buffer in
        try body(try #require(JSONValue.parse(buffer)))
    }
}
