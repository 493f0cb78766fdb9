import AuditTestSupport
import AuditJSON
import AuditModel
import Testing

// Hostile or damaged events: the envelope must still be read, the payload must still be
// reachable raw, and nothing may crash or recurse on input depth.

@Suite("Hostile events")
struct HostileEventTests {
    @Test("duplicate envelope keys: the last occurrence wins")
    func duplicateEnvelopeKeys() throws {
        let json = #"""
            {"kind":"Event","auditID":"first","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},\#
            "objectRef":{"resource":"configmaps","namespace":"default"},"auditID":"second",\#
            "user":{"username":"admin"},"objectRef":{"resource":"secrets","name":"db-password"},"verb":"delete"}
            """#
        try withEvent(json) { e in
            #expect(e.hasDuplicateKeys)
            #expect(text(e.auditID) == "second")
            #expect(text(e.verb) == "delete")
            // The whole later object replaces the earlier one: nothing leaks from the first.
            #expect(text(e.user?.username) == "admin")
            #expect(e.user?.groups == nil)
            #expect(e.user?.isMember(of: "system:unauthenticated") == false)
            #expect(text(e.objectRef?.resource) == "secrets")
            #expect(text(e.objectRef?.name) == "db-password")
            #expect(e.objectRef?.namespace == nil)
        }
    }

    @Test(
        "a repeated nested object replaced by a non-object keeps nothing from the first",
        arguments: [
            #""user":{"username":"admin","groups":["system:masters"]},"user":null"#,
            #""user":{"username":"admin","groups":["system:masters"]},"user":"admin""#,
            #""user":{"username":"admin","groups":["system:masters"]},"user":[{"username":"admin"}]"#,
        ])
    func duplicateReplacedByNonObject(_ members: String) throws {
        try withEvent(#"{"kind":"Event","auditID":"dup","verb":"get","# + members + "}") { e in
            #expect(e.hasDuplicateKeys)
            #expect(e.user?.object.kind != .object)
            #expect(e.user?.username == nil)
            #expect(e.user?.isMember(of: "system:masters") != true)
        }
    }

    @Test("duplicate annotation and metadata objects: the last wins")
    func duplicateAnnotations() throws {
        let members = #""annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"no"},"#
            + #""metadata":{"creationTimestamp":"2018-10-25T14:09:12Z"},"#
            + #""annotations":{"authorization.k8s.io/decision":"allow"},"metadata":{}"#
        try withEvent(Fixtures.event(members)) { e in
            #expect(text(e.authorizationDecision) == "allow")
            #expect(e.authorizationReason == nil)
            #expect(e.stageMicros == nil)
        }
    }

    @Test("duplicate keys inside nested objects: the last wins")
    func duplicateNestedKeys() throws {
        let members = #""objectRef":{"resource":"pods","name":"a","name":"b"},"responseStatus":{"code":200,"code":500}"#
        try withEvent(Fixtures.event(members).replacing(#""user":{"username":"admin"}"#, with: #""user":{"username":"x","username":"y"}"#)) { e in
            #expect(text(e.objectRef?.name) == "b")
            #expect(e.responseStatus?.code == 500)
            #expect(text(e.user?.username) == "y")
            #expect(!e.hasDuplicateKeys)  // only top-level keys count
        }
    }

    @Test("envelope keys spelled with escapes are the same keys")
    func escapedKeys() throws {
        let json = #"{"kind":"Event","audit\u0049D":"escaped","v\u0065rb":"get","objectRef":{"resourc\u0065":"secrets"},"annotations":{"authorization.k8s.io\/decision":"allow"}}"#
        try withEvent(json) { e in
            #expect(text(e.auditID) == "escaped")
            #expect(text(e.verb) == "get")
            #expect(text(e.objectRef?.resource) == "secrets")
            #expect(text(e.authorizationDecision) == "allow")
        }
    }

    @Test("invalid UTF-8 in values: envelope read, bytes kept raw, Strings repaired")
    func invalidUTF8() throws {
        let bytes = utf8(#"{"kind":"Event","auditID":"bad-utf8","userAgent":"evil"#) + [0xFF, 0xC0, 0x80]
            + utf8(#"agent","objectRef":{"resource":"pods","name":"x"#) + [0xED, 0xA0, 0x80]
            + utf8(#""},"verb":"get","requestObject":{"data":""#) + [0xFE] + utf8(#""}}"#)
        try withEvent(bytes) { e in
            #expect(text(e.auditID) == "bad-utf8")
            #expect(text(e.verb) == "get")
            let ua = try #require(e.userAgent)
            #expect(Array(ua.rawBytes) == utf8("\"evil") + [0xFF, 0xC0, 0x80] + utf8("agent\""))
            #expect(text(ua) == "evil\u{FFFD}\u{FFFD}\u{FFFD}agent")
            #expect(text(e.objectRef?.name)?.hasPrefix("x\u{FFFD}") == true)
            #expect(e.requestObject?["data"].map { Array($0.rawBytes) } == [0x22, 0xFE, 0x22])
        }
    }

    @Test("a lone \\ud800 escape becomes U+FFFD")
    func loneSurrogate() throws {
        try withEvent(Fixtures.event(#""userAgent":"kubectl\ud800/v1.30","impersonatedUser":{"username":"\ud800"}"#)) { e in
            #expect(text(e.userAgent) == "kubectl\u{FFFD}/v1.30")
            #expect(text(e.impersonatedUser?.username) == "\u{FFFD}")
            #expect(text(e.verb) == "list")
        }
    }

    @Test("a 10,000-deep requestObject is skipped; the fields after it are read")
    func deepRequestObject() throws {
        let depth = 10_000
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        for body in [arrays, objects] {
            let json = #"{"kind":"Event","auditID":"deep","requestObject":"# + body
                + #","responseObject":"# + body + #","verb":"create","stage":"ResponseComplete"}"#
            try withEvent(json) { e in
                #expect(text(e.verb) == "create")
                #expect(e.stage == .responseComplete)
                #expect(e.requestObject?.byteCount == body.utf8.count)
                #expect(e.responseObject?.byteCount == body.utf8.count)
                // Paths into it are bounded, not recursive.
                var visited = 0
                e.forEachValue(at: JSONPath("requestObject.a.a.a")) { _ in
                    visited += 1
                    return true
                }
                #expect(visited == (body == objects ? 1 : 0))
            }
        }
        // The same depth, one bracket short: a malformed event, not a crash.
        let unbalanced = #"{"kind":"Event","auditID":"deep","requestObject":"# + String(arrays.dropLast()) + "}"
        #expect(outcome(unbalanced) == .failure(.malformedObject, offset: unbalanced.utf8.count))
    }

    @Test("1e999999 and a 200,000-digit number: skipped, still reachable raw")
    func hostileNumbers() throws {
        let digits = String(repeating: "4", count: 200_000)
        let members = #""responseStatus":{"code":1e999999},"requestObject":{"spec":{"replicas":"# + digits
            + #","progressDeadlineSeconds":1e999999}},"sourceIPs":["10.0.0.1"]"#
        try withEvent(Fixtures.event(members)) { e in
            #expect(e.responseStatus?.code == nil)
            #expect(e.responseStatus?.codeValue?.double == .infinity)
            let replicas = try #require(e.requestObject?.firstValue(at: JSONPath("spec.replicas")))
            #expect(replicas.kind == .number)
            #expect(replicas.byteCount == 200_000)
            #expect(replicas.int64 == nil)
            #expect(e.requestObject?.firstValue(at: JSONPath("spec.progressDeadlineSeconds"))?.double == .infinity)
            #expect(strings(e.sourceIPs) == ["10.0.0.1"])
        }
        // As the status code itself.
        try withEvent(Fixtures.event(#""responseStatus":{"code":"# + digits + "}")) { e in
            #expect(e.responseStatus?.code == nil)
            #expect(e.responseStatus?.codeValue?.byteCount == 200_000)
        }
    }

    @Test("NUL bytes, raw and escaped, inside envelope strings")
    func nulBytes() throws {
        let bytes = utf8(#"{"kind":"Event","auditID":"nul","objectRef":{"resource":"secrets","name":"db"#) + [0x00]
            + utf8(#"pass"},"user":{"username":"mallory\u0000admin"},"verb":"get"}"#)
        try withEvent(bytes) { e in
            #expect(text(e.objectRef?.name) == "db\u{0}pass")
            #expect(text(e.user?.username) == "mallory\u{0}admin")
            #expect(e.user?.username?.stringEquals("mallory") == false)
            #expect(text(e.verb) == "get")
        }
    }

    @Test("overlong keys and values are harmless")
    func overlongKeys() throws {
        let longKey = String(repeating: "k", count: 10_000)
        let escapedLongKey = String(repeating: #"\u0041"#, count: 100)  // decodes to 100 bytes
        let members = "\"\(longKey)\":1,\"\(escapedLongKey)\":2,\"userAgent\":\"" + String(repeating: "A", count: 100_000) + "\""
        try withEvent(Fixtures.event(members)) { e in
            #expect(e.userAgent?.byteCount == 100_002)
            #expect(text(e.verb) == "list")
        }
    }

    @Test("random damage to a real event never crashes the decoder or the views")
    func randomDamage() throws {
        let original = utf8(Fixtures.v1Event)
        var rng = SplitMix64(seed: 99)
        let nasty: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x00, 0xFF, 0x20, 0x0A]
        for _ in 0..<2_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[at] = nasty.randomElement(using: &rng)!
                case 1: bytes.remove(at: at)
                default: bytes.removeSubrange(at...)  // truncation
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            bytes.withUnsafeBufferPointer { buffer in
                if case .event(let e) = AuditEvent.decode(buffer.baseAddress!, start: 0, end: buffer.count) {
                    // Whatever survived, reading it must not trap.
                    _ = (e.user?.username?.string, e.objectRef?.name?.string, e.stageMicros, e.responseStatus?.code)
                    _ = (e.execRequest?.command, e.podSpec()?.allContainers.count)
                }
            }
        }
    }
}
