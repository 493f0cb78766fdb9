/// The workloads of the synthetic cluster: a typical production mix of system add-ons
/// (DNS, proxy, CNI, metrics, autoscaler, ingress, cert-manager, Argo CD, Prometheus, log shipper)
/// and business services. Their pod specs are rendered into request/response bodies, and the
/// in-cluster service accounts of their pods are the API clients of many events.
enum WorkloadKind: Sendable {
    case deployment, daemonSet, statefulSet, cronJob

    var resource: Resource {
        switch self {
        case .deployment: .deployments
        case .daemonSet: .daemonsets
        case .statefulSet: .statefulsets
        case .cronJob: .cronjobs
        }
    }

    var kindName: StaticString {
        switch self {
        case .deployment: "Deployment"
        case .daemonSet: "DaemonSet"
        case .statefulSet: "StatefulSet"
        case .cronJob: "CronJob"
        }
    }

    /// The controller service account that creates this kind's pods.
    var podCreator: String {
        switch self {
        case .deployment: "replicaset-controller"
        case .daemonSet: "daemon-set-controller"
        case .statefulSet: "statefulset-controller"
        case .cronJob: "job-controller"
        }
    }
}

struct Port: Sendable {
    var name: String
    var port: Int
    var proto: String = "TCP"
}

enum EnvSource: Sendable {
    case value(String)
    case field(String)
    case secret(String, key: String)
    case configMap(String, key: String)
}

enum VolumeSource: Sendable {
    case configMap(String)
    case secret(String)
    case emptyDir
    case hostPath(String, type: String)
    case pvc(String)
}

struct Mount: Sendable {
    var volume: String
    var path: String
    var readOnly: Bool = false
    var source: VolumeSource
}

struct AppSpec: Sendable {
    var namespace: String
    var name: String
    var kind: WorkloadKind
    var replicas: Int = 1
    var image: String
    var command: [String] = []
    var args: [String] = []
    var ports: [Port] = []
    var env: [(String, EnvSource)] = []
    var cpuRequest = "100m"
    var memoryRequest = "128Mi"
    var cpuLimit: String? = nil
    var memoryLimit: String? = "256Mi"
    var mounts: [Mount] = []
    var probe: (path: String, port: Int)? = nil
    var hostNetwork = false
    var hostPID = false
    var addCapabilities: [String] = []
    var runAsUser: Int? = 65532
    var serviceAccount: String? = nil
    var priorityClass: String? = nil
    /// User agent of the API client running in this app's pods (nil: the app does not call the API).
    var userAgent: String? = nil
    /// ClusterRole or Role its service account is bound to, for RBAC annotation reasons.
    var role: (name: String, cluster: Bool) = ("view", false)
    var schedule: String? = nil
    var sidecar: (name: String, image: String)? = nil

    var serviceAccountName: String { serviceAccount ?? name }
    var configMapNames: [String] {
        mounts.compactMap { if case .configMap(let n) = $0.source { n } else { nil } }
            + env.compactMap { if case .configMap(let n, _) = $0.1 { n } else { nil } }
    }
    var secretNames: [String] {
        mounts.compactMap { if case .secret(let n) = $0.source { n } else { nil } }
            + env.compactMap { if case .secret(let n, _) = $0.1 { n } else { nil } }
    }
}

enum Catalog {
    static let k8sVersion = "v1.30.2"
    static let gitCommit = "3968350"

    static let apps: [AppSpec] = [
        // kube-system
        AppSpec(
            namespace: "kube-system", name: "coredns", kind: .deployment, replicas: 2,
            image: "registry.k8s.io/coredns/coredns:v1.11.1", args: ["-conf", "/etc/coredns/Corefile"],
            ports: [Port(name: "dns", port: 53, proto: "UDP"), Port(name: "dns-tcp", port: 53), Port(name: "metrics", port: 9153)],
            cpuRequest: "100m", memoryRequest: "70Mi", memoryLimit: "170Mi",
            mounts: [Mount(volume: "config-volume", path: "/etc/coredns", readOnly: true, source: .configMap("coredns"))],
            probe: ("/health", 8080), addCapabilities: ["NET_BIND_SERVICE"], runAsUser: nil,
            priorityClass: "system-cluster-critical", userAgent: "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
            role: ("system:coredns", true)),
        AppSpec(
            namespace: "kube-system", name: "kube-proxy", kind: .daemonSet,
            image: "registry.k8s.io/kube-proxy:v1.30.2",
            command: ["kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
            env: [("NODE_NAME", .field("spec.nodeName"))], cpuRequest: "100m", memoryRequest: "64Mi", memoryLimit: nil,
            mounts: [
                Mount(volume: "kube-proxy", path: "/var/lib/kube-proxy", source: .configMap("kube-proxy")),
                Mount(volume: "xtables-lock", path: "/run/xtables.lock", source: .hostPath("/run/xtables.lock", type: "FileOrCreate")),
                Mount(volume: "lib-modules", path: "/lib/modules", readOnly: true, source: .hostPath("/lib/modules", type: "")),
            ],
            hostNetwork: true, addCapabilities: ["NET_ADMIN", "SYS_MODULE"], runAsUser: nil,
            priorityClass: "system-node-critical", userAgent: "kube-proxy/v1.30.2 (linux/amd64) kubernetes/3968350",
            role: ("system:node-proxier", true)),
        AppSpec(
            namespace: "kube-system", name: "aws-node", kind: .daemonSet,
            image: "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.18.2",
            ports: [Port(name: "metrics", port: 61678)],
            env: [
                ("ADDITIONAL_ENI_TAGS", .value("{}")), ("AWS_VPC_CNI_NODE_PORT_SUPPORT", .value("true")),
                ("AWS_VPC_ENI_MTU", .value("9001")), ("AWS_VPC_K8S_CNI_LOGLEVEL", .value("DEBUG")),
                ("ENABLE_PREFIX_DELEGATION", .value("false")), ("WARM_ENI_TARGET", .value("1")),
                ("MY_NODE_NAME", .field("spec.nodeName")), ("MY_POD_NAME", .field("metadata.name")),
            ],
            cpuRequest: "25m", memoryRequest: "64Mi", memoryLimit: nil,
            mounts: [
                Mount(volume: "cni-bin-dir", path: "/host/opt/cni/bin", source: .hostPath("/opt/cni/bin", type: "")),
                Mount(volume: "cni-net-dir", path: "/host/etc/cni/net.d", source: .hostPath("/etc/cni/net.d", type: "")),
                Mount(volume: "log-dir", path: "/host/var/log/aws-routed-eni", source: .hostPath("/var/log/aws-routed-eni", type: "DirectoryOrCreate")),
                Mount(volume: "run-dir", path: "/var/run/aws-node", source: .hostPath("/var/run/aws-node", type: "DirectoryOrCreate")),
                Mount(volume: "xtables-lock", path: "/run/xtables.lock", source: .hostPath("/run/xtables.lock", type: "")),
            ],
            probe: nil, hostNetwork: true, addCapabilities: ["NET_ADMIN", "NET_RAW"], runAsUser: nil,
            priorityClass: "system-node-critical", userAgent: "aws-node/v0.0.0 (linux/amd64) kubernetes/$Format",
            role: ("aws-node", true)),
        AppSpec(
            namespace: "kube-system", name: "metrics-server", kind: .deployment,
            image: "registry.k8s.io/metrics-server/metrics-server:v0.7.1",
            args: ["--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port", "--metric-resolution=15s"],
            ports: [Port(name: "https", port: 10250)], cpuRequest: "100m", memoryRequest: "200Mi", memoryLimit: nil,
            mounts: [Mount(volume: "tmp-dir", path: "/tmp", source: .emptyDir)],
            probe: ("/livez", 10250), runAsUser: 1000, priorityClass: "system-cluster-critical",
            userAgent: "metrics-server/v0.7.1 (linux/amd64) kubernetes/$Format", role: ("system:metrics-server", true)),
        AppSpec(
            namespace: "kube-system", name: "cluster-autoscaler", kind: .deployment,
            image: "registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.1",
            command: ["./cluster-autoscaler", "--v=4", "--stderrthreshold=info", "--cloud-provider=aws", "--skip-nodes-with-local-storage=false",
                      "--expander=least-waste", "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod-eu1"],
            ports: [Port(name: "http", port: 8085)], cpuRequest: "100m", memoryRequest: "600Mi", memoryLimit: "600Mi",
            probe: ("/health-check", 8085), priorityClass: "system-cluster-critical",
            userAgent: "cluster-autoscaler/v1.30.1 (linux/amd64) kubernetes/$Format", role: ("cluster-autoscaler", true)),
        // monitoring
        AppSpec(
            namespace: "monitoring", name: "prometheus-k8s", kind: .statefulSet, replicas: 2,
            image: "quay.io/prometheus/prometheus:v2.53.0",
            args: ["--web.console.templates=/etc/prometheus/consoles", "--web.console.libraries=/etc/prometheus/console_libraries",
                   "--config.file=/etc/prometheus/config_out/prometheus.env.yaml", "--web.enable-lifecycle",
                   "--web.route-prefix=/", "--storage.tsdb.retention.time=15d", "--storage.tsdb.path=/prometheus"],
            ports: [Port(name: "web", port: 9090)], cpuRequest: "500m", memoryRequest: "2Gi", memoryLimit: "4Gi",
            mounts: [
                Mount(volume: "config-out", path: "/etc/prometheus/config_out", readOnly: true, source: .emptyDir),
                Mount(volume: "prometheus-k8s-rulefiles-0", path: "/etc/prometheus/rules/prometheus-k8s-rulefiles-0", source: .configMap("prometheus-k8s-rulefiles-0")),
                Mount(volume: "tls-assets", path: "/etc/prometheus/certs", readOnly: true, source: .secret("prometheus-k8s-tls-assets-0")),
                Mount(volume: "prometheus-k8s-db", path: "/prometheus", source: .pvc("prometheus-k8s-db")),
            ],
            probe: ("/-/ready", 9090), runAsUser: 1000, userAgent: "Prometheus/2.53.0",
            role: ("prometheus-k8s", true), sidecar: ("config-reloader", "quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0")),
        AppSpec(
            namespace: "monitoring", name: "kube-state-metrics", kind: .deployment,
            image: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",
            args: ["--host=127.0.0.1", "--port=8081", "--telemetry-host=127.0.0.1", "--telemetry-port=8082"],
            ports: [Port(name: "http-metrics", port: 8081), Port(name: "telemetry", port: 8082)],
            cpuRequest: "10m", memoryRequest: "190Mi", memoryLimit: "250Mi",
            userAgent: "kube-state-metrics/v2.12.0 (linux/amd64) kubernetes/$Format", role: ("kube-state-metrics", true)),
        AppSpec(
            namespace: "monitoring", name: "prometheus-operator", kind: .deployment,
            image: "quay.io/prometheus-operator/prometheus-operator:v0.75.0",
            args: ["--kubelet-service=kube-system/kubelet", "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0"],
            ports: [Port(name: "http", port: 8080)], cpuRequest: "100m", memoryRequest: "100Mi", memoryLimit: "200Mi",
            userAgent: "PrometheusOperator/0.75.0", role: ("prometheus-operator", true)),
        AppSpec(
            namespace: "monitoring", name: "node-exporter", kind: .daemonSet,
            image: "quay.io/prometheus/node-exporter:v1.8.1",
            args: ["--web.listen-address=127.0.0.1:9100", "--path.sysfs=/host/sys", "--path.procfs=/host/proc",
                   "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)"],
            cpuRequest: "102m", memoryRequest: "180Mi", memoryLimit: "180Mi",
            mounts: [
                Mount(volume: "sys", path: "/host/sys", readOnly: true, source: .hostPath("/sys", type: "")),
                Mount(volume: "proc", path: "/host/proc", readOnly: true, source: .hostPath("/proc", type: "")),
            ],
            hostNetwork: true, hostPID: true, priorityClass: "system-cluster-critical"),
        AppSpec(
            namespace: "monitoring", name: "grafana", kind: .deployment, image: "grafana/grafana:11.1.0",
            ports: [Port(name: "http", port: 3000)],
            env: [("GF_SECURITY_ADMIN_PASSWORD", .secret("grafana", key: "admin-password")), ("GF_PATHS_DATA", .value("/var/lib/grafana/"))],
            cpuRequest: "100m", memoryRequest: "100Mi", memoryLimit: "200Mi",
            mounts: [
                Mount(volume: "grafana-dashboards", path: "/grafana-dashboard-definitions/0", source: .configMap("grafana-dashboards")),
                Mount(volume: "grafana-storage", path: "/var/lib/grafana", source: .emptyDir),
            ],
            probe: ("/api/health", 3000), runAsUser: 472,
            userAgent: "grafana-sc-dashboard/1.26.1 (linux/amd64) kubernetes/$Format", role: ("grafana-clusterrole", true)),
        // logging
        AppSpec(
            namespace: "logging", name: "fluent-bit", kind: .daemonSet, image: "cr.fluentbit.io/fluent/fluent-bit:3.0.7",
            ports: [Port(name: "http", port: 2020)], cpuRequest: "50m", memoryRequest: "64Mi", memoryLimit: "256Mi",
            mounts: [
                Mount(volume: "config", path: "/fluent-bit/etc/conf", source: .configMap("fluent-bit")),
                Mount(volume: "varlog", path: "/var/log", source: .hostPath("/var/log", type: "")),
                Mount(volume: "etcmachineid", path: "/etc/machine-id", readOnly: true, source: .hostPath("/etc/machine-id", type: "File")),
            ],
            probe: ("/", 2020), runAsUser: nil, userAgent: "fluent-bit", role: ("fluent-bit", true)),
        // ingress-nginx
        AppSpec(
            namespace: "ingress-nginx", name: "ingress-nginx-controller", kind: .deployment, replicas: 2,
            image: "registry.k8s.io/ingress-nginx/controller:v1.10.1@sha256:e24f39d3eed6bcc239a56f20098878845f62baa34b9f2be2fd2c38ce9fb0f29e",
            args: ["/nginx-ingress-controller", "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller", "--election-id=ingress-nginx-leader",
                   "--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
                   "--validating-webhook=:8443", "--validating-webhook-certificate=/usr/local/certificates/cert",
                   "--validating-webhook-key=/usr/local/certificates/key"],
            ports: [Port(name: "http", port: 80), Port(name: "https", port: 443), Port(name: "webhook", port: 8443)],
            env: [("POD_NAME", .field("metadata.name")), ("POD_NAMESPACE", .field("metadata.namespace")), ("LD_PRELOAD", .value("/usr/local/lib/libmimalloc.so"))],
            cpuRequest: "100m", memoryRequest: "90Mi", memoryLimit: nil,
            mounts: [Mount(volume: "webhook-cert", path: "/usr/local/certificates/", readOnly: true, source: .secret("ingress-nginx-admission"))],
            probe: ("/healthz", 10254), addCapabilities: ["NET_BIND_SERVICE"], runAsUser: 101, serviceAccount: "ingress-nginx",
            userAgent: "nginx-ingress-controller/v1.10.1 (linux/amd64) ingress-nginx/4fb5aac1dd3669daa3a14d9de3e3cdb371b4c518",
            role: ("ingress-nginx", true)),
        // cert-manager
        AppSpec(
            namespace: "cert-manager", name: "cert-manager", kind: .deployment, image: "quay.io/jetstack/cert-manager-controller:v1.14.5",
            args: ["--v=2", "--cluster-resource-namespace=$(POD_NAMESPACE)", "--leader-election-namespace=kube-system",
                   "--acme-http01-solver-image=quay.io/jetstack/cert-manager-acmesolver:v1.14.5", "--max-concurrent-challenges=60"],
            ports: [Port(name: "http-metrics", port: 9402), Port(name: "http-healthz", port: 9403)],
            env: [("POD_NAMESPACE", .field("metadata.namespace"))], cpuRequest: "10m", memoryRequest: "32Mi", memoryLimit: nil,
            runAsUser: 1000, userAgent: "cert-manager-controller/v1.14.5 (linux/amd64) cert-manager/7a1c6e6e0e51c0f8f2b0e2dcb5e5b8b43ab1c4cd",
            role: ("cert-manager-controller-certificates", true)),
        AppSpec(
            namespace: "cert-manager", name: "cert-manager-cainjector", kind: .deployment, image: "quay.io/jetstack/cert-manager-cainjector:v1.14.5",
            args: ["--v=2", "--leader-election-namespace=kube-system"],
            env: [("POD_NAMESPACE", .field("metadata.namespace"))], cpuRequest: "10m", memoryRequest: "32Mi", memoryLimit: nil,
            runAsUser: 1000, userAgent: "cert-manager-cainjector/v1.14.5 (linux/amd64) cert-manager/7a1c6e6e0e51c0f8f2b0e2dcb5e5b8b43ab1c4cd",
            role: ("cert-manager-cainjector", true)),
        // argocd
        AppSpec(
            namespace: "argocd", name: "argocd-application-controller", kind: .statefulSet,
            image: "quay.io/argoproj/argocd:v2.11.3", command: ["argocd-application-controller"],
            ports: [Port(name: "metrics", port: 8082)],
            env: [("ARGOCD_CONTROLLER_REPLICAS", .value("1")), ("ARGOCD_RECONCILIATION_TIMEOUT", .configMap("argocd-cm", key: "timeout.reconciliation")),
                  ("ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER", .configMap("argocd-cmd-params-cm", key: "repo.server")),
                  ("REDIS_PASSWORD", .secret("argocd-redis", key: "auth"))],
            cpuRequest: "250m", memoryRequest: "1Gi", memoryLimit: "2Gi",
            mounts: [Mount(volume: "argocd-repo-server-tls", path: "/app/config/controller/tls", source: .secret("argocd-repo-server-tls"))],
            probe: ("/healthz", 8082), runAsUser: 999,
            userAgent: "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format", role: ("argocd-application-controller", true)),
        AppSpec(
            namespace: "argocd", name: "argocd-server", kind: .deployment, replicas: 2, image: "quay.io/argoproj/argocd:v2.11.3",
            args: ["/usr/local/bin/argocd-server", "--port=8080", "--metrics-port=8083"],
            ports: [Port(name: "server", port: 8080), Port(name: "metrics", port: 8083)],
            env: [("ARGOCD_SERVER_INSECURE", .configMap("argocd-cmd-params-cm", key: "server.insecure"))],
            cpuRequest: "50m", memoryRequest: "128Mi", memoryLimit: "512Mi",
            mounts: [Mount(volume: "argocd-repo-server-tls", path: "/app/config/server/tls", source: .secret("argocd-repo-server-tls"))],
            probe: ("/healthz", 8080), runAsUser: 999,
            userAgent: "argocd-server/v0.0.0 (linux/amd64) kubernetes/$Format", role: ("argocd-server", true)),
        // business services
        AppSpec(
            namespace: "payments", name: "payments-api", kind: .deployment, replicas: 4,
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2.14.3",
            ports: [Port(name: "http", port: 8080), Port(name: "grpc", port: 9090), Port(name: "metrics", port: 9102)],
            env: [("APP_ENV", .value("production")), ("LOG_LEVEL", .value("info")), ("DB_HOST", .value("postgres-primary.data.svc.cluster.local")),
                  ("DB_PASSWORD", .secret("payments-db", key: "password")), ("STRIPE_API_KEY", .secret("payments-stripe", key: "api-key")),
                  ("FEATURE_FLAGS", .configMap("payments-config", key: "feature-flags")), ("POD_IP", .field("status.podIP")),
                  ("OTEL_EXPORTER_OTLP_ENDPOINT", .value("http://otel-collector.monitoring:4317"))],
            cpuRequest: "500m", memoryRequest: "512Mi", cpuLimit: "2", memoryLimit: "1Gi",
            mounts: [Mount(volume: "config", path: "/etc/payments", readOnly: true, source: .configMap("payments-config")),
                     Mount(volume: "tmp", path: "/tmp", source: .emptyDir)],
            probe: ("/healthz", 8080), userAgent: "payments-api/2.14.3 (linux/amd64) client-go/v0.30.2", role: ("payments-api", false),
            sidecar: ("envoy", "envoyproxy/envoy:v1.30.2")),
        AppSpec(
            namespace: "payments", name: "payments-worker", kind: .deployment, replicas: 3,
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/worker:2.14.3", args: ["worker", "--queues=settlements,refunds"],
            ports: [Port(name: "metrics", port: 9102)],
            env: [("APP_ENV", .value("production")), ("DB_PASSWORD", .secret("payments-db", key: "password")),
                  ("KAFKA_BROKERS", .value("kafka-0.kafka.data:9092,kafka-1.kafka.data:9092,kafka-2.kafka.data:9092"))],
            cpuRequest: "250m", memoryRequest: "256Mi", memoryLimit: "512Mi",
            userAgent: "payments-worker/2.14.3 (linux/amd64) client-go/v0.30.2", role: ("payments-worker", false)),
        AppSpec(
            namespace: "payments", name: "payments-reconcile", kind: .cronJob,
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/worker:2.14.3", args: ["reconcile", "--since=15m"],
            env: [("DB_PASSWORD", .secret("payments-db", key: "password"))],
            cpuRequest: "100m", memoryRequest: "128Mi", memoryLimit: "256Mi", serviceAccount: "payments-worker", schedule: "*/15 * * * *"),
        AppSpec(
            namespace: "checkout", name: "checkout-api", kind: .deployment, replicas: 3,
            image: "ghcr.io/example-shop/checkout-api:5.2.0",
            ports: [Port(name: "http", port: 8080), Port(name: "metrics", port: 9090)],
            env: [("SPRING_PROFILES_ACTIVE", .value("prod")), ("JAVA_TOOL_OPTIONS", .value("-XX:MaxRAMPercentage=75 -XX:+UseG1GC")),
                  ("REDIS_URL", .value("redis://redis.data:6379/0")), ("CHECKOUT_SIGNING_KEY", .secret("checkout-keys", key: "signing-key"))],
            cpuRequest: "1", memoryRequest: "1Gi", memoryLimit: "2Gi",
            mounts: [Mount(volume: "config", path: "/config", readOnly: true, source: .configMap("checkout-config"))],
            probe: ("/actuator/health", 8080), userAgent: "checkout-api/5.2.0 (linux/amd64) fabric8-kubernetes-client/6.12.1",
            role: ("checkout-api", false)),
        AppSpec(
            namespace: "checkout", name: "cart", kind: .deployment, replicas: 2, image: "ghcr.io/example-shop/cart:1.9.4",
            ports: [Port(name: "http", port: 8080)], env: [("REDIS_URL", .value("redis://redis.data:6379/1"))],
            cpuRequest: "200m", memoryRequest: "256Mi", memoryLimit: "512Mi", probe: ("/healthz", 8080)),
        AppSpec(
            namespace: "catalog", name: "catalog-api", kind: .deployment, replicas: 3, image: "ghcr.io/example-shop/catalog-api:3.0.11",
            ports: [Port(name: "http", port: 8080), Port(name: "metrics", port: 9090)],
            env: [("SEARCH_URL", .value("http://search.catalog:9200")), ("CACHE_TTL", .value("300"))],
            cpuRequest: "300m", memoryRequest: "384Mi", memoryLimit: "768Mi",
            mounts: [Mount(volume: "config", path: "/etc/catalog", readOnly: true, source: .configMap("catalog-config"))],
            probe: ("/ready", 8080), userAgent: "catalog-api/3.0.11 (linux/amd64) client-go/v0.29.4", role: ("catalog-api", false)),
        AppSpec(
            namespace: "catalog", name: "search", kind: .statefulSet, replicas: 3, image: "opensearchproject/opensearch:2.14.0",
            ports: [Port(name: "http", port: 9200), Port(name: "transport", port: 9300)],
            env: [("cluster.name", .value("catalog-search")), ("discovery.seed_hosts", .value("search-0.search,search-1.search,search-2.search")),
                  ("OPENSEARCH_JAVA_OPTS", .value("-Xms1g -Xmx1g")), ("node.name", .field("metadata.name"))],
            cpuRequest: "1", memoryRequest: "2Gi", memoryLimit: "2Gi",
            mounts: [Mount(volume: "data", path: "/usr/share/opensearch/data", source: .pvc("data"))], runAsUser: 1000),
        AppSpec(
            namespace: "web", name: "frontend", kind: .deployment, replicas: 6, image: "ghcr.io/example-shop/frontend:2024.12.18-4f1c2d9",
            ports: [Port(name: "http", port: 3000)],
            env: [("NODE_ENV", .value("production")), ("API_BASE_URL", .value("http://bff.web:8080")), ("NEXT_TELEMETRY_DISABLED", .value("1"))],
            cpuRequest: "200m", memoryRequest: "256Mi", memoryLimit: "512Mi", probe: ("/api/health", 3000)),
        AppSpec(
            namespace: "web", name: "bff", kind: .deployment, replicas: 3, image: "ghcr.io/example-shop/bff:1.31.0",
            ports: [Port(name: "http", port: 8080)],
            env: [("CHECKOUT_URL", .value("http://checkout-api.checkout:8080")), ("CATALOG_URL", .value("http://catalog-api.catalog:8080")),
                  ("SESSION_SECRET", .secret("bff-session", key: "secret"))],
            cpuRequest: "200m", memoryRequest: "256Mi", memoryLimit: "512Mi",
            mounts: [Mount(volume: "config", path: "/etc/bff", readOnly: true, source: .configMap("bff-config"))],
            probe: ("/healthz", 8080), userAgent: "bff/1.31.0 (linux/amd64) client-go/v0.30.1", role: ("bff", false)),
        AppSpec(
            namespace: "data", name: "postgres", kind: .statefulSet, replicas: 3, image: "ghcr.io/cloudnative-pg/postgresql:16.3",
            ports: [Port(name: "postgresql", port: 5432), Port(name: "metrics", port: 9187)],
            env: [("PGDATA", .value("/var/lib/postgresql/data/pgdata")), ("POSTGRES_PASSWORD", .secret("postgres-superuser", key: "password"))],
            cpuRequest: "2", memoryRequest: "4Gi", memoryLimit: "4Gi",
            mounts: [Mount(volume: "pgdata", path: "/var/lib/postgresql/data", source: .pvc("pgdata")),
                     Mount(volume: "postgres-config", path: "/etc/postgresql", readOnly: true, source: .configMap("postgres-config"))],
            runAsUser: 26, userAgent: "patroni/3.3.1", role: ("postgres", false)),
        AppSpec(
            namespace: "data", name: "redis", kind: .statefulSet, replicas: 3, image: "redis:7.2.5-alpine",
            command: ["redis-server", "/etc/redis/redis.conf"], ports: [Port(name: "redis", port: 6379)],
            cpuRequest: "250m", memoryRequest: "512Mi", memoryLimit: "1Gi",
            mounts: [Mount(volume: "conf", path: "/etc/redis", readOnly: true, source: .configMap("redis-config")),
                     Mount(volume: "data", path: "/data", source: .pvc("data"))], runAsUser: 999),
        AppSpec(
            namespace: "data", name: "db-backup", kind: .cronJob, image: "ghcr.io/example-shop/pg-backup:1.4.0",
            command: ["/bin/sh", "-c", "pg_dump --format=custom \"$DATABASE_URL\" | aws s3 cp - \"s3://example-shop-backups/$(date +%F-%H)/payments.dump\""],
            env: [("DATABASE_URL", .secret("postgres-backup", key: "url")), ("AWS_REGION", .value("eu-west-1"))],
            cpuRequest: "200m", memoryRequest: "256Mi", memoryLimit: "1Gi", schedule: "0 * * * *"),
    ]

    static let namespaces = [
        "default", "kube-system", "kube-public", "kube-node-lease", "monitoring", "logging", "ingress-nginx",
        "cert-manager", "argocd", "payments", "checkout", "catalog", "web", "data",
    ]

    /// Leader-election locks (Lease objects in kube-system and friends) renewed every ~2 s.
    static let leaderLocks: [(namespace: String, name: String)] = [
        ("kube-system", "kube-controller-manager"), ("kube-system", "kube-scheduler"),
        ("kube-system", "cluster-autoscaler"), ("kube-system", "cert-manager-controller"),
        ("kube-system", "cert-manager-cainjector-leader-election"), ("ingress-nginx", "ingress-nginx-leader"),
        ("payments", "payments-worker-leader"),
    ]
}
