#!/usr/bin/env python3
"""Writes the project's sample audit logs (SampleLogs/README.md describes them).

Deterministic: the same files come out on every run (fixed seed, fixed clock).
Run from the package root:  python3 SampleLogs/generate.py
"""
import json
import os
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20250314)
T0 = datetime(2025, 3, 14, 9, 0, 0, tzinfo=timezone.utc)
K8S = "v1.31.2"
COMMIT = "5864a46"


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_uid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- identities -----------------------------------------------------------------------

def user(name, groups, uid=None, extra=None):
    u = {"username": name}
    if uid:
        u["uid"] = uid
    u["groups"] = groups
    if extra:
        u["extra"] = extra
    return u


SCHEDULER = user("system:kube-scheduler", ["system:authenticated"])
KCM = user("system:kube-controller-manager", ["system:authenticated"])
KUBELET = user("system:node:worker-1", ["system:nodes", "system:authenticated"])
COREDNS = user("system:serviceaccount:kube-system:coredns", ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"], uid=new_uid())
RS_CONTROLLER = user("system:serviceaccount:kube-system:replicaset-controller", ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"], uid=new_uid())
DEPLOY_CONTROLLER = user("system:serviceaccount:kube-system:deployment-controller", ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"], uid=new_uid())
ALICE = user("alice@example.com", ["developers", "system:authenticated"])
ADMIN = user("kubernetes-admin", ["kubeadm:cluster-admins", "system:authenticated"])
WEBAPP_POD = "webapp-7c9d8f6b5-x2kqp"
WEBAPP_SA = user(
    "system:serviceaccount:default:webapp",
    ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    uid=new_uid(),
    extra={
        "authentication.kubernetes.io/credential-id": ["JTI=" + new_uid()],
        "authentication.kubernetes.io/node-name": ["worker-1"],
        "authentication.kubernetes.io/node-uid": [new_uid()],
        "authentication.kubernetes.io/pod-name": [WEBAPP_POD],
        "authentication.kubernetes.io/pod-uid": [new_uid()],
    },
)
ANONYMOUS = user("system:anonymous", ["system:unauthenticated"])

CONTROL_PLANE_IP = "172.18.0.2"
NODE_IP = "172.18.0.3"
ALICE_IP = "10.20.30.41"
ADMIN_IP = "10.20.30.5"
WEBAPP_POD_IP = "10.244.1.7"
SCANNER_IP = "203.0.113.66"


def ua(component, platform="linux/amd64", suffix=""):
    return f"{component}/{K8S} ({platform}) kubernetes/{COMMIT}{suffix}"


def allow(reason):
    return {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason}


def forbid():
    return {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}


# --- events ---------------------------------------------------------------------------

EVENTS = []


def event(t, *, verb, uri, who, ip, agent, ref, code=200, level="Metadata", stage="ResponseComplete",
          latency_ms=None, status=None, request=None, response=None, annotations=None, impersonated=None,
          audit_id=None):
    """Appends one audit.k8s.io/v1 Event with its members in the apiserver's order."""
    received = t
    done = t + timedelta(microseconds=int(1000 * (latency_ms if latency_ms is not None else rng.uniform(0.8, 9.0))))
    e = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id or new_uid(),
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": who,
    }
    if impersonated:
        e["impersonatedUser"] = impersonated
    e["sourceIPs"] = [ip]
    e["userAgent"] = agent
    if ref is not None:
        e["objectRef"] = ref
    e["responseStatus"] = status or {"metadata": {}, "code": code}
    if request is not None:
        e["requestObject"] = request
    if response is not None:
        e["responseObject"] = response
    e["requestReceivedTimestamp"] = ts(received)
    e["stageTimestamp"] = ts(done)
    e["annotations"] = annotations or allow("")
    EVENTS.append((done, e))
    return e


def ref(resource, namespace=None, name=None, group=None, version="v1", subresource=None, uid=None, rv=None):
    r = {"resource": resource}
    if namespace:
        r["namespace"] = namespace
    if name:
        r["name"] = name
    if uid:
        r["uid"] = uid
    if group is not None:
        r["apiGroup"] = group
    r["apiVersion"] = version
    if rv:
        r["resourceVersion"] = rv
    if subresource:
        r["subresource"] = subresource
    return r


def forbidden(verb, resource, who, namespace=None, group=""):
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f'{resource} is forbidden: User "{who["username"]}" cannot {verb} resource "{resource}" in API group "{group}"{scope}',
        "reason": "Forbidden",
        "details": {"kind": resource},
        "code": 403,
    }


# --- background traffic ---------------------------------------------------------------

WINDOW = 180  # seconds

for component, who, reason in [
    ("kube-scheduler", SCHEDULER, 'RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler"'),
    ("kube-controller-manager", KCM, 'RBAC: allowed by ClusterRoleBinding "system:kube-controller-manager" of ClusterRole "system:kube-controller-manager" to User "system:kube-controller-manager"'),
]:
    offset = rng.uniform(0, 2)
    rv = 51000 + rng.randrange(1000)
    t = 0.0
    while t < WINDOW:
        event(T0 + timedelta(seconds=offset + t), verb="update",
              uri=f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{component}?timeout=5s",
              who=who, ip=CONTROL_PLANE_IP, agent=ua(component, suffix="/leader-election"),
              ref=ref("leases", "kube-system", component, "coordination.k8s.io", rv=str(rv)),
              annotations=allow(reason))
        rv += rng.randrange(3, 9)
        t += 3  # a little slower than the default 2 s retry period

# kubelet: node lease every 10 s, node status get every 10 s, status patch every 60 s
t = 0.5
while t < WINDOW:
    event(T0 + timedelta(seconds=t), verb="update",
          uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s",
          who=KUBELET, ip=NODE_IP, agent=ua("kubelet"),
          ref=ref("leases", "kube-node-lease", "worker-1", "coordination.k8s.io"),
          annotations=allow(""))
    event(T0 + timedelta(seconds=t + 0.2), verb="get",
          uri="/api/v1/nodes/worker-1?resourceVersion=0&timeout=10s",
          who=KUBELET, ip=NODE_IP, agent=ua("kubelet"), ref=ref("nodes", name="worker-1", group=""),
          annotations=allow(""))
    if int(t) % 60 == 0:
        event(T0 + timedelta(seconds=t + 0.25), verb="patch",
              uri="/api/v1/nodes/worker-1/status?timeout=10s",
              who=KUBELET, ip=NODE_IP, agent=ua("kubelet"), ref=ref("nodes", name="worker-1", group="", subresource="status"),
              annotations=allow(""))
    t += 10

# controllers and coredns: watches (ResponseStarted, then ResponseComplete when they time out)
for who, ip, agent, resource, group, version, ns in [
    (COREDNS, "10.244.0.3", "coredns/1.11.3 (linux/amd64) kubernetes/5864a46", "endpointslices", "discovery.k8s.io", "v1", None),
    (COREDNS, "10.244.0.3", "coredns/1.11.3 (linux/amd64) kubernetes/5864a46", "services", "", "v1", None),
    (KCM, CONTROL_PLANE_IP, ua("kube-controller-manager", suffix="/shared-informers"), "pods", "", "v1", None),
    (KCM, CONTROL_PLANE_IP, ua("kube-controller-manager", suffix="/shared-informers"), "replicasets", "apps", "v1", None),
    (SCHEDULER, CONTROL_PLANE_IP, ua("kube-scheduler", suffix="/scheduler"), "pods", "", "v1", None),
    (KUBELET, NODE_IP, ua("kubelet"), "configmaps", "", "v1", "kube-system"),
]:
    prefix = "/api/v1" if group == "" else f"/apis/{group}/{version}"
    path = f"{prefix}/namespaces/{ns}/{resource}" if ns else f"{prefix}/{resource}"
    start = T0 + timedelta(seconds=rng.uniform(1, 40))
    audit_id = new_uid()
    timeout = rng.randrange(100, 140)
    uri = f"{path}?allowWatchBookmarks=true&resourceVersion={rng.randrange(50000, 52000)}&timeout={timeout // 60}m{timeout % 60}s&timeoutSeconds={timeout}&watch=true"
    r = ref(resource, ns, group=group, version=version)
    event(start, verb="watch", uri=uri, who=who, ip=ip, agent=agent, ref=r, stage="ResponseStarted",
          latency_ms=0.9, audit_id=audit_id)
    event(start, verb="watch", uri=uri, who=who, ip=ip, agent=agent, ref=r, latency_ms=timeout * 1000 - 3,
          audit_id=audit_id)
    # the informer lists again before its next watch
    event(start + timedelta(seconds=timeout, milliseconds=5), verb="list",
          uri=f"{path}?limit=500&resourceVersion=0", who=who, ip=ip, agent=agent, ref=r)

# --- a developer at work --------------------------------------------------------------

KUBECTL_ALICE = ua("kubectl", "darwin/arm64")
t = T0 + timedelta(seconds=12)
for i in range(12):
    event(t, verb="list", uri="/api/v1/namespaces/default/pods?limit=500", who=ALICE, ip=ALICE_IP,
          agent=KUBECTL_ALICE, ref=ref("pods", "default"), annotations=allow('RBAC: allowed by RoleBinding "developers/default" of ClusterRole "edit" to Group "developers"'))
    t += timedelta(seconds=rng.uniform(3, 9))
    if i % 3 == 0:
        event(t, verb="get", uri=f"/api/v1/namespaces/default/pods/{WEBAPP_POD}", who=ALICE, ip=ALICE_IP,
              agent=KUBECTL_ALICE, ref=ref("pods", "default", WEBAPP_POD), annotations=allow('RBAC: allowed by RoleBinding "developers/default" of ClusterRole "edit" to Group "developers"'))
        event(t + timedelta(milliseconds=40), verb="get", uri=f"/api/v1/namespaces/default/pods/{WEBAPP_POD}/log?container=app&tailLines=50",
              who=ALICE, ip=ALICE_IP, agent=KUBECTL_ALICE, ref=ref("pods", "default", WEBAPP_POD, subresource="log"),
              annotations=allow('RBAC: allowed by RoleBinding "developers/default" of ClusterRole "edit" to Group "developers"'))
    t += timedelta(seconds=rng.uniform(2, 6))

# alice deploys "api" (kubectl apply): the deployment at Request level, then the controllers
DEPLOY_AT = T0 + timedelta(seconds=64)
container = {
    "name": "api",
    "image": "registry.example.com/shop/api:2.4.1",
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "imagePullPolicy": "IfNotPresent",
    "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 10001,
                         "capabilities": {"drop": ["ALL"]}},
}
pod_template_spec = {
    "containers": [container],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "serviceAccountName": "api",
    "securityContext": {},
    "schedulerName": "default-scheduler",
}
event(DEPLOY_AT, verb="get", uri="/apis/apps/v1/namespaces/default/deployments/api", who=ALICE, ip=ALICE_IP,
      agent=KUBECTL_ALICE, ref=ref("deployments", "default", "api", "apps"), code=404,
      status={"metadata": {}, "status": "Failure", "message": 'deployments.apps "api" not found', "reason": "NotFound",
              "details": {"name": "api", "group": "apps", "kind": "deployments"}, "code": 404},
      annotations=allow('RBAC: allowed by RoleBinding "developers/default" of ClusterRole "edit" to Group "developers"'))
event(DEPLOY_AT + timedelta(milliseconds=30), verb="create",
      uri="/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
      who=ALICE, ip=ALICE_IP, agent=KUBECTL_ALICE, ref=ref("deployments", "default", "api", "apps"), code=201,
      level="Request",
      request={"kind": "Deployment", "apiVersion": "apps/v1",
               "metadata": {"name": "api", "namespace": "default", "creationTimestamp": None, "labels": {"app": "api"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                        "template": {"metadata": {"creationTimestamp": None, "labels": {"app": "api"}},
                                     "spec": pod_template_spec},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
               "status": {}},
      annotations=allow('RBAC: allowed by RoleBinding "developers/default" of ClusterRole "edit" to Group "developers"'))
event(DEPLOY_AT + timedelta(milliseconds=45), verb="create", uri="/apis/apps/v1/namespaces/default/replicasets",
      who=DEPLOY_CONTROLLER, ip=CONTROL_PLANE_IP, agent=ua("kube-controller-manager", suffix="/system:serviceaccount:kube-system:deployment-controller"),
      ref=ref("replicasets", "default", "api-6d8f9c7b84", "apps"), code=201,
      annotations=allow('RBAC: allowed by ClusterRoleBinding "system:controller:deployment-controller" of ClusterRole "system:controller:deployment-controller" to ServiceAccount "deployment-controller/kube-system"'))
for n, suffix in enumerate(["q7x2m", "zk4pd"]):
    name = f"api-6d8f9c7b84-{suffix}"
    at = DEPLOY_AT + timedelta(milliseconds=60 + 7 * n)
    # a pod create at Request level, as the replicaset controller sends it
    event(at, verb="create", uri="/api/v1/namespaces/default/pods", who=RS_CONTROLLER, ip=CONTROL_PLANE_IP,
          agent=ua("kube-controller-manager", suffix="/system:serviceaccount:kube-system:replicaset-controller"),
          ref=ref("pods", "default", name), code=201, level="Request",
          request={"kind": "Pod", "apiVersion": "v1",
                   "metadata": {"generateName": "api-6d8f9c7b84-", "namespace": "default", "creationTimestamp": None,
                                "labels": {"app": "api", "pod-template-hash": "6d8f9c7b84"},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-6d8f9c7b84",
                                                     "uid": "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "controller": True,
                                                     "blockOwnerDeletion": True}]},
                   "spec": pod_template_spec, "status": {}},
          annotations={**allow('RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller" of ClusterRole "system:controller:replicaset-controller" to ServiceAccount "replicaset-controller/kube-system"'),
                       "pod-security.kubernetes.io/enforce-policy": "restricted:latest"})
    event(at + timedelta(milliseconds=20), verb="create", uri=f"/api/v1/namespaces/default/pods/{name}/binding",
          who=SCHEDULER, ip=CONTROL_PLANE_IP, agent=ua("kube-scheduler", suffix="/scheduler"),
          ref=ref("pods", "default", name, subresource="binding"), code=201,
          annotations=allow('RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler"'))
    event(at + timedelta(milliseconds=900), verb="patch", uri=f"/api/v1/namespaces/default/pods/{name}/status",
          who=KUBELET, ip=NODE_IP, agent=ua("kubelet"), ref=ref("pods", "default", name, subresource="status"),
          annotations=allow(""))

# core/v1 Events recorded about the new pods (scheduler, kubelet)
for n, name in enumerate(["api-6d8f9c7b84-q7x2m", "api-6d8f9c7b84-zk4pd"]):
    at = DEPLOY_AT + timedelta(milliseconds=100 + 11 * n)
    event(at, verb="create", uri="/apis/events.k8s.io/v1/namespaces/default/events", who=SCHEDULER,
          ip=CONTROL_PLANE_IP, agent=ua("kube-scheduler", suffix="/scheduler"),
          ref=ref("events", "default", f"{name}.182c4f0d3a5b{n}e7f", "events.k8s.io"), code=201,
          annotations=allow('RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler"'))
    for k, reason in enumerate(["Pulling", "Pulled", "Created", "Started"]):
        event(at + timedelta(milliseconds=400 + 350 * k), verb="create", uri="/api/v1/namespaces/default/events",
              who=KUBELET, ip=NODE_IP, agent=ua("kubelet"),
              ref=ref("events", "default", f"{name}.182c4f0d4{k}{n}c1a2"), code=201, annotations=allow(""))

# --- an intrusion: a compromised web pod's token --------------------------------------

ATTACK_AT = T0 + timedelta(seconds=101)
CURL = "curl/8.5.0"
event(ATTACK_AT, verb="get", uri="/api", who=WEBAPP_SA, ip=WEBAPP_POD_IP, agent=CURL, ref=None,
      annotations=allow('RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"'))
event(ATTACK_AT + timedelta(seconds=2), verb="create",
      uri="/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", who=WEBAPP_SA, ip=WEBAPP_POD_IP, agent=CURL,
      ref=ref("selfsubjectrulesreviews", group="authorization.k8s.io"), code=201,
      annotations=allow('RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"'))
# two 403s: the token may not read secrets
for i, ns in enumerate(["kube-system", "default"]):
    event(ATTACK_AT + timedelta(seconds=4 + i), verb="list", uri=f"/api/v1/namespaces/{ns}/secrets",
          who=WEBAPP_SA, ip=WEBAPP_POD_IP, agent=CURL, ref=ref("secrets", ns), code=403,
          status=forbidden("list", "secrets", WEBAPP_SA, ns), annotations=forbid())
# and a scanner from the internet, unauthenticated
event(ATTACK_AT + timedelta(seconds=6), verb="get", uri="/api/v1/namespaces/kube-system/secrets/admin-token",
      who=ANONYMOUS, ip=SCANNER_IP, agent="python-requests/2.31.0", ref=ref("secrets", "kube-system", "admin-token"),
      code=403, status=forbidden("get", "secrets", ANONYMOUS, "kube-system"), annotations=forbid())
# it may exec into its own pod's siblings (the "edit" role was bound to it by mistake)
EXEC_AT = ATTACK_AT + timedelta(seconds=9)
exec_id = new_uid()
exec_uri = (f"/api/v1/namespaces/default/pods/api-6d8f9c7b84-q7x2m/exec?command=sh&command=-c"
            f"&command=cat+%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=api"
            f"&stderr=true&stdout=true")
exec_ref = ref("pods", "default", "api-6d8f9c7b84-q7x2m", subresource="exec")
exec_reason = 'RBAC: allowed by RoleBinding "webapp-edit/default" of ClusterRole "edit" to ServiceAccount "webapp/default"'
event(EXEC_AT, verb="create", uri=exec_uri, who=WEBAPP_SA, ip=WEBAPP_POD_IP, agent=ua("kubectl"), ref=exec_ref,
      code=101, level="Request", stage="ResponseStarted", latency_ms=31, audit_id=exec_id, annotations=allow(exec_reason))
event(EXEC_AT, verb="create", uri=exec_uri, who=WEBAPP_SA, ip=WEBAPP_POD_IP, agent=ua("kubectl"), ref=exec_ref,
      code=101, level="Request", latency_ms=412, audit_id=exec_id, annotations=allow(exec_reason))
# with the stolen "api" token: secrets everywhere, then cluster-admin for itself
API_SA = user("system:serviceaccount:default:api", ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"], uid=new_uid())
event(EXEC_AT + timedelta(seconds=5), verb="list", uri="/api/v1/secrets?limit=500", who=API_SA, ip=WEBAPP_POD_IP,
      agent=ua("kubectl"), ref=ref("secrets"),
      annotations=allow('RBAC: allowed by ClusterRoleBinding "api-secrets-reader" of ClusterRole "secrets-reader" to ServiceAccount "api/default"'))
crb = {"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
       "metadata": {"name": "webapp-admin", "creationTimestamp": None},
       "subjects": [{"kind": "ServiceAccount", "name": "webapp", "namespace": "default"}],
       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}}
crb_response = json.loads(json.dumps(crb))
crb_response["metadata"] = {"name": "webapp-admin", "uid": new_uid(), "resourceVersion": "52117",
                            "creationTimestamp": ts(EXEC_AT + timedelta(seconds=8))[:19] + "Z"}
event(EXEC_AT + timedelta(seconds=8), verb="create",
      uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
      who=API_SA, ip=WEBAPP_POD_IP, agent=ua("kubectl"),
      ref=ref("clusterrolebindings", name="webapp-admin", group="rbac.authorization.k8s.io"), code=201,
      level="RequestResponse", request=crb, response=crb_response,
      annotations=allow('RBAC: allowed by ClusterRoleBinding "api-rbac-manager" of ClusterRole "rbac-manager" to ServiceAccount "api/default"'))
# the admin notices and looks (impersonating the service account to check its rights)
event(T0 + timedelta(seconds=150), verb="get", uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/webapp-admin",
      who=ADMIN, ip=ADMIN_IP, agent=ua("kubectl", "linux/amd64"),
      ref=ref("clusterrolebindings", name="webapp-admin", group="rbac.authorization.k8s.io"),
      annotations=allow('RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"'))
event(T0 + timedelta(seconds=152), verb="list", uri="/api/v1/namespaces/kube-system/secrets", who=ADMIN,
      impersonated={"username": "system:serviceaccount:default:webapp", "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]},
      ip=ADMIN_IP, agent=ua("kubectl", "linux/amd64"), ref=ref("secrets", "kube-system"),
      annotations=allow('RBAC: allowed by ClusterRoleBinding "webapp-admin" of ClusterRole "cluster-admin" to ServiceAccount "webapp/default"'))
event(T0 + timedelta(seconds=158), verb="delete", uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/webapp-admin",
      who=ADMIN, ip=ADMIN_IP, agent=ua("kubectl", "linux/amd64"),
      ref=ref("clusterrolebindings", name="webapp-admin", group="rbac.authorization.k8s.io"),
      annotations=allow('RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"'))


def line(e):
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


def write(path, data):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


# --- streams/sample.ndjson: the log backend's file ------------------------------------

EVENTS.sort(key=lambda p: p[0])
events = [e for _, e in EVENTS]
write("streams/sample.ndjson", "".join(line(e) + "\n" for e in events).encode())

# --- webhook/eventlist.json: one webhook batch ------------------------------------------
# The webhook backend posts an audit.k8s.io/v1 EventList; its items carry no kind or
# apiVersion of their own (Go omits the empty TypeMeta). Compact JSON, no trailing newline.
batch = [e for e in events if e["user"]["username"] in ("system:serviceaccount:default:webapp",)][:4]
items = []
for e in batch:
    item = {k: v for k, v in e.items() if k not in ("kind", "apiVersion")}
    items.append(item)
write("webhook/eventlist.json", json.dumps(
    {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items},
    separators=(",", ":")).encode())

# --- malformed/ ---------------------------------------------------------------------------
good = [line(e).encode() for e in events[:3]]

# a line cut short in the middle of the file (as after a crash and restart)
write("malformed/truncated-line.log", good[0] + b"\n" + good[1][: len(good[1]) // 2] + b"\n" + good[2] + b"\n")
# a line of text that is not JSON in the middle
write("malformed/not-json.log", good[0] + b"\n" + b"E0314 09:00:01.000000 1 audit.go:42] log rotated\n" + good[2] + b"\n")
# invalid UTF-8 inside strings (a username and a user agent)
bad = line(events[1]).encode()
bad = bad.replace(b'"userAgent":"', b'"userAgent":"\xff\xfe\xc3(', 1)
bad = bad.replace(b'"username":"', b'"username":"\xed\xa0\x80bad-\xc0\xaf', 1)
write("malformed/invalid-utf8.log", good[0] + b"\n" + bad + b"\n" + good[2] + b"\n")
# Falco's fal_01_003 shape: valid JSON, not an event
write("malformed/kind-zero.json", b'{"kind":0}\n')
# repeated top-level keys: the last one wins
dup = line(events[2]).encode()
dup = dup.replace(b'"verb":"', b'"verb":"delete","verb":"', 1)
write("malformed/duplicate-keys.log", dup + b"\n")
# a request body nested 10,000 levels deep
deep_event = json.loads(line(events[3]))
deep_event["level"] = "Request"
head = line(deep_event).encode()
assert head.endswith(b"}")
nested = b'{"a":' * 10000 + b"1" + b"}" * 10000
write("malformed/deep-nesting.log", head[:-1] + b',"requestObject":' + nested + b"}\n")
# NUL bytes: inside a string, and a line of them between two events
nul = line(events[4]).encode().replace(b'"userAgent":"', b'"userAgent":"\x00\x00nul', 1)
write("malformed/nul-bytes.log", good[0] + b"\n" + b"\x00" * 16 + b"\n" + nul + b"\n")

# --- summary for the README and the tests -----------------------------------------------
print("events", len(events))
print("verbs", Counter(e["verb"] for e in events).most_common())
print("codes", Counter(e["responseStatus"]["code"] for e in events).most_common())
print("stages", Counter(e["stage"] for e in events).most_common())
print("levels", Counter(e["level"] for e in events).most_common())
print("users", Counter(e["user"]["username"] for e in events).most_common(5))
print("resources", Counter((e.get("objectRef", {}).get("resource", "-") + ("/" + e["objectRef"]["subresource"] if "subresource" in e.get("objectRef", {}) else "")) for e in events).most_common(6))
print("first", events[0]["stageTimestamp"], "last", events[-1]["stageTimestamp"])
print("webhook items", len(items))
