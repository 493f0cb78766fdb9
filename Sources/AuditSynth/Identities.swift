/// A client of the API server with its pre-rendered audit fragments.
///
/// Why pre-rendered: every event carries `user`, `sourceIPs` and `userAgent`; for in-cluster
/// service accounts `user.extra` alone is ~350 bytes. Rendering them once per identity (and again
/// only when a pod is replaced) keeps per-event work to a couple of copies.
struct Actor {
    enum Kind: Equatable {
        case node(Int)
        case controlPlane
        case controller
        case pod(Int)
        case human
        case anonymous
    }

    var kind: Kind
    /// Escaped username, for "User \"...\" cannot ..." messages.
    var username: [UInt8]
    /// `"user":{...}` (no surrounding commas).
    var user: [UInt8]
    /// `,"sourceIPs":["..."],"userAgent":"..."`.
    var client: [UInt8]
    /// Escaped `authorization.k8s.io/reason` for allowed requests.
    var reason: [UInt8]
}

/// Builders for the identity shapes real clusters show in `user`.
enum Identities {
    private static func q(_ s: String) -> String { JSONWriter.quote(s) }

    static func user(_ name: String, uid: String? = nil, groups: [String], extra: [(String, String)] = []) -> [UInt8] {
        var s = "\"user\":{\"username\":\(q(name))"
        if let uid { s += ",\"uid\":\(q(uid))" }
        s += ",\"groups\":[" + groups.map(q).joined(separator: ",") + "]"
        if !extra.isEmpty {
            // Go encodes map keys sorted; callers pass them sorted already.
            s += ",\"extra\":{" + extra.map { "\(q($0.0)):[\(q($0.1))]" }.joined(separator: ",") + "}"
        }
        return Array((s + "}").utf8)
    }

    static func client(ip: String, userAgent: String) -> [UInt8] {
        Array(",\"sourceIPs\":[\(q(ip))],\"userAgent\":\(q(userAgent))".utf8)
    }

    static func rbac(_ bindingKind: String, _ binding: String, roleKind: String, _ role: String, to subjectKind: String, _ subject: String) -> [UInt8] {
        JSONWriter.escape("RBAC: allowed by \(bindingKind) \"\(binding)\" of \(roleKind) \"\(role)\" to \(subjectKind) \"\(subject)\"")
    }

    static let kubeletUA = "kubelet/\(Catalog.k8sVersion) (linux/amd64) kubernetes/\(Catalog.gitCommit)"

    /// The brief's canonical node reason; used for cluster-scoped reads kubelets make.
    static let nodeRBACReason = rbac("ClusterRoleBinding", "system:node", roleKind: "ClusterRole", "system:node", to: "Group", "system:nodes")

    static func node(index: Int, name: String, ip: String) -> Actor {
        Actor(
            kind: .node(index), username: JSONWriter.escape("system:node:\(name)"),
            user: user("system:node:\(name)", groups: ["system:nodes", "system:authenticated"]),
            client: client(ip: ip, userAgent: kubeletUA), reason: [])
    }

    static let controlPlaneIPs = ["10.0.0.12", "10.0.0.45", "10.0.0.78"]

    static func controlPlaneUser(_ name: String, userAgent: String, ip: String) -> Actor {
        Actor(
            kind: .controlPlane, username: JSONWriter.escape(name),
            user: user(name, groups: ["system:authenticated"]),
            client: client(ip: ip, userAgent: userAgent),
            reason: rbac("ClusterRoleBinding", name, roleKind: "ClusterRole", name, to: "User", name))
    }

    static func controllerSA(_ name: String, uid: String, jti: String, ip: String) -> Actor {
        let username = "system:serviceaccount:kube-system:\(name)"
        return Actor(
            kind: .controller, username: JSONWriter.escape(username),
            user: user(username, uid: uid, groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
                       extra: [("authentication.kubernetes.io/credential-id", "JTI=\(jti)")]),
            client: client(ip: ip, userAgent: "kube-controller-manager/\(Catalog.k8sVersion) (linux/amd64) kubernetes/\(Catalog.gitCommit)/\(username)"),
            reason: rbac("ClusterRoleBinding", "system:controller:\(name)", roleKind: "ClusterRole", "system:controller:\(name)",
                         to: "ServiceAccount", "\(name)/kube-system"))
    }

    /// A pod's bound service-account token: `user.extra` carries the pod and node it is bound to.
    static func podSA(podIndex: Int, app: AppSpec, saUID: String, jti: String, podName: String, podUID: String,
                      nodeName: String, nodeUID: String, ip: String) -> Actor {
        let sa = app.serviceAccountName
        let ns = app.namespace
        let username = "system:serviceaccount:\(ns):\(sa)"
        let reason = app.role.cluster
            ? rbac("ClusterRoleBinding", app.role.name, roleKind: "ClusterRole", app.role.name, to: "ServiceAccount", "\(sa)/\(ns)")
            : rbac("RoleBinding", "\(app.role.name)/\(ns)", roleKind: "Role", app.role.name, to: "ServiceAccount", "\(sa)/\(ns)")
        return Actor(
            kind: .pod(podIndex), username: JSONWriter.escape(username),
            user: user(username, uid: saUID, groups: ["system:serviceaccounts", "system:serviceaccounts:\(ns)", "system:authenticated"],
                       extra: [("authentication.kubernetes.io/credential-id", "JTI=\(jti)"),
                               ("authentication.kubernetes.io/node-name", nodeName),
                               ("authentication.kubernetes.io/node-uid", nodeUID),
                               ("authentication.kubernetes.io/pod-name", podName),
                               ("authentication.kubernetes.io/pod-uid", podUID)]),
            client: client(ip: ip, userAgent: app.userAgent ?? "\(app.name)/v0.0.0 (linux/amd64) kubernetes/$Format"),
            reason: reason)
    }

    struct Human {
        var name: String
        var groups: [String]
        var ip: String
        var userAgent: String
        var reason: [UInt8]
        /// Admins may read anything; developers get 403 outside their namespaces.
        var admin: Bool
        var homeNamespace: String
    }

    static let humans: [Human] = [
        Human(name: "alice@example.com", groups: ["oidc:platform-admins", "system:authenticated"], ip: "203.0.113.24",
              userAgent: "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350",
              reason: rbac("ClusterRoleBinding", "oidc-platform-admins", roleKind: "ClusterRole", "cluster-admin", to: "Group", "oidc:platform-admins"),
              admin: true, homeNamespace: "kube-system"),
        Human(name: "bob@example.com", groups: ["oidc:developers", "oidc:team-payments", "system:authenticated"], ip: "198.51.100.73",
              userAgent: "kubectl/v1.29.6 (linux/amd64) kubernetes/062798d",
              reason: rbac("RoleBinding", "team-payments-edit/payments", roleKind: "ClusterRole", "edit", to: "Group", "oidc:team-payments"),
              admin: false, homeNamespace: "payments"),
        Human(name: "carol@example.com", groups: ["oidc:sre", "system:authenticated"], ip: "203.0.113.131",
              userAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
              reason: rbac("ClusterRoleBinding", "oidc-sre-view", roleKind: "ClusterRole", "view", to: "Group", "oidc:sre"),
              admin: false, homeNamespace: "web"),
        Human(name: "dave@example.com", groups: ["oidc:developers", "oidc:team-checkout", "system:authenticated"], ip: "198.51.100.9",
              userAgent: "k9s/v0.32.5 (darwin/arm64) kubernetes/$Format",
              reason: rbac("RoleBinding", "team-checkout-edit/checkout", roleKind: "ClusterRole", "edit", to: "Group", "oidc:team-checkout"),
              admin: false, homeNamespace: "checkout"),
    ]

    static func human(_ h: Human) -> Actor {
        Actor(kind: .human, username: JSONWriter.escape(h.name), user: user(h.name, groups: h.groups),
              client: client(ip: h.ip, userAgent: h.userAgent), reason: h.reason)
    }

    /// Load-balancer health checks of /readyz and /livez arrive unauthenticated.
    static func anonymous(ip: String) -> Actor {
        Actor(kind: .anonymous, username: JSONWriter.escape("system:anonymous"),
              user: user("system:anonymous", groups: ["system:unauthenticated"]),
              client: client(ip: ip, userAgent: "ELB-HealthChecker/2.0"),
              reason: rbac("ClusterRoleBinding", "system:public-info-viewer", roleKind: "ClusterRole", "system:public-info-viewer",
                           to: "Group", "system:unauthenticated"))
    }

    /// kube-apiserver's own loopback client (flow-control config, its lease, namespace checks).
    static func apiserver(uid: String) -> Actor {
        Actor(kind: .controlPlane, username: JSONWriter.escape("system:apiserver"),
              user: user("system:apiserver", uid: uid, groups: ["system:authenticated", "system:masters"]),
              client: client(ip: "::1", userAgent: "kube-apiserver/\(Catalog.k8sVersion) (linux/amd64) kubernetes/\(Catalog.gitCommit)"),
              reason: [])
    }

    /// Controllers run by kube-controller-manager under their own service accounts, with the
    /// resources each watches (list/watch/get traffic) — the bulk of control-plane reads.
    static let controllers: [(name: String, watches: [Resource])] = [
        ("replicaset-controller", [.replicasets, .pods]),
        ("deployment-controller", [.deployments, .replicasets, .pods]),
        ("daemon-set-controller", [.daemonsets, .pods, .nodes, .controllerrevisions]),
        ("statefulset-controller", [.statefulsets, .pods, .persistentvolumeclaims, .controllerrevisions]),
        ("job-controller", [.jobs, .pods]),
        ("cronjob-controller", [.cronjobs, .jobs]),
        ("endpointslice-controller", [.services, .pods, .nodes, .endpointslices]),
        ("endpoint-controller", [.services, .pods, .endpoints]),
        ("endpointslicemirroring-controller", [.endpoints, .endpointslices, .services]),
        ("namespace-controller", [.namespaces]),
        ("generic-garbage-collector", [.pods, .replicasets, .deployments, .jobs, .endpointslices, .leases, .events, .configmaps, .controllerrevisions, .rolebindings]),
        ("node-controller", [.nodes, .pods, .leases, .daemonsets]),
        ("horizontal-pod-autoscaler", [.horizontalpodautoscalers, .deployments]),
        ("resourcequota-controller", [.resourcequotas, .pods, .services, .persistentvolumeclaims, .configmaps]),
        ("ttl-after-finished-controller", [.jobs]),
        ("service-account-controller", [.serviceaccounts, .namespaces]),
        ("root-ca-cert-publisher", [.configmaps, .namespaces]),
        ("disruption-controller", [.poddisruptionbudgets, .pods, .deployments, .statefulsets, .replicasets]),
        ("attachdetach-controller", [.nodes, .pods, .persistentvolumes, .persistentvolumeclaims, .volumeattachments, .csinodes, .csidrivers]),
        ("persistent-volume-binder", [.persistentvolumeclaims, .persistentvolumes, .storageclasses, .nodes]),
        ("pvc-protection-controller", [.persistentvolumeclaims, .pods]),
        ("clusterrole-aggregation-controller", [.clusterroles]),
    ]
}
