import AuditJSON
import AuditModel

/// The fields a rule may name, with their type and meaning, and where each one's values
/// come from in an audit event.
///
/// Four kinds of names:
/// - Dotted paths into the event as the apiserver writes it (`verb`, `objectRef.resource`,
///   `user.groups`, `requestObject.spec.hostNetwork`). The envelope's are listed here; any
///   path below `requestObject`, `responseObject`, `user.extra`, `annotations` or
///   `responseStatus.details` is accepted as written, because bodies have no fixed schema.
///   Arrays on the way are transparent: the field is true when any element matches.
/// - Derived fields (`exec.*`, `pod.*`) backed by the event views, so one rule covers every
///   place a fact can sit: the exec argv from every `command=` parameter, and the pod spec
///   of a Pod, of any workload's template and of a CronJob's job template, across
///   containers, init containers and ephemeral containers.
/// - The names SigmaHQ's Kubernetes rules use through their backend mapping (`apiGroup`,
///   `hostPath`, `capabilities`), so those rules load unmodified.
/// - Per-element fields (`container.*`, `volume.*`, any path below either prefix): naming one
///   makes the rule per-element (`ElementScope`), judged once for each container (or volume)
///   of the pod spec, so all its `container.*` tests are about the same container.
///
/// A rule naming a field outside the catalogue fails to load (the loader reports it).
public struct FieldCatalogue: Sendable {
    /// The catalogue every rule is checked against.
    public static let standard = FieldCatalogue(FieldCatalogue.standardDefinitions)

    /// Every named field, in documentation order.
    public let definitions: [FieldDefinition]
    let byName: [String: FieldDefinition]

    init(_ definitions: [FieldDefinition]) {
        self.definitions = definitions
        var map: [String: FieldDefinition] = [:]
        for d in definitions { map[d.name] = d }
        byName = map
    }

    /// Prefixes under which any dotted path is accepted (schema-free bodies and maps).
    public static let openPrefixes = [
        "requestObject.", "responseObject.", "user.extra.", "impersonatedUser.extra.", "annotations.",
        "responseStatus.details.",
    ]

    /// Open prefixes whose maps are flat (string to string or string list): the rest of the
    /// name is one key, dots included.
    static let flatMapPrefixes = ["annotations.", "user.extra.", "impersonatedUser.extra."]

    /// The definition of `name`, or nil when no rule may use it.
    public func resolve(_ name: String) -> FieldDefinition? {
        if let d = byName[name] { return d }
        for scope in ElementScope.allCases where name.hasPrefix(scope.prefix) && name.count > scope.prefix.count {
            return FieldDefinition(
                name: name, type: .any, summary: "A value inside the \(scope.rawValue) a per-element rule is on.",
                source: .element(scope, JSONPath(String(name.dropFirst(scope.prefix.count)))))
        }
        for prefix in Self.openPrefixes where name.hasPrefix(prefix) && name.count > prefix.count {
            // Annotation and user-extra keys contain dots (`authorization.k8s.io/decision`,
            // `authentication.kubernetes.io/pod-name`) and their values are flat: everything
            // after the prefix is one key.
            if Self.flatMapPrefixes.contains(prefix) {
                let key = String(name.dropFirst(prefix.count)).replacingBackslashEscapes()
                var segments = prefix.split(separator: ".").map(String.init)
                segments.append(key)
                return FieldDefinition(
                    name: name, type: prefix == "annotations." ? .string : .stringList,
                    summary: prefix == "annotations." ? "An annotation's value." : "An extra authentication attribute.",
                    source: .path(JSONPath(segments: segments)))
            }
            let path = JSONPath(name)
            if prefix == "requestObject." || prefix == "responseObject." {
                return FieldDefinition(
                    name: name, type: .any, summary: "A value inside a body.",
                    source: .body(prefix == "requestObject." ? .request : .response, path))
            }
            return FieldDefinition(name: name, type: .any, summary: "A value inside a body or map.", source: .path(path))
        }
        return nil
    }
}

/// What kind of values a field holds (for documentation and for lint checks such as
/// comparing a string with a number-valued field).
public enum FieldType: String, Sendable, CaseIterable {
    case string, integer, boolean, stringList = "string list", object, any
}

/// One field of the catalogue.
public struct FieldDefinition: Sendable {
    public let name: String
    public let type: FieldType
    /// What the field means, for `kaudit rules fields` and the documentation.
    public let summary: String
    public let source: FieldSource

    public init(name: String, type: FieldType, summary: String, source: FieldSource) {
        self.name = name
        self.type = type
        self.summary = summary
        self.source = source
    }
}

/// Where a field's values come from.
public enum FieldSource: Sendable {
    /// A top-level member, read from the event's index.
    case envelope(EnvelopeField)
    /// A member of `user`, `objectRef`, `responseStatus`, `annotations` or `metadata`,
    /// read from the event's index.
    case nested(NestedField)
    /// A dotted path from the event root ("any element" over arrays).
    case path(JSONPath)
    /// A dotted path into `requestObject` or `responseObject` (the whole path, body name
    /// first): the body's top-level members are found once per event and shared by rules.
    case body(AuditEvent.Body, JSONPath)
    /// A value computed from an event view.
    case derived(DerivedField)
    /// A dotted path from the container or volume a per-element rule is on.
    case element(ElementScope, JSONPath)
    /// Which list the current container is in: container, initContainer or ephemeralContainer.
    case containerKind

    /// The element scope the field belongs to, if it is a per-element field.
    public var elementScope: ElementScope? {
        switch self {
        case .element(let scope, _): return scope
        case .containerKind: return .container
        default: return nil
        }
    }
}

/// Fields computed from the event views.
public enum DerivedField: String, Sendable, CaseIterable {
    /// Each argv element of an exec (every `command=` parameter, URL-decoded, in order).
    case execCommand
    /// The argv joined with spaces.
    case execCommandLine
    /// The `container=` parameter of an exec or attach.
    case execContainer
    /// `stdin=true` / `tty=true` on an exec or attach.
    case execStdin, execTTY
    /// For every container of every kind in the pod spec, wherever it sits:
    case podContainerName, podImage, podPrivileged, podAllowPrivilegeEscalation, podRunAsUser, podCapabilitiesAdd
    case podVolumeMountPath, podCommand, podArgs
    /// The pod spec's host namespaces, service account and hostPath volumes.
    case podHostNetwork, podHostPID, podHostIPC, podServiceAccountName, podHostPath, podHostPathType
    /// For a `system:serviceaccount:<namespace>:<name>` user, the namespace and the name (so
    /// correlations can join the account's requests with objects that name it).
    case serviceAccountNamespace, serviceAccountName
    /// The last entry of `sourceIPs`: the address the apiserver itself saw (earlier entries
    /// come from X-Forwarded-For and are client-controlled).
    case sourceIP
}

extension FieldCatalogue {
    static let standardDefinitions: [FieldDefinition] = {
        typealias D = FieldDefinition
        var d: [D] = [
            D(name: "kind", type: .string, summary: "Event (EventList items have none).", source: .envelope(.kind)),
            D(name: "apiVersion", type: .string, summary: "audit.k8s.io/v1 or v1beta1.", source: .envelope(.apiVersion)),
            D(name: "level", type: .string, summary: "Metadata, Request or RequestResponse.", source: .envelope(.level)),
            D(name: "auditID", type: .string, summary: "The request's audit ID (client-settable).", source: .envelope(.auditID)),
            D(name: "stage", type: .string, summary: "RequestReceived, ResponseStarted, ResponseComplete or Panic.", source: .envelope(.stage)),
            D(name: "requestURI", type: .string, summary: "Path and raw query of the request.", source: .envelope(.requestURI)),
            D(name: "verb", type: .string, summary: "get, list, watch, create, update, patch, delete, deletecollection, or an HTTP method for non-resource URLs.", source: .envelope(.verb)),
            D(name: "user.username", type: .string, summary: "Who made the request.", source: .nested(.userUsername)),
            D(name: "user.uid", type: .string, summary: "The authenticated user's UID.", source: .nested(.userUID)),
            D(name: "user.groups", type: .stringList, summary: "The user's groups.", source: .nested(.userGroups)),
            D(name: "user.serviceaccount.namespace", type: .string, summary: "For a service account user (system:serviceaccount:NS:NAME), NS.", source: .derived(.serviceAccountNamespace)),
            D(name: "user.serviceaccount.name", type: .string, summary: "For a service account user (system:serviceaccount:NS:NAME), NAME.", source: .derived(.serviceAccountName)),
            D(name: "user.extra", type: .object, summary: "Extra authentication attributes (credential-id, pod-name, node-name).", source: .nested(.userExtra)),
            D(name: "impersonatedUser.username", type: .string, summary: "The identity impersonated, when impersonation succeeded.", source: .path(JSONPath("impersonatedUser.username"))),
            D(name: "impersonatedUser.groups", type: .stringList, summary: "The impersonated identity's groups.", source: .path(JSONPath("impersonatedUser.groups"))),
            D(name: "impersonatedUser.uid", type: .string, summary: "The impersonated identity's UID.", source: .path(JSONPath("impersonatedUser.uid"))),
            D(name: "sourceIPs", type: .stringList, summary: "Client addresses; only the last one is not client-controlled.", source: .envelope(.sourceIPs)),
            D(name: "sourceIP", type: .string, summary: "The last entry of sourceIPs: the address the apiserver saw (the others come from X-Forwarded-For and can be forged).", source: .derived(.sourceIP)),
            D(name: "userAgent", type: .string, summary: "The client's User-Agent (client-controlled).", source: .envelope(.userAgent)),
            D(name: "objectRef.resource", type: .string, summary: "The resource (pods, secrets, ...).", source: .nested(.refResource)),
            D(name: "objectRef.subresource", type: .string, summary: "The subresource (exec, attach, status, ...).", source: .nested(.refSubresource)),
            D(name: "objectRef.namespace", type: .string, summary: "The object's namespace.", source: .nested(.refNamespace)),
            D(name: "objectRef.name", type: .string, summary: "The object's name.", source: .nested(.refName)),
            D(name: "objectRef.apiGroup", type: .string, summary: "The API group (empty for the core group).", source: .nested(.refAPIGroup)),
            D(name: "objectRef.apiVersion", type: .string, summary: "The API version.", source: .nested(.refAPIVersion)),
            D(name: "objectRef.uid", type: .string, summary: "The object's UID.", source: .nested(.refUID)),
            D(name: "objectRef.resourceVersion", type: .string, summary: "The object's resourceVersion.", source: .nested(.refResourceVersion)),
            D(name: "responseStatus.code", type: .integer, summary: "The HTTP status code.", source: .nested(.statusCode)),
            D(name: "responseStatus.status", type: .string, summary: "Success or Failure.", source: .nested(.statusStatus)),
            D(name: "responseStatus.reason", type: .string, summary: "Machine-readable failure reason (Forbidden, NotFound, ...).", source: .nested(.statusReason)),
            D(name: "responseStatus.message", type: .string, summary: "Human-readable failure message.", source: .nested(.statusMessage)),
            D(name: "requestObject", type: .object, summary: "The request body (Request level and above).", source: .envelope(.requestObject)),
            D(name: "responseObject", type: .object, summary: "The response body (RequestResponse level).", source: .envelope(.responseObject)),
            D(name: "requestReceivedTimestamp", type: .string, summary: "When the request arrived (RFC 3339).", source: .envelope(.requestReceivedTimestamp)),
            D(name: "stageTimestamp", type: .string, summary: "When this stage was reached (RFC 3339); the event time.", source: .envelope(.stageTimestamp)),
            D(name: "annotations", type: .object, summary: "All annotations.", source: .envelope(.annotations)),
            D(name: "authorization.decision", type: .string, summary: "annotations[authorization.k8s.io/decision]: allow or forbid.", source: .nested(.annotationDecision)),
            D(name: "authorization.reason", type: .string, summary: "annotations[authorization.k8s.io/reason]: the RBAC explanation.", source: .nested(.annotationReason)),
        ]
        d += [
            D(name: "exec.command", type: .stringList, summary: "Each argv element of an exec, URL-decoded, in order (create over SPDY or get over WebSocket).", source: .derived(.execCommand)),
            D(name: "exec.commandLine", type: .string, summary: "The exec argv joined with spaces.", source: .derived(.execCommandLine)),
            D(name: "exec.container", type: .string, summary: "The container an exec or attach targets.", source: .derived(.execContainer)),
            D(name: "exec.stdin", type: .boolean, summary: "Whether the exec or attach has stdin.", source: .derived(.execStdin)),
            D(name: "exec.tty", type: .boolean, summary: "Whether the exec or attach has a TTY.", source: .derived(.execTTY)),
            D(name: "pod.containers.name", type: .stringList, summary: "Names of every container, init container and ephemeral container.", source: .derived(.podContainerName)),
            D(name: "pod.containers.image", type: .stringList, summary: "Image of every container of every kind, in a Pod or any workload's pod template.", source: .derived(.podImage)),
            D(name: "pod.containers.privileged", type: .boolean, summary: "securityContext.privileged of any container.", source: .derived(.podPrivileged)),
            D(name: "pod.containers.allowPrivilegeEscalation", type: .boolean, summary: "securityContext.allowPrivilegeEscalation of any container.", source: .derived(.podAllowPrivilegeEscalation)),
            D(name: "pod.containers.runAsUser", type: .integer, summary: "securityContext.runAsUser of any container.", source: .derived(.podRunAsUser)),
            D(name: "pod.containers.capabilities.add", type: .stringList, summary: "Capabilities added to any container.", source: .derived(.podCapabilitiesAdd)),
            D(name: "pod.containers.volumeMounts.mountPath", type: .stringList, summary: "Mount paths of any container.", source: .derived(.podVolumeMountPath)),
            D(name: "pod.containers.command", type: .stringList, summary: "Command (entrypoint) words of every container of every kind.", source: .derived(.podCommand)),
            D(name: "pod.containers.args", type: .stringList, summary: "Arguments of every container of every kind.", source: .derived(.podArgs)),
            D(name: "pod.hostNetwork", type: .boolean, summary: "The pod shares the node's network namespace.", source: .derived(.podHostNetwork)),
            D(name: "pod.hostPID", type: .boolean, summary: "The pod shares the node's PID namespace.", source: .derived(.podHostPID)),
            D(name: "pod.hostIPC", type: .boolean, summary: "The pod shares the node's IPC namespace.", source: .derived(.podHostIPC)),
            D(name: "pod.serviceAccountName", type: .string, summary: "The pod's service account.", source: .derived(.podServiceAccountName)),
            D(name: "pod.volumes.hostPath.path", type: .stringList, summary: "Host paths mounted as volumes.", source: .derived(.podHostPath)),
            D(name: "pod.volumes.hostPath.type", type: .stringList, summary: "Types of the hostPath volumes.", source: .derived(.podHostPathType)),
        ]
        // Per-element fields: a rule naming any of them is judged once per container (or volume).
        func c(_ name: String, _ path: String, _ type: FieldType, _ summary: String) -> D {
            D(name: "container." + name, type: type, summary: summary, source: .element(.container, JSONPath(path)))
        }
        d += [
            c("name", "name", .string, "This container's name."),
            c("image", "image", .string, "This container's image."),
            D(name: "container.kind", type: .string, summary: "container, initContainer or ephemeralContainer.", source: .containerKind),
            c("privileged", "securityContext.privileged", .boolean, "This container runs privileged."),
            c("allowPrivilegeEscalation", "securityContext.allowPrivilegeEscalation", .boolean, "This container may gain privileges (setuid)."),
            c("runAsUser", "securityContext.runAsUser", .integer, "The UID this container runs as."),
            c("runAsNonRoot", "securityContext.runAsNonRoot", .boolean, "This container must not run as root."),
            c("readOnlyRootFilesystem", "securityContext.readOnlyRootFilesystem", .boolean, "This container's root filesystem is read-only."),
            c("capabilities.add", "securityContext.capabilities.add", .stringList, "Capabilities added to this container."),
            c("capabilities.drop", "securityContext.capabilities.drop", .stringList, "Capabilities dropped from this container."),
            c("command", "command", .stringList, "This container's command (entrypoint)."),
            c("args", "args", .stringList, "This container's arguments."),
            c("ports.containerPort", "ports.containerPort", .integer, "Ports this container exposes."),
            c("ports.hostPort", "ports.hostPort", .integer, "Node ports this container binds."),
            c("volumeMounts.mountPath", "volumeMounts.mountPath", .stringList, "Where this container mounts volumes."),
            c("volumeMounts.name", "volumeMounts.name", .stringList, "The volumes this container mounts."),
            D(name: "volume.name", type: .string, summary: "This volume's name.", source: .element(.volume, JSONPath("name"))),
            D(name: "volume.hostPath.path", type: .string, summary: "This volume's host path.", source: .element(.volume, JSONPath("hostPath.path"))),
            D(name: "volume.hostPath.type", type: .string, summary: "This volume's hostPath type.", source: .element(.volume, JSONPath("hostPath.type"))),
        ]
        // SigmaHQ's Kubernetes rules name these through their backend's field mapping.
        d += [
            D(name: "apiGroup", type: .string, summary: "SigmaHQ name for objectRef.apiGroup.", source: .nested(.refAPIGroup)),
            D(name: "hostPath", type: .stringList, summary: "SigmaHQ name for pod.volumes.hostPath.path.", source: .derived(.podHostPath)),
            D(name: "capabilities", type: .stringList, summary: "SigmaHQ name for pod.containers.capabilities.add.", source: .derived(.podCapabilitiesAdd)),
        ]
        return d
    }()
}

extension String {
    /// The text with `\x` turned into `x` (keys written with escaped dots).
    func replacingBackslashEscapes() -> String {
        var out = ""
        var escaped = false
        for c in self {
            if !escaped && c == "\\" {
                escaped = true
                continue
            }
            out.append(c)
            escaped = false
        }
        return out
    }
}
