import AuditJSON

/// A pod spec, wherever it sits: in a Pod, in a workload's pod template, or in a
/// CronJob's job template.
///
/// One rule can then ask "is any container privileged?" of every workload kind:
/// Pod (`spec`), Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController
/// and Job (`spec.template.spec`), PodTemplate (`template.spec`) and CronJob
/// (`spec.jobTemplate.spec.template.spec`).
public struct PodSpecView {
    /// The pod spec object.
    public let spec: JSONValue

    public init(spec: JSONValue) { self.spec = spec }

    /// Finds the pod spec inside `object` (a Pod or workload body).
    ///
    /// The object's `kind` decides where to look; when it has none (patch bodies, some
    /// captures), `resource` (the event's `objectRef.resource`) decides.
    public init?(in object: JSONValue, resource: JSONValue? = nil) {
        self.init(in: object, resource: resource, member: { $0[$1] })
    }

    /// As `init(in:resource:)`, finding each member with `member` (an object and a key),
    /// which must answer as `JSONValue`'s subscript does (the last of duplicate keys): a caller
    /// that has listed the body's objects already spares walking them again (each step
    /// walks the whole object, and a workload's pod template is most of its body).
    public init?(in object: JSONValue, resource: JSONValue? = nil, member: (JSONValue, StaticString) -> JSONValue?) {
        guard object.kind == .object else { return nil }
        let shape: Shape
        if let kind = member(object, "kind") {
            guard let s = Shape(kind: kind) else { return nil }
            shape = s
        } else if let resource, let s = Shape(resource: resource) {
            shape = s
        } else {
            return nil
        }
        var v: JSONValue? = object
        for key in shape.path {
            guard let parent = v, parent.kind == .object else { return nil }
            v = member(parent, key)
        }
        guard let found = v, found.kind == .object else { return nil }
        spec = found
    }

    enum Shape {
        case pod, template, podTemplate, cronJob

        init?(kind: JSONValue) {
            if kind.stringEquals("Pod") {
                self = .pod
            } else if kind.stringEquals("Deployment") || kind.stringEquals("DaemonSet")
                || kind.stringEquals("StatefulSet") || kind.stringEquals("ReplicaSet")
                || kind.stringEquals("Job") || kind.stringEquals("ReplicationController")
            {
                self = .template
            } else if kind.stringEquals("CronJob") {
                self = .cronJob
            } else if kind.stringEquals("PodTemplate") {
                self = .podTemplate
            } else {
                return nil
            }
        }

        init?(resource: JSONValue) {
            if resource.stringEquals("pods") {
                self = .pod
            } else if resource.stringEquals("deployments") || resource.stringEquals("daemonsets")
                || resource.stringEquals("statefulsets") || resource.stringEquals("replicasets")
                || resource.stringEquals("jobs") || resource.stringEquals("replicationcontrollers")
            {
                self = .template
            } else if resource.stringEquals("cronjobs") {
                self = .cronJob
            } else if resource.stringEquals("podtemplates") {
                self = .podTemplate
            } else {
                return nil
            }
        }

        var path: [StaticString] {
            switch self {
            case .pod: Self.podPath
            case .template: Self.templatePath
            case .podTemplate: Self.podTemplatePath
            case .cronJob: Self.cronJobPath
            }
        }

        // Built once (an array literal in `path` was an allocation per lookup).
        private static let podPath: [StaticString] = ["spec"]
        private static let templatePath: [StaticString] = ["spec", "template", "spec"]
        private static let podTemplatePath: [StaticString] = ["template", "spec"]
        private static let cronJobPath: [StaticString] = ["spec", "jobTemplate", "spec", "template", "spec"]
    }

    public var hostPID: Bool { spec["hostPID"]?.bool ?? false }
    public var hostIPC: Bool { spec["hostIPC"]?.bool ?? false }
    public var hostNetwork: Bool { spec["hostNetwork"]?.bool ?? false }
    /// `serviceAccountName`, or the deprecated `serviceAccount`.
    public var serviceAccountName: JSONValue? { spec["serviceAccountName"] ?? spec["serviceAccount"] }
    /// The pod-level `securityContext`.
    public var securityContext: JSONValue? { spec["securityContext"] }

    /// Every container of every kind, in the order containers, initContainers,
    /// ephemeralContainers.
    public var allContainers: [ContainerView] {
        var out: [ContainerView] = []
        forEachContainer { out.append($0); return true }
        return out
    }

    /// Visits every container of every kind without allocating; return false to stop.
    @discardableResult
    public func forEachContainer(_ body: (ContainerView) -> Bool) -> Bool {
        for kind in ContainerView.Kind.allCases {
            guard let list = spec[kind.key], list.kind == .array else { continue }
            for c in list.elements where c.kind == .object {
                if !body(ContainerView(kind: kind, object: c)) { return false }
            }
        }
        return true
    }

    /// The pod's volumes.
    public var volumes: [VolumeView] {
        var out: [VolumeView] = []
        if let list = spec["volumes"] {
            for v in list.elements where v.kind == .object { out.append(VolumeView(object: v)) }
        }
        return out
    }
}

/// One container, init container or ephemeral container.
public struct ContainerView {
    public enum Kind: CaseIterable, Sendable {
        case container, initContainer, ephemeralContainer

        /// The pod spec member that lists containers of this kind.
        public var specKey: StaticString { key }

        var key: StaticString {
            switch self {
            case .container: return "containers"
            case .initContainer: return "initContainers"
            case .ephemeralContainer: return "ephemeralContainers"
            }
        }
    }

    public let kind: Kind
    public let object: JSONValue

    public init(kind: Kind, object: JSONValue) {
        self.kind = kind
        self.object = object
    }

    public var name: JSONValue? { object["name"] }
    public var image: JSONValue? { object["image"] }
    public var securityContext: JSONValue? { object["securityContext"] }
    /// `securityContext.privileged` (absent means false).
    public var privileged: Bool { securityContext?["privileged"]?.bool ?? false }
    /// `securityContext.allowPrivilegeEscalation`; nil when unset (Kubernetes then allows it).
    public var allowPrivilegeEscalation: Bool? { securityContext?["allowPrivilegeEscalation"]?.bool }
    /// `securityContext.runAsUser`.
    public var runAsUser: Int64? { securityContext?["runAsUser"]?.int64 }
    /// `securityContext.capabilities.add` (an array of strings).
    public var capabilitiesAdd: JSONValue? { securityContext?["capabilities"]?["add"] }
    /// `volumeMounts`, each with `name`, `mountPath` and `readOnly`.
    public var volumeMounts: JSONValue? { object["volumeMounts"] }
    /// `command` (the entrypoint) and `args`, arrays of strings.
    public var command: JSONValue? { object["command"] }
    public var args: JSONValue? { object["args"] }
}

/// One pod volume.
public struct VolumeView {
    public let object: JSONValue

    public init(object: JSONValue) { self.object = object }
    public var name: JSONValue? { object["name"] }
    /// `hostPath.path`, when this is a hostPath volume.
    public var hostPath: JSONValue? { object["hostPath"]?["path"] }
    /// `hostPath.type` (e.g. `Directory`, `Socket`).
    public var hostPathType: JSONValue? { object["hostPath"]?["type"] }
}

extension AuditEvent {
    /// Which body a derived view reads.
    public enum Body: Sendable { case request, response }

    /// The pod spec in the request (or response) body, for Pods and every workload kind.
    public func podSpec(in body: Body = .request) -> PodSpecView? {
        let object = body == .request ? requestObject : responseObject
        guard let object else { return nil }
        return PodSpecView(in: object, resource: objectRef?.resource)
    }
}
