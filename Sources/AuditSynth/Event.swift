/// One API request as the scenarios decide it; `SyntheticAuditLog.emit(_:)` serializes it.
///
/// Why a value instead of writing directly from each scenario: the audit event's field order is
/// fixed (kind, apiVersion, level, auditID, stage, requestURI, verb, user, impersonatedUser,
/// sourceIPs, userAgent, objectRef, responseStatus, requestObject, responseObject, timestamps,
/// annotations), so one serializer keeps that order right for every scenario.
struct Call {
    enum Level { case metadata, request, requestResponse }
    enum Stage { case requestReceived, responseStarted, responseComplete }
    enum Verb {
        case get, list, watch, create, update, patch, delete

        /// The verb as the apiserver writes it.
        var name: StaticString {
            switch self {
            case .get: return "get"
            case .list: return "list"
            case .watch: return "watch"
            case .create: return "create"
            case .update: return "update"
            case .patch: return "patch"
            case .delete: return "delete"
            }
        }
    }
    enum Failure { case none, forbidden, notFound, conflict, alreadyExists }

    enum Query {
        case none
        /// `?timeout=10s` style client timeout.
        case timeout(StaticString)
        /// `?resourceVersion=0&timeout=10s` (kubelet's cached node get).
        case cachedGet
        /// `?limit=500&resourceVersion=0` (informer initial list).
        case list
        /// `?labelSelector=app.kubernetes.io%2Fname%3D<app>&limit=500`.
        case listSelector([UInt8])
        /// `?allowWatchBookmarks=true&resourceVersion=..&timeout=..&timeoutSeconds=..&watch=true`.
        case watch
        /// Watch with `fieldSelector=<key>%3D<value>` (kubelet per-object watches).
        case watchField(StaticString, [UInt8])
        /// `?fieldManager=<manager>` (controllers using server-side apply).
        case fieldManager(StaticString)
        /// `?fieldManager=kubectl-client-side-apply&fieldValidation=Strict` (kubectl apply).
        case kubectlApply
        /// Pre-escaped query text including the leading `?`.
        case raw([UInt8])
    }

    enum Body {
        case none
        /// Pod as a controller submits it (generateName, template spec, empty status).
        case podCreate(Int)
        /// Full pod as stored; `pending` for the create response, `deleting` for delete responses.
        case pod(Int, pending: Bool = false, deleting: Bool = false)
        case podStatusPatch(Int)
        case binding(Int)
        case deleteOptions(preconditionUID: [UInt8])
        case statusSuccess
        /// Full workload object (`child`: its ReplicaSet or Job instead).
        case workload(Int, child: Bool)
        case workloadPatch(Int)
        case nodeLease(Int)
        case leaderLease(Int)
        case nodeStatusPatch(Int, images: Bool)
        case configMap(Int)
        case raw([UInt8])
    }

    var level: Level = .metadata
    var stage: Stage = .responseComplete
    var verb: Verb
    var actor: Int
    var resource: Resource? = nil
    /// Non-resource request path (`/healthz`, `/apis`), pre-escaped, when `resource` is nil.
    var path: [UInt8] = []
    var namespace: [UInt8] = []
    var name: [UInt8] = []
    var subresource: StaticString? = nil
    var query: Query = .none
    var objectUID: [UInt8] = []
    var objectRV = 0
    var code = 200
    var failure: Failure = .none
    var request: Body = .none
    var response: Body = .none
    var latencyMicros = 0
    /// Index into the impersonation fragments, or -1.
    var impersonate = -1
    /// Overrides the actor's RBAC reason (e.g. kubelets' Node-authorizer vs RBAC decisions).
    var reason: [UInt8]? = nil
    /// Extra annotations after the authorization ones (pod-security), pre-rendered with leading comma.
    var extraAnnotations: [UInt8] = []

    init(_ verb: Verb, _ resource: Resource?, actor: Int) {
        self.verb = verb
        self.resource = resource
        self.actor = actor
    }

    var isRead: Bool { verb == .get || verb == .list || verb == .watch }
}
