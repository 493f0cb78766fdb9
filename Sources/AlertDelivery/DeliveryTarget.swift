import NIOSSL

/// Where alerts are POSTed: an `http://` or `https://` URL taken apart once, at startup, so
/// a typo is a usage error rather than a stream of failed deliveries.
public struct DeliveryTarget: Sendable, Equatable, CustomStringConvertible {
    public let tls: Bool
    /// The host as written, without brackets for IPv6 literals.
    public let host: String
    public let port: Int
    /// Path and query, at least `/`.
    public let path: String

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `scheme://host[:port][/path][?query]`. User info and fragments are refused: a
    /// token belongs in `--alert-token-file`, not in a URL that shows up in process lists.
    public init(_ url: String) throws {
        func fail(_ why: String) -> InvalidURL { InvalidURL(description: "\(url): \(why)") }
        let rest: Substring
        if url.lowercased().hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else if url.lowercased().hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else {
            throw fail("the scheme must be http or https")
        }
        guard !rest.contains("#") else { throw fail("a fragment (#...) is not sent to servers") }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let target = rest[authorityEnd...]
        path = target.isEmpty ? "/" : (target.first == "?" ? "/" + target : String(target))
        guard !authority.contains("@") else { throw fail("credentials in the URL are refused; use --alert-token-file") }
        var hostPart = authority
        var portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw fail("unclosed [ in the host") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw fail("unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw fail("no host") }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw fail("the port must be 1 to 65535") }
            port = p
        } else {
            port = tls ? 443 : 80
        }
        for c in path.unicodeScalars where c.value <= 0x20 || c.value == 0x7F {
            throw fail("spaces and control characters must be percent-encoded")
        }
    }

    /// The `Host` header: the host, bracketed when it is an IPv6 literal, with the port when
    /// it is not the scheme's default.
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// The name sent for SNI: none for an address literal (TLS forbids it; the certificate is
    /// then checked against the address connected to).
    var serverName: String? {
        if host.contains(":") { return nil }
        if host.split(separator: ".").count == 4 && host.allSatisfy({ $0 == "." || $0.isNumber }) { return nil }
        return host
    }

    /// Scheme, host and port; the path is elided (webhook URLs often carry their secret there),
    /// so this is what notices and summaries print.
    public var description: String { (tls ? "https://" : "http://") + hostHeader + (path == "/" ? "" : "/…") }
}
