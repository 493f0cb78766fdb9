/// ConfigMap payloads: multi-line text with quotes, backslashes and HTML-sensitive characters,
/// from ~300 bytes up to ~18 KB (Prometheus rule files), because configmap bodies are where
/// real audit logs carry their largest, most escape-heavy strings.
struct ConfigMapSeed {
    var namespace: String
    var name: String
    var data: [(String, String)]
}

/// Order matters: `configMapWrite` treats index 0 (cluster-autoscaler-status, rewritten by the
/// autoscaler every ~10 s) and 1 (Prometheus rule files, ~18 KB, by prometheus-operator) specially;
/// the rest are synced by Argo CD.
enum ConfigMapCatalog {
    static func seeds(nodeCount: Int) -> [ConfigMapSeed] {
        [
            ConfigMapSeed(namespace: "kube-system", name: "cluster-autoscaler-status",
                          data: [("status", autoscalerStatus(nodes: nodeCount))]),
            ConfigMapSeed(namespace: "monitoring", name: "prometheus-k8s-rulefiles-0",
                          data: [("monitoring-kubernetes-rules.yaml", prometheusRules(groups: 4))]),
            ConfigMapSeed(namespace: "monitoring", name: "grafana-dashboards",
                          data: [("cluster-overview.json", grafanaDashboard(panels: 14))]),
            ConfigMapSeed(namespace: "kube-system", name: "coredns", data: [("Corefile", corefile)]),
            ConfigMapSeed(namespace: "kube-system", name: "kube-proxy",
                          data: [("config.conf", kubeProxyConfig), ("kubeconfig.conf", kubeProxyKubeconfig)]),
            ConfigMapSeed(namespace: "logging", name: "fluent-bit", data: [("fluent-bit.conf", fluentBitConfig), ("parsers.conf", fluentBitParsers)]),
            ConfigMapSeed(namespace: "ingress-nginx", name: "ingress-nginx-controller",
                          data: [("allow-snippet-annotations", "false"), ("enable-real-ip", "true"), ("log-format-escape-json", "true"),
                                 ("log-format-upstream", "{\"time\": \"$time_iso8601\", \"remote_addr\": \"$remote_addr\", \"request\": \"$request\", \"status\": $status, \"upstream\": \"$upstream_addr\", \"request_time\": $request_time}"),
                                 ("proxy-body-size", "16m"), ("use-forwarded-headers", "true")]),
            ConfigMapSeed(namespace: "argocd", name: "argocd-cm",
                          data: [("admin.enabled", "false"), ("application.instanceLabelKey", "argocd.argoproj.io/instance"),
                                 ("timeout.reconciliation", "180s"), ("url", "https://argocd.example.com"),
                                 ("oidc.config", "name: Okta\nissuer: https://example.okta.com\nclientID: 0oa1b2c3d4e5f6g7h8i9\nclientSecret: $oidc.okta.clientSecret\nrequestedScopes: [\"openid\", \"profile\", \"email\", \"groups\"]\n"),
                                 ("resource.exclusions", "- apiGroups:\n  - cilium.io\n  kinds:\n  - CiliumIdentity\n  clusters:\n  - \"*\"\n")]),
            ConfigMapSeed(namespace: "argocd", name: "argocd-cmd-params-cm",
                          data: [("repo.server", "argocd-repo-server:8081"), ("server.insecure", "true"), ("controller.status.processors", "20")]),
            ConfigMapSeed(namespace: "payments", name: "payments-config", data: [
                ("application.yaml", appConfig(service: "payments", lines: 40)),
                ("feature-flags", "{\"instantPayouts\":true,\"3dsV2\":true,\"refundsV2\":false,\"rollout\":{\"sepa\":25,\"ideal\":100}}"),
            ]),
            ConfigMapSeed(namespace: "checkout", name: "checkout-config", data: [("application-prod.yml", appConfig(service: "checkout", lines: 55))]),
            ConfigMapSeed(namespace: "catalog", name: "catalog-config", data: [("config.toml", appConfig(service: "catalog", lines: 25))]),
            ConfigMapSeed(namespace: "web", name: "bff-config", data: [("routes.json", bffRoutes)]),
            ConfigMapSeed(namespace: "data", name: "postgres-config", data: [("postgresql.conf", postgresConf), ("pg_hba.conf", pgHba)]),
            ConfigMapSeed(namespace: "data", name: "redis-config", data: [("redis.conf", "bind 0.0.0.0\nport 6379\nmaxmemory 768mb\nmaxmemory-policy allkeys-lru\nappendonly yes\nsave \"\"\n")]),
        ]
    }

    /// The status text cluster-autoscaler rewrites every ~10 s.
    static func autoscalerStatus(nodes: Int) -> String {
        var s = "Cluster-autoscaler status at 2026-01-05 00:00:00.000000000 +0000 UTC:\nCluster-wide:\n"
        s += "  Health:      Healthy (ready=\(nodes) unready=0 (resourceUnready=0) notStarted=0 longNotStarted=0 registered=\(nodes) longUnregistered=0)\n"
        s += "               LastProbeTime:      2026-01-05 00:00:00.000000000 +0000 UTC\n               LastTransitionTime: 2025-12-01 09:14:22.518893614 +0000 UTC\n"
        s += "  ScaleUp:     NoActivity (ready=\(nodes) registered=\(nodes))\n               LastProbeTime:      2026-01-05 00:00:00.000000000 +0000 UTC\n"
        s += "  ScaleDown:   NoCandidates (candidates=0)\n\nNodeGroups:\n"
        for (i, group) in ["eks-general-a", "eks-general-b", "eks-memory-optimized"].enumerated() {
            let n = i == 2 ? nodes / 5 : nodes * 2 / 5
            s += "  Name:        \(group)-2cc6b6d4-8a1f-4a5e-9c3b-\(String(repeating: "0", count: 3))\(i)f2e1d9c7b\n"
            s += "  Health:      Healthy (ready=\(n) unready=0 (resourceUnready=0) notStarted=0 longNotStarted=0 registered=\(n) longUnregistered=0 cloudProviderTarget=\(n) (minSize=2, maxSize=30))\n"
            s += "               LastProbeTime:      2026-01-05 00:00:00.000000000 +0000 UTC\n"
        }
        return s
    }

    static func prometheusRules(groups: Int) -> String {
        let metrics = ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "kube_pod_container_status_restarts_total",
                       "apiserver_request_total", "kubelet_running_pods", "node_filesystem_avail_bytes", "http_requests_total",
                       "kube_deployment_status_replicas_available"]
        var s = "groups:\n"
        for g in 0..<groups {
            s += "- name: kubernetes-\(["apps", "resources", "storage", "system", "apiserver", "kubelet", "nodes", "slo", "business"][g % 9])\n  rules:\n"
            for r in 0..<6 {
                let m = metrics[(g * 6 + r) % metrics.count]
                s += "  - alert: \(["High", "Critical", "Stale", "Missing"][r % 4])\(m.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())\(g)\(r)\n"
                s += "    annotations:\n      description: 'Metric {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is {{ printf \"%.2f\" $value }} for more than 15 minutes.'\n"
                s += "      runbook_url: https://runbooks.example.com/kubernetes/\(m)\n      summary: \(m) out of bounds\n"
                s += "    expr: |\n      sum by (namespace, pod, container) (rate(\(m){job=\"kubelet\", metrics_path=\"/metrics/cadvisor\", container!=\"\"}[5m]))\n"
                s += "        > on (namespace, pod) group_left() (0.9 * sum by (namespace, pod) (kube_pod_container_resource_limits{resource=\"cpu\", job=\"kube-state-metrics\"}))\n"
                s += "    for: 15m\n    labels:\n      severity: \(r % 2 == 0 ? "warning" : "critical")\n"
            }
        }
        return s
    }

    static func grafanaDashboard(panels: Int) -> String {
        var s = "{\"annotations\":{\"list\":[]},\"editable\":false,\"graphTooltip\":1,\"panels\":["
        for p in 0..<panels {
            if p > 0 { s += "," }
            s += "{\"datasource\":{\"type\":\"prometheus\",\"uid\":\"${datasource}\"},\"gridPos\":{\"h\":8,\"w\":12,\"x\":\(p % 2 * 12),\"y\":\(p / 2 * 8)},"
            s += "\"id\":\(p + 1),\"targets\":[{\"expr\":\"sum(rate(container_cpu_usage_seconds_total{cluster=\\\"$cluster\\\", namespace=~\\\"$namespace\\\"}[$__rate_interval])) by (pod) > 0 < 100\",\"legendFormat\":\"{{pod}}\",\"refId\":\"A\"}],"
            s += "\"title\":\"CPU usage by pod (\(p))\",\"type\":\"timeseries\",\"fieldConfig\":{\"defaults\":{\"unit\":\"short\",\"thresholds\":{\"mode\":\"absolute\",\"steps\":[{\"color\":\"green\",\"value\":null},{\"color\":\"red\",\"value\":80}]}}}}"
        }
        s += "],\"refresh\":\"30s\",\"schemaVersion\":39,\"tags\":[\"kubernetes\"],\"templating\":{\"list\":[{\"name\":\"datasource\",\"type\":\"datasource\",\"query\":\"prometheus\"},{\"name\":\"cluster\",\"type\":\"query\",\"query\":\"label_values(up{job=\\\"kubelet\\\"}, cluster)\"}]},\"time\":{\"from\":\"now-1h\",\"to\":\"now\"},\"title\":\"Kubernetes / Cluster overview\",\"uid\":\"efa86fd1d0c121a26444b636a3f509a8\"}"
        return s
    }

    static func appConfig(service: String, lines: Int) -> String {
        var s = "# \(service) configuration — managed by Argo CD, do not edit by hand\nserver:\n  port: 8080\n  shutdown: graceful\n"
        for i in 0..<lines {
            s += "\(service).settings.key\(i): \(i % 3 == 0 ? "\"value with spaces & <brackets> \(i)\"" : "\(i * 37 % 1000)")\n"
        }
        return s
    }

    static let corefile = """
        .:53 {
            errors
            health {
               lameduck 5s
            }
            ready
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            prometheus :9153
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
            cache 30
            loop
            reload
            loadbalance
        }

        """

    static let kubeProxyConfig = """
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        bindAddress: 0.0.0.0
        clientConnection:
          acceptContentTypes: ""
          burst: 10
          contentType: application/vnd.kubernetes.protobuf
          kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
          qps: 5
        clusterCIDR: ""
        configSyncPeriod: 15m0s
        conntrack:
          maxPerCore: 32768
          min: 131072
          tcpCloseWaitTimeout: 1h0m0s
          tcpEstablishedTimeout: 24h0m0s
        enableProfiling: false
        healthzBindAddress: 0.0.0.0:10256
        iptables:
          masqueradeAll: false
          masqueradeBit: 14
          minSyncPeriod: 0s
          syncPeriod: 30s
        ipvs:
          excludeCIDRs: null
          minSyncPeriod: 0s
          scheduler: ""
          syncPeriod: 30s
        kind: KubeProxyConfiguration
        metricsBindAddress: 0.0.0.0:10249
        mode: "iptables"
        nodePortAddresses: null
        oomScoreAdj: -998
        portRange: ""

        """

    static let kubeProxyKubeconfig = """
        kind: Config
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
            server: https://4F1C2D9E8B7A6F5E4D3C2B1A0F9E8D7C.gr7.eu-west-1.eks.amazonaws.com
          name: default
        contexts:
        - context:
            cluster: default
            namespace: default
            user: default
          name: default
        current-context: default
        users:
        - name: default
          user:
            tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token

        """

    static let fluentBitConfig = """
        [SERVICE]
            Daemon Off
            Flush 1
            Log_Level info
            Parsers_File /fluent-bit/etc/parsers.conf
            HTTP_Server On
            HTTP_Listen 0.0.0.0
            HTTP_Port 2020
            Health_Check On

        [INPUT]
            Name tail
            Path /var/log/containers/*.log
            multiline.parser docker, cri
            Tag kube.*
            Mem_Buf_Limit 5MB
            Skip_Long_Lines On

        [FILTER]
            Name kubernetes
            Match kube.*
            Merge_Log On
            Keep_Log Off
            K8S-Logging.Parser On
            K8S-Logging.Exclude On

        [OUTPUT]
            Name es
            Match kube.*
            Host logs.example.internal
            Logstash_Format On
            Retry_Limit False

        """

    static let fluentBitParsers = """
        [PARSER]
            Name   json
            Format json
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z

        [PARSER]
            Name        nginx
            Format      regex
            Regex ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "(?<method>\\S+)(?: +(?<path>[^\\"]*?)(?: +\\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)$
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z

        """

    static let bffRoutes = """
        {"routes":[{"prefix":"/api/cart","upstream":"http://cart.checkout:8080","timeoutMs":800},{"prefix":"/api/checkout","upstream":"http://checkout-api.checkout:8080","timeoutMs":2500},{"prefix":"/api/catalog","upstream":"http://catalog-api.catalog:8080","timeoutMs":600,"cache":{"ttlSeconds":30,"vary":["Accept-Language"]}}],"cors":{"allowOrigins":["https://shop.example.com"],"allowCredentials":true}}
        """

    static let postgresConf = """
        listen_addresses = '*'
        max_connections = 400
        shared_buffers = 1GB
        effective_cache_size = 3GB
        work_mem = 4MB
        maintenance_work_mem = 256MB
        wal_level = logical
        max_wal_senders = 10
        max_replication_slots = 10
        hot_standby = on
        log_min_duration_statement = 500
        log_line_prefix = '%m [%p] %q%u@%d '
        shared_preload_libraries = 'pg_stat_statements'

        """

    static let pgHba = """
        local   all             all                                     trust
        host    all             all             127.0.0.1/32            scram-sha-256
        host    all             all             10.0.0.0/8              scram-sha-256
        host    replication     standby         10.0.0.0/8              scram-sha-256

        """
}
