/// Write traffic: events, tokens, reviews, pod and workload lifecycle, statuses, configmaps.
extension SyntheticAuditLog {
    // MARK: Writes

    mutating func eventWrite(patch: Bool) -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        let app = cluster.apps[cluster.pods[p].app]
        var actor = cluster.nodes[n].actor
        var resource = Resource.events
        switch rng.below(10) {
        case 0..<5: break
        case 5..<8: actor = cluster.controllerActors[rng.below(cluster.controllerActors.count)]
        case 8:
            actor = cluster.scheduler
            resource = .eventsV1
        default: actor = client(rng.percent(50) ? roles.argocdController : roles.certManager).actor
        }
        var c = Call(patch ? .patch : .create, resource, actor: actor)
        c.namespace = app.ns
        var name = cluster.pods[p].name
        name.append(0x2E)
        var hex = JSONWriter()
        hex.hex(rng.next(), digits: 16)
        name += hex.bytes
        c.name = name
        if !patch { c.code = 201 }
        if actor == cluster.nodes[n].actor { c.reason = [] }
        return c
    }

    mutating func tokenCreate() -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        let app = cluster.apps[cluster.pods[p].app]
        var c = Call(.create, .serviceaccounts, actor: cluster.nodes[n].actor)
        c.namespace = app.ns
        c.name = Array(app.spec.serviceAccountName.utf8)
        c.subresource = "token"
        c.code = 201
        c.reason = []
        return c
    }

    mutating func reviews() -> Call {
        let clients = [roles.metricsServer, roles.kubeStateMetrics, roles.promOperator, roles.ingress]
        let cl = client(clients[rng.below(clients.count)])
        var c = Call(.create, rng.percent(50) ? .tokenreviews : .subjectaccessreviews, actor: cl.actor)
        c.code = 201
        if c.resource == .subjectaccessreviews {
            // kube-rbac-proxy asking whether Prometheus may scrape: logged with both bodies.
            c.level = .requestResponse
            let ns = String(decoding: cluster.apps[roles.prometheus].ns, as: UTF8.self)
            let spec = "\"spec\":{\"resourceAttributes\":{\"namespace\":\"\(ns)\",\"verb\":\"get\",\"version\":\"v1\",\"resource\":\"services\",\"subresource\":\"metrics\"},"
                + "\"user\":\"system:serviceaccount:\(ns):prometheus-k8s\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:\(ns)\",\"system:authenticated\"],"
                + "\"uid\":\"\(cluster.apps[roles.prometheus].saUID)\"}"
            let head = "{\"kind\":\"SubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},"
            c.request = .raw(Array((head + spec + ",\"status\":{\"allowed\":false}}").utf8))
            c.response = .raw(Array((head + spec + ",\"status\":{\"allowed\":true,\"reason\":"
                + JSONWriter.quote("RBAC: allowed by ClusterRoleBinding \"prometheus-k8s\" of ClusterRole \"prometheus-k8s\" to ServiceAccount \"prometheus-k8s/\(ns)\"")
                + "}}").utf8))
        }
        return c
    }

    mutating func podStatusPatch() -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        var c = Call(.patch, .pods, actor: cluster.nodes[n].actor)
        c.namespace = cluster.apps[cluster.pods[p].app].ns
        c.name = cluster.pods[p].name
        c.subresource = "status"
        c.level = .requestResponse
        c.request = .podStatusPatch(p)
        c.response = .pod(p)
        c.reason = []
        return c
    }

    mutating func podCreate() -> Call {
        let p = rng.below(cluster.pods.count)
        let a = cluster.pods[p].app
        let app = cluster.apps[a]
        let name = app.spec.kind == .statefulSet ? cluster.pods[p].name : cluster.podName(app: app, ordinal: 0, rng: &rng)
        cluster.replacePod(p, name: name, started: nowMicros, rng: &rng)
        let creator = Identities.controllers.firstIndex { $0.name == app.spec.kind.podCreator }!
        var c = Call(.create, .pods, actor: cluster.controllerActors[creator])
        c.namespace = app.ns
        if app.spec.kind == .statefulSet { c.name = name }
        c.level = .requestResponse
        c.code = 201
        c.request = .podCreate(p)
        c.response = .pod(p, pending: true)
        c.extraAnnotations = Self.podSecurityBaseline
        return c
    }

    mutating func podBinding() -> Call {
        let p = rng.below(cluster.pods.count)
        var c = Call(.create, .pods, actor: cluster.scheduler)
        c.namespace = cluster.apps[cluster.pods[p].app].ns
        c.name = cluster.pods[p].name
        c.subresource = "binding"
        c.level = .request
        c.code = 201
        c.request = .binding(p)
        return c
    }

    mutating func podDelete() -> Call {
        let p = rng.below(cluster.pods.count)
        let app = cluster.apps[cluster.pods[p].app]
        let byKubelet = rng.percent(50)
        let creator = Identities.controllers.firstIndex { $0.name == app.spec.kind.podCreator }!
        var c = Call(.delete, .pods, actor: byKubelet ? cluster.nodes[cluster.pods[p].node].actor : cluster.controllerActors[creator])
        c.namespace = app.ns
        c.name = cluster.pods[p].name
        c.level = .requestResponse
        c.request = .deleteOptions(preconditionUID: byKubelet ? cluster.pods[p].uid : [])
        c.response = .pod(p, deleting: true)
        if byKubelet { c.reason = [] }
        return c
    }

    mutating func workloadStatus() -> Call {
        let a = randomApp()
        let app = cluster.apps[a]
        let child = (app.spec.kind == .deployment || app.spec.kind == .cronJob) && rng.percent(50)
        let controller: String
        let resource: Resource
        switch (app.spec.kind, child) {
        case (.deployment, false): controller = "deployment-controller"; resource = .deployments
        case (.deployment, true): controller = "replicaset-controller"; resource = .replicasets
        case (.daemonSet, _): controller = "daemon-set-controller"; resource = .daemonsets
        case (.statefulSet, _): controller = "statefulset-controller"; resource = .statefulsets
        case (.cronJob, false): controller = "cronjob-controller"; resource = .cronjobs
        case (.cronJob, true): controller = "job-controller"; resource = .jobs
        }
        let ci = Identities.controllers.firstIndex { $0.name == controller }!
        var c = Call(.update, resource, actor: cluster.controllerActors[ci])
        c.namespace = app.ns
        c.name = child ? app.ownerName : app.name
        c.subresource = "status"
        c.objectUID = child ? app.ownerUID : app.uid
        c.objectRV = cluster.resourceVersion - rng.below(5_000)
        c.level = .requestResponse
        c.request = .workload(a, child: child)
        c.response = .workload(a, child: child)
        if rng.percent(4) { c.failure = .conflict; c.code = 409 }
        return c
    }

    mutating func workloadPatch() -> Call {
        let a = randomApp()
        cluster.apps[a].generation += 1
        let app = cluster.apps[a]
        let byHuman = rng.percent(35)
        var c = Call(.patch, app.spec.kind.resource, actor: byHuman ? cluster.humanActors[0] : client(roles.argocdController).actor)
        c.namespace = app.ns
        c.name = app.name
        c.query = byHuman ? .kubectlApply : .fieldManager("argocd-controller")
        c.level = .requestResponse
        c.request = .workloadPatch(a)
        c.response = .workload(a, child: false)
        return c
    }

    mutating func workloadCreate() -> Call {
        let candidates = cluster.apps.indices.filter { cluster.apps[$0].spec.kind == .deployment || cluster.apps[$0].spec.kind == .cronJob }
        let a = candidates[rng.below(candidates.count)]
        let app = cluster.apps[a]
        let isJob = app.spec.kind == .cronJob
        let ci = Identities.controllers.firstIndex { $0.name == (isJob ? "cronjob-controller" : "deployment-controller") }!
        var c = Call(.create, isJob ? .jobs : .replicasets, actor: cluster.controllerActors[ci])
        c.namespace = app.ns
        c.name = app.ownerName
        c.level = .requestResponse
        c.code = 201
        c.request = .workload(a, child: true)
        c.response = .workload(a, child: true)
        if rng.percent(5) { c.failure = .alreadyExists; c.code = 409 }
        return c
    }

    mutating func nodeStatusPatch() -> Call {
        let n = randomNode()
        var c = Call(.patch, .nodes, actor: cluster.nodes[n].actor)
        c.name = cluster.nodes[n].name
        c.subresource = "status"
        c.query = .timeout("10s")
        c.level = .request
        c.request = .nodeStatusPatch(n, images: rng.percent(20))
        c.reason = []
        return c
    }

    mutating func configMapWrite() -> Call {
        let roll = rng.below(100)
        let cm: Int
        let actor: Int
        if roll < 62 {
            cm = 0  // cluster-autoscaler-status
            actor = client(roles.autoscaler).actor
        } else if roll < 70 {
            cm = 1  // prometheus rule files (~18 KB)
            actor = client(roles.promOperator).actor
        } else {
            cm = 2 + rng.below(cluster.configMaps.count - 2)
            actor = client(roles.argocdController).actor
        }
        let state = cluster.configMaps[cm]
        var c = Call(.update, .configmaps, actor: actor)
        c.namespace = state.ns
        c.name = state.name
        c.objectUID = state.uid
        c.objectRV = cluster.resourceVersion - rng.below(3_000)
        c.level = .request
        c.request = .configMap(cm)
        c.query = cm == 0 ? .none : .fieldManager("argocd-controller")
        if roll >= 95 {
            // A human re-creating an existing configmap.
            c.verb = .create
            c.actor = cluster.humanActors[0]
            c.objectUID = []
            c.objectRV = 0
            c.query = .raw(Array("?fieldManager=kubectl-create\\u0026fieldValidation=Strict".utf8))
            c.failure = .alreadyExists
            c.code = 409
        } else if rng.percent(2) {
            c.failure = .conflict
            c.code = 409
        }
        return c
    }

    mutating func endpointSliceUpdate() -> Call {
        let ci = Identities.controllers.firstIndex { $0.name == "endpointslice-controller" }!
        let t = target(.endpointslices)
        var c = Call(.update, .endpointslices, actor: cluster.controllerActors[ci])
        c.namespace = t.ns
        c.name = t.name
        if rng.percent(3) { c.failure = .conflict; c.code = 409 }
        return c
    }

    mutating func endpointsUpdate() -> Call {
        if rng.percent(40) {
            let cl = client(roles.postgres)
            var c = Call(.patch, .endpoints, actor: cl.actor)
            c.namespace = cluster.apps[roles.postgres].ns
            c.name = Array("postgres".utf8)
            return c
        }
        let ci = Identities.controllers.firstIndex { $0.name == "endpoint-controller" }!
        let t = target(.services)
        var c = Call(.update, .endpoints, actor: cluster.controllerActors[ci])
        c.namespace = t.ns
        c.name = t.name
        return c
    }

    /// Assorted metadata-level writes, including benign look-alikes of the injected attacks
    /// (namespaced RoleBindings to `view`, Argo CD patching Applications).
    mutating func miscWrite() -> Call {
        switch rng.below(8) {
        case 0:
            let cl = client(roles.certManager)
            var c = Call(.update, .secrets, actor: cl.actor)
            c.namespace = cluster.apps[roles.businessClients[rng.below(5)]].ns
            c.name = Array("wildcard-example-com-tls".utf8)
            return c
        case 1:
            let cl = client(roles.certManager)
            var c = Call(.update, .certificates, actor: cl.actor)
            c.namespace = cluster.apps[roles.businessClients[rng.below(5)]].ns
            c.name = Array("wildcard-example-com".utf8)
            c.subresource = "status"
            return c
        case 2:
            let ci = Identities.controllers.firstIndex { $0.name == "horizontal-pod-autoscaler" }!
            let a = roles.businessClients[rng.below(5)]
            var c = Call(.update, .horizontalpodautoscalers, actor: cluster.controllerActors[ci])
            c.namespace = cluster.apps[a].ns
            c.name = cluster.apps[a].name
            c.subresource = "status"
            return c
        case 3:
            let cl = client(roles.argocdController)
            var c = Call(.patch, .applications, actor: cl.actor)
            c.namespace = cluster.namespaces[8]
            c.name = cluster.apps[randomApp()].ns
            c.query = .raw(Array("?fieldManager=argocd-application-controller".utf8))
            return c
        case 4:
            let ci = Identities.controllers.firstIndex { $0.name == "ttl-after-finished-controller" }!
            let a = cluster.appIndex["db-backup"]!
            var c = Call(.delete, .jobs, actor: cluster.controllerActors[ci])
            c.namespace = cluster.apps[a].ns
            c.name = cluster.apps[a].name + Array("-\(nowMicros / 60_000_000 - 180)".utf8)
            c.level = .request
            c.request = .deleteOptions(preconditionUID: [])
            return c
        case 5:
            let ci = Identities.controllers.firstIndex { $0.name == "node-controller" }!
            let n = randomNode()
            var c = Call(.patch, .nodes, actor: cluster.controllerActors[ci])
            c.name = cluster.nodes[n].name
            return c
        case 6:
            var c = Call(.update, .leases, actor: cluster.apiserver)
            c.namespace = cluster.namespaces[1]
            var name = Array("apiserver-".utf8)
            name += Array(cluster.locks[0].uid.prefix(26))
            c.name = name
            c.query = .timeout("5s")
            return c
        default:
            // Benign RBAC change: Argo CD syncing a namespaced RoleBinding to the `view` ClusterRole.
            let cl = client(roles.argocdController)
            let a = roles.businessClients[rng.below(5)]
            let app = cluster.apps[a]
            var c = Call(.patch, .rolebindings, actor: cl.actor)
            c.namespace = app.ns
            c.name = app.name + Array("-view".utf8)
            c.query = .fieldManager("argocd-controller")
            c.level = .requestResponse
            var body = JSONWriter()
            body.raw("{\"kind\":\"RoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":")
            body.quoted(c.name)
            body.raw(",\"namespace\":")
            body.quoted(app.ns)
            body.raw("},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"view\"},\"subjects\":[{\"kind\":\"Group\",\"name\":\"oidc:developers\"}]}")
            c.request = .raw(body.bytes)
            c.response = .raw(body.bytes)
            return c
        }
    }
}
