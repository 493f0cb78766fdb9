/// Start-up rendering of the static parts of workload objects: specs that wrap the pod template
/// (`spec.template.spec`, or `spec.jobTemplate.spec.template.spec` for CronJobs), managedFields
/// and kubectl's last-applied-configuration. Per event only metadata and status are written.
enum WorkloadRenderer {
    private static func q(_ s: String) -> String { JSONWriter.quote(s) }

    static func specs(_ app: AppSpec, template: [UInt8], labels: String, hash: String,
                      childName: String, childUID: String) -> (spec: [UInt8], child: [UInt8]) {
        let t = String(decoding: template, as: UTF8.self)
        let selector = "\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\(q(app.name))}}"
        let restarted = ",\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2025-12-18T10:02:11Z\"}"
        func tmpl(_ extraLabels: String = "", annotations: String = "") -> String {
            "\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\(labels)\(extraLabels)}\(annotations)},\"spec\":\(t)}"
        }
        switch app.kind {
        case .deployment:
            let spec = "{\"replicas\":\(app.replicas),\(selector),\(tmpl(annotations: restarted)),"
                + "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},"
                + "\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600}"
            let rsSelector = "\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\(q(app.name)),\"pod-template-hash\":\(q(hash))}}"
            let child = "{\"replicas\":\(app.replicas),\(rsSelector),\(tmpl(",\"pod-template-hash\":\(q(hash))", annotations: restarted))}"
            return (Array(spec.utf8), Array(child.utf8))
        case .daemonSet:
            let spec = "{\(selector),\(tmpl()),\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,\"maxSurge\":0}},"
                + "\"revisionHistoryLimit\":10}"
            return (Array(spec.utf8), [])
        case .statefulSet:
            let claims = app.mounts.compactMap { m -> String? in
                guard case .pvc(let n) = m.source else { return nil }
                return "{\"kind\":\"PersistentVolumeClaim\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\(q(n)),\"creationTimestamp\":null},"
                    + "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"50Gi\"}},\"storageClassName\":\"gp3\","
                    + "\"volumeMode\":\"Filesystem\"},\"status\":{\"phase\":\"Pending\"}}"
            }
            let spec = "{\"replicas\":\(app.replicas),\(selector),\(tmpl()),"
                + (claims.isEmpty ? "" : "\"volumeClaimTemplates\":[\(claims.joined(separator: ","))],")
                + "\"serviceName\":\(q(app.name)),\"podManagementPolicy\":\"OrderedReady\","
                + "\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":0}},\"revisionHistoryLimit\":10,"
                + "\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":\"Retain\",\"whenScaled\":\"Retain\"}}"
            return (Array(spec.utf8), [])
        case .cronJob:
            let spec = "{\"schedule\":\(q(app.schedule ?? "0 * * * *")),\"concurrencyPolicy\":\"Forbid\",\"suspend\":false,"
                + "\"jobTemplate\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"backoffLimit\":2,\(tmpl())}},"
                + "\"successfulJobsHistoryLimit\":3,\"failedJobsHistoryLimit\":1}"
            let jobLabels = ",\"batch.kubernetes.io/controller-uid\":\(q(childUID)),\"batch.kubernetes.io/job-name\":\(q(childName)),"
                + "\"controller-uid\":\(q(childUID)),\"job-name\":\(q(childName))"
            let child = "{\"parallelism\":1,\"completions\":1,\"backoffLimit\":2,"
                + "\"selector\":{\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\(q(childUID))}},\"manualSelector\":false,"
                + "\(tmpl(jobLabels)),\"completionMode\":\"NonIndexed\",\"suspend\":false,\"podReplacementPolicy\":\"TerminatingOrFailed\"}"
            return (Array(spec.utf8), Array(child.utf8))
        }
    }

    private static func containerFields(_ name: String, ports: [Port], env: Bool) -> String {
        var s = "\(q("k:{\"name\":\"\(name)\"}")):{\".\":{},\"f:image\":{},\"f:imagePullPolicy\":{},\"f:name\":{},"
        if !ports.isEmpty {
            s += "\"f:ports\":{\".\":{}," + ports.map {
                "\(q("k:{\"containerPort\":\($0.port),\"protocol\":\"\($0.proto)\"}")):{\".\":{},\"f:containerPort\":{},\"f:name\":{},\"f:protocol\":{}}"
            }.joined(separator: ",") + "},"
        }
        if env { s += "\"f:env\":{\".\":{}},"}
        s += "\"f:resources\":{\".\":{},\"f:limits\":{},\"f:requests\":{}},\"f:securityContext\":{},"
        s += "\"f:terminationMessagePath\":{},\"f:terminationMessagePolicy\":{}}"
        return s
    }

    private static func specFields(_ app: AppSpec) -> String {
        var containers = [containerFields(app.name, ports: app.ports, env: !app.env.isEmpty)]
        if let s = app.sidecar { containers.append(containerFields(s.name, ports: [], env: false)) }
        return "\"f:containers\":{" + containers.joined(separator: ",") + "},\"f:dnsPolicy\":{},\"f:nodeSelector\":{},"
            + "\"f:restartPolicy\":{},\"f:schedulerName\":{},\"f:securityContext\":{},\"f:serviceAccount\":{},\"f:serviceAccountName\":{},"
            + "\"f:terminationGracePeriodSeconds\":{}" + (app.mounts.isEmpty ? "" : ",\"f:volumes\":{\".\":{}}")
    }

    static func workloadManagedFields(_ app: AppSpec, created: String) -> [UInt8] {
        let apiVersion = app.kind == .cronJob ? "batch/v1" : "apps/v1"
        let labels = "\"f:labels\":{\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{}}"
        let template = "\"f:template\":{\"f:metadata\":{\(labels)},\"f:spec\":{\(specFields(app))}}"
        let spec: String
        switch app.kind {
        case .cronJob: spec = "\"f:concurrencyPolicy\":{},\"f:jobTemplate\":{\"f:spec\":{\"f:backoffLimit\":{},\(template)}},\"f:schedule\":{}"
        case .daemonSet: spec = "\"f:selector\":{},\(template),\"f:updateStrategy\":{}"
        default: spec = "\"f:replicas\":{},\"f:selector\":{},\(template)"
        }
        let status: String
        switch app.kind {
        case .deployment:
            status = "\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:deployment.kubernetes.io/revision\":{}}},\"f:status\":{\"f:availableReplicas\":{},"
                + "\"f:conditions\":{\".\":{},\"k:{\\\"type\\\":\\\"Available\\\"}\":{\".\":{},\"f:lastTransitionTime\":{},\"f:lastUpdateTime\":{},\"f:message\":{},\"f:reason\":{},\"f:status\":{},\"f:type\":{}},"
                + "\"k:{\\\"type\\\":\\\"Progressing\\\"}\":{\".\":{},\"f:lastTransitionTime\":{},\"f:lastUpdateTime\":{},\"f:message\":{},\"f:reason\":{},\"f:status\":{},\"f:type\":{}}},"
                + "\"f:observedGeneration\":{},\"f:readyReplicas\":{},\"f:replicas\":{},\"f:updatedReplicas\":{}}"
        case .daemonSet:
            status = "\"f:status\":{\"f:currentNumberScheduled\":{},\"f:desiredNumberScheduled\":{},\"f:numberAvailable\":{},\"f:numberReady\":{},\"f:observedGeneration\":{},\"f:updatedNumberScheduled\":{}}"
        case .statefulSet:
            status = "\"f:status\":{\"f:availableReplicas\":{},\"f:collisionCount\":{},\"f:currentReplicas\":{},\"f:currentRevision\":{},\"f:observedGeneration\":{},\"f:readyReplicas\":{},\"f:replicas\":{},\"f:updateRevision\":{},\"f:updatedReplicas\":{}}"
        case .cronJob:
            status = "\"f:status\":{\"f:lastScheduleTime\":{},\"f:lastSuccessfulTime\":{}}"
        }
        let s = "\"managedFields\":[{\"manager\":\"argocd-controller\",\"operation\":\"Apply\",\"apiVersion\":\(q(apiVersion)),\"time\":\(q(created)),"
            + "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\(labels)},\"f:spec\":{\(spec)}}},"
            + "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\(q(apiVersion)),\"time\":\(q(created)),"
            + "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\(status)},\"subresource\":\"status\"}]"
        return Array(s.utf8)
    }

    static func podManagedFields(_ app: AppSpec, rendered: RenderedPodSpec, ownerUID: String, created: String) -> [UInt8] {
        let statuses = rendered.containers.map { "\(q("k:{\"name\":\"\($0.name)\"}")):{}" }.joined(separator: ",")
        let s = "\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\(q(created)),"
            + "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:generateName\":{},\"f:labels\":{\".\":{},\"f:app.kubernetes.io/name\":{},"
            + "\"f:app.kubernetes.io/part-of\":{}},\"f:ownerReferences\":{\".\":{},\(q("k:{\"uid\":\"\(ownerUID)\"}")):{}}},"
            + "\"f:spec\":{\(specFields(app)),\"f:enableServiceLinks\":{}}}},"
            + "{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\(q(created)),\"fieldsType\":\"FieldsV1\","
            + "\"fieldsV1\":{\"f:status\":{\"f:conditions\":{\"k:{\\\"type\\\":\\\"ContainersReady\\\"}\":{\".\":{},\"f:lastProbeTime\":{},"
            + "\"f:lastTransitionTime\":{},\"f:status\":{},\"f:type\":{}},\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:lastProbeTime\":{},"
            + "\"f:lastTransitionTime\":{},\"f:status\":{},\"f:type\":{}}},\"f:containerStatuses\":{\(statuses)},\"f:hostIP\":{},\"f:hostIPs\":{},"
            + "\"f:phase\":{},\"f:podIP\":{},\"f:podIPs\":{\".\":{},\"k:{\\\"ip\\\":\\\"\\\"}\":{\".\":{},\"f:ip\":{}}},\"f:startTime\":{}}},"
            + "\"subresource\":\"status\"}]"
        return Array(s.utf8)
    }

    /// kubectl's `last-applied-configuration` annotation: compact JSON with sorted keys and a
    /// trailing newline, itself stored as a JSON string (so quotes appear as `\"`).
    static func lastApplied(_ app: AppSpec) -> [UInt8] {
        let kind = "\(app.kind.kindName)"
        let apiVersion = app.kind == .cronJob ? "batch/v1" : "apps/v1"
        let labels = "{\"app.kubernetes.io/name\":\(q(app.name)),\"app.kubernetes.io/part-of\":\(q(app.namespace))}"
        let ports = app.ports.map { "{\"containerPort\":\($0.port),\"name\":\(q($0.name)),\"protocol\":\(q($0.proto))}" }
        var limits: [String] = []
        if let c = app.cpuLimit { limits.append("\"cpu\":\(q(c))") }
        if let m = app.memoryLimit { limits.append("\"memory\":\(q(m))") }
        let container = "{\"image\":\(q(app.image)),\"name\":\(q(app.name)),"
            + (ports.isEmpty ? "" : "\"ports\":[\(ports.joined(separator: ","))],")
            + "\"resources\":{" + (limits.isEmpty ? "" : "\"limits\":{\(limits.joined(separator: ","))},")
            + "\"requests\":{\"cpu\":\(q(app.cpuRequest)),\"memory\":\(q(app.memoryRequest))}}}"
        let podTemplate = "\"template\":{\"metadata\":{\"labels\":\(labels)},\"spec\":{\"containers\":[\(container)],\"serviceAccountName\":\(q(app.serviceAccountName))}}"
        let spec: String
        switch app.kind {
        case .cronJob: spec = "{\"jobTemplate\":{\"spec\":{\(podTemplate)}},\"schedule\":\(q(app.schedule ?? ""))}"
        case .daemonSet: spec = "{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\(q(app.name))}},\(podTemplate)}"
        default: spec = "{\"replicas\":\(app.replicas),\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\(q(app.name))}},\(podTemplate)}"
        }
        let doc = "{\"apiVersion\":\(q(apiVersion)),\"kind\":\(q(kind)),\"metadata\":{\"annotations\":{},\"labels\":\(labels),"
            + "\"name\":\(q(app.name)),\"namespace\":\(q(app.namespace))},\"spec\":\(spec)}\n"
        return JSONWriter.escape(doc)
    }
}
