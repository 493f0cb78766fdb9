// Audit events used across the AuditModel tests. Shapes follow audit.k8s.io/v1 and
// v1beta1 as the apiserver writes them (see the falco k8s_audit trace files and
// audit-events-and-backends.md §2).

enum Fixtures {
    /// `kubectl debug` adding an ephemeral container, as an impersonated user, allowed by
    /// RBAC and then denied by an admission webhook. Every envelope field is present.
    static let v1Event = #"""
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",\#
        "auditID":"5b4a8e3c-2f1d-4c9a-9e27-0d6f3b1a7c42","stage":"ResponseComplete",\#
        "requestURI":"/api/v1/namespaces/payments/pods/api-7d9f8b6c5-x2x7q/ephemeralcontainers","verb":"patch",\#
        "user":{"username":"system:serviceaccount:ci:deployer","uid":"0b8e2f64-1c3a-4d5e-8f90-a1b2c3d4e5f6",\#
        "groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"],\#
        "extra":{"authentication.kubernetes.io/credential-id":["JTI=8c1e6f2a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"],\#
        "authentication.kubernetes.io/node-name":["ip-10-0-3-17.ec2.internal"],\#
        "authentication.kubernetes.io/pod-name":["runner-5f7d9c-abcde"]}},\#
        "impersonatedUser":{"username":"alice@example.com","groups":["payments-admins","system:authenticated"]},\#
        "sourceIPs":["203.0.113.9","10.0.3.17"],"userAgent":"kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",\#
        "objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9f8b6c5-x2x7q",\#
        "uid":"9f3c1a2b-4d5e-6f70-8192-a3b4c5d6e7f8","apiGroup":"","apiVersion":"v1","resourceVersion":"4815162342",\#
        "subresource":"ephemeralcontainers"},\#
        "responseStatus":{"metadata":{},"status":"Failure","message":"admission webhook \"policy.example.com\" denied the request: container \"debugger-x7\" must not run as root","reason":"Forbidden","details":{"name":"api-7d9f8b6c5-x2x7q","kind":"pods"},"code":403},\#
        "requestObject":{"spec":{"ephemeralContainers":[{"name":"debugger-x7","image":"busybox:1.36","targetContainerName":"api"}]}},\#
        "responseObject":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","code":403},\#
        "requestReceivedTimestamp":"2024-05-01T12:34:56.123456Z","stageTimestamp":"2024-05-01T12:34:56.234567Z",\#
        "annotations":{"authorization.k8s.io/decision":"allow",\#
        "authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"payments-admins\" of ClusterRole \"admin\" to Group \"payments-admins\"",\#
        "pod-security.kubernetes.io/enforce-policy":"restricted:latest"}}
        """#

    /// The falco trace `exec_pod.json`: v1beta1-era fields, no `apiVersion`.
    static let falcoExecPod = #"""
        {"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""},"auditID":"ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6","kind":"Event","level":"Request","metadata":{"creationTimestamp":"2018-10-26T13:38:34Z"},"objectRef":{"apiVersion":"v1","name":"nginx-deployment-7998647bdf-phvq7","namespace":"default","resource":"pods","subresource":"exec"},"requestReceivedTimestamp":"2018-10-26T13:38:34.867116Z","requestURI":"/api/v1/namespaces/default/pods/nginx-deployment-7998647bdf-phvq7/exec?command=bash&container=nginx1&container=nginx1&stdin=true&stdout=true&tty=true","responseStatus":{"code":101,"metadata":{}},"sourceIPs":["192.168.99.1"],"stage":"ResponseStarted","stageTimestamp":"2018-10-26T13:38:34.902914Z","timestamp":"2018-10-26T13:38:34Z","user":{"groups":["system:masters","system:authenticated"],"username":"minikube-user"},"verb":"create"}
        """#

    /// An audit.k8s.io/v1beta1 event with only the v1beta1 timestamps.
    static let v1beta1Event = #"""
        {"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2018-10-25T14:09:12Z"},"level":"Metadata","timestamp":"2018-10-25T14:09:11Z","auditID":"a362d22b-db3c-4590-9505-23782f12925f","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts","system:authenticated"]},"sourceIPs":["::1"],"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201}}
        """#

    /// A minimal v1 envelope with `extra` spliced in before the closing brace.
    static func event(_ extra: String = "") -> String {
        #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"00000000-0000-0000-0000-000000000001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"admin"}"#
            + (extra.isEmpty ? "" : "," + extra) + "}"
    }
}
