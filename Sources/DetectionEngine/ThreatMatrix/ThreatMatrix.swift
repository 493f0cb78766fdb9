// The Kubernetes threat matrix, as kaudit maps rules to it.
//
// Source: the project's reference table ../shared/reference/threat-matrix.tsv (technique,
// tactics, ATT&CK ids, audit visibility and audit signal per technique). This file was
// generated once from it; `shortName` was added by hand for narrow terminals. Edit the
// two together. There is no MS-TA9032: the matrix retired that id.

/// The techniques of the Kubernetes threat matrix, with how much of each the audit log shows.
/// The one table of valid `threat_matrix` ids: rule loading checks ids against it and
/// `kaudit matrix` draws it.
public enum ThreatMatrix {
    /// The matrix's tactics, in its column order.
    public enum Tactic: String, Sendable, CaseIterable {
        case initialAccess = "Initial Access"
        case execution = "Execution"
        case persistence = "Persistence"
        case privilegeEscalation = "Privilege Escalation"
        case defenseEvasion = "Defense Evasion"
        case credentialAccess = "Credential Access"
        case discovery = "Discovery"
        case lateralMovement = "Lateral Movement"
        case collection = "Collection"
        case impact = "Impact"
    }

    /// How much of a technique an audit log can show.
    public enum Visibility: String, Sendable, CaseIterable {
        /// The API request that carries out the technique is recorded.
        case yes
        /// Only a proxy or a part of it is recorded (or it needs enrichment).
        case partial
        /// It happens outside the API server; at most its follow-on activity is recorded.
        case no
    }

    public struct Technique: Sendable {
        /// `MS-TA9006`.
        public let id: String
        public let name: String
        /// At most 20 characters, for grid cells.
        public let shortName: String
        public let tactics: [Tactic]
        /// ATT&CK technique ids as the matrix lists them (`T1609`).
        public let attack: [String]
        public let visibility: Visibility
        /// The qualification the reference gives with the visibility ("Request level"), or "".
        public let visibilityNote: String
        /// What in the audit log shows the technique.
        public let auditSignal: String
    }

    /// Every technique, in id order.
    public static let techniques: [Technique] = [
        Technique(
            id: "MS-TA9001", name: "Using cloud credentials", shortName: "Cloud credentials",
            tactics: [.initialAccess], attack: ["T1078.004"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Cloud-mapped identities (`user.username` like `arn:aws:…`, `…@…gserviceaccount.com`, AAD) from a new `sourceIPs`/`userAgent`; only anomaly-based"),
        Technique(
            id: "MS-TA9002", name: "Compromised image in registry", shortName: "Compromised image",
            tactics: [.initialAccess], attack: ["T1195.002", "T1525"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "`pods`/workload create: `requestObject.spec[.template.spec].containers[].image` not in the allowed registries"),
        Technique(
            id: "MS-TA9003", name: "Kubeconfig file", shortName: "Kubeconfig file",
            tactics: [.initialAccess], attack: [],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Known human identity from a new IP/ASN/UA; certificate-based users"),
        Technique(
            id: "MS-TA9004", name: "Application vulnerability", shortName: "App vulnerability",
            tactics: [.initialAccess], attack: ["T1190"],
            visibility: .no, visibilityNote: "app",
            auditSignal: "Follow-on only: pod SA (`system:serviceaccount:*`, `user.extra[\"authentication.kubernetes.io/pod-name\"]`) making unusual calls"),
        Technique(
            id: "MS-TA9005", name: "Exposed sensitive interfaces", shortName: "Exposed interfaces",
            tactics: [.initialAccess, .discovery], attack: ["T1133"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "`services` create/patch with `spec.type` NodePort/LoadBalancer; ingress create; dashboard SA activity"),
        Technique(
            id: "MS-TA9006", name: "Exec into container", shortName: "Exec into container",
            tactics: [.execution], attack: ["T1609"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`objectRef.resource=pods, subresource in (exec, attach)`, verb `create` (or `get` on EKS websocket), stage ResponseStarted/Complete, decision allow; argv in `requestURI` `command=` params (EKS) or `requestObject.command` (GKE/AKS)"),
        Technique(
            id: "MS-TA9007", name: "bash/cmd inside container", shortName: "Shell in container",
            tactics: [.execution], attack: ["T1059"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Only when started through exec: shell in decoded `command=` argv"),
        Technique(
            id: "MS-TA9008", name: "New container", shortName: "New container",
            tactics: [.execution], attack: ["T1610"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "create on `pods`, `deployments`, `daemonsets`, `statefulsets`, `replicasets`, `jobs`, `cronjobs` by non-controller identities"),
        Technique(
            id: "MS-TA9009", name: "Application exploit (RCE)", shortName: "App exploit (RCE)",
            tactics: [.execution], attack: ["T1190"],
            visibility: .no, visibilityNote: "",
            auditSignal: "Follow-on SA activity only"),
        Technique(
            id: "MS-TA9010", name: "SSH server running inside container", shortName: "SSH server",
            tactics: [.execution], attack: [],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Pod spec `containerPort: 22`, sshd in command/image; service targeting 22"),
        Technique(
            id: "MS-TA9011", name: "Sidecar injection", shortName: "Sidecar injection",
            tactics: [.execution], attack: ["T1610"],
            visibility: .yes, visibilityNote: "needs RequestResponse or state",
            auditSignal: "`patch/update` on apps workloads where `spec.template.spec.containers` grows; a JSON-patch body adding `/spec/template/spec/containers/-`"),
        Technique(
            id: "MS-TA9012", name: "Backdoor container", shortName: "Backdoor container",
            tactics: [.persistence], attack: ["T1543"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "create of `daemonsets`/`deployments` (especially in kube-system, or with privileged templates)"),
        Technique(
            id: "MS-TA9013", name: "Writable hostPath mount", shortName: "Writable hostPath",
            tactics: [.persistence, .privilegeEscalation, .lateralMovement], attack: ["T1611"],
            visibility: .yes, visibilityNote: "Request level",
            auditSignal: "`volumes[].hostPath.path` plus `volumeMounts[].readOnly != true` in pod/template spec"),
        Technique(
            id: "MS-TA9014", name: "Kubernetes CronJob", shortName: "CronJob",
            tactics: [.persistence], attack: ["T1053.007"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`cronjobs` (and `jobs`) create/patch, `apiGroup=batch`"),
        Technique(
            id: "MS-TA9015", name: "Malicious admission controller", shortName: "Admission controller",
            tactics: [.persistence, .credentialAccess], attack: ["T1546"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "create/update/patch `mutatingwebhookconfigurations`/`validatingwebhookconfigurations` (`admissionregistration.k8s.io`)"),
        Technique(
            id: "MS-TA9016", name: "Container service account", shortName: "Service account",
            tactics: [.credentialAccess, .lateralMovement, .persistence], attack: ["T1528"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "SA identities from non-pod IPs or new UAs; `serviceaccounts/token` create (TokenRequest); SA created; `secrets` of type `kubernetes.io/service-account-token` created"),
        Technique(
            id: "MS-TA9017", name: "Static pods", shortName: "Static pods",
            tactics: [.persistence], attack: [],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Mirror pod create by `system:node:<n>` with annotation `kubernetes.io/config.mirror` / `config.source=file`; the manifest write itself is invisible"),
        Technique(
            id: "MS-TA9018", name: "Privileged container", shortName: "Privileged container",
            tactics: [.privilegeEscalation], attack: ["T1610"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`securityContext.privileged=true` (containers/init/ephemeral, and templates); `capabilities.add` (SYS_ADMIN…); hostPID/hostIPC/hostNetwork"),
        Technique(
            id: "MS-TA9019", name: "Cluster-admin binding", shortName: "Cluster-admin bind",
            tactics: [.privilegeEscalation], attack: ["T1078.003"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`clusterrolebindings`/`rolebindings` create with `requestObject.roleRef.name=cluster-admin` (or other high-privilege roles); `bind`/`escalate` verbs"),
        Technique(
            id: "MS-TA9020", name: "Access cloud resources", shortName: "Cloud resources",
            tactics: [.privilegeEscalation, .lateralMovement], attack: ["T1078.004"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "hostPath to `/etc/kubernetes/azure.json`; hostNetwork pods (IMDS reachability); SA annotations for IRSA/Workload Identity changed"),
        Technique(
            id: "MS-TA9021", name: "Clear container logs", shortName: "Clear container logs",
            tactics: [.defenseEvasion], attack: ["T1070"],
            visibility: .no, visibilityNote: "",
            auditSignal: "In-container file ops; only an exec argv proxy (`rm`/`truncate` of logs)"),
        Technique(
            id: "MS-TA9022", name: "Delete Kubernetes events", shortName: "Delete events",
            tactics: [.defenseEvasion], attack: ["T1070"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`delete`/`deletecollection` on `events` (core v1 and `events.k8s.io`)"),
        Technique(
            id: "MS-TA9023", name: "Pod / container name similarity", shortName: "Name similarity",
            tactics: [.defenseEvasion], attack: ["T1036.005"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "Pod create in kube-system by a non-controller user, with a controller-like name (`-<hash>-<5char>`) and **no `metadata.ownerReferences`**"),
        Technique(
            id: "MS-TA9024", name: "Connect from proxy server", shortName: "From proxy server",
            tactics: [.defenseEvasion], attack: ["T1090"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "`sourceIPs` in Tor/VPN/proxy lists (needs enrichment)"),
        Technique(
            id: "MS-TA9025", name: "List Kubernetes secrets", shortName: "List secrets",
            tactics: [.credentialAccess], attack: ["T1552.007"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`secrets` list/watch/get; cluster-wide `list /api/v1/secrets`; many distinct names per identity"),
        Technique(
            id: "MS-TA9026", name: "Mount service principal", shortName: "Service principal",
            tactics: [.credentialAccess], attack: ["T1552.001"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "hostPath to `/etc/kubernetes` (azure.json) in pod spec"),
        Technique(
            id: "MS-TA9027", name: "Application credentials in config files", shortName: "Creds in config",
            tactics: [.credentialAccess, .lateralMovement], attack: ["T1552"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "get/list of configmaps/pods (env) by unusual identities; configmap create/update with credential-like keys (Request level)"),
        Technique(
            id: "MS-TA9028", name: "Access Managed Identity credentials", shortName: "Managed identity",
            tactics: [.credentialAccess], attack: ["T1552.005"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Exec argv hitting `169.254.169.254` / `metadata.google.internal`"),
        Technique(
            id: "MS-TA9029", name: "Access Kubernetes API server", shortName: "API server access",
            tactics: [.discovery], attack: ["T1613"],
            visibility: .yes, visibilityNote: "aggregation",
            auditSignal: "Bursts of get/list/watch across many resource types; `selfsubjectaccessreviews`/`selfsubjectrulesreviews`; 403 spikes"),
        Technique(
            id: "MS-TA9030", name: "Access Kubelet API", shortName: "Kubelet API",
            tactics: [.discovery], attack: ["T1613"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Only when proxied: `nodes/proxy` subresource (URI `/api/v1/nodes/<n>/proxy/...`); direct :10250/:10255 is invisible"),
        Technique(
            id: "MS-TA9031", name: "Network mapping", shortName: "Network mapping",
            tactics: [.discovery], attack: ["T1046"],
            visibility: .no, visibilityNote: "",
            auditSignal: "–"),
        Technique(
            id: "MS-TA9033", name: "Instance Metadata API", shortName: "Instance metadata",
            tactics: [.discovery], attack: ["T1552.005"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Exec argv only"),
        Technique(
            id: "MS-TA9034", name: "Cluster internal networking", shortName: "Internal networking",
            tactics: [.lateralMovement], attack: ["T1210"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "`networkpolicies` delete/patch (removal of isolation)"),
        Technique(
            id: "MS-TA9035", name: "CoreDNS poisoning", shortName: "CoreDNS poisoning",
            tactics: [.lateralMovement], attack: ["T1557"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "`configmaps` `coredns`/`kube-dns`/`coredns-custom` in kube-system update/patch/delete"),
        Technique(
            id: "MS-TA9036", name: "ARP poisoning and IP spoofing", shortName: "ARP/IP spoofing",
            tactics: [.lateralMovement], attack: ["T1557"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Pods with `NET_RAW`/`NET_ADMIN` added, or hostNetwork"),
        Technique(
            id: "MS-TA9037", name: "Images from a private registry", shortName: "Private registry",
            tactics: [.collection], attack: ["T1530"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "get of `kubernetes.io/dockerconfigjson` secrets / imagePullSecrets by unusual identities"),
        Technique(
            id: "MS-TA9038", name: "Data destruction", shortName: "Data destruction",
            tactics: [.impact], attack: ["T1485"],
            visibility: .yes, visibilityNote: "",
            auditSignal: "delete/deletecollection of deployments, statefulsets, PVCs, PVs, namespaces"),
        Technique(
            id: "MS-TA9039", name: "Resource hijacking", shortName: "Resource hijacking",
            tactics: [.impact], attack: ["T1496"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Pod/workload with miner images/args (xmrig, stratum+tcp), big CPU/GPU requests"),
        Technique(
            id: "MS-TA9040", name: "Denial of service", shortName: "Denial of service",
            tactics: [.impact], attack: ["T1498", "T1499"],
            visibility: .partial, visibilityNote: "",
            auditSignal: "Mass deletes, `*/scale` to 0, resourcequota/limitrange changes, 429 floods"),
        Technique(
            id: "MS-TA9041", name: "Collecting data from pod", shortName: "Data from pod",
            tactics: [.collection], attack: [],
            visibility: .yes, visibilityNote: "kubectl cp; the kubelet checkpoint API only when proxied",
            auditSignal: "`kubectl cp` = exec with `tar` argv; the kubelet checkpoint API is visible only when proxied through `nodes/proxy`"),
    ]

    /// The technique with this id (`MS-TA9006`), if the matrix has one.
    public static func technique(_ id: String) -> Technique? {
        guard let index = indexByID[id] else { return nil }
        return techniques[index]
    }

    /// The techniques of one tactic, in id order (a technique may sit under several tactics).
    public static func techniques(of tactic: Tactic) -> [Technique] {
        techniques.filter { $0.tactics.contains(tactic) }
    }

    private static let indexByID: [String: Int] = Dictionary(
        uniqueKeysWithValues: techniques.enumerated().map { ($0.element.id, $0.offset) })
}
