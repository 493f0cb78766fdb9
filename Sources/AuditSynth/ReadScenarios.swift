/// Read traffic (~78% of events): kubelets, control plane, in-cluster clients, humans, discovery.
extension SyntheticAuditLog {
    // MARK: Kubelets

    mutating func kubeletWatchRef() -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        let app = cluster.apps[cluster.pods[p].app]
        let secret = !app.secrets.isEmpty && rng.percent(40)
        var c = Call(.watch, secret ? .secrets : .configmaps, actor: cluster.nodes[n].actor)
        c.stage = .responseStarted
        c.namespace = app.ns
        let name = secret ? app.secrets[rng.below(app.secrets.count)] : app.configMaps[rng.below(app.configMaps.count)]
        c.query = .watchField("metadata.name", name)
        c.reason = []
        return c
    }

    mutating func kubeletGetNode() -> Call {
        let n = randomNode()
        var c = Call(.get, .nodes, actor: cluster.nodes[n].actor)
        c.name = cluster.nodes[n].name
        c.query = rng.percent(70) ? .cachedGet : .timeout("10s")
        c.reason = []
        return c
    }

    mutating func kubeletGetPod() -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        var c = Call(.get, .pods, actor: cluster.nodes[n].actor)
        c.namespace = cluster.apps[cluster.pods[p].app].ns
        c.name = cluster.pods[p].name
        c.reason = []
        if rng.percent(3) {
            c.failure = .notFound
            c.code = 404
        }
        return c
    }

    mutating func kubeletClusterReads() -> Call {
        let n = randomNode()
        let actor = cluster.nodes[n].actor
        switch rng.below(6) {
        case 0:
            var c = Call(.watch, .services, actor: actor)
            c.stage = .responseStarted
            c.query = .watch
            c.reason = Identities.nodeRBACReason
            return c
        case 1:
            var c = Call(.watch, .nodes, actor: actor)
            c.stage = .responseStarted
            c.query = .watchField("metadata.name", cluster.nodes[n].name)
            c.reason = []
            return c
        case 2:
            var c = Call(rng.percent(50) ? .watch : .list, rng.percent(50) ? .csidrivers : .runtimeclasses, actor: actor)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            c.reason = Identities.nodeRBACReason
            return c
        case 3:
            var c = Call(.get, .csinodes, actor: actor)
            c.name = cluster.nodes[n].name
            c.reason = []
            return c
        case 4:
            var c = Call(.list, .services, actor: actor)
            c.query = .list
            c.reason = Identities.nodeRBACReason
            return c
        default:
            let p = podOn(node: n)
            let app = cluster.apps[cluster.pods[p].app]
            var c = Call(.get, .serviceaccounts, actor: actor)
            c.namespace = app.ns
            c.name = Array(app.spec.serviceAccountName.utf8)
            c.reason = []
            return c
        }
    }

    mutating func kubeletGetObject() -> Call {
        let n = randomNode()
        let p = podOn(node: n)
        let app = cluster.apps[cluster.pods[p].app]
        var c = Call(.get, .secrets, actor: cluster.nodes[n].actor)
        c.namespace = app.ns
        c.reason = []
        switch rng.below(4) {
        case 0:
            c.name = Array("regcred".utf8)
            if rng.percent(60) { c.failure = .notFound; c.code = 404 }
        case 1:
            c.resource = .configmaps
            c.name = app.configMaps[rng.below(app.configMaps.count)]
        case 2:
            c.resource = .persistentvolumeclaims
            c.name = Array("data-".utf8) + app.name + Array("-0".utf8)
            if app.spec.kind != .statefulSet { c.failure = .notFound; c.code = 404 }
        default:
            c.name = app.secrets.isEmpty ? Array("regcred".utf8) : app.secrets[rng.below(app.secrets.count)]
            if app.secrets.isEmpty { c.failure = .notFound; c.code = 404 }
        }
        return c
    }

    // MARK: Control plane

    /// Leader election: every candidate gets the lock every ~2 s; the holder updates it.
    mutating func leader(update: Bool) -> Call {
        let l = rng.below(10) < 5 ? rng.below(2) : rng.below(cluster.locks.count)
        let lock = cluster.locks[l]
        let actor: Int
        switch l {
        case 0: actor = cluster.kcm
        case 1: actor = cluster.scheduler
        case 2: actor = client(roles.autoscaler).actor
        case 3: actor = client(roles.certManager).actor
        case 4: actor = client(roles.cainjector).actor
        case 5: actor = client(roles.ingress).actor
        default: actor = client(roles.businessClients[1]).actor
        }
        var c = Call(update ? .update : .get, .leases, actor: actor)
        c.namespace = lock.ns
        c.name = lock.name
        c.query = l < 2 ? .timeout("5s") : .timeout("10s")
        if update {
            c.level = .request
            c.objectUID = lock.uid
            c.objectRV = cluster.resourceVersion - rng.below(2_000)
            c.request = .leaderLease(l)
            if rng.percent(2) { c.failure = .conflict; c.code = 409 }
        }
        return c
    }

    mutating func controllerRead(_ verb: Call.Verb) -> Call {
        let useKCM = rng.percent(8)
        let ci = rng.below(Identities.controllers.count)
        let resources = Identities.controllers[ci].watches
        var r = resources[rng.below(resources.count)]
        let actor = useKCM ? cluster.kcm : cluster.controllerActors[ci]
        if useKCM {
            // kube-controller-manager's shared informers, including the benign cluster-wide secrets watch.
            let shared: [Resource] = [.secrets, .serviceaccounts, .configmaps, .nodes, .namespaces, .pods, .leases]
            r = shared[rng.below(shared.count)]
        }
        var c = Call(verb, r, actor: actor)
        switch verb {
        case .watch:
            c.stage = .responseStarted
            c.query = .watch
        case .list:
            c.query = .list
            if useKCM && r == .secrets { c.verb = .watch; c.stage = .responseStarted; c.query = .watch }
        default:
            let t = target(r)
            c.namespace = r.info.namespaced || r == .namespaces ? t.ns : []
            c.name = t.name
            if rng.percent(4) { c.failure = .notFound; c.code = 404 }
        }
        return c
    }

    mutating func schedulerReads() -> Call {
        let options: [Resource] = [.pods, .nodes, .persistentvolumeclaims, .persistentvolumes, .csinodes, .csidrivers, .storageclasses,
                                   .poddisruptionbudgets, .namespaces, .services, .replicasets, .statefulsets]
        let r = options[rng.below(options.count)]
        var c = Call(rng.percent(85) ? .watch : .list, r, actor: cluster.scheduler)
        if c.verb == .watch {
            c.stage = .responseStarted
            if r == .pods {
                c.query = .raw(Array("?allowWatchBookmarks=true\\u0026fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed\\u0026resourceVersion=\(cluster.resourceVersion - rng.below(3000))\\u0026timeout=8m3s\\u0026timeoutSeconds=483\\u0026watch=true".utf8))
            } else {
                c.query = .watch
            }
        } else {
            c.query = .list
        }
        return c
    }

    mutating func apiserverSelf() -> Call {
        switch rng.below(5) {
        case 0, 1:
            var c = Call(rng.percent(50) ? .list : .watch, rng.percent(50) ? .flowschemas : .prioritylevelconfigurations, actor: cluster.apiserver)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            return c
        case 2:
            var c = Call(.get, .namespaces, actor: cluster.apiserver)
            let ns = cluster.namespaces[rng.below(3)]
            c.namespace = ns
            c.name = ns
            return c
        case 3:
            var c = Call(.get, .endpoints, actor: cluster.apiserver)
            c.namespace = cluster.namespaces[0]
            c.name = Array("kubernetes".utf8)
            return c
        default:
            var c = Call(.get, .endpointslices, actor: cluster.apiserver)
            c.namespace = cluster.namespaces[0]
            c.name = Array("kubernetes".utf8)
            return c
        }
    }

    // MARK: In-cluster clients

    mutating func proxyDNS() -> Call {
        switch rng.below(10) {
        case 0..<5:
            let cl = client(roles.kubeProxy)
            var c = Call(.watch, rng.percent(60) ? .endpointslices : .services, actor: cl.actor)
            c.stage = .responseStarted
            if c.resource == .endpointslices {
                c.query = .raw(Array("?allowWatchBookmarks=true\\u0026labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name\\u0026resourceVersion=\(cluster.resourceVersion - rng.below(3000))\\u0026timeout=6m12s\\u0026timeoutSeconds=372\\u0026watch=true".utf8))
            } else {
                c.query = .watch
            }
            return c
        case 5..<8:
            let cl = client(roles.coredns)
            let options: [Resource] = [.endpointslices, .services, .namespaces]
            var c = Call(rng.percent(80) ? .watch : .list, options[rng.below(3)], actor: cl.actor)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            return c
        default:
            let n = randomNode()
            let pods = cluster.apps[roles.awsNode].pods
            let p = pods[n % pods.count]
            var c = Call(.get, .nodes, actor: cluster.pods[p].actor)
            c.name = cluster.nodes[cluster.pods[p].node].name
            return c
        }
    }

    mutating func prometheus() -> Call {
        if rng.percent(35) {
            // kube-state-metrics: cluster-wide informers on everything it exports (secrets collector disabled).
            let cl = client(roles.kubeStateMetrics)
            let options: [Resource] = [.pods, .deployments, .daemonsets, .statefulsets, .replicasets, .jobs, .cronjobs, .nodes, .namespaces,
                                       .services, .endpoints, .configmaps, .persistentvolumeclaims, .persistentvolumes, .horizontalpodautoscalers,
                                       .poddisruptionbudgets, .ingresses, .leases, .storageclasses, .resourcequotas, .limitranges,
                                       .networkpolicies, .certificatesigningrequests, .mutatingwebhookconfigurations, .validatingwebhookconfigurations]
            var c = Call(rng.percent(75) ? .watch : .list, options[rng.below(options.count)], actor: cl.actor)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            return c
        }
        let cl = client(roles.prometheus)
        if rng.percent(30) {
            let n = randomNode()
            var c = Call(.get, .nodes, actor: cl.actor)
            c.name = cluster.nodes[n].name
            c.subresource = "proxy"
            c.query = .raw(Array(rng.percent(50) ? "/metrics/cadvisor".utf8 : "/metrics".utf8))
            c.latencyMicros = 15_000 + rng.below(180_000)
            return c
        }
        let options: [Resource] = [.pods, .endpoints, .services, .endpointslices]
        var c = Call(rng.percent(70) ? .watch : .list, options[rng.below(options.count)], actor: cl.actor)
        c.namespace = randomNamespace()
        if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
        return c
    }

    mutating func fluentBit() -> Call {
        let n = randomNode()
        let pods = cluster.apps[roles.fluentBit].pods
        let fb = pods[n % pods.count]
        let p = podOn(node: cluster.pods[fb].node)
        var c = Call(.get, .pods, actor: cluster.pods[fb].actor)
        c.namespace = cluster.apps[cluster.pods[p].app].ns
        c.name = cluster.pods[p].name
        return c
    }

    mutating func argocd() -> Call {
        if rng.percent(20) {
            let cl = client(roles.argocdServer)
            var c = Call(rng.percent(50) ? .get : .list, .applications, actor: cl.actor)
            c.namespace = cluster.namespaces[8]
            if c.verb == .get { c.name = cluster.apps[randomApp()].ns } else { c.query = .list }
            return c
        }
        let cl = client(roles.argocdController)
        let options: [Resource] = [.deployments, .statefulsets, .daemonsets, .cronjobs, .services, .configmaps, .ingresses, .serviceaccounts,
                                   .roles, .rolebindings, .clusterroles, .clusterrolebindings, .customresourcedefinitions, .applications,
                                   .networkpolicies, .horizontalpodautoscalers, .poddisruptionbudgets, .servicemonitors, .prometheusrules,
                                   .certificates, .namespaces, .persistentvolumeclaims, .endpointslices, .pods, .replicasets]
        let r = options[rng.below(options.count)]
        var c = Call(.watch, r, actor: cl.actor)
        switch rng.below(10) {
        case 0..<6:
            c.stage = .responseStarted
            c.query = .watch
        case 6..<8:
            c.verb = .list
            c.query = .list
        default:
            c.verb = .get
            let t = target(r)
            c.namespace = r.info.namespaced || r == .namespaces ? t.ns : []
            c.name = t.name
            if r == .applications { c.namespace = cluster.namespaces[8] }
        }
        return c
    }

    mutating func operators() -> Call {
        switch rng.below(12) {
        case 0, 1:
            let cl = client(roles.certManager)
            let ns = rng.percent(50) ? cluster.namespaces[7] : cluster.apps[roles.businessClients[rng.below(5)]].ns
            let options: [Resource] = [.certificates, .certificaterequests, .secrets, .ingresses]
            var c = Call(.get, options[rng.below(options.count)], actor: cl.actor)
            c.namespace = ns
            if rng.percent(60) {
                c.verb = .watch
                c.stage = .responseStarted
                c.query = .watch
            } else {
                c.name = c.resource == .secrets ? Array("wildcard-example-com-tls".utf8) : Array("wildcard-example-com".utf8)
            }
            return c
        case 2:
            let cl = client(roles.cainjector)
            let options: [Resource] = [.mutatingwebhookconfigurations, .validatingwebhookconfigurations, .customresourcedefinitions, .certificates]
            var c = Call(.watch, options[rng.below(options.count)], actor: cl.actor)
            c.stage = .responseStarted
            c.query = .watch
            return c
        case 3, 4:
            let cl = client(roles.ingress)
            let options: [Resource] = [.ingresses, .ingressclasses, .endpointslices, .services, .configmaps, .secrets]
            let r = options[rng.below(options.count)]
            var c = Call(.watch, r, actor: cl.actor)
            c.stage = .responseStarted
            c.query = .watch
            if r == .secrets || r == .configmaps { c.namespace = cluster.namespaces[6] }
            if r == .configmaps && rng.percent(50) {
                c.verb = .get
                c.stage = .responseComplete
                c.query = .none
                c.name = Array("ingress-nginx-controller".utf8)
            }
            return c
        case 5, 6:
            let cl = client(roles.autoscaler)
            let options: [Resource] = [.pods, .nodes, .poddisruptionbudgets, .statefulsets, .replicasets, .daemonsets, .jobs,
                                       .persistentvolumeclaims, .persistentvolumes, .storageclasses, .csinodes, .csidrivers, .namespaces]
            var c = Call(rng.percent(70) ? .watch : .list, options[rng.below(options.count)], actor: cl.actor)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            if rng.percent(15) {
                c = Call(.get, .configmaps, actor: cl.actor)
                c.namespace = cluster.namespaces[1]
                c.name = cluster.configMaps[0].name
            }
            return c
        case 7, 8:
            let cl = client(roles.metricsServer)
            var c = Call(rng.percent(80) ? .watch : .list, rng.percent(50) ? .nodes : .pods, actor: cl.actor)
            if c.verb == .watch { c.stage = .responseStarted; c.query = .watch } else { c.query = .list }
            return c
        case 9:
            let cl = client(roles.grafana)
            var c = Call(.watch, .configmaps, actor: cl.actor)
            c.stage = .responseStarted
            c.query = .raw(Array("?allowWatchBookmarks=true\\u0026labelSelector=grafana_dashboard%3D1\\u0026resourceVersion=\(cluster.resourceVersion - rng.below(3000))\\u0026timeoutSeconds=3600\\u0026watch=true".utf8))
            return c
        default:
            let cl = client(roles.promOperator)
            let options: [Resource] = [.prometheusrules, .servicemonitors, .secrets, .configmaps, .statefulsets, .namespaces]
            let r = options[rng.below(options.count)]
            var c = Call(.watch, r, actor: cl.actor)
            c.stage = .responseStarted
            c.query = .watch
            if r == .secrets || r == .configmaps || r == .statefulsets { c.namespace = cluster.namespaces[4] }
            return c
        }
    }

    /// Business services reading their own config; a few misconfigured ones are denied.
    mutating func appReads() -> Call {
        if rng.percent(20) {
            // Patroni keeps its leader state in endpoints/configmaps: chatty gets.
            let cl = client(roles.postgres)
            var c = Call(.get, rng.percent(60) ? .endpoints : .configmaps, actor: cl.actor)
            c.namespace = cluster.apps[roles.postgres].ns
            c.name = c.resource == .endpoints ? Array("postgres".utf8) : Array("postgres-config".utf8)
            return c
        }
        let a = roles.businessClients[rng.below(roles.businessClients.count)]
        let cl = client(a)
        let app = cluster.apps[a]
        var c = Call(.get, .configmaps, actor: cl.actor)
        c.namespace = app.ns
        switch rng.below(10) {
        case 0..<5:
            c.name = app.configMaps[rng.below(app.configMaps.count)]
        case 5..<8:
            c.resource = .secrets
            c.name = app.secrets.isEmpty ? app.name + Array("-tls".utf8) : app.secrets[rng.below(app.secrets.count)]
        case 8:
            c.verb = .list
            c.resource = .pods
            c.query = .listSelector(app.name)
            if rng.percent(50) { c.failure = .forbidden; c.code = 403 }
        default:
            c.resource = .secrets
            c.namespace = cluster.namespaces[1]
            c.name = Array("aws-credentials".utf8)
            c.failure = .forbidden
            c.code = 403
        }
        return c
    }

    // MARK: Humans

    mutating func humanReads() -> Call {
        let h = rng.below(cluster.humanActors.count)
        let human = Identities.humans[h]
        let actor = cluster.humanActors[h]
        let a = randomApp()
        let app = cluster.apps[a]
        let home = rng.percent(70) ? Array(human.homeNamespace.utf8) : app.ns
        let allowed = human.admin || home == Array(human.homeNamespace.utf8) || h == 2
        var c = Call(.get, .pods, actor: actor)
        c.namespace = home
        c.level = .request
        switch rng.below(10) {
        case 0..<3:
            c.verb = .list
            c.query = .raw(Array("?limit=500".utf8))
        case 3, 4:
            let pods = app.pods
            let p = pods[rng.below(pods.count)]
            c.namespace = app.ns
            c.name = cluster.pods[p].name
            c.level = .requestResponse
            c.response = .pod(p)
        case 5:
            c.resource = .pods
            let p = app.pods[rng.below(app.pods.count)]
            c.namespace = app.ns
            c.name = cluster.pods[p].name
            c.subresource = "log"
            c.query = .raw(Array("?container=\(app.spec.name)\\u0026follow=true\\u0026tailLines=200".utf8))
            c.latencyMicros = 2_000_000 + rng.below(600_000_000)
        case 6:
            c.resource = app.spec.kind.resource
            c.namespace = app.ns
            c.name = app.name
            c.level = .requestResponse
            c.response = .workload(a, child: false)
        case 7:
            c.verb = .list
            c.resource = .events
            c.query = .raw(Array("?fieldSelector=involvedObject.name%3D\(app.spec.name)%2CinvolvedObject.namespace%3D\(app.spec.namespace)\\u0026limit=500".utf8))
        case 8:
            c.verb = .list
            c.resource = rng.percent(50) ? .deployments : .namespaces
            if c.resource == .namespaces { c.namespace = [] }
            c.query = .raw(Array("?limit=500".utf8))
        default:
            c.resource = .configmaps
            c.namespace = app.ns
            let cm = cluster.configMaps.firstIndex { $0.ns == app.ns } ?? 0
            c.namespace = cluster.configMaps[cm].ns
            c.name = cluster.configMaps[cm].name
            c.level = .requestResponse
            c.response = .configMap(cm)
            if rng.percent(15) {
                c.name += Array("-old".utf8)
                c.failure = .notFound
                c.code = 404
            }
        }
        if !allowed && c.failure == .none && rng.percent(40) {
            c.failure = .forbidden
            c.code = 403
        }
        if rng.percent(3) && h == 0 { c.impersonate = rng.below(impersonations.count) }
        return c
    }

    mutating func discovery() -> Call {
        var c = Call(.get, nil, actor: cluster.humanActors[rng.below(cluster.humanActors.count)])
        switch rng.below(10) {
        case 0, 1:
            c.path = Array((rng.percent(50) ? "/api?timeout=32s" : "/apis?timeout=32s").utf8)
            c.reason = Self.discoveryReason
        case 2:
            c.actor = cluster.controllerActors[rng.below(cluster.controllerActors.count)]
            c.path = Array("/apis/apps/v1?timeout=32s".utf8)
            c.reason = Self.discoveryReason
        case 3:
            c.path = Array("/version?timeout=32s".utf8)
            c.reason = Self.publicInfoReason
        case 4:
            c.actor = cluster.kcm
            c.path = Array("/openapi/v3?timeout=32s".utf8)
            c.reason = Self.discoveryReason
            c.latencyMicros = 20_000 + rng.below(120_000)
        case 5, 6, 7:
            c.actor = cluster.anonymous
            c.path = Array((rng.percent(50) ? "/readyz" : "/livez").utf8)
        default:
            c.actor = client(roles.prometheus).actor
            c.path = Array("/metrics".utf8)
            c.latencyMicros = 30_000 + rng.below(200_000)
        }
        return c
    }
}
