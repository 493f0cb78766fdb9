/// Ground truth of injected rare events (counts by kind), so benchmarks and tests can check detections.
///
/// Each injected event is one audit line with a distinctive shape that normal traffic never has:
/// - `podExec`: `create` on `pods/exec` (stage ResponseStarted, code 101, several `command=` params);
/// - `secretsList`: `list` of `/api/v1/secrets` (all namespaces) by a service account;
/// - `clusterAdminBindings`: `create` of a ClusterRoleBinding whose roleRef is `cluster-admin`;
/// - `privilegedPods`: pod `create` whose requestObject has `"privileged":true`;
/// - `hostPathPods`: pod `create` mounting hostPath `/` (`"hostPath":{"path":"/","type":""}`).
public struct InjectedCounts: Sendable, Equatable {
    public var podExec = 0
    public var secretsList = 0
    public var clusterAdminBindings = 0
    public var privilegedPods = 0
    public var hostPathPods = 0

    public init(podExec: Int = 0, secretsList: Int = 0, clusterAdminBindings: Int = 0, privilegedPods: Int = 0, hostPathPods: Int = 0) {
        self.podExec = podExec
        self.secretsList = secretsList
        self.clusterAdminBindings = clusterAdminBindings
        self.privilegedPods = privilegedPods
        self.hostPathPods = hostPathPods
    }

    /// All injected events.
    public var total: Int { podExec + secretsList + clusterAdminBindings + privilegedPods + hostPathPods }
}

/// The two attacker identities: leaked over-privileged CI credentials used from a Tor exit
/// node, and a stolen token of a compromised `catalog-api` pod used with kubectl from inside it.
struct Attackers {
    var human: Int
    var serviceAccount: Int
    var humanReason: [UInt8]
    var serviceAccountReason: [UInt8]

    init(cluster: inout Cluster) {
        human = cluster.actors.count
        cluster.actors.append(Actor(
            kind: .human, username: JSONWriter.escape("ci-deployer@example.com"),
            user: Identities.user("ci-deployer@example.com", groups: ["oidc:ci", "system:authenticated"]),
            client: Identities.client(ip: "185.220.101.47", userAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"),
            reason: []))
        humanReason = Identities.rbac("ClusterRoleBinding", "ci-deployer", roleKind: "ClusterRole", "cluster-admin", to: "User", "ci-deployer@example.com")
        let app = cluster.appIndex["catalog-api"]!
        let pod = cluster.pods[cluster.apps[app].pods[0]]
        var stolen = cluster.actors[pod.actor]
        stolen.client = Identities.client(ip: String(decoding: pod.ip, as: UTF8.self), userAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350")
        serviceAccount = cluster.actors.count
        cluster.actors.append(stolen)
        serviceAccountReason = Identities.rbac("ClusterRoleBinding", "catalog-api-legacy", roleKind: "ClusterRole", "legacy-operator",
                                               to: "ServiceAccount", "catalog-api/catalog")
    }
}

extension SyntheticAuditLog {
    static let execCommands: [String] = [
        "command=sh\\u0026command=-c\\u0026command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken",
        "command=%2Fbin%2Fbash\\u0026command=-c\\u0026command=curl%20-s%20http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F",
        "command=sh\\u0026command=-c\\u0026command=env%20%7C%20grep%20-i%20-E%20%27key%7Csecret%7Cpassword%27",
    ]

    /// Injects attack number `number` (kinds cycle in a fixed order).
    mutating func injectAttack(number: Int) {
        let useHuman = (number / 5) % 2 == 0
        let actor = useHuman ? attackers.human : attackers.serviceAccount
        let reason = useHuman ? attackers.humanReason : attackers.serviceAccountReason
        var c: Call
        switch number % 5 {
        case 0:
            let a = roles.businessClients[0]
            let app = cluster.apps[a]
            let p = app.pods[rng.below(app.pods.count)]
            c = Call(.create, .pods, actor: actor)
            c.namespace = app.ns
            c.name = cluster.pods[p].name
            c.subresource = "exec"
            c.query = .raw(Array(("?" + Self.execCommands[(number / 5) % Self.execCommands.count]
                + "\\u0026container=\(app.spec.name)\\u0026stdin=true\\u0026stdout=true\\u0026tty=true").utf8))
            c.stage = .responseStarted
            c.code = 101
            c.latencyMicros = 30_000 + rng.below(40_000)
            injectedCounts.podExec += 1
        case 1:
            c = Call(.list, .secrets, actor: attackers.serviceAccount)
            c.query = .raw(Array("?limit=500".utf8))
            c.latencyMicros = 20_000 + rng.below(60_000)
            c.reason = attackers.serviceAccountReason
            emitAttack(c)
            injectedCounts.secretsList += 1
            return
        case 2:
            c = Call(.create, .clusterrolebindings, actor: actor)
            let name: [UInt8] = Array("system:kube-maintenance-\(number)".utf8)
            c.name = name
            c.query = .raw(Array("?fieldManager=kubectl-create\\u0026fieldValidation=Strict".utf8))
            c.level = .requestResponse
            c.code = 201
            var body = JSONWriter()
            body.raw("{\"kind\":\"ClusterRoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":")
            body.quoted(name)
            body.rawText(",\"creationTimestamp\":null},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"default\",\"namespace\":\"kube-system\"}],"
                + "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"}}")
            c.request = .raw(body.bytes)
            var response = JSONWriter()
            response.raw("{\"kind\":\"ClusterRoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":")
            response.quoted(name)
            response.raw(",\"uid\":\"")
            response.uuid(rng.next(), rng.next())
            response.raw("\",\"resourceVersion\":\"")
            response.int(cluster.resourceVersion + 1)
            response.raw("\",\"creationTimestamp\":\"")
            ts.write(nowMicros, micro: false, into: &response)
            response.raw("\",\"managedFields\":[{\"manager\":\"kubectl-create\",\"operation\":\"Update\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"time\":\"")
            ts.write(nowMicros, micro: false, into: &response)
            response.rawText("\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:roleRef\":{},\"f:subjects\":{}}}]},"
                + "\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"default\",\"namespace\":\"kube-system\"}],"
                + "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"}}")
            c.response = .raw(response.bytes)
            injectedCounts.clusterAdminBindings += 1
        default:
            let privileged = number % 5 == 3
            let ns: [UInt8] = Array((privileged ? "kube-system" : "default").utf8)
            var name: [UInt8] = Array((privileged ? "node-debugger-" : "backup-agent-").utf8)
            name += Cluster.suffix(&rng, length: 5)
            c = Call(.create, .pods, actor: actor)
            c.namespace = ns
            c.name = name
            c.query = .raw(Array("?fieldManager=kubectl-run".utf8))
            c.level = .request
            c.code = 201
            c.request = .raw(Self.attackPod(name: name, namespace: ns, privileged: privileged))
            c.extraAnnotations = Array((privileged
                ? ",\"pod-security.kubernetes.io/enforce-policy\":\"privileged:latest\""
                : ",\"pod-security.kubernetes.io/enforce-policy\":\"baseline:latest\"").utf8)
            if privileged { injectedCounts.privilegedPods += 1 } else { injectedCounts.hostPathPods += 1 }
        }
        c.reason = reason
        emitAttack(c)
    }

    mutating func emitAttack(_ c: Call) {
        var c = c
        if c.latencyMicros == 0 { c.latencyMicros = latency(c.verb) }
        if !c.isRead { cluster.resourceVersion += 1 }
        emit(c)
    }

    /// `kubectl run` pods: a privileged nsenter shell on the host, or a pod mounting the host root.
    static func attackPod(name: [UInt8], namespace: [UInt8], privileged: Bool) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":")
        w.quoted(name)
        w.raw(",\"namespace\":")
        w.quoted(namespace)
        w.raw(",\"creationTimestamp\":null,\"labels\":{\"run\":")
        w.quoted(name)
        w.raw("}},\"spec\":{")
        if !privileged {
            w.raw("\"volumes\":[{\"name\":\"host-root\",\"hostPath\":{\"path\":\"/\",\"type\":\"\"}}],")
        }
        w.raw("\"containers\":[{\"name\":")
        w.quoted(name)
        if privileged {
            w.rawText(",\"image\":\"docker.io/library/alpine:3.19\",\"command\":[\"nsenter\",\"--target\",\"1\",\"--mount\",\"--uts\",\"--ipc\",\"--net\",\"--pid\",\"--\",\"sh\"],"
                + "\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
                + "\"imagePullPolicy\":\"IfNotPresent\",\"securityContext\":{\"privileged\":true},\"stdin\":true,\"tty\":true}],"
                + "\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"hostNetwork\":true,\"hostPID\":true,")
        } else {
            w.rawText(",\"image\":\"docker.io/library/ubuntu:22.04\",\"command\":[\"sleep\",\"infinity\"],\"resources\":{},"
                + "\"volumeMounts\":[{\"name\":\"host-root\",\"mountPath\":\"/host\"}],\"terminationMessagePath\":\"/dev/termination-log\","
                + "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],"
                + "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",")
        }
        w.raw("\"securityContext\":{},\"schedulerName\":\"default-scheduler\",\"enableServiceLinks\":true},\"status\":{}}")
        return w.bytes
    }
}
