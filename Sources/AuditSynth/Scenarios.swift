/// The traffic mix. Each scenario is one kind of request real clusters serve all day; weights
/// (per 10 000 events) were tuned so that ~78% are get/list/watch, levels come out ~87%
/// Metadata / 7% Request / 5% RequestResponse, and events average ~1.4 KB.
enum Scenario: CaseIterable {
    // Reads
    case kubeletWatchRef, kubeletGetNode, kubeletGetPod, kubeletClusterReads, kubeletGetObject
    case leaderGet, controllerWatch, controllerList, controllerGet, schedulerReads
    case proxyDNS, prometheus, fluentBit, argocd, operators, appReads, humanReads, discovery, apiserverSelf
    // Writes
    case leaderUpdate, eventCreate, eventPatch, tokenCreate, reviews
    case podStatusPatch, podCreate, podBinding, podDelete
    case workloadStatus, workloadPatch, workloadCreate, nodeStatusPatch, configMapWrite
    case endpointSliceUpdate, endpointsUpdate, miscWrites

    var weight: Int {
        switch self {
        case .kubeletWatchRef: 700
        case .kubeletGetNode: 560
        case .kubeletGetPod: 650
        case .kubeletClusterReads: 200
        case .kubeletGetObject: 200
        case .leaderGet: 420
        case .controllerWatch: 500
        case .controllerList: 250
        case .controllerGet: 580
        case .schedulerReads: 200
        case .proxyDNS: 350
        case .prometheus: 420
        case .fluentBit: 450
        case .argocd: 330
        case .operators: 420
        case .appReads: 450
        case .humanReads: 360
        case .discovery: 360
        case .apiserverSelf: 110
        case .leaderUpdate: 210
        case .eventCreate: 400
        case .eventPatch: 110
        case .tokenCreate: 240
        case .reviews: 150
        case .podStatusPatch: 110
        case .podCreate: 30
        case .podBinding: 35
        case .podDelete: 30
        case .workloadStatus: 55
        case .workloadPatch: 20
        case .workloadCreate: 12
        case .nodeStatusPatch: 90
        case .configMapWrite: 70
        case .endpointSliceUpdate: 230
        case .endpointsUpdate: 60
        case .miscWrites: 120
        }
    }

    /// Each scenario repeated by weight, so picking is one random index.
    static func table() -> [Scenario] {
        allCases.flatMap { Array(repeating: $0, count: $0.weight) }
    }
}

/// Indices of the apps whose pods act as API clients in specific scenarios.
struct Roles {
    var coredns, kubeProxy, awsNode, metricsServer, autoscaler, prometheus, kubeStateMetrics, promOperator, grafana: Int
    var fluentBit, ingress, certManager, cainjector, argocdController, argocdServer, postgres: Int
    var businessClients: [Int]

    init(_ c: Cluster) {
        func i(_ name: String) -> Int { c.appIndex[name]! }
        coredns = i("coredns"); kubeProxy = i("kube-proxy"); awsNode = i("aws-node"); metricsServer = i("metrics-server")
        autoscaler = i("cluster-autoscaler"); prometheus = i("prometheus-k8s"); kubeStateMetrics = i("kube-state-metrics")
        promOperator = i("prometheus-operator"); grafana = i("grafana"); fluentBit = i("fluent-bit")
        ingress = i("ingress-nginx-controller"); certManager = i("cert-manager"); cainjector = i("cert-manager-cainjector")
        argocdController = i("argocd-application-controller"); argocdServer = i("argocd-server"); postgres = i("postgres")
        businessClients = ["payments-api", "payments-worker", "checkout-api", "catalog-api", "bff"].map(i)
    }
}

extension SyntheticAuditLog {
    // MARK: Picking things

    mutating func randomNode() -> Int { rng.below(cluster.nodes.count) }

    mutating func podOn(node n: Int) -> Int {
        let pods = cluster.nodes[n].pods
        return pods.isEmpty ? rng.below(cluster.pods.count) : pods[rng.below(pods.count)]
    }

    /// A random pod of app `a` and the actor holding its token.
    mutating func client(_ a: Int) -> (pod: Int, actor: Int) {
        let pods = cluster.apps[a].pods
        let p = pods[rng.below(pods.count)]
        return (p, cluster.pods[p].actor)
    }

    mutating func randomApp() -> Int { rng.below(cluster.apps.count) }

    mutating func randomNamespace() -> [UInt8] { cluster.namespaces[rng.below(cluster.namespaces.count)] }

    /// A plausible (namespace, name) for an object of resource `r`.
    mutating func target(_ r: Resource) -> (ns: [UInt8], name: [UInt8]) {
        let a = randomApp()
        let app = cluster.apps[a]
        switch r {
        case .pods:
            let p = app.pods[rng.below(app.pods.count)]
            return (app.ns, cluster.pods[p].name)
        case .nodes, .csinodes:
            return ([], cluster.nodes[randomNode()].name)
        case .namespaces:
            let ns = randomNamespace()
            return (ns, ns)
        case .replicasets, .jobs:
            return (app.ns, app.ownerName)
        case .controllerrevisions:
            return (app.ns, app.name + [0x2D] + app.hash)
        case .configmaps:
            return (app.ns, app.configMaps[rng.below(app.configMaps.count)])
        case .secrets:
            return (app.ns, app.secrets.isEmpty ? app.name + Array("-tls".utf8) : app.secrets[rng.below(app.secrets.count)])
        case .serviceaccounts:
            return (app.ns, Array(app.spec.serviceAccountName.utf8))
        case .endpointslices:
            return (app.ns, app.name + [0x2D] + Array(app.hash.prefix(5)))
        case .leases:
            let l = cluster.locks[rng.below(cluster.locks.count)]
            return (l.ns, l.name)
        case .persistentvolumeclaims:
            return (app.ns, Array("data-".utf8) + app.name + Array("-0".utf8))
        case .events, .eventsV1:
            return (app.ns, app.name)
        case .clusterroles, .clusterrolebindings:
            return ([], Array("system:controller:".utf8) + Array(Identities.controllers[rng.below(Identities.controllers.count)].name.utf8))
        case .storageclasses: return ([], Array("gp3".utf8))
        case .csidrivers: return ([], Array("ebs.csi.aws.com".utf8))
        case .runtimeclasses: return ([], Array("runc".utf8))
        case .priorityclasses: return ([], Array("system-node-critical".utf8))
        default:
            return (r.info.namespaced ? app.ns : [], app.name)
        }
    }

    mutating func latency(_ verb: Call.Verb) -> Int {
        switch verb {
        case .get: 350 + rng.below(3_500) + (rng.percent(3) ? rng.below(90_000) : 0)
        case .list: 1_200 + rng.below(25_000) + (rng.percent(6) ? rng.below(450_000) : 0)
        case .watch: 250 + rng.below(1_800)
        default: 1_800 + rng.below(14_000) + (rng.percent(3) ? rng.below(120_000) : 0)
        }
    }

    static let podSecurityBaseline: [UInt8] = Array(",\"pod-security.kubernetes.io/enforce-policy\":\"baseline:latest\"".utf8)
    static let discoveryReason = Identities.rbac("ClusterRoleBinding", "system:discovery", roleKind: "ClusterRole", "system:discovery", to: "Group", "system:authenticated")
    static let publicInfoReason = Identities.rbac("ClusterRoleBinding", "system:public-info-viewer", roleKind: "ClusterRole", "system:public-info-viewer", to: "Group", "system:authenticated")

    // MARK: Dispatch

    mutating func runScenario(_ s: Scenario) {
        var c: Call
        switch s {
        case .kubeletWatchRef: c = kubeletWatchRef()
        case .kubeletGetNode: c = kubeletGetNode()
        case .kubeletGetPod: c = kubeletGetPod()
        case .kubeletClusterReads: c = kubeletClusterReads()
        case .kubeletGetObject: c = kubeletGetObject()
        case .leaderGet: c = leader(update: false)
        case .controllerWatch: c = controllerRead(.watch)
        case .controllerList: c = controllerRead(.list)
        case .controllerGet: c = controllerRead(.get)
        case .schedulerReads: c = schedulerReads()
        case .proxyDNS: c = proxyDNS()
        case .prometheus: c = prometheus()
        case .fluentBit: c = fluentBit()
        case .argocd: c = argocd()
        case .operators: c = operators()
        case .appReads: c = appReads()
        case .humanReads: c = humanReads()
        case .discovery: c = discovery()
        case .apiserverSelf: c = apiserverSelf()
        case .leaderUpdate: c = leader(update: true)
        case .eventCreate: c = eventWrite(patch: false)
        case .eventPatch: c = eventWrite(patch: true)
        case .tokenCreate: c = tokenCreate()
        case .reviews: c = reviews()
        case .podStatusPatch: c = podStatusPatch()
        case .podCreate: c = podCreate()
        case .podBinding: c = podBinding()
        case .podDelete: c = podDelete()
        case .workloadStatus: c = workloadStatus()
        case .workloadPatch: c = workloadPatch()
        case .workloadCreate: c = workloadCreate()
        case .nodeStatusPatch: c = nodeStatusPatch()
        case .configMapWrite: c = configMapWrite()
        case .endpointSliceUpdate: c = endpointSliceUpdate()
        case .endpointsUpdate: c = endpointsUpdate()
        case .miscWrites: c = miscWrite()
        }
        if c.latencyMicros == 0 { c.latencyMicros = latency(c.verb) }
        // ~3% of all events: the RequestReceived stage (policies that don't omit it).
        if c.stage == .responseComplete && rng.perMille(42) { c.stage = .requestReceived }
        if !c.isRead && c.failure == .none { cluster.resourceVersion += 1 }
        emit(c)
    }
}
