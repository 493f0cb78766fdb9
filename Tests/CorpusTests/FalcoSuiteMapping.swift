// How Falco's k8s_audit test suite (falco_k8s_audit_tests.yaml) reads in kaudit's terms:
// which kaudit rule answers each Falco rule, what each Falco override file becomes, and
// which rules each negative case is about. FalcoSuiteTests replays the cases with these.

/// The kaudit rule that answers a Falco rule, and why its count agrees with Falco's.
struct FalcoRuleMapping {
    let kaudit: String
    let note: String
}

/// What a Falco override file (a `rules_file` under ./rules/k8s_audit/) becomes in kaudit.
struct FalcoOverride {
    /// The folder under SampleLogs/falco-overrides/ holding the kaudit form; nil when kaudit
    /// needs nothing loaded for it.
    let folder: String?
    /// Falco's `disallow_kactivity.yaml`: the activity rules stay off.
    var activityOff = false
    let note: String
}

enum FalcoSuiteMapping {
    /// Every request in the suite's traces is one event at one stage with its own audit ID, so
    /// kaudit's stage gate judges each once and nothing is dropped as a duplicate: the counts
    /// are Falco's. Notes say where that takes a moment's thought.
    static let rules: [String: FalcoRuleMapping] = [
        "Create Disallowed Pod": FalcoRuleMapping(
            kaudit: "af42db6f-c3bb-4c6f-86ef-cffa04478b01",
            note: "unapproved registry; the pod is created by the replicaset controller, judged because Falco's defaults exempt no controller"),
        "Create Privileged Pod": FalcoRuleMapping(
            kaudit: "08f441a7-892b-4312-a19c-1dc85bad7773",
            note: "per pod, whichever container is privileged (first or second)"),
        "Create Sensitive Mount Pod": FalcoRuleMapping(
            kaudit: "fc71ae20-44ac-4bf2-8f5b-f528a9ac13f2", note: "hostPath /etc, on either container"),
        "Create HostNetwork Pod": FalcoRuleMapping(kaudit: "f36f54c3-7fe9-4dbe-a53c-c1abfda7d4a3", note: "hostNetwork: true"),
        "Disallowed K8s User": FalcoRuleMapping(
            kaudit: "42bf2b19-a02e-4f14-855d-8ef51224a313", note: "some-user is outside the expected identity domains"),
        "Create NodePort Service": FalcoRuleMapping(kaudit: "da1c36e1-7bd4-44f6-9081-b811a159face", note: "type NodePort"),
        "Create/Modify Configmap With Private Credentials": FalcoRuleMapping(
            kaudit: "e3ef9b20-41ef-4ab5-ba1b-a3c5287c9dcd",
            note: "6 = six creations with six audit IDs, each a properties value assigning a key or password"),
        "Anonymous Request Allowed": FalcoRuleMapping(kaudit: "523e542c-c91b-45bc-a24e-644df40224ab", note: "system:anonymous, allowed"),
        "Attach/Exec Pod": FalcoRuleMapping(
            kaudit: "ccbd5453-7c10-49ad-a312-9c531d3d0c27",
            note: "exec and attach are long-running: judged at ResponseStarted (code 101), the only stage in the trace"),
        "Create Disallowed Namespace": FalcoRuleMapping(kaudit: "37b25836-33ca-4376-989c-8639b24c762d", note: "foo is not expected"),
        "Pod Created in Kube Namespace": FalcoRuleMapping(
            kaudit: "2f709247-b9ca-4343-bf82-c1d65aecff32", note: "kube-system and kube-public; controller judged (Falco's defaults)"),
        "Service Account Created in Kube Namespace": FalcoRuleMapping(
            kaudit: "526bfbf5-cf33-45ca-81af-a5243fdefe84", note: "kube-system and kube-public"),
        "System ClusterRole Modified/Deleted": FalcoRuleMapping(
            kaudit: "7ed84fe1-15e8-41c5-9401-9b1282519130", note: "delete and patch of system: roles"),
        "Attach to cluster-admin Role": FalcoRuleMapping(kaudit: "71e4e1ad-d914-4b28-8e55-690e8b16371a", note: "roleRef cluster-admin"),
        "ClusterRole With Wildcard Created": FalcoRuleMapping(
            kaudit: "269925ec-11d6-4889-94a3-f1a093584b94", note: "'*' in resources or verbs"),
        "ClusterRole With Write Privileges Created": FalcoRuleMapping(
            kaudit: "0a4e2ee2-d316-4855-b712-e5b049c4758e", note: "delete on non-resource URLs counts as a write right"),
        "ClusterRole With Pod Exec Created": FalcoRuleMapping(kaudit: "19c86fc7-fd62-4808-8185-0c8aa8fc61e6", note: "pods/exec"),
        "K8s Deployment Created": activity("f547db4f-b079-5f8f-b30e-ee5c23392051"),
        "K8s Deployment Deleted": activity("e5f32dee-ea2c-5b26-b5d6-25ff0868df8c"),
        "K8s Service Created": activity("82fef2bb-1c2f-53f7-bae0-9bf2ae85e805"),
        "K8s Service Deleted": activity("01b730ba-c560-5f19-9a7b-be00afd6cc0b"),
        "K8s ConfigMap Created": activity("2054f1c8-57c6-5d5a-8897-7212358f1f81"),
        "K8s ConfigMap Deleted": activity("332fcfe1-4447-594c-9732-59e6df9f4156"),
        "K8s Namespace Created": activity("334163de-d339-5c89-9a23-720b9ba3d2bc"),
        "K8s Namespace Deleted": activity("1d6d6cc9-bfc6-5c8c-a07a-da0d7c173c85"),
        "K8s Serviceaccount Created": activity("ab1413fe-f57f-5846-9cd8-712c883245e4"),
        "K8s Serviceaccount Deleted": activity("e8b03b50-6ee3-52da-ad00-492e83fc93eb"),
        "K8s Role/Clusterrole Created": activity("4666e257-90c0-5932-a7b2-b1279d1506f5"),
        "K8s Role/Clusterrole Deleted": activity("a04a4d77-4972-5642-8b95-9d9e0977598a"),
        "K8s Role/Clusterrolebinding Created": activity("cc61927d-3332-5502-a750-ed24e772e908"),
        "K8s Role/Clusterrolebinding Deleted": activity("621d01a2-ec97-5934-a725-a899f031cfcd"),
        "K8s Secret Created": FalcoRuleMapping(
            kaudit: "67ef6b36-2dbb-5356-9676-789e6e22e765",
            note: "activity rule; control-plane secrets (kube-system, system: identities) are left out, as in Falco"),
        "K8s Secret Deleted": activity("caf7cb88-318c-5d05-973c-21924e8ea864"),
        "json_pointer_example": FalcoRuleMapping(
            kaudit: "5d7a0c6e-2f0b-4d53-8a51-6a1f3c0e9b05",
            note: "test-only rule (SampleLogs/falco-overrides/json_pointer): an escaped key path, and an absent key"),
    ]

    static func activity(_ id: String) -> FalcoRuleMapping {
        FalcoRuleMapping(kaudit: id, note: "activity rule (Detections/activity/, informational), loaded as with --activity")
    }

    /// By file name; `engine_v4/NAME` is NAME written for Falco's older rule engine and reads the same.
    static let overrides: [String: FalcoOverride] = [
        "engine_v4_k8s_audit_rules.yaml": FalcoOverride(
            folder: nil, note: "the same rules for Falco's older engine; kaudit has one pack"),
        "allow_only_apache_container.yaml": FalcoOverride(
            folder: nil, note: "kaudit's approved registries do not include Docker Hub's nginx either"),
        "allow_nginx_container.yaml": FalcoOverride(folder: "allow_nginx_container", note: "a filter on the registry rule"),
        "trust_nginx_container.yaml": FalcoOverride(
            folder: "trust_nginx_container", note: "a filter on the privileged, hostNetwork and sensitive-mount rules"),
        "allow_user_some-user.yaml": FalcoOverride(folder: "allow_user_some-user", note: "a filter on the user rule"),
        "allow_namespace_foo.yaml": FalcoOverride(folder: "allow_namespace_foo", note: "a filter on the namespace rule"),
        "disallow_kactivity.yaml": FalcoOverride(
            folder: nil, activityOff: true, note: "kaudit's default: activity rules load only with --activity"),
        "single_rule_with_json_pointer.yaml": FalcoOverride(folder: "json_pointer", note: "loaded alone, as in Falco"),
    ]

    static func override(_ file: String) -> FalcoOverride? {
        overrides[file.hasPrefix("engine_v4/") ? String(file.dropFirst("engine_v4/".count)) : file]
    }

    /// Loaded before the pack whenever Falco's own rules are: Falco judges a pod whoever
    /// creates it, so no controller is exempt (an empty `workload_controllers` list).
    static let defaultsFolder = "falco-defaults"

    /// The negative cases and the Falco rules each is about: their kaudit rules must not
    /// fire. `fal_01_003` (not an audit event) must raise nothing at all.
    static let guarded: [String: [String]] = [
        "compat_engine_v4_create_allowed_pod": ["Create Disallowed Pod"],
        "compat_engine_v4_create_privileged_trusted_pod": ["Create Privileged Pod"],
        "compat_engine_v4_create_unprivileged_pod": ["Create Privileged Pod"],
        "compat_engine_v4_create_hostnetwork_trusted_pod": ["Create HostNetwork Pod"],
        "user_in_allowed_set": ["Disallowed K8s User", "Create Disallowed Namespace", "K8s Namespace Created"],
        "create_allowed_pod": ["Create Disallowed Pod"],
        "create_privileged_trusted_pod": ["Create Privileged Pod"],
        "create_unprivileged_pod": ["Create Privileged Pod"],
        "create_unprivileged_trusted_pod": ["Create Privileged Pod"],
        "create_sensitive_mount_trusted_pod": ["Create Sensitive Mount Pod"],
        "create_unsensitive_mount_pod": ["Create Sensitive Mount Pod"],
        "create_unsensitive_mount_trusted_pod": ["Create Sensitive Mount Pod"],
        "create_hostnetwork_trusted_pod": ["Create HostNetwork Pod"],
        "create_nohostnetwork_pod": ["Create HostNetwork Pod"],
        "create_nohostnetwork_trusted_pod": ["Create HostNetwork Pod"],
        "create_nonodeport_service": ["Create NodePort Service"],
        "create_configmap_no_private_creds": ["Create/Modify Configmap With Private Credentials", "K8s ConfigMap Created"],
        "namespace_in_allowed_set": ["Create Disallowed Namespace", "K8s Namespace Created"],
        "create_service_account_token_secret": ["K8s Secret Created"],
        "create_kube_system_secret": ["K8s Secret Created"],
    ]

    static let malformedCase = "fal_01_003"
}
