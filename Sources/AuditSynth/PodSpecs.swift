/// Renders realistic, fully defaulted pod specs (as the apiserver returns them) once per app.
///
/// Why pre-rendered: pod specs are the bulk of Request/RequestResponse bodies; rendering them
/// per event would dominate generation time. Field order follows the Go structs (`PodSpec`,
/// `Container`, `SecurityContext`, ...) so the bytes look like the real encoder's output.
struct RenderedPodSpec {
    /// `spec.template.spec` of the owning workload: no injected service-account token volume.
    var template: [UInt8]
    /// Pod spec up to (and including) `serviceAccount`; `,"nodeName":"..."` goes between head and tail.
    var podHead: [UInt8]
    /// Rest of the pod spec after `nodeName`, closing brace included.
    var podTail: [UInt8]
    /// Container names in order, for container statuses.
    var containers: [(name: String, image: String)]
}

enum PodSpecRenderer {
    private static func q(_ s: String) -> String { JSONWriter.quote(s) }

    private static func list(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    private static func envVar(_ name: String, _ source: EnvSource) -> String {
        switch source {
        case .value(let v): "{\"name\":\(q(name)),\"value\":\(q(v))}"
        case .field(let path): "{\"name\":\(q(name)),\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\(q(path))}}}"
        case .secret(let s, let key): "{\"name\":\(q(name)),\"valueFrom\":{\"secretKeyRef\":{\"name\":\(q(s)),\"key\":\(q(key))}}}"
        case .configMap(let c, let key): "{\"name\":\(q(name)),\"valueFrom\":{\"configMapKeyRef\":{\"name\":\(q(c)),\"key\":\(q(key))}}}"
        }
    }

    private static func volume(_ m: Mount, app: AppSpec) -> String {
        let source: String
        switch m.source {
        case .configMap(let n): source = "\"configMap\":{\"name\":\(q(n)),\"defaultMode\":420}"
        case .secret(let n): source = "\"secret\":{\"secretName\":\(q(n)),\"defaultMode\":420}"
        case .emptyDir: source = "\"emptyDir\":{}"
        case .hostPath(let p, let t): source = "\"hostPath\":{\"path\":\(q(p)),\"type\":\(q(t))}"
        case .pvc(let n): source = "\"persistentVolumeClaim\":{\"claimName\":\(q("\(n)-\(app.name)-0"))}"
        }
        return "{\"name\":\(q(m.volume)),\(source)}"
    }

    static func tokenVolume(_ name: String) -> String {
        "{\"name\":\(q(name)),\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
            + "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},"
            + "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],"
            + "\"defaultMode\":420}}"
    }

    private static func probe(_ p: (path: String, port: Int), initialDelay: Int) -> String {
        "{\"httpGet\":{\"path\":\(q(p.path)),\"port\":\(p.port),\"scheme\":\"HTTP\"},\"initialDelaySeconds\":\(initialDelay),"
            + "\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3}"
    }

    private static func securityContext(_ app: AppSpec) -> String {
        var parts = ["\"capabilities\":{" + (app.addCapabilities.isEmpty ? "" : "\"add\":\(list(app.addCapabilities.map(q))),") + "\"drop\":[\"ALL\"]}"]
        if let uid = app.runAsUser {
            parts.append("\"runAsUser\":\(uid)")
            parts.append("\"runAsNonRoot\":true")
        }
        parts.append("\"readOnlyRootFilesystem\":\(app.hostNetwork ? "false" : "true")")
        parts.append("\"allowPrivilegeEscalation\":false")
        parts.append("\"seccompProfile\":{\"type\":\"RuntimeDefault\"}")
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func container(_ app: AppSpec, tokenMount: String?) -> String {
        var f = ["\"name\":\(q(app.name))", "\"image\":\(q(app.image))"]
        if !app.command.isEmpty { f.append("\"command\":\(list(app.command.map(q)))") }
        if !app.args.isEmpty { f.append("\"args\":\(list(app.args.map(q)))") }
        if !app.ports.isEmpty {
            f.append("\"ports\":" + list(app.ports.map {
                "{\"name\":\(q($0.name)),\(app.hostNetwork ? "\"hostPort\":\($0.port)," : "")\"containerPort\":\($0.port),\"protocol\":\(q($0.proto))}"
            }))
        }
        if !app.env.isEmpty { f.append("\"env\":" + list(app.env.map { envVar($0.0, $0.1) })) }
        var limits: [String] = []
        if let c = app.cpuLimit { limits.append("\"cpu\":\(q(c))") }
        if let m = app.memoryLimit { limits.append("\"memory\":\(q(m))") }
        let requests = "\"requests\":{\"cpu\":\(q(app.cpuRequest)),\"memory\":\(q(app.memoryRequest))}"
        f.append("\"resources\":{" + (limits.isEmpty ? "" : "\"limits\":{\(limits.joined(separator: ","))},") + requests + "}")
        var mounts = app.mounts.map {
            "{\"name\":\(q($0.volume)),\($0.readOnly ? "\"readOnly\":true," : "")\"mountPath\":\(q($0.path))}"
        }
        if let token = tokenMount {
            mounts.append("{\"name\":\(q(token)),\"readOnly\":true,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}")
        }
        if !mounts.isEmpty { f.append("\"volumeMounts\":" + list(mounts)) }
        if let p = app.probe {
            f.append("\"livenessProbe\":" + probe(p, initialDelay: 30))
            f.append("\"readinessProbe\":" + probe(p, initialDelay: 5))
        }
        f.append("\"terminationMessagePath\":\"/dev/termination-log\"")
        f.append("\"terminationMessagePolicy\":\"File\"")
        f.append("\"imagePullPolicy\":\"IfNotPresent\"")
        f.append("\"securityContext\":" + securityContext(app))
        return "{" + f.joined(separator: ",") + "}"
    }

    private static func sidecar(_ s: (name: String, image: String), tokenMount: String?) -> String {
        var f = ["\"name\":\(q(s.name))", "\"image\":\(q(s.image))",
                 "\"resources\":{\"limits\":{\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"50m\",\"memory\":\"64Mi\"}}"]
        if let token = tokenMount {
            f.append("\"volumeMounts\":[{\"name\":\(q(token)),\"readOnly\":true,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}]")
        }
        f += ["\"terminationMessagePath\":\"/dev/termination-log\"", "\"terminationMessagePolicy\":\"FallbackToLogsOnError\"",
              "\"imagePullPolicy\":\"IfNotPresent\"",
              "\"securityContext\":{\"capabilities\":{\"drop\":[\"ALL\"]},\"runAsUser\":1337,\"runAsNonRoot\":true,\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}"]
        return "{" + f.joined(separator: ",") + "}"
    }

    private static func priority(_ app: AppSpec) -> Int {
        switch app.priorityClass {
        case "system-node-critical": 2_000_001_000
        case "system-cluster-critical": 2_000_000_000
        default: 0
        }
    }

    private static func tolerations(_ app: AppSpec, pod: Bool) -> String? {
        if app.kind == .daemonSet {
            guard pod else { return "[{\"operator\":\"Exists\"}]" }
            var keys = [("not-ready", "NoExecute"), ("unreachable", "NoExecute"), ("disk-pressure", "NoSchedule"),
                        ("memory-pressure", "NoSchedule"), ("pid-pressure", "NoSchedule"), ("unschedulable", "NoSchedule")]
            if app.hostNetwork { keys.append(("network-unavailable", "NoSchedule")) }
            return "[{\"operator\":\"Exists\"}," + keys.map {
                "{\"key\":\"node.kubernetes.io/\($0.0)\",\"operator\":\"Exists\",\"effect\":\"\($0.1)\"}"
            }.joined(separator: ",") + "]"
        }
        guard pod else { return nil }
        return "[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
            + "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]"
    }

    /// Renders the template and pod variants of `app`'s spec. `tokenVolume` is the
    /// `kube-api-access-xxxxx` name the ServiceAccount admission plugin injects into pods.
    static func render(_ app: AppSpec, tokenVolume tokenName: String) -> RenderedPodSpec {
        func parts(pod: Bool) -> (head: String, tail: String) {
            let token = pod ? tokenName : nil
            var volumes = app.mounts.map { volume($0, app: app) }
            if pod { volumes.append(tokenVolume(tokenName)) }
            var containers = [container(app, tokenMount: token)]
            if let s = app.sidecar { containers.append(sidecar(s, tokenMount: token)) }
            var head: [String] = []
            if !volumes.isEmpty { head.append("\"volumes\":" + list(volumes)) }
            head.append("\"containers\":" + list(containers))
            head.append("\"restartPolicy\":\(app.kind == .cronJob ? "\"OnFailure\"" : "\"Always\"")")
            head.append("\"terminationGracePeriodSeconds\":\(app.kind == .statefulSet ? 120 : 30)")
            head.append("\"dnsPolicy\":\(app.hostNetwork ? "\"ClusterFirstWithHostNet\"" : "\"ClusterFirst\"")")
            head.append("\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"}")
            let sa = app.serviceAccountName
            head.append("\"serviceAccountName\":\(q(sa))")
            head.append("\"serviceAccount\":\(q(sa))")
            var tail: [String] = []
            if app.hostNetwork { tail.append("\"hostNetwork\":true") }
            if app.hostPID { tail.append("\"hostPID\":true") }
            if let uid = app.runAsUser {
                tail.append("\"securityContext\":{\"runAsUser\":\(uid),\"runAsNonRoot\":true,\"fsGroup\":\(uid),\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}")
            } else {
                tail.append("\"securityContext\":{}")
            }
            if app.kind == .deployment && app.priorityClass == nil {
                tail.append("\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":100,"
                    + "\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\(q(app.name))}},"
                    + "\"topologyKey\":\"kubernetes.io/hostname\"}}]}}")
            }
            tail.append("\"schedulerName\":\"default-scheduler\"")
            if let t = tolerations(app, pod: pod) { tail.append("\"tolerations\":" + t) }
            if let pc = app.priorityClass { tail.append("\"priorityClassName\":\(q(pc))") }
            if pod {
                tail.append("\"priority\":\(priority(app))")
                tail.append("\"enableServiceLinks\":true")
                tail.append("\"preemptionPolicy\":\"PreemptLowerPriority\"")
            }
            return ("{" + head.joined(separator: ","), (tail.isEmpty ? "" : "," + tail.joined(separator: ",")) + "}")
        }
        let template = parts(pod: false)
        let pod = parts(pod: true)
        var names = [(app.name, app.image)]
        if let s = app.sidecar { names.append(s) }
        return RenderedPodSpec(
            template: Array((template.head + template.tail).utf8),
            podHead: Array(pod.head.utf8), podTail: Array(pod.tail.utf8), containers: names)
    }
}
