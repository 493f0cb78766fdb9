import AuditJSON
import Testing

// Dotted paths with "any element" semantics over arrays, as detection rules use them.

@Suite("JSONPath")
struct JSONPathTests {
    /// A Deployment's request body: two containers (one without an image), an init container.
    static let deployment = #"""
        {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"prod"},
         "spec":{"replicas":3,"template":{"spec":{
           "containers":[{"name":"app","image":"nginx:1.25","ports":[{"containerPort":80},{"containerPort":443}]},
                         {"name":"sidecar","image":"envoyproxy/envoy:v1.29"},
                         {"name":"noimage"}],
           "initContainers":[{"name":"init","image":"busybox:1.36"}]}}}}
        """#

    @Test("arrays on the way are transparent: every container's image")
    func anyElement() throws {
        try withParsed(Self.deployment) { v in
            #expect(texts(v, "spec.template.spec.containers.image") == ["nginx:1.25", "envoyproxy/envoy:v1.29"])
            #expect(texts(v, "spec.template.spec.containers.name") == ["app", "sidecar", "noimage"])
            #expect(texts(v, "spec.template.spec.initContainers.image") == ["busybox:1.36"])
            // Two array levels crossed: containers[*].ports[*].containerPort
            #expect(texts(v, "spec.template.spec.containers.ports.containerPort") == ["80", "443"])
            #expect(texts(v, "spec.template.spec.volumes.name").isEmpty)
            #expect(texts(v, "metadata.name") == ["web"])
        }
    }

    @Test("a numeric segment selects one element")
    func numericIndex() throws {
        try withParsed(Self.deployment) { v in
            #expect(texts(v, "spec.template.spec.containers.1.image") == ["envoyproxy/envoy:v1.29"])
            #expect(texts(v, "spec.template.spec.containers.0.ports.1.containerPort") == ["443"])
            #expect(texts(v, "spec.template.spec.containers.3.image").isEmpty)  // out of range
            #expect(texts(v, "spec.template.spec.containers.2.image").isEmpty)  // no image there
        }
        // On an object a numeric segment is an ordinary key.
        try withParsed(#"{"data":{"0":"zero"}}"#) { v in
            #expect(texts(v, "data.0") == ["zero"])
        }
    }

    @Test("flattenArrays: an array at the end of the path is visited element by element")
    func flattenArrays() throws {
        let user = #"{"user":{"username":"alice","groups":["system:masters","system:authenticated"]}}"#
        try withParsed(user) { v in
            #expect(texts(v, "user.groups") == ["system:masters", "system:authenticated"])
            #expect(texts(v, "user.groups", flattenArrays: false) == [#"["system:masters","system:authenticated"]"#])
            #expect(texts(v, "user.username", flattenArrays: false) == ["alice"])
        }
        // Flattening goes one level only: nested arrays at the end are not visited.
        try withParsed(#"{"g":[["x"],"y",{"z":1}]}"#) { v in
            #expect(texts(v, "g") == ["y", #"{"z":1}"#])
        }
    }

    @Test("arrays are crossed transparently at most maxTransparentArrayDepth deep")
    func nestedArrayBound() throws {
        #expect(JSONPath.maxTransparentArrayDepth == 4)
        func nested(_ n: Int) -> String {
            #"{"a":"# + String(repeating: "[", count: n) + #"{"b":"found"}"# + String(repeating: "]", count: n) + "}"
        }
        for n in 0...JSONPath.maxTransparentArrayDepth {
            try withParsed(nested(n)) { v in #expect(texts(v, "a.b") == ["found"], "\(n) arrays") }
        }
        try withParsed(nested(JSONPath.maxTransparentArrayDepth + 1)) { v in
            #expect(texts(v, "a.b").isEmpty)
        }
        // A hostile 10,000-deep array costs nothing and finds nothing.
        try withParsed(nested(10_000)) { v in #expect(texts(v, "a.b").isEmpty) }
    }

    @Test("the walk stops when the body returns false")
    func earlyStop() throws {
        try withParsed(Self.deployment) { v in
            var seen = 0
            let finished = v.forEachValue(at: JSONPath("spec.template.spec.containers.name")) { _ in
                seen += 1
                return seen < 2
            }
            #expect(!finished)
            #expect(seen == 2)
            #expect(v.firstValue(at: JSONPath("spec.template.spec.containers.image"))?.string == "nginx:1.25")
            #expect(v.firstValue(at: JSONPath("spec.nothing")) == nil)
        }
    }

    @Test("segments with dots, escaped keys, the empty path")
    func segments() throws {
        let annotations = #"{"annotations":{"authorization.k8s.io/decision":"allow","sp\u0065c":"escaped key"}}"#
        try withParsed(annotations) { v in
            let path = JSONPath(segments: ["annotations", "authorization.k8s.io/decision"])
            #expect(path.segments.count == 2)
            #expect(path.description == #"annotations.authorization\.k8s\.io/decision"#)
            #expect(v.firstValue(at: path)?.string == "allow")
            let escaped = JSONPath(#"annotations.authorization\.k8s\.io/decision"#)
            #expect(escaped == path, "a backslash keeps a dot inside the key")
            #expect(JSONPath(escaped.description) == escaped)
            #expect(JSONPath(#"a\\b.c"#).segments == [utf8(#"a\b"#), utf8("c")])
            #expect(texts(v, "annotations.spec") == ["escaped key"])
            // The empty path visits the value itself.
            #expect(v.firstValue(at: JSONPath(segments: [String]()))?.kind == .object)
        }
        #expect(JSONPath("a.b.c").segments == [utf8("a"), utf8("b"), utf8("c")])
        #expect(JSONPath("a..b").segments.count == 3)
        #expect(JSONPath("a.b") == JSONPath(segmentBytes: [utf8("a"), utf8("b")]))
    }
}
