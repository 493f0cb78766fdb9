import AuditSpool
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WebhookSink

/// A state directory removed when the value goes away.
final class StateDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("kaudit-sink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Audit events and webhook bodies for the tests.
enum Bodies {
    static func event(_ id: String, stage: String = "ResponseComplete", verb: String = "get", second: Int = 0) -> String {
        """
        {"level":"Metadata","auditID":"\(id)","stage":"\(stage)","requestURI":"/api/v1/namespaces/default/pods","verb":"\(verb)",\
        "user":{"username":"system:serviceaccount:default:app"},"sourceIPs":["10.0.0.1"],\
        "objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"code":200},\
        "requestReceivedTimestamp":"2026-01-05T00:00:\(String(format: "%02d", second)).000000Z",\
        "stageTimestamp":"2026-01-05T00:00:\(String(format: "%02d", second)).100000Z"}
        """
    }

    static func list(_ items: [String], apiVersion: String = "audit.k8s.io/v1") -> String {
        "{\"kind\":\"EventList\",\"apiVersion\":\"\(apiVersion)\",\"metadata\":{},\"items\":[\(items.joined(separator: ","))]}"
    }

    static func batch(_ n: Int, prefix: String = "e") -> String {
        list((0..<n).map { event("\(prefix)-\($0)", second: $0 % 60) })
    }
}

/// An endpoint over a real spool in a temporary directory, driven without sockets.
final class Harness {
    let dir: StateDir
    let spool: Spool
    let endpoint: SinkEndpoint
    let metrics = SinkMetrics()

    init(policy: AccessPolicy = .none, limits: RequestLimits = RequestLimits(), options: SpoolOptions = SpoolOptions()) throws {
        dir = try StateDir()
        spool = try Spool(directory: dir.path, options: options)
        endpoint = SinkEndpoint(path: "/audit", limits: limits, policy: policy, spool: spool, metrics: metrics)
    }

    static func head(_ method: HTTPMethod = .POST, _ uri: String = "/audit", _ headers: [(String, String)] = [], length: Int? = nil)
        -> HTTPRequestHead
    {
        var h = HTTPHeaders(headers)
        if let length { h.add(name: "Content-Length", value: String(length)) }
        return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h)
    }

    /// A whole request through the endpoint: admission, then the body; waits for the answer.
    func post(_ body: String, headers: [(String, String)] = [], peer: String? = nil) async -> SinkResponse {
        let bytes = Array(body.utf8)
        switch endpoint.admit(Self.head(.POST, "/audit", headers, length: bytes.count), peerSubject: peer) {
        case .respond(let r): return r
        case .readBody(_, let identity, let reserved):
            return await withCheckedContinuation { c in
                bytes.withUnsafeBytes { endpoint.accept(body: $0, identity: identity, reserved: reserved) { c.resume(returning: $0) } }
            }
        }
    }

    /// Every stored line, read back from the segments (decompressed).
    func storedLines() throws -> [String] {
        var lines: [String] = []
        let reader = SpoolReader(spool: spool, from: nil)
        _ = try reader.read(maxBytes: 1 << 30) { bytes in
            lines += String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        return lines
    }

    /// Every record of the quarantine log, parsed.
    func quarantine() throws -> [[String: Any]] {
        let dir = dir.path + "/quarantine"
        var out: [[String: Any]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            for line in text.split(separator: "\n") {
                out.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])
            }
        }
        return out
    }
}

/// Certificates made with the openssl command at test time: a CA, a server certificate for
/// 127.0.0.1, client certificates from that CA (CN kube-apiserver and intruder) and a
/// client certificate from another CA. Nothing is committed.
final class TestPKI {
    let dir: StateDir
    var path: String { dir.path }

    init() throws {
        dir = try StateDir()
        let script = """
            set -e
            cd '\(dir.path)'
            mk_ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key -out $1.crt -days 2 -subj "/CN=$1" 2>/dev/null; }
            mk_cert() { # name cn ca ext
              openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key -out $1.csr -subj "/O=test/CN=$2" 2>/dev/null
              printf "$4" > $1.ext
              openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -out $1.crt -days 2 -extfile $1.ext 2>/dev/null
            }
            mk_ca ca
            mk_ca other-ca
            mk_cert server localhost ca "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n"
            mk_cert client kube-apiserver ca "extendedKeyUsage=clientAuth\\n"
            mk_cert intruder intruder ca "extendedKeyUsage=clientAuth\\n"
            mk_cert stranger kube-apiserver other-ca "extendedKeyUsage=clientAuth\\n"
            printf 's3cret-token\\n' > token
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SinkTestError("openssl failed (is it installed? scripts/setup.sh installs it)") }
    }

    func file(_ name: String) -> String { path + "/" + name }
}

struct SinkTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
