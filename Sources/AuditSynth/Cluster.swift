/// The simulated cluster state the events talk about: nodes, apps, pods, configmaps and the
/// identities acting on them. Built once from the seed; pods are replaced as pod-create events
/// happen so names and uids churn like in a real cluster.
struct NodeState {
    var name: [UInt8]
    var nameString: String
    var ip: [UInt8]
    var uid: [UInt8]
    var actor: Int
    var leaseUID: [UInt8]
    var pods: [Int] = []
    /// Event time (µs) of the next 10 s lease renewal.
    var nextLease: Int64
    /// Third octet of this node's pod CIDR (10.0.x.0/24 style secondary range).
    var podSubnet: Int
}

struct AppState {
    var spec: AppSpec
    var ns: [UInt8]
    var name: [UInt8]
    var uid: [UInt8]
    var saUID: String
    var created: [UInt8]
    /// pod-template-hash (Deployments) or controller-revision-hash (DaemonSets, StatefulSets).
    var hash: [UInt8]
    /// The pods' controller: ReplicaSet for Deployments, Job for CronJobs, the app itself otherwise.
    var ownerKind: StaticString
    var ownerAPIVersion: StaticString
    var ownerName: [UInt8]
    var ownerUID: [UInt8]
    var pod: RenderedPodSpec
    /// Inner text of the labels object: `"app.kubernetes.io/name":"x","app.kubernetes.io/part-of":"ns"`.
    var labels: [UInt8]
    /// Full `spec` of the workload object (template included).
    var workloadSpec: [UInt8]
    /// Full `spec` of the ReplicaSet (Deployments) or Job (CronJobs) it owns.
    var childSpec: [UInt8]
    /// `"managedFields":[...]` of the workload object.
    var workloadManagedFields: [UInt8]
    /// `"managedFields":[...]` of its pods.
    var podManagedFields: [UInt8]
    /// Escaped JSON of `kubectl.kubernetes.io/last-applied-configuration` (a JSON document inside a JSON string).
    var lastApplied: [UInt8]
    var imageDigest: [UInt8]
    var pods: [Int] = []
    var generation: Int
    var configMaps: [[UInt8]]
    var secrets: [[UInt8]]
}

struct PodState {
    var app: Int
    var name: [UInt8]
    var uid: [UInt8]
    var node: Int
    var ip: [UInt8]
    /// Index of the actor holding this pod's bound token, or -1 when the app never calls the API.
    var actor: Int
    var started: Int64
}

struct ConfigMapState {
    var ns: [UInt8]
    var name: [UInt8]
    var uid: [UInt8]
    var created: [UInt8]
    /// Escaped `{"key":"value",...}`.
    var data: [UInt8]
    /// Byte offsets in `data` of `2026-01-05 00:00:00.000000000` stamps rewritten per update.
    var stampOffsets: [Int]
}

struct Cluster {
    var nodes: [NodeState] = []
    var apps: [AppState] = []
    var pods: [PodState] = []
    var configMaps: [ConfigMapState] = []
    var actors: [Actor] = []
    var namespaces: [[UInt8]] = []

    var kcm = 0
    var scheduler = 0
    var apiserver = 0
    var anonymous = 0
    var controllerActors: [Int] = []
    var humanActors: [Int] = []
    /// Leader-election Lease objects: namespace, name, uid, holder identity.
    var locks: [(ns: [UInt8], name: [UInt8], uid: [UInt8], holder: [UInt8])] = []
    var nodeImages: [UInt8] = []
    var appIndex: [String: Int] = [:]

    /// Cluster-wide etcd revision; writes bump it, watches resume from a recent value.
    var resourceVersion = 48_213_977

    static let suffixAlphabet: [UInt8] = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    static func suffix(_ rng: inout SeededRandom, length: Int) -> [UInt8] {
        (0..<length).map { _ in suffixAlphabet[rng.below(suffixAlphabet.count)] }
    }

    static func hexString(_ rng: inout SeededRandom, digits: Int) -> [UInt8] {
        var w = JSONWriter()
        var left = digits
        while left > 0 {
            let n = min(16, left)
            w.hex(rng.next(), digits: n)
            left -= n
        }
        return w.bytes
    }

    private static func str(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    /// Placeholder time in status-like configmap text, rewritten with the event time on each update.
    static let stampPlaceholder: [UInt8] = Array("2026-01-05 00:00:00.000000000".utf8)

    static func offsets(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> [Int] {
        var found: [Int] = []
        var j = start
        while j + needle.count <= bytes.count {
            if bytes[j..<(j + needle.count)].elementsEqual(needle) {
                found.append(j)
                j += needle.count
            } else {
                j += 1
            }
        }
        return found
    }

    init(nodeCount: Int, startMicros: Int64, rng: inout SeededRandom) {
        namespaces = Catalog.namespaces.map { Array($0.utf8) }
        let created = TimestampFormatter.bytes(startMicros - 62 * 86_400_000_000 + Int64(rng.below(86_400)) * 1_000_000)

        // Nodes: EC2-style names derived from their IPs.
        var usedIPs = Set<Int>()
        for i in 0..<max(1, nodeCount) {
            var a = 0, b = 0
            repeat {
                a = 16 + rng.below(48)
                b = 1 + rng.below(254)
            } while !usedIPs.insert(a * 256 + b).inserted
            let name = "ip-10-0-\(a)-\(b).eu-west-1.compute.internal"
            let ip = "10.0.\(a).\(b)"
            actors.append(Identities.node(index: i, name: name, ip: ip))
            nodes.append(NodeState(
                name: Array(name.utf8), nameString: name, ip: Array(ip.utf8), uid: JSONWriter.uuidBytes(&rng), actor: i,
                leaseUID: JSONWriter.uuidBytes(&rng),
                nextLease: startMicros + Int64(rng.below(10_000_000)), podSubnet: 64 + i % 190))
        }

        // Control plane.
        let cpIP = { (r: inout SeededRandom) in Identities.controlPlaneIPs[r.below(Identities.controlPlaneIPs.count)] }
        kcm = actors.count
        actors.append(Identities.controlPlaneUser(
            "system:kube-controller-manager",
            userAgent: "kube-controller-manager/\(Catalog.k8sVersion) (linux/amd64) kubernetes/\(Catalog.gitCommit)/leader-election", ip: cpIP(&rng)))
        scheduler = actors.count
        actors.append(Identities.controlPlaneUser(
            "system:kube-scheduler", userAgent: "kube-scheduler/\(Catalog.k8sVersion) (linux/amd64) kubernetes/\(Catalog.gitCommit)/scheduler", ip: cpIP(&rng)))
        apiserver = actors.count
        actors.append(Identities.apiserver(uid: Self.str(JSONWriter.uuidBytes(&rng))))
        anonymous = actors.count
        actors.append(Identities.anonymous(ip: "10.0.\(rng.int(in: 0...15)).\(rng.int(in: 2...250))"))
        let kcmIP = cpIP(&rng)
        for c in Identities.controllers {
            controllerActors.append(actors.count)
            actors.append(Identities.controllerSA(c.name, uid: Self.str(JSONWriter.uuidBytes(&rng)), jti: Self.str(JSONWriter.uuidBytes(&rng)), ip: kcmIP))
        }
        for h in Identities.humans {
            humanActors.append(actors.count)
            actors.append(Identities.human(h))
        }

        // Configmaps first so apps can reference them by index.
        let configMapSeeds = ConfigMapCatalog.seeds(nodeCount: nodes.count)
        for seed in configMapSeeds {
            var w = JSONWriter()
            w.byte(0x7B)
            var stamps: [Int] = []
            for (i, kv) in seed.data.enumerated() {
                if i > 0 { w.byte(0x2C) }
                w.quoted(JSONWriter.escape(kv.0))
                w.byte(0x3A)
                w.byte(0x22)
                let valueStart = w.count
                w.escaped(kv.1.utf8)
                stamps += Self.offsets(of: Self.stampPlaceholder, in: w.bytes, from: valueStart)
                w.byte(0x22)
            }
            w.byte(0x7D)
            configMaps.append(ConfigMapState(
                ns: Array(seed.namespace.utf8), name: Array(seed.name.utf8), uid: JSONWriter.uuidBytes(&rng), created: created,
                data: w.bytes, stampOffsets: stamps))
        }

        // Images every node has pulled, as reported in node status.
        var images: [String] = []
        for spec in Catalog.apps {
            let repo = spec.image.split(separator: "@")[0]
            let untagged = repo.split(separator: ":").dropLast().joined(separator: ":")
            let digest = Self.str(Self.hexString(&rng, digits: 64))
            images.append("{\"names\":[\(JSONWriter.quote("\(untagged.isEmpty ? repo[...] : untagged[...])@sha256:\(digest)")),\(JSONWriter.quote(String(repo)))],\"sizeBytes\":\(20_000_000 + rng.below(480_000_000))}")
        }
        nodeImages = Array(("\"images\":[" + images.joined(separator: ",") + "]").utf8)

        // Apps and their pods.
        for (index, spec) in Catalog.apps.enumerated() {
            appIndex[spec.name] = index
            let uid = JSONWriter.uuidBytes(&rng)
            let hash = Self.suffix(&rng, length: spec.kind == .deployment ? 10 : (spec.kind == .cronJob ? 8 : 10))
            let tokenVolume = "kube-api-access-" + Self.str(Self.suffix(&rng, length: 5))
            let rendered = PodSpecRenderer.render(spec, tokenVolume: tokenVolume)
            let labelsText = "\"app.kubernetes.io/name\":\(JSONWriter.quote(spec.name)),\"app.kubernetes.io/part-of\":\(JSONWriter.quote(spec.namespace))"
            var ownerName = Array(spec.name.utf8)
            var ownerUID = uid
            var ownerKind: StaticString = "StatefulSet"
            var ownerAPIVersion: StaticString = "apps/v1"
            switch spec.kind {
            case .deployment:
                ownerName += [0x2D] + hash
                ownerUID = JSONWriter.uuidBytes(&rng)
                ownerKind = "ReplicaSet"
            case .cronJob:
                ownerName += Array("-\(Int(startMicros / 60_000_000) - 15)".utf8)
                ownerUID = JSONWriter.uuidBytes(&rng)
                ownerKind = "Job"
                ownerAPIVersion = "batch/v1"
            case .daemonSet:
                ownerKind = "DaemonSet"
            case .statefulSet:
                break
            }
            let workload = WorkloadRenderer.specs(
                spec, template: rendered.template, labels: labelsText, hash: Self.str(hash),
                childName: Self.str(ownerName), childUID: Self.str(ownerUID))
            var app = AppState(
                spec: spec, ns: Array(spec.namespace.utf8), name: Array(spec.name.utf8), uid: uid,
                saUID: Self.str(JSONWriter.uuidBytes(&rng)), created: created, hash: hash,
                ownerKind: ownerKind, ownerAPIVersion: ownerAPIVersion, ownerName: ownerName, ownerUID: ownerUID,
                pod: rendered, labels: Array(labelsText.utf8), workloadSpec: workload.spec, childSpec: workload.child,
                workloadManagedFields: WorkloadRenderer.workloadManagedFields(spec, created: Self.str(created)),
                podManagedFields: WorkloadRenderer.podManagedFields(spec, rendered: rendered, ownerUID: Self.str(ownerUID), created: Self.str(created)),
                lastApplied: WorkloadRenderer.lastApplied(spec),
                imageDigest: Self.hexString(&rng, digits: 64), generation: 1 + rng.below(40),
                configMaps: spec.configMapNames.map { Array($0.utf8) }, secrets: spec.secretNames.map { Array($0.utf8) })
            app.configMaps.append(Array("kube-root-ca.crt".utf8))
            apps.append(app)
            let count = spec.kind == .daemonSet ? nodes.count : (spec.kind == .cronJob ? 1 : spec.replicas)
            for ordinal in 0..<count {
                let node = spec.kind == .daemonSet ? ordinal : rng.below(nodes.count)
                addPod(app: index, node: node, ordinal: ordinal, started: startMicros - Int64(rng.below(30 * 86_400)) * 1_000_000, rng: &rng)
            }
        }

        for (ns, name) in Catalog.leaderLocks {
            let holder: String
            if name == "kube-controller-manager" || name == "kube-scheduler" {
                holder = "ip-10-0-0-12.eu-west-1.compute.internal_" + Self.str(JSONWriter.uuidBytes(&rng))
            } else {
                let appName = name.hasPrefix("cert-manager-controller") ? "cert-manager"
                    : name.hasPrefix("cert-manager-cainjector") ? "cert-manager-cainjector"
                    : name.hasPrefix("ingress-nginx") ? "ingress-nginx-controller"
                    : name.hasPrefix("payments-worker") ? "payments-worker" : "cluster-autoscaler"
                let app = apps[appIndex[appName]!]
                holder = Self.str(pods[app.pods[0]].name) + (name.hasPrefix("ingress") ? "" : "_" + Self.str(JSONWriter.uuidBytes(&rng)))
            }
            locks.append((Array(ns.utf8), Array(name.utf8), JSONWriter.uuidBytes(&rng), Array(holder.utf8)))
        }
    }

    /// Name for a new pod of `app` following each controller's naming scheme.
    func podName(app: AppState, ordinal: Int, rng: inout SeededRandom) -> [UInt8] {
        switch app.spec.kind {
        case .deployment, .cronJob: app.ownerName + [0x2D] + Self.suffix(&rng, length: 5)
        case .daemonSet: app.name + [0x2D] + Self.suffix(&rng, length: 5)
        case .statefulSet: app.name + Array("-\(ordinal)".utf8)
        }
    }

    @discardableResult
    mutating func addPod(app appIdx: Int, node: Int, ordinal: Int, started: Int64, rng: inout SeededRandom) -> Int {
        let app = apps[appIdx]
        let index = pods.count
        pods.append(PodState(app: appIdx, name: [], uid: [], node: node, ip: [], actor: -1, started: started))
        apps[appIdx].pods.append(index)
        nodes[node].pods.append(index)
        replacePod(index, name: podName(app: app, ordinal: ordinal, rng: &rng), started: started, rng: &rng)
        return index
    }

    /// Gives pod slot `index` a new identity (name, uid, IP, bound token), as when a controller
    /// replaces a pod. Its service-account actor is re-rendered because `user.extra` names the pod.
    mutating func replacePod(_ index: Int, name: [UInt8], started: Int64, rng: inout SeededRandom) {
        let app = apps[pods[index].app]
        let node = nodes[pods[index].node]
        pods[index].name = name
        pods[index].uid = JSONWriter.uuidBytes(&rng)
        pods[index].started = started
        pods[index].ip = app.spec.hostNetwork ? node.ip : Array("10.0.\(node.podSubnet).\(2 + rng.below(250))".utf8)
        guard app.spec.userAgent != nil else { return }
        let actor = Identities.podSA(
            podIndex: index, app: app.spec, saUID: app.saUID, jti: Self.str(JSONWriter.uuidBytes(&rng)),
            podName: Self.str(name), podUID: Self.str(pods[index].uid), nodeName: node.nameString, nodeUID: Self.str(node.uid),
            ip: Self.str(pods[index].ip))
        if pods[index].actor >= 0 {
            actors[pods[index].actor] = actor
        } else {
            pods[index].actor = actors.count
            actors.append(actor)
        }
    }
}
