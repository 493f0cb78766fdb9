/// The API resources the synthetic cluster talks about.
///
/// Why a table: request URIs, `objectRef` group/version and error messages all derive from the
/// same (resource, group, version, scope) facts, rendered once to bytes so events only copy them.
enum Resource: Int, CaseIterable {
    case pods, nodes, namespaces, services, endpoints, configmaps, secrets, serviceaccounts, events
    case persistentvolumeclaims, persistentvolumes, limitranges, resourcequotas
    case deployments, replicasets, daemonsets, statefulsets, controllerrevisions, jobs, cronjobs
    case leases, endpointslices, eventsV1, ingresses, ingressclasses, networkpolicies
    case horizontalpodautoscalers, poddisruptionbudgets
    case roles, rolebindings, clusterroles, clusterrolebindings
    case csinodes, csidrivers, storageclasses, volumeattachments, runtimeclasses, priorityclasses
    case tokenreviews, subjectaccessreviews, certificatesigningrequests
    case mutatingwebhookconfigurations, validatingwebhookconfigurations, customresourcedefinitions
    case flowschemas, prioritylevelconfigurations
    case certificates, certificaterequests, applications, servicemonitors, prometheusrules

    struct Info {
        let name: String
        let group: String
        let version: String
        let namespaced: Bool
        /// `/api/v1` or `/apis/<group>/<version>`.
        let pathPrefix: [UInt8]
        /// `{"resource":"pods"` (objectRef opening).
        let refOpen: [UInt8]
        /// `,"apiGroup":"apps","apiVersion":"v1"` (core resources omit apiGroup, as Go's omitempty does).
        let refGroupVersion: [UInt8]
        /// `pods` / `leases.coordination.k8s.io`, as used in Conflict messages.
        let qualified: [UInt8]
        /// `,"group":"apps"` or empty, for Status details.
        let detailsGroup: [UInt8]
        let nameBytes: [UInt8]
    }

    var info: Info { Resource.table[rawValue] }

    private static func make(_ name: String, _ group: String, _ version: String, _ namespaced: Bool) -> Info {
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let resourceName = name
        let gv = (group.isEmpty ? "" : ",\"apiGroup\":\"\(group)\"") + ",\"apiVersion\":\"\(version)\""
        return Info(
            name: resourceName, group: group, version: version, namespaced: namespaced,
            pathPrefix: Array(prefix.utf8),
            refOpen: Array("{\"resource\":\"\(resourceName)\"".utf8),
            refGroupVersion: Array(gv.utf8),
            qualified: Array((group.isEmpty ? resourceName : "\(resourceName).\(group)").utf8),
            detailsGroup: group.isEmpty ? [] : Array(",\"group\":\"\(group)\"".utf8),
            nameBytes: Array(resourceName.utf8))
    }

    static let table: [Info] = allCases.map { r -> Info in
        switch r {
        case .pods: make("pods", "", "v1", true)
        case .nodes: make("nodes", "", "v1", false)
        case .namespaces: make("namespaces", "", "v1", false)
        case .services: make("services", "", "v1", true)
        case .endpoints: make("endpoints", "", "v1", true)
        case .configmaps: make("configmaps", "", "v1", true)
        case .secrets: make("secrets", "", "v1", true)
        case .serviceaccounts: make("serviceaccounts", "", "v1", true)
        case .events: make("events", "", "v1", true)
        case .persistentvolumeclaims: make("persistentvolumeclaims", "", "v1", true)
        case .persistentvolumes: make("persistentvolumes", "", "v1", false)
        case .limitranges: make("limitranges", "", "v1", true)
        case .resourcequotas: make("resourcequotas", "", "v1", true)
        case .deployments: make("deployments", "apps", "v1", true)
        case .replicasets: make("replicasets", "apps", "v1", true)
        case .daemonsets: make("daemonsets", "apps", "v1", true)
        case .statefulsets: make("statefulsets", "apps", "v1", true)
        case .controllerrevisions: make("controllerrevisions", "apps", "v1", true)
        case .jobs: make("jobs", "batch", "v1", true)
        case .cronjobs: make("cronjobs", "batch", "v1", true)
        case .leases: make("leases", "coordination.k8s.io", "v1", true)
        case .endpointslices: make("endpointslices", "discovery.k8s.io", "v1", true)
        case .eventsV1: make("events", "events.k8s.io", "v1", true)
        case .ingresses: make("ingresses", "networking.k8s.io", "v1", true)
        case .ingressclasses: make("ingressclasses", "networking.k8s.io", "v1", false)
        case .networkpolicies: make("networkpolicies", "networking.k8s.io", "v1", true)
        case .horizontalpodautoscalers: make("horizontalpodautoscalers", "autoscaling", "v2", true)
        case .poddisruptionbudgets: make("poddisruptionbudgets", "policy", "v1", true)
        case .roles: make("roles", "rbac.authorization.k8s.io", "v1", true)
        case .rolebindings: make("rolebindings", "rbac.authorization.k8s.io", "v1", true)
        case .clusterroles: make("clusterroles", "rbac.authorization.k8s.io", "v1", false)
        case .clusterrolebindings: make("clusterrolebindings", "rbac.authorization.k8s.io", "v1", false)
        case .csinodes: make("csinodes", "storage.k8s.io", "v1", false)
        case .csidrivers: make("csidrivers", "storage.k8s.io", "v1", false)
        case .storageclasses: make("storageclasses", "storage.k8s.io", "v1", false)
        case .volumeattachments: make("volumeattachments", "storage.k8s.io", "v1", false)
        case .runtimeclasses: make("runtimeclasses", "node.k8s.io", "v1", false)
        case .priorityclasses: make("priorityclasses", "scheduling.k8s.io", "v1", false)
        case .tokenreviews: make("tokenreviews", "authentication.k8s.io", "v1", false)
        case .subjectaccessreviews: make("subjectaccessreviews", "authorization.k8s.io", "v1", false)
        case .certificatesigningrequests: make("certificatesigningrequests", "certificates.k8s.io", "v1", false)
        case .mutatingwebhookconfigurations: make("mutatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", false)
        case .validatingwebhookconfigurations: make("validatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", false)
        case .customresourcedefinitions: make("customresourcedefinitions", "apiextensions.k8s.io", "v1", false)
        case .flowschemas: make("flowschemas", "flowcontrol.apiserver.k8s.io", "v1", false)
        case .prioritylevelconfigurations: make("prioritylevelconfigurations", "flowcontrol.apiserver.k8s.io", "v1", false)
        case .certificates: make("certificates", "cert-manager.io", "v1", true)
        case .certificaterequests: make("certificaterequests", "cert-manager.io", "v1", true)
        case .applications: make("applications", "argoproj.io", "v1alpha1", true)
        case .servicemonitors: make("servicemonitors", "monitoring.coreos.com", "v1", true)
        case .prometheusrules: make("prometheusrules", "monitoring.coreos.com", "v1", true)
        }
    }
}
