import AuditJSON

/// `user` or `impersonatedUser`: an authentication/v1 UserInfo.
public struct UserInfoView {
    public let object: JSONValue
    public private(set) var username: JSONValue?
    public private(set) var uid: JSONValue?
    /// An array of strings.
    public private(set) var groups: JSONValue?
    /// A map of string to array of strings (e.g. credential-id, pod-name, node-name).
    public private(set) var extra: JSONValue?

    /// A view whose fields were found by the event's one-pass index.
    init(object: JSONValue, username: JSONValue?, uid: JSONValue?, groups: JSONValue?, extra: JSONValue?) {
        self.object = object
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    public init(_ object: JSONValue) {
        self.object = object
        for m in object.members {
            let k = m.key
            if k.equals("username") { username = m.value }
            else if k.equals("groups") { groups = m.value }
            else if k.equals("uid") { uid = m.value }
            else if k.equals("extra") { extra = m.value }
        }
    }

    /// The values of one `extra` entry, e.g. `authentication.kubernetes.io/pod-name`.
    public func extraValues(_ key: StaticString) -> JSONValue? { extra?[key] }

    /// Whether `groups` contains `group`.
    public func isMember(of group: StaticString) -> Bool {
        guard let groups else { return false }
        for g in groups.elements where g.stringEquals(group) { return true }
        return false
    }
}

/// `objectRef`: what the request was about.
public struct ObjectRefView {
    public let object: JSONValue
    public private(set) var resource: JSONValue?
    public private(set) var subresource: JSONValue?
    public private(set) var namespace: JSONValue?
    public private(set) var name: JSONValue?
    public private(set) var apiGroup: JSONValue?
    public private(set) var apiVersion: JSONValue?
    public private(set) var uid: JSONValue?
    public private(set) var resourceVersion: JSONValue?

    /// A view whose fields were found by the event's one-pass index.
    init(
        object: JSONValue, resource: JSONValue?, subresource: JSONValue?, namespace: JSONValue?, name: JSONValue?,
        apiGroup: JSONValue?, apiVersion: JSONValue?, uid: JSONValue?, resourceVersion: JSONValue?
    ) {
        self.object = object
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
        self.apiGroup = apiGroup
        self.apiVersion = apiVersion
        self.uid = uid
        self.resourceVersion = resourceVersion
    }

    public init(_ object: JSONValue) {
        self.object = object
        for m in object.members {
            let k = m.key
            if k.hasEscapes {
                assignEscaped(k, m.value)
                continue
            }
            switch k.rawCount {
            case 8:
                if k.equals("resource") { resource = m.value } else if k.equals("apiGroup") { apiGroup = m.value }
            case 11:
                if k.equals("subresource") { subresource = m.value }
            case 9:
                if k.equals("namespace") { namespace = m.value }
            case 4:
                if k.equals("name") { name = m.value }
            case 10:
                if k.equals("apiVersion") { apiVersion = m.value }
            case 3:
                if k.equals("uid") { uid = m.value }
            case 15:
                if k.equals("resourceVersion") { resourceVersion = m.value }
            default:
                break
            }
        }
    }

    /// Keys spelled with escapes (hostile input) are decoded and matched the slow way.
    private mutating func assignEscaped(_ k: JSONString, _ v: JSONValue) {
        if k.equals("resource") { resource = v }
        else if k.equals("subresource") { subresource = v }
        else if k.equals("namespace") { namespace = v }
        else if k.equals("name") { name = v }
        else if k.equals("apiGroup") { apiGroup = v }
        else if k.equals("apiVersion") { apiVersion = v }
        else if k.equals("uid") { uid = v }
        else if k.equals("resourceVersion") { resourceVersion = v }
    }
}

/// `responseStatus`: a metav1.Status (on success usually only the code).
public struct ResponseStatusView {
    public let object: JSONValue
    public private(set) var codeValue: JSONValue?
    public private(set) var status: JSONValue?
    public private(set) var reason: JSONValue?
    public private(set) var message: JSONValue?

    /// A view whose fields were found by the event's one-pass index.
    init(object: JSONValue, codeValue: JSONValue?, status: JSONValue?, reason: JSONValue?, message: JSONValue?) {
        self.object = object
        self.codeValue = codeValue
        self.status = status
        self.reason = reason
        self.message = message
    }

    public init(_ object: JSONValue) {
        self.object = object
        for m in object.members {
            let k = m.key
            if k.equals("code") { codeValue = m.value }
            else if k.equals("reason") { reason = m.value }
            else if k.equals("message") { message = m.value }
            else if k.equals("status") { status = m.value }
        }
    }

    /// The HTTP status code.
    public var code: Int? { codeValue?.int64.map { Int($0) } }
}
