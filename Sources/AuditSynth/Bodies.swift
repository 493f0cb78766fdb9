/// Per-event rendering of request/response objects: the variable parts (names, uids,
/// resourceVersions, timestamps, statuses) around the pre-rendered specs.
extension SyntheticAuditLog {
    /// Quoted RFC 3339 timestamp; `micro` for MicroTime fields (lease renewTime).
    mutating func time(_ micros: Int64, micro: Bool = false) {
        w.byte(0x22)
        ts.write(micros, micro: micro, into: &w)
        w.byte(0x22)
    }

    mutating func str(_ b: [UInt8]) { w.quoted(b) }

    mutating func hexID(_ digits: Int) {
        var left = digits
        while left > 0 {
            let n = min(16, left)
            w.hex(rng.next(), digits: n)
            left -= n
        }
    }

    mutating func writeBody(_ body: Call.Body) {
        switch body {
        case .none: w.raw("null")
        case .podCreate(let p): writePodCreate(p)
        case .pod(let p, let pending, let deleting): writePod(p, pending: pending, deleting: deleting)
        case .podStatusPatch(let p): writePodStatusPatch(p)
        case .binding(let p):
            let pod = cluster.pods[p]
            w.raw("{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":")
            str(pod.name)
            w.raw(",\"namespace\":")
            str(cluster.apps[pod.app].ns)
            w.raw(",\"uid\":")
            str(pod.uid)
            w.raw(",\"creationTimestamp\":null},\"target\":{\"kind\":\"Node\",\"name\":")
            str(cluster.nodes[pod.node].name)
            w.raw("}}")
        case .deleteOptions(let uid):
            if uid.isEmpty {
                w.raw("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Background\"}")
            } else {
                w.raw("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":")
                str(uid)
                w.raw("}}")
            }
        case .statusSuccess:
            w.raw("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":201}")
        case .workload(let a, let child): writeWorkload(a, child: child)
        case .workloadPatch(let a): writeWorkloadPatch(a)
        case .nodeLease(let n): writeNodeLease(n)
        case .leaderLease(let l): writeLeaderLease(l)
        case .nodeStatusPatch(let n, let images): writeNodeStatusPatch(n, images: images)
        case .configMap(let c): writeConfigMap(c)
        case .raw(let b): w.raw(b)
        }
    }

    // MARK: Pods

    mutating func writePodLabels(_ p: Int) {
        let pod = cluster.pods[p]
        let app = cluster.apps[pod.app]
        w.raw(",\"labels\":{")
        w.raw(app.labels)
        switch app.spec.kind {
        case .deployment:
            w.raw(",\"pod-template-hash\":")
            str(app.hash)
        case .daemonSet:
            w.raw(",\"controller-revision-hash\":")
            str(app.hash)
            w.raw(",\"pod-template-generation\":\"")
            w.int(app.generation)
            w.byte(0x22)
        case .statefulSet:
            w.raw(",\"apps.kubernetes.io/pod-index\":\"")
            w.raw(Array(pod.name.suffix(from: app.name.count + 1)))
            w.raw("\",\"controller-revision-hash\":\"")
            w.raw(app.name)
            w.byte(0x2D)
            w.raw(app.hash)
            w.raw("\",\"statefulset.kubernetes.io/pod-name\":")
            str(pod.name)
        case .cronJob:
            w.raw(",\"batch.kubernetes.io/controller-uid\":")
            str(app.ownerUID)
            w.raw(",\"batch.kubernetes.io/job-name\":")
            str(app.ownerName)
            w.raw(",\"controller-uid\":")
            str(app.ownerUID)
            w.raw(",\"job-name\":")
            str(app.ownerName)
        }
        w.byte(0x7D)
    }

    mutating func writeOwnerRef(_ app: AppState) {
        w.raw(",\"ownerReferences\":[{\"apiVersion\":\"")
        w.raw(app.ownerAPIVersion)
        w.raw("\",\"kind\":\"")
        w.raw(app.ownerKind)
        w.raw("\",\"name\":")
        str(app.ownerName)
        w.raw(",\"uid\":")
        str(app.ownerUID)
        w.raw(",\"controller\":true,\"blockOwnerDeletion\":true}]")
    }

    mutating func writeGenerateName(_ app: AppState) {
        guard app.spec.kind != .statefulSet else { return }
        w.raw(",\"generateName\":\"")
        w.raw(app.spec.kind == .daemonSet ? app.name : app.ownerName)
        w.raw("-\"")
    }

    mutating func writePodCreate(_ p: Int) {
        let pod = cluster.pods[p]
        let app = cluster.apps[pod.app]
        w.raw("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{")
        if app.spec.kind == .statefulSet {
            w.raw("\"name\":")
            str(pod.name)
        } else {
            w.raw("\"generateName\":\"")
            w.raw(app.spec.kind == .daemonSet ? app.name : app.ownerName)
            w.raw("-\"")
        }
        w.raw(",\"namespace\":")
        str(app.ns)
        w.raw(",\"creationTimestamp\":null")
        writePodLabels(p)
        writeOwnerRef(app)
        w.raw("},\"spec\":")
        w.raw(app.pod.template)
        w.raw(",\"status\":{}}")
    }

    mutating func writePod(_ p: Int, pending: Bool, deleting: Bool) {
        let pod = cluster.pods[p]
        let app = cluster.apps[pod.app]
        w.raw("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":")
        str(pod.name)
        writeGenerateName(app)
        w.raw(",\"namespace\":")
        str(app.ns)
        w.raw(",\"uid\":")
        str(pod.uid)
        w.raw(",\"resourceVersion\":\"")
        w.int(cluster.resourceVersion)
        w.raw("\",\"creationTimestamp\":")
        time(pod.started)
        if deleting {
            w.raw(",\"deletionTimestamp\":")
            time(nowMicros + 30_000_000)
            w.raw(",\"deletionGracePeriodSeconds\":30")
        }
        writePodLabels(p)
        writeOwnerRef(app)
        w.byte(0x2C)
        w.raw(app.podManagedFields)
        w.raw("},\"spec\":")
        w.raw(app.pod.podHead)
        if !pending {
            w.raw(",\"nodeName\":")
            str(cluster.nodes[pod.node].name)
        }
        w.raw(app.pod.podTail)
        if pending {
            w.raw(",\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}")
            return
        }
        let succeeded = app.spec.kind == .cronJob
        w.raw(succeeded ? ",\"status\":{\"phase\":\"Succeeded\",\"conditions\":[" : ",\"status\":{\"phase\":\"Running\",\"conditions\":[")
        let conditions: [StaticString] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        for (i, type) in conditions.enumerated() {
            w.raw(i == 0 ? "{\"type\":\"" : ",{\"type\":\"")
            w.raw(type)
            w.raw(succeeded && (i == 0 || i == 2 || i == 3) ? "\",\"status\":\"False\",\"lastProbeTime\":null,\"lastTransitionTime\":" : "\",\"status\":\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":")
            time(pod.started + Int64(i) * 1_000_000)
            w.byte(0x7D)
        }
        let host = cluster.nodes[pod.node].ip
        w.raw("],\"hostIP\":")
        str(host)
        w.raw(",\"hostIPs\":[{\"ip\":")
        str(host)
        w.raw("}],\"podIP\":")
        str(pod.ip)
        w.raw(",\"podIPs\":[{\"ip\":")
        str(pod.ip)
        w.raw("}],\"startTime\":")
        time(pod.started)
        w.raw(",\"containerStatuses\":[")
        for (i, c) in app.pod.containers.enumerated() {
            w.raw(i == 0 ? "{\"name\":" : ",{\"name\":")
            w.quoted(Array(c.name.utf8))
            if succeeded {
                w.raw(",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\",\"startedAt\":")
                time(pod.started + 3_000_000)
                w.raw(",\"finishedAt\":")
                time(pod.started + 94_000_000)
                w.raw(",\"containerID\":\"containerd://")
                hexID(64)
                w.raw("\"}},\"lastState\":{},\"ready\":false")
            } else {
                w.raw(",\"state\":{\"running\":{\"startedAt\":")
                time(pod.started + 3_000_000)
                w.raw("}},\"lastState\":{},\"ready\":true")
            }
            w.raw(",\"restartCount\":0,\"image\":")
            w.quoted(Array(c.image.utf8))
            w.raw(",\"imageID\":\"")
            w.raw(Array(c.image.split(separator: ":")[0].utf8))
            w.raw("@sha256:")
            w.raw(app.imageDigest)
            w.raw("\",\"containerID\":\"containerd://")
            hexID(64)
            w.raw(succeeded ? "\",\"started\":false}" : "\",\"started\":true}")
        }
        w.raw("],\"qosClass\":\"Burstable\"}}")
    }

    /// Kubelet's strategic-merge status patch (keys sorted, `$setElementOrder` directives).
    mutating func writePodStatusPatch(_ p: Int) {
        let pod = cluster.pods[p]
        let app = cluster.apps[pod.app]
        w.raw("{\"metadata\":{\"uid\":")
        str(pod.uid)
        w.raw("},\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"PodReadyToStartContainers\"},{\"type\":\"Initialized\"},{\"type\":\"Ready\"},{\"type\":\"ContainersReady\"},{\"type\":\"PodScheduled\"}],\"conditions\":[{\"lastTransitionTime\":")
        time(nowMicros)
        w.raw(",\"status\":\"True\",\"type\":\"Ready\"},{\"lastTransitionTime\":")
        time(nowMicros)
        w.raw(",\"status\":\"True\",\"type\":\"ContainersReady\"}],\"containerStatuses\":[")
        for (i, c) in app.pod.containers.enumerated() {
            w.raw(i == 0 ? "{\"containerID\":\"containerd://" : ",{\"containerID\":\"containerd://")
            hexID(64)
            w.raw("\",\"image\":")
            w.quoted(Array(c.image.utf8))
            w.raw(",\"imageID\":\"")
            w.raw(Array(c.image.split(separator: ":")[0].utf8))
            w.raw("@sha256:")
            w.raw(app.imageDigest)
            let restarted = rng.percent(25)
            if restarted {
                // A container that was OOM-killed and came back: the interesting status patch.
                w.raw("\",\"lastState\":{\"terminated\":{\"containerID\":\"containerd://")
                hexID(64)
                w.raw("\",\"exitCode\":137,\"finishedAt\":")
                time(nowMicros - 12_000_000)
                w.raw(",\"reason\":\"OOMKilled\",\"startedAt\":")
                time(pod.started)
                w.raw("}},\"name\":")
            } else {
                w.raw("\",\"lastState\":{},\"name\":")
            }
            w.quoted(Array(c.name.utf8))
            w.raw(restarted ? ",\"ready\":true,\"restartCount\":1,\"started\":true,\"state\":{\"running\":{\"startedAt\":"
                : ",\"ready\":true,\"restartCount\":0,\"started\":true,\"state\":{\"running\":{\"startedAt\":")
            time(nowMicros - 9_000_000)
            w.raw("}}}")
        }
        w.raw("]}}")
    }

    // MARK: Workloads

    mutating func writeWorkload(_ a: Int, child: Bool) {
        let app = cluster.apps[a]
        let kind = app.spec.kind
        let isJob = child && kind == .cronJob
        let isRS = child && kind == .deployment
        w.raw("{\"kind\":\"")
        w.raw(isRS ? "ReplicaSet" : isJob ? "Job" : kind.kindName)
        w.raw(kind == .cronJob ? "\",\"apiVersion\":\"batch/v1\",\"metadata\":{\"name\":" : "\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":")
        str(child ? app.ownerName : app.name)
        w.raw(",\"namespace\":")
        str(app.ns)
        w.raw(",\"uid\":")
        str(child ? app.ownerUID : app.uid)
        w.raw(",\"resourceVersion\":\"")
        w.int(cluster.resourceVersion)
        w.raw("\",\"generation\":")
        w.int(child ? 1 : app.generation)
        w.raw(",\"creationTimestamp\":")
        if child { time(nowMicros) } else { w.quoted(app.created) }
        w.raw(",\"labels\":{")
        w.raw(app.labels)
        if isRS {
            w.raw(",\"pod-template-hash\":")
            str(app.hash)
            w.raw("},\"annotations\":{\"deployment.kubernetes.io/desired-replicas\":\"")
            w.int(app.spec.replicas)
            w.raw("\",\"deployment.kubernetes.io/max-replicas\":\"")
            w.int(app.spec.replicas + 1)
            w.raw("\",\"deployment.kubernetes.io/revision\":\"")
            w.int(app.generation)
            w.raw("\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":")
            str(app.name)
            w.raw(",\"uid\":")
            str(app.uid)
            w.raw(",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":")
            w.raw(app.childSpec)
            w.raw(",\"status\":{\"replicas\":0}}")
            return
        }
        if isJob {
            w.raw(",\"batch.kubernetes.io/controller-uid\":")
            str(app.ownerUID)
            w.raw(",\"batch.kubernetes.io/job-name\":")
            str(app.ownerName)
            w.raw(",\"controller-uid\":")
            str(app.ownerUID)
            w.raw(",\"job-name\":")
            str(app.ownerName)
            w.raw("},\"annotations\":{\"batch.kubernetes.io/cronjob-scheduled-timestamp\":")
            time(nowMicros)
            w.raw("},\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"name\":")
            str(app.name)
            w.raw(",\"uid\":")
            str(app.uid)
            w.raw(",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":")
            w.raw(app.childSpec)
            w.raw(",\"status\":{}}")
            return
        }
        w.raw("},\"annotations\":{\"argocd.argoproj.io/tracking-id\":\"")
        w.raw(app.ns)
        w.raw(kind == .cronJob ? ":batch/" : ":apps/")
        w.raw(kind.kindName)
        w.byte(0x3A)
        w.raw(app.ns)
        w.byte(0x2F)
        w.raw(app.name)
        if kind == .deployment {
            w.raw("\",\"deployment.kubernetes.io/revision\":\"")
            w.int(app.generation)
        }
        w.raw("\"},")
        w.raw(app.workloadManagedFields)
        w.raw("},\"spec\":")
        w.raw(app.workloadSpec)
        w.raw(",\"status\":")
        let n = kind == .daemonSet ? cluster.nodes.count : app.spec.replicas
        switch kind {
        case .deployment:
            w.raw("{\"observedGeneration\":")
            w.int(app.generation)
            w.raw(",\"replicas\":"); w.int(n)
            w.raw(",\"updatedReplicas\":"); w.int(n)
            w.raw(",\"readyReplicas\":"); w.int(n)
            w.raw(",\"availableReplicas\":"); w.int(n)
            w.raw(",\"conditions\":[{\"type\":\"Available\",\"status\":\"True\",\"lastUpdateTime\":")
            w.quoted(app.created)
            w.raw(",\"lastTransitionTime\":")
            w.quoted(app.created)
            w.raw(",\"reason\":\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum availability.\"},{\"type\":\"Progressing\",\"status\":\"True\",\"lastUpdateTime\":")
            time(nowMicros)
            w.raw(",\"lastTransitionTime\":")
            w.quoted(app.created)
            w.raw(",\"reason\":\"NewReplicaSetAvailable\",\"message\":\"ReplicaSet \\\"")
            w.raw(app.ownerName)
            w.raw("\\\" has successfully progressed.\"}]}}")
        case .daemonSet:
            w.raw("{\"currentNumberScheduled\":"); w.int(n)
            w.raw(",\"numberMisscheduled\":0,\"desiredNumberScheduled\":"); w.int(n)
            w.raw(",\"numberReady\":"); w.int(n)
            w.raw(",\"observedGeneration\":"); w.int(app.generation)
            w.raw(",\"updatedNumberScheduled\":"); w.int(n)
            w.raw(",\"numberAvailable\":"); w.int(n)
            w.raw("}}")
        case .statefulSet:
            w.raw("{\"observedGeneration\":"); w.int(app.generation)
            w.raw(",\"replicas\":"); w.int(n)
            w.raw(",\"readyReplicas\":"); w.int(n)
            w.raw(",\"currentReplicas\":"); w.int(n)
            w.raw(",\"updatedReplicas\":"); w.int(n)
            w.raw(",\"currentRevision\":\""); w.raw(app.name); w.byte(0x2D); w.raw(app.hash)
            w.raw("\",\"updateRevision\":\""); w.raw(app.name); w.byte(0x2D); w.raw(app.hash)
            w.raw("\",\"collisionCount\":0,\"availableReplicas\":"); w.int(n)
            w.raw("}}")
        case .cronJob:
            let minute = nowMicros / 60_000_000 * 60_000_000
            w.raw("{\"lastScheduleTime\":")
            time(minute)
            w.raw(",\"lastSuccessfulTime\":")
            time(minute - 840_000_000)
            w.raw("}}")
        }
    }

    /// kubectl apply's strategic-merge patch: last-applied annotation plus the changed container image.
    mutating func writeWorkloadPatch(_ a: Int) {
        let app = cluster.apps[a]
        w.raw("{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"")
        w.raw(app.lastApplied)
        w.raw(app.spec.kind == .cronJob ? "\"}},\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":"
            : "\"}},\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":")
        str(app.name)
        w.raw("}],\"containers\":[{\"image\":")
        w.quoted(Array(app.spec.image.utf8))
        w.raw(",\"name\":")
        str(app.name)
        w.raw(app.spec.kind == .cronJob ? "}]}}}}}}" : "}]}}}}")
    }

    // MARK: Leases, nodes, configmaps

    mutating func writeNodeLease(_ n: Int) {
        let node = cluster.nodes[n]
        w.raw("{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":")
        str(node.name)
        w.raw(",\"namespace\":\"kube-node-lease\",\"uid\":")
        str(node.leaseUID)
        w.raw(",\"resourceVersion\":\"")
        w.int(cluster.resourceVersion - 1)
        w.raw("\",\"creationTimestamp\":")
        w.quoted(cluster.apps[0].created)
        w.raw(",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":")
        str(node.name)
        w.raw(",\"uid\":")
        str(node.uid)
        w.raw("}],\"managedFields\":[{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"coordination.k8s.io/v1\",\"time\":")
        time(nowMicros - 10_000_000)
        w.raw(",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"")
        w.raw(node.uid)
        w.raw("\\\"}\":{}}},\"f:spec\":{\"f:holderIdentity\":{},\"f:leaseDurationSeconds\":{},\"f:renewTime\":{}}}}]},\"spec\":{\"holderIdentity\":")
        str(node.name)
        w.raw(",\"leaseDurationSeconds\":40,\"renewTime\":")
        time(nowMicros - 1_000, micro: true)
        w.raw("}}")
    }

    mutating func writeLeaderLease(_ l: Int) {
        let lock = cluster.locks[l]
        w.raw("{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":")
        str(lock.name)
        w.raw(",\"namespace\":")
        str(lock.ns)
        w.raw(",\"uid\":")
        str(lock.uid)
        w.raw(",\"resourceVersion\":\"")
        w.int(cluster.resourceVersion - 1)
        w.raw("\",\"creationTimestamp\":")
        w.quoted(cluster.apps[0].created)
        w.raw(",\"managedFields\":[{\"manager\":\"")
        w.raw(l < 2 ? Array(lock.name) : Array("leader-election".utf8))
        w.raw("\",\"operation\":\"Update\",\"apiVersion\":\"coordination.k8s.io/v1\",\"time\":")
        time(nowMicros - 2_000_000)
        w.raw(",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:acquireTime\":{},\"f:holderIdentity\":{},\"f:leaseDurationSeconds\":{},\"f:leaseTransitions\":{},\"f:renewTime\":{}}}}]},\"spec\":{\"holderIdentity\":")
        str(lock.holder)
        w.raw(",\"leaseDurationSeconds\":15,\"acquireTime\":")
        time(configuration.startMicros - 3_600_000_000 * Int64(l + 2), micro: true)
        w.raw(",\"renewTime\":")
        time(nowMicros - 900, micro: true)
        w.raw(",\"leaseTransitions\":")
        w.int(l + 1)
        w.raw("}}")
    }

    mutating func writeNodeStatusPatch(_ n: Int, images: Bool) {
        w.raw("{\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"MemoryPressure\"},{\"type\":\"DiskPressure\"},{\"type\":\"PIDPressure\"},{\"type\":\"Ready\"}],\"conditions\":[")
        let types: [StaticString] = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        for (i, t) in types.enumerated() {
            w.raw(i == 0 ? "{\"lastHeartbeatTime\":" : ",{\"lastHeartbeatTime\":")
            time(nowMicros)
            w.raw(",\"type\":\"")
            w.raw(t)
            w.raw("\"}")
        }
        w.byte(0x5D)
        if images {
            w.byte(0x2C)
            w.raw(cluster.nodeImages)
        }
        w.raw("}}")
    }

    /// Rewrites the "YYYY-MM-DD HH:MM:SS.fffffffff" stamps inside status-like configmap data.
    mutating func refreshConfigMapStamps(_ c: Int) {
        guard !cluster.configMaps[c].stampOffsets.isEmpty else { return }
        var tmp = JSONWriter()
        ts.write(nowMicros, into: &tmp)  // 2026-01-05T00:00:01.123456Z
        var stamp = Array(tmp.bytes.prefix(26))
        stamp[10] = 0x20
        stamp += [0x30, 0x30, 0x30]
        for offset in cluster.configMaps[c].stampOffsets {
            cluster.configMaps[c].data.replaceSubrange(offset..<(offset + stamp.count), with: stamp)
        }
    }

    mutating func writeConfigMap(_ c: Int) {
        refreshConfigMapStamps(c)
        let cm = cluster.configMaps[c]
        w.raw("{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":")
        str(cm.name)
        w.raw(",\"namespace\":")
        str(cm.ns)
        w.raw(",\"uid\":")
        str(cm.uid)
        w.raw(",\"resourceVersion\":\"")
        w.int(cluster.resourceVersion - 1 - rng.below(3_000))
        w.raw("\",\"creationTimestamp\":")
        w.quoted(cm.created)
        w.raw("},\"data\":")
        w.raw(cm.data)
        w.byte(0x7D)
    }
}
