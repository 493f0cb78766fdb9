import AuditJSON
import AuditModel
import DetectionEngine
import Testing

/// Real event shapes (field order and values as kube-apiserver writes them).
enum FieldFixtures {
    static let exec = #"""
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"6d5f1c2a-3b4e-4f60-8a1b-2c3d4e5f6a7b","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/payments/pods/api-7d9f8b6c5-x2x7q/exec?command=sh\u0026command=-c\u0026command=cat+%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken\u0026container=api\u0026stdin=true\u0026stdout=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","groups":["oidc:developers","system:authenticated"]},"sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.30.2 (linux/amd64) kubernetes/3968350","objectRef":{"resource":"pods","namespace":"payments","name":"api-7d9f8b6c5-x2x7q","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-01-05T10:00:00.000000Z","stageTimestamp":"2026-01-05T10:00:00.120000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"dev-edit/payments\" of ClusterRole \"edit\" to Group \"oidc:developers\""}}
        """#

    static let cronJob = #"""
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","stage":"ResponseComplete","requestURI":"/apis/batch/v1/namespaces/ops/cronjobs","verb":"create","user":{"username":"system:serviceaccount:ops:deployer","groups":["system:serviceaccounts","system:serviceaccounts:ops","system:authenticated"]},"sourceIPs":["10.0.3.14"],"objectRef":{"resource":"cronjobs","namespace":"ops","name":"backup","apiGroup":"batch","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"backup","namespace":"ops"},"spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":true,"serviceAccountName":"backup","initContainers":[{"name":"prep","image":"busybox:1.36","command":["sh","-c","sleep 1"]}],"containers":[{"name":"dump","image":"registry.example.com/backup:2.1","command":["/bin/backup"],"args":["--all","--to=s3"],"securityContext":{"privileged":true,"capabilities":{"add":["SYS_ADMIN","NET_ADMIN"]}},"volumeMounts":[{"name":"root","mountPath":"/host"}]}],"volumes":[{"name":"root","hostPath":{"path":"/","type":"Directory"}}]}}}}}},"requestReceivedTimestamp":"2026-01-05T10:01:00.000000Z","stageTimestamp":"2026-01-05T10:01:00.030000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}
        """#
}

/// Loads `text` as an event and collects the values of `field` as strings.
func fieldTexts(_ text: String, _ field: String) throws -> [String]? {
    let definition = try #require(FieldCatalogue.standard.resolve(field), "unknown field \(field)")
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buf -> [String]? in
        var event = AuditEvent()
        guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
            Issue.record("not an event")
            return nil
        }
        var out: [String] = []
        let count = definition.source.forEachValue(in: event) { value in
            switch value {
            case .json(let v): out.append(v.string ?? String(decoding: v.rawBytes, as: UTF8.self))
            case .text(let t): out.append(String(decoding: t, as: UTF8.self))
            }
            return true
        }
        #expect(count == out.count)
        return count == 0 ? nil : out
    }
}

@Suite("Field catalogue")
struct FieldCatalogueTests {
    @Test(
        "every field SigmaHQ's Kubernetes rules name is known",
        arguments: [
            "verb", "objectRef.resource", "objectRef.apiGroup", "objectRef.subresource", "objectRef.namespace",
            "responseStatus.code", "apiGroup", "userAgent", "requestURI", "hostPath", "capabilities",
        ])
    func sigmaHQFields(_ name: String) {
        #expect(FieldCatalogue.standard.resolve(name) != nil)
    }

    @Test("unknown names are refused; paths under bodies and maps are accepted as written")
    func openAndClosedNames() throws {
        for unknown in ["Image", "objectRef.foo", "user", "requestObject.", "pod.containers", "exec"] {
            #expect(FieldCatalogue.standard.resolve(unknown) == nil, "\(unknown)")
        }
        let body = try #require(FieldCatalogue.standard.resolve("requestObject.spec.hostNetwork"))
        guard case .body(.request, let p) = body.source else {
            Issue.record("not a body path")
            return
        }
        #expect(p.segments.count == 3)
        let annotation = try #require(FieldCatalogue.standard.resolve("annotations.authorization.k8s.io/decision"))
        guard case .path(let a) = annotation.source else {
            Issue.record("not a path")
            return
        }
        #expect(a.segments.map { String(decoding: $0, as: UTF8.self) } == ["annotations", "authorization.k8s.io/decision"])
    }

    @Test("names are unique and every definition says what it means")
    func definitionsAreDocumented() {
        var seen = Set<String>()
        for d in FieldCatalogue.standard.definitions {
            #expect(seen.insert(d.name).inserted, "duplicate \(d.name)")
            #expect(!d.summary.isEmpty, "\(d.name)")
        }
    }

    @Test("envelope, nested and list fields of an exec event")
    func envelopeValues() throws {
        let e = FieldFixtures.exec
        #expect(try fieldTexts(e, "verb") == ["create"])
        #expect(try fieldTexts(e, "user.groups") == ["oidc:developers", "system:authenticated"])
        #expect(try fieldTexts(e, "objectRef.subresource") == ["exec"])
        #expect(try fieldTexts(e, "responseStatus.code") == ["101"])
        #expect(try fieldTexts(e, "sourceIPs") == ["203.0.113.7"])
        #expect(try fieldTexts(e, "authorization.decision") == ["allow"])
        #expect(try fieldTexts(e, "annotations.authorization.k8s.io/decision") == ["allow"])
        #expect(try fieldTexts(e, "objectRef.apiGroup") == nil)  // absent: no values
        #expect(try fieldTexts(e, "impersonatedUser.username") == nil)
    }

    @Test("exec argv, command line, container and flags")
    func execValues() throws {
        let e = FieldFixtures.exec
        #expect(try fieldTexts(e, "exec.command") == ["sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/token"])
        #expect(try fieldTexts(e, "exec.commandLine") == ["sh -c cat /var/run/secrets/kubernetes.io/serviceaccount/token"])
        #expect(try fieldTexts(e, "exec.container") == ["api"])
        #expect(try fieldTexts(e, "exec.tty") == ["true"])
        #expect(try fieldTexts(e, "exec.stdin") == ["true"])
        #expect(try fieldTexts(FieldFixtures.cronJob, "exec.command") == nil)
    }

    @Test("pod spec facts from a CronJob's job template, across container kinds")
    func podValues() throws {
        let c = FieldFixtures.cronJob
        #expect(try fieldTexts(c, "pod.containers.image") == ["registry.example.com/backup:2.1", "busybox:1.36"])
        #expect(try fieldTexts(c, "pod.containers.name") == ["dump", "prep"])
        #expect(try fieldTexts(c, "pod.containers.privileged") == ["true"])
        #expect(try fieldTexts(c, "pod.containers.capabilities.add") == ["SYS_ADMIN", "NET_ADMIN"])
        #expect(try fieldTexts(c, "capabilities") == ["SYS_ADMIN", "NET_ADMIN"])
        #expect(try fieldTexts(c, "pod.containers.volumeMounts.mountPath") == ["/host"])
        #expect(try fieldTexts(c, "pod.containers.command") == ["/bin/backup", "sh", "-c", "sleep 1"])
        #expect(try fieldTexts(c, "pod.containers.args") == ["--all", "--to=s3"])
        #expect(try fieldTexts(c, "pod.hostNetwork") == ["true"])
        #expect(try fieldTexts(c, "pod.hostPID") == nil)
        #expect(try fieldTexts(c, "pod.serviceAccountName") == ["backup"])
        #expect(try fieldTexts(c, "pod.volumes.hostPath.path") == ["/"])
        #expect(try fieldTexts(c, "hostPath") == ["/"])
        #expect(try fieldTexts(c, "pod.volumes.hostPath.type") == ["Directory"])
        #expect(try fieldTexts(c, "requestObject.spec.schedule") == ["*/5 * * * *"])
        #expect(try fieldTexts(FieldFixtures.exec, "pod.containers.image") == nil)
    }

    @Test("values feed the matchers: a wildcard on the command line, a boolean on a container")
    func valuesMatch() throws {
        let tokenRead = try ValueMatcher(values: [.string("*serviceaccount/token*")], modifiers: [])
        let privileged = try ValueMatcher(values: [.bool(true)], modifiers: [])
        func anyMatch(_ text: String, _ field: String, _ m: ValueMatcher) throws -> Bool {
            let definition = try #require(FieldCatalogue.standard.resolve(field))
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBufferPointer { buf in
                var event = AuditEvent()
                _ = event.load(buf.baseAddress!, start: 0, end: buf.count)
                var hit = false
                definition.source.forEachValue(in: event) { v in
                    switch v {
                    case .json(let j): hit = m.matches(j)
                    case .text(let t): hit = m.matches(utf8: t)
                    }
                    return !hit
                }
                return hit
            }
        }
        #expect(try anyMatch(FieldFixtures.exec, "exec.commandLine", tokenRead))
        #expect(try !anyMatch(FieldFixtures.cronJob, "exec.commandLine", tokenRead))
        #expect(try anyMatch(FieldFixtures.cronJob, "pod.containers.privileged", privileged))
        #expect(try !anyMatch(FieldFixtures.exec, "pod.containers.privileged", privileged))
    }
}

/// Field reads through one context list each object once per event (`EventContext.member`);
/// they must find what the plain walk of the JSON finds, whatever the order of the reads.
@Suite("Field reads through one context")
struct ListedMemberTests {
    /// A Deployment body with duplicate keys (the last one counts), an escaped key, empty
    /// objects and more containers than the context lists objects.
    static func body(containers: Int) -> String {
        let list = (0..<containers).map { i in
            #"{"name":"c\#(i)","image":"registry.example.com/app:\#(i)","command":["sh","-c","run \#(i)"],"securityContext":{"privileged":\#(i % 7 == 0)},"env":[{"name":"A","value":"\#(i)"}]}"#
        }.joined(separator: ",")
        return #"""
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"9e1c0a52-5b1e-4c7d-9f3e-2a6b8c0d1e2f","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/shop/deployments","verb":"create","user":{"username":"system:serviceaccount:argocd:argocd-application-controller","groups":["system:serviceaccounts","system:authenticated"]},"sourceIPs":["10.0.4.7"],"objectRef":{"resource":"deployments","namespace":"shop","name":"web","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Deployment","metadata":{"name":"web","labels":{"app":"old","app":"web","team\u002fname":"checkout"}},"spec":{"replicas":2,"template":{"metadata":{},"spec":{"containers":[\#(list)],"initContainers":[{"name":"init","image":"busybox:1.36","args":["--donate-level","1"]}],"volumes":[{"name":"data","hostPath":{"path":"/var/lib/docker"}}]}}}},"requestReceivedTimestamp":"2026-01-05T10:01:00.000000Z","stageTimestamp":"2026-01-05T10:01:00.030000Z"}
            """#
    }

    static let paths = [
        "requestObject.spec.template.spec.containers.image",
        "requestObject.spec.template.spec.containers.command",
        "requestObject.spec.template.spec.containers.securityContext.privileged",
        "requestObject.spec.template.spec.containers.env.value",
        "requestObject.spec.template.spec.containers.2.name",
        "requestObject.spec.template.spec.initContainers.args",
        "requestObject.spec.template.spec.volumes.hostPath.path",
        "requestObject.spec.template.metadata.name",
        "requestObject.metadata.labels.app",
        "requestObject.metadata.labels.team/name",
        "requestObject.spec.replicas",
        "requestObject.spec.jobTemplate.spec.template.spec.containers.command",
    ]

    /// Every path's values read through one context (in the given order), and as the
    /// plain walk of the request body finds them.
    static func read(_ text: String, order: [String]) throws -> (listed: [String: [String]], plain: [String: [String]]) {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buf in
            var event = AuditEvent()
            guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
                throw TestFailure("not an event")
            }
            let context = EventContext(event)
            var listed: [String: [String]] = [:]
            var plain: [String: [String]] = [:]
            for path in order {
                let field = try #require(FieldCatalogue.standard.resolve(path))
                var values: [String] = []
                field.source.forEachValue(in: context) { value in
                    if case .json(let v) = value { values.append(String(decoding: v.rawBytes, as: UTF8.self)) }
                    return true
                }
                listed[path] = values
                var walked: [String] = []
                let body = try #require(event[.requestObject])
                body.forEachValue(at: JSONPath(path), fromSegment: 1) { v in
                    walked.append(String(decoding: v.rawBytes, as: UTF8.self))
                    return true
                }
                plain[path] = walked
            }
            return (listed, plain)
        }
    }

    @Test("listed members answer as the walk does, in any read order, past the listing bound", arguments: [3, 200])
    func sameValues(containers: Int) throws {
        let text = Self.body(containers: containers)
        for order in [Self.paths, Self.paths.reversed()] {
            let (listed, plain) = try Self.read(text, order: order)
            for path in Self.paths { #expect(listed[path] == plain[path], "\(path)") }
        }
        let (listed, _) = try Self.read(text, order: Self.paths)
        #expect(listed["requestObject.metadata.labels.app"] == [#""web""#])  // the last of two
        #expect(listed["requestObject.metadata.labels.team/name"] == [#""checkout""#])  // escaped key
        #expect(listed["requestObject.spec.template.spec.containers.2.name"] == [#""c2""#])
        #expect(listed["requestObject.spec.template.spec.containers.image"]?.count == containers)
        #expect(listed["requestObject.spec.template.spec.containers.securityContext.privileged"]?.filter { $0 == "true" }.count
            == (0..<containers).filter { $0 % 7 == 0 }.count)
        #expect(listed["requestObject.spec.jobTemplate.spec.template.spec.containers.command"] == [])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Calls `body` with `text` loaded as an event view (throws when it is not an event).
func withLoadedEvent<R>(_ text: String, _ body: (AuditEvent) throws -> R) throws -> R {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { buf in
        var event = AuditEvent()
        guard case .event = event.load(buf.baseAddress!, start: 0, end: buf.count) else {
            throw TestFailure("not an event: \(text)")
        }
        return try body(event)
    }
}
