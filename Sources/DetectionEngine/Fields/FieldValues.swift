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
        var count = 0
        var going = true
        func visit(_ v: JSONValue?) {
            guard going, let v else { return }
            if v.kind == .array {
                for e in v.elements where going {
                    count += 1
                    going = body(.json(e))
                }
            } else {
                count += 1
                going = body(.json(v))
            }
        }
        func visitText(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard going else { return }
            count += 1
            going = body(.text(bytes))
        }
        func visitFlag(_ on: Bool) {
            let s: StaticString = on ? "true" : "false"
            visitText(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }

        switch self {
        case .envelope(let f):
            visit(index[f])
        case .nested(let f):
            visit(index[nested: f])
        case .path(let p):
            // `annotations.<key>` and the like: the envelope member from the index, its
            // members listed once per event (`EventContext.member`), then the rest of the walk.
            if p.segments.count >= 2,
                let field = p.segments[0].withUnsafeBufferPointer({ b in b.baseAddress.flatMap { EnvelopeField.classify($0, b.count) } }),
                let top = index[field], top.kind == .object
            {
                guard let child = context.member(of: top, p.segments[1]) else { break }
                child.forEachValue(at: p, fromSegment: 2, flattenArrays: true) { v in
                    count += 1
                    going = body(.json(v))
                    return going
                }
                break
            }
            context.event.forEachValue(at: p, flattenArrays: true) { v in
                count += 1
                going = body(.json(v))
                return going
            }
        case .body(let which, let p):
            guard p.segments.count >= 2 else {
                visit(index[which == .request ? .requestObject : .responseObject])
                break
            }
            switch context.bodyMember(which, p.segments[1]) {
            case .absent:
                break
            case .found(let member):
                var from = member
                var segment = 2
                if p.segments.count > 2 && member.kind == .object {
                    guard let child = context.member(of: member, p.segments[2]) else { break }
                    from = child
                    segment = 3
                }
                from.forEachValue(at: p, fromSegment: segment, flattenArrays: true) { v in
                    count += 1
                    going = body(.json(v))
                    return going
                }
            case .notAnObject:
                context.event.forEachValue(at: p, flattenArrays: true) { v in
                    count += 1
                    going = body(.json(v))
                    return going
                }
            }
        case .element(let scope, let p):
            guard context.elementScope == scope, let element = context.element else { break }
            element.forEachValue(at: p, flattenArrays: true) { v in
                count += 1
                going = body(.json(v))
                return going
            }
        case .containerKind:
            guard context.elementScope == .container, let kind = context.elementKind else { break }
            let s: StaticString
            switch kind {
            case .container: s = "container"
            case .initContainer: s = "initContainer"
            case .ephemeralContainer: s = "ephemeralContainer"
            }
            visitText(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        case .derived(let d):
            switch d {
            case .sourceIP:
                visit(index.lastSourceIP)
            case .serviceAccountNamespace, .serviceAccountName:
                guard let user = index[nested: .userUsername]?.jsonString, !user.hasEscapes,
                    user.hasPrefix("system:serviceaccount:")
                else { break }
                let bytes = user.rawBytes
                let rest = UnsafeBufferPointer(rebasing: bytes[22...])
                guard let colon = rest.firstIndex(of: 0x3A), colon > rest.startIndex, colon + 1 < rest.endIndex else { break }
                if d == .serviceAccountNamespace {
                    visitText(UnsafeBufferPointer(rebasing: rest[..<colon]))
                } else {
                    visitText(UnsafeBufferPointer(rebasing: rest[(colon + 1)...]))
                }
            case .execCommand, .execCommandLine, .execContainer, .execStdin, .execTTY:
                guard let exec = context.event.execRequest else { break }
                switch d {
                case .execCommand:
                    exec.forEachParameter("command") { visitText($0) }
                case .execCommandLine:
                    var line: [UInt8] = []  // exec events are rare: building the line is fine
                    exec.forEachParameter("command") { arg in
                        if !line.isEmpty { line.append(0x20) }
                        line.append(contentsOf: arg)
                    }
                    if !line.isEmpty { line.withUnsafeBufferPointer { visitText($0) } }
                case .execContainer:
                    var last: [UInt8]?
                    exec.forEachParameter("container") { last = Array($0) }
                    last?.withUnsafeBufferPointer { visitText($0) }
                case .execStdin: visitFlag(exec.stdin)
                case .execTTY: visitFlag(exec.tty)
                default: break
                }
            default:
                guard context.podSpec != nil else { break }
                switch d {
                case .podHostNetwork: visit(context.specMember("hostNetwork"))
                case .podHostPID: visit(context.specMember("hostPID"))
                case .podHostIPC: visit(context.specMember("hostIPC"))
                case .podServiceAccountName: visit(context.specMember("serviceAccountName") ?? context.specMember("serviceAccount"))
                case .podHostPath, .podHostPathType:
                    if let volumes = context.specMember("volumes") {
                        for v in volumes.elements where going && v.kind == .object {
                            let volume = VolumeView(object: v)
                            visit(d == .podHostPath ? volume.hostPath : volume.hostPathType)
                        }
                    }
                default:
                    for c in context.containers where going {
                        switch d {
                        case .podContainerName: visit(c.name)
                        case .podImage: visit(c.image)
                        case .podPrivileged: visit(c.securityContext?["privileged"])
                        case .podAllowPrivilegeEscalation: visit(c.securityContext?["allowPrivilegeEscalation"])
                        case .podRunAsUser: visit(c.securityContext?["runAsUser"])
                        case .podCapabilitiesAdd: visit(c.capabilitiesAdd)
                        case .podVolumeMountPath:
                            if let mounts = c.volumeMounts {
                                for m in mounts.elements where going { visit(m["mountPath"]) }
                            }
                        default: break
                        }
                    }
                }
            }
        }
        return count
    }
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
