import AuditJSON

/// An exec, attach or port-forward request, read from the request URI.
///
/// `kubectl exec` sends one `command=` query parameter per argv element, URL-encoded, in
/// order. The verb is `create` when the client speaks SPDY (POST) and `get` when it
/// speaks WebSocket (GET); both count.
public struct ExecRequestView {
    public enum Kind: String, Sendable { case exec, attach, portforward }

    public let kind: Kind
    /// The raw request URI (still percent-encoded).
    public let requestURI: JSONString

    /// Returns the view when the event is an exec, attach or portforward request.
    public init?(_ event: AuditEvent) {
        guard let sub = event.objectRef?.subresource else { return nil }
        let kind: Kind
        if sub.stringEquals("exec") {
            kind = .exec
        } else if sub.stringEquals("attach") {
            kind = .attach
        } else if sub.stringEquals("portforward") {
            kind = .portforward
        } else {
            return nil
        }
        guard let verb = event.verb, verb.stringEquals("create") || verb.stringEquals("get"),
            let uri = event.requestURI?.jsonString
        else { return nil }
        self.kind = kind
        self.requestURI = uri
    }

    /// Calls `body` with the percent-decoded value of every query parameter named `name`,
    /// in order, without allocating (values are decoded into a stack buffer).
    public func forEachParameter(_ name: StaticString, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        requestURI.withDecodedBytes { uri in
            guard let q = uri.firstIndex(of: UInt8(ascii: "?")) else { return }
            let n = name.utf8CodeUnitCount
            var i = q + 1
            while i < uri.count {
                var j = i
                while j < uri.count && uri[j] != UInt8(ascii: "&") { j += 1 }
                // parameter uri[i..<j]: name '=' value
                if j - i > n, uri[i + n] == UInt8(ascii: "="),
                    bytesEqual(uri.baseAddress! + i, n, name)  // Safe: non-empty, q was found.
                {
                    PercentDecoding.withDecoded(UnsafeBufferPointer(rebasing: uri[(i + n + 1)..<j]), body)
                } else if j - i == n, bytesEqual(uri.baseAddress! + i, n, name) {
                    body(UnsafeBufferPointer(start: nil, count: 0))
                }
                i = j + 1
            }
        }
    }

    /// The command's argv, decoded, in order (empty for attach and portforward).
    public var command: [String] {
        var argv: [String] = []
        forEachParameter("command") { argv.append(String(decoding: $0, as: UTF8.self)) }
        return argv
    }

    /// The argv joined with spaces, as a person would type it.
    public var commandLine: String { command.joined(separator: " ") }

    /// The `container` parameter (the last one, when repeated).
    public var container: String? { lastParameter("container") }

    /// `stdin=true`
    public var stdin: Bool { flag("stdin") }
    /// `stdout=true`
    public var stdout: Bool { flag("stdout") }
    /// `stderr=true`
    public var stderr: Bool { flag("stderr") }
    /// `tty=true`
    public var tty: Bool { flag("tty") }
    /// Port-forward ports (`ports=8080`).
    public var ports: [String] {
        var out: [String] = []
        forEachParameter("ports") { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    private func lastParameter(_ name: StaticString) -> String? {
        var last: String?
        forEachParameter(name) { last = String(decoding: $0, as: UTF8.self) }
        return last
    }

    private func flag(_ name: StaticString) -> Bool {
        var on = false
        forEachParameter(name) { v in
            on = v.count == 4 && bytesEqual(v.baseAddress!, 4, "true") || (v.count == 1 && v[0] == UInt8(ascii: "1"))
        }
        return on
    }
}

/// URL query decoding: `%XX` escapes and `+` for space (Go's url.ParseQuery rules).
public enum PercentDecoding {
    /// Decodes `raw` into a temporary buffer and passes it to `body`. A malformed `%`
    /// escape is kept as it is.
    public static func withDecoded<R>(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if !raw.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) { return body(raw) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(raw.count, 1)) { out in
            var n = 0
            var i = 0
            while i < raw.count {
                let b = raw[i]
                if b == UInt8(ascii: "+") {
                    out[n] = 0x20
                    i += 1
                } else if b == UInt8(ascii: "%"), i + 2 < raw.count, let h = hexDigitValue(raw[i + 1]), let l = hexDigitValue(raw[i + 2]) {
                    out[n] = h << 4 | l
                    i += 3
                } else {
                    out[n] = b
                    i += 1
                }
                n += 1
            }
            return body(UnsafeBufferPointer(rebasing: out[0..<n]))
        }
    }
}

extension AuditEvent {
    /// The exec/attach/portforward view, when this event is one.
    public var execRequest: ExecRequestView? { ExecRequestView(self) }
}
