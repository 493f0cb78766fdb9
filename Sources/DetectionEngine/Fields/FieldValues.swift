import AuditJSON
import AuditModel

/// One value of a field, in the form the value matchers take.
public enum FieldValue {
    /// A value in the event's bytes (a string, number, literal, object or array).
    case json(JSONValue)
    /// A computed value as UTF-8 (a decoded argv element, `true`/`false` of a flag).
    case text(UnsafeBufferPointer<UInt8>)
}

extension FieldSource {
    /// Visits every value of the field in `event`. Arrays found at the field are visited
    /// element by element ("any element" semantics), so `user.groups: system:masters` is
    /// true when any group is.
    ///
    /// - Parameter body: return false to stop early.
    /// - Returns: the number of values visited (0: the field is absent).
    @discardableResult
    public func forEachValue(in event: AuditEvent, _ body: (FieldValue) -> Bool) -> Int {
        forEachValue(in: EventContext(event), body)
    }

    /// As `forEachValue(in:_:)`, reading through the engine's per-event context (the pod spec
    /// found once, the element a per-element rule is on).
    @discardableResult
    public func forEachValue(in context: EventContext, _ body: (FieldValue) -> Bool) -> Int {
        let index = context.index
        // The walk's state lives in one struct passed inout: local functions capturing `var`s
        // made the compiler box both on the heap at every call (two allocations per field
        // read, and a dozen reference counts).
        var walk = ValueWalk()
        switch self {
        case .envelope(let f):
            walk.json(body, index[f])
        case .nested(let f):
            walk.json(body, index[nested: f])
        case .path(let p):
            // `annotations.<key>` and the like: the envelope member from the index, then every
            // object on the way through the per-event member lists (`EventContext.member`).
            guard let first = p.segments.first,
                let field = EnvelopeField.classify(segment: first)
            else {
                context.event.forEachValue(at: p, flattenArrays: true) { v in walk.one(body, v) }
                break
            }
            guard let top = index[field] else { break }
            context.forEachValue(from: top, at: p, segment: 1) { v in walk.one(body, v) }
        case .body(let which, let p):
            let object = index[which == .request ? .requestObject : .responseObject]
            guard p.segments.count >= 2 else {
                walk.json(body, object)
                break
            }
            // Every object on the way is found through the per-event member lists; a body
            // that is an array (a JSON patch) is crossed as any path crosses arrays.
            guard let object else { break }
            context.forEachValue(from: object, at: p, segment: 1) { v in walk.one(body, v) }
        case .element(let scope, let p):
            guard context.elementScope == scope, let element = context.element else { break }
            context.forEachValue(from: element, at: p, segment: 0) { v in walk.one(body, v) }
        case .containerKind:
            guard context.elementScope == .container, let kind = context.elementKind else { break }
            let s: StaticString
            switch kind {
            case .container: s = "container"
            case .initContainer: s = "initContainer"
            case .ephemeralContainer: s = "ephemeralContainer"
            }
            walk.text(body, s)
        case .derived(let d):
            switch d {
            case .sourceIP:
                walk.json(body, index.lastSourceIP)
            case .serviceAccountNamespace, .serviceAccountName:
                guard let user = index[nested: .userUsername]?.jsonString, !user.hasEscapes,
                    user.hasPrefix("system:serviceaccount:")
                else { break }
                let bytes = user.rawBytes
                let rest = UnsafeBufferPointer(rebasing: bytes[22...])
                guard let colon = rest.firstIndex(of: 0x3A), colon > rest.startIndex, colon + 1 < rest.endIndex else { break }
                if d == .serviceAccountNamespace {
                    walk.text(body, UnsafeBufferPointer(rebasing: rest[..<colon]))
                } else {
                    walk.text(body, UnsafeBufferPointer(rebasing: rest[(colon + 1)...]))
                }
            case .execCommand, .execCommandLine, .execContainer, .execStdin, .execTTY:
                guard let exec = context.event.execRequest else { break }
                switch d {
                case .execCommand:
                    exec.forEachParameter("command") { walk.text(body, $0) }
                case .execCommandLine:
                    var line: [UInt8] = []  // exec events are rare: building the line is fine
                    exec.forEachParameter("command") { arg in
                        if !line.isEmpty { line.append(0x20) }
                        line.append(contentsOf: arg)
                    }
                    if !line.isEmpty { line.withUnsafeBufferPointer { walk.text(body, $0) } }
                case .execContainer:
                    var last: [UInt8]?
                    exec.forEachParameter("container") { last = Array($0) }
                    last?.withUnsafeBufferPointer { walk.text(body, $0) }
                case .execStdin: walk.flag(body, exec.stdin)
                case .execTTY: walk.flag(body, exec.tty)
                default: break
                }
            default:
                guard context.podSpec != nil else { break }
                switch d {
                case .podHostNetwork: walk.json(body, context.specMember("hostNetwork"))
                case .podHostPID: walk.json(body, context.specMember("hostPID"))
                case .podHostIPC: walk.json(body, context.specMember("hostIPC"))
                case .podServiceAccountName: walk.json(body, context.specMember("serviceAccountName") ?? context.specMember("serviceAccount"))
                case .podHostPath, .podHostPathType:
                    if let volumes = context.specMember("volumes") {
                        for v in volumes.elements where walk.going && v.kind == .object {
                            let volume = VolumeView(object: v)
                            walk.json(body, d == .podHostPath ? volume.hostPath : volume.hostPathType)
                        }
                    }
                default:
                    // Each container's members through the per-event lists: many rules read
                    // the same few members of the same containers.
                    for c in context.containers where walk.going {
                        let container = c.object
                        switch d {
                        case .podContainerName: walk.json(body, context.member(of: container, "name"))
                        case .podImage: walk.json(body, context.member(of: container, "image"))
                        case .podPrivileged:
                            walk.json(body, context.member(in: context.member(of: container, "securityContext"), "privileged"))
                        case .podAllowPrivilegeEscalation:
                            walk.json(
                                body, context.member(in: context.member(of: container, "securityContext"), "allowPrivilegeEscalation"))
                        case .podRunAsUser:
                            walk.json(body, context.member(in: context.member(of: container, "securityContext"), "runAsUser"))
                        case .podCapabilitiesAdd:
                            let capabilities = context.member(in: context.member(of: container, "securityContext"), "capabilities")
                            walk.json(body, context.member(in: capabilities, "add"))
                        case .podCommand: walk.json(body, context.member(of: container, "command"))
                        case .podArgs: walk.json(body, context.member(of: container, "args"))
                        case .podVolumeMountPath:
                            if let mounts = context.member(of: container, "volumeMounts") {
                                for m in mounts.elements where walk.going { walk.json(body, m["mountPath"]) }
                            }
                        default: break
                        }
                    }
                }
            }
        }
        return walk.count
    }
}

/// What a field walk has done: values visited, and whether the visitor wants more.
struct ValueWalk {
    var count = 0
    var going = true

    /// Visits a JSON value, element by element when it is an array.
    @inline(__always)
    mutating func json(_ body: (FieldValue) -> Bool, _ v: JSONValue?) {
        guard going, let v else { return }
        if v.kind == .array {
            for e in v.elements { guard one(body, e) else { break } }
        } else {
            _ = one(body, v)
        }
    }

    /// Visits one value as it is (the path walk has already flattened arrays); returns
    /// whether to go on.
    @inline(__always)
    mutating func one(_ body: (FieldValue) -> Bool, _ v: JSONValue) -> Bool {
        count += 1
        going = body(.json(v))
        return going
    }

    @inline(__always)
    mutating func text(_ body: (FieldValue) -> Bool, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard going else { return }
        count += 1
        going = body(.text(bytes))
    }

    mutating func text(_ body: (FieldValue) -> Bool, _ s: StaticString) {
        text(body, UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func flag(_ body: (FieldValue) -> Bool, _ on: Bool) { text(body, on ? "true" : "false") }
}

extension AuditEvent {
    /// The last entry of `sourceIPs` (or `sourceIPs` itself when it is not an array): the
    /// address the apiserver saw; earlier entries come from X-Forwarded-For.
    var lastSourceIP: JSONValue? { index.lastSourceIP }
}

extension EnvelopeIndex {
    /// See `AuditEvent.lastSourceIP`.
    var lastSourceIP: JSONValue? {
        guard let ips = self[.sourceIPs] else { return nil }
        guard ips.kind == .array else { return ips }
        var last: JSONValue?
        for e in ips.elements { last = e }
        return last
    }
}
