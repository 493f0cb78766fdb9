import AuditJSON
@testable import DetectionEngine
import Foundation
import Testing

// The modifiers: contains/startswith/endswith, all, base64 and base64offset (checked against
// Foundation's encoder), the UTF-16 encodings, windash, re and its flags, chains and errors.

private typealias F = MatcherFixture

@Suite("ValueMatcher: modifiers")
struct MatcherModifierTests {
    // MARK: contains, startswith, endswith

    @Test("contains, startswith and endswith wrap the value in wildcards")
    func positionModifiers() throws {
        let c = try F.compile("contains", "/bin/sh")
        #expect(F.matches(c, string: "/api/v1/namespaces/x/pods/p/exec?command=%2Fbin%2Fsh&command=/bin/sh"))
        #expect(F.matches(c, string: "/BIN/SH"))
        #expect(!F.matches(c, string: "/bin/bash"))
        let s = try F.compile("startswith", "system:")
        #expect(F.matches(s, string: "system:serviceaccount:default:x"))
        #expect(!F.matches(s, string: "xsystem:"))
        let e = try F.compile("endswith", ".k8s.io")
        #expect(F.matches(e, string: "admissionregistration.k8s.io"))
        #expect(!F.matches(e, string: "k8s.io.example"))
        // Wildcards inside still work, and an existing * is not doubled.
        let w = try F.compile("contains", "bin/?ash")
        #expect(F.matches(w, string: "/usr/bin/bash -i"))
        #expect(F.matches(w, string: "/bin/dash"))
        #expect(!F.matches(w, string: "/bin/sh"))
        let already = try F.compile("contains", "*abc*")
        #expect(F.matches(already, string: "xxabcxx"))
        #expect(F.matches(try F.compile("startswith|endswith", "mid"), string: "a mid b"))
        // On a rule number: its text.
        let n = try F.compile("startswith", [.int(40)])
        #expect(F.matches(n, json: "403"))
        #expect(F.matches(n, json: "\"40x\""))
        #expect(!F.matches(n, json: "503"))
    }

    @Test("the enumeration rule's requestURI|contains list matches encoded and plain shells")
    func enumerationRule() throws {
        let m = try F.compile(
            "contains", "%2fbin%2fash", "%2fbin%2fbash", "%2fbin%2fsh", "/bin/ash", "/bin/bash", "/bin/sh",
            "%2fusr%2fbin%2fcurl", "/usr/bin/curl")
        #expect(F.matches(m, string: "/api/v1/namespaces/default/pods/web/exec?command=%2Fbin%2Fbash&stdin=true"))
        #expect(F.matches(m, string: "/api/v1/namespaces/default/pods/web/exec?command=/usr/bin/curl"))
        #expect(!F.matches(m, string: "/api/v1/namespaces/default/pods"))
        #expect(m.exactLowercasedStrings == nil)
    }

    // MARK: all

    @Test("all: every value must match")
    func all() throws {
        let m = try F.compile("contains|all", "kubectl", "exec")
        #expect(F.matches(m, string: "kubectl exec -it pod"))
        #expect(F.matches(m, string: "exec ... KUBECTL"))
        #expect(!F.matches(m, string: "kubectl get pods"))
        let any = try F.compile("contains", "kubectl", "exec")
        #expect(F.matches(any, string: "kubectl get pods"))
        // all on one value is the value (accepted).
        let one = try F.compile("all", "x")
        #expect(F.matches(one, string: "X"))
        #expect(one.exactLowercasedStrings == ["x"])
        #expect(try F.compile("all", "x", "y").exactLowercasedStrings == nil)
        // Order of all in the chain does not matter.
        let early = try F.compile("all|contains", "kubectl", "exec")
        #expect(!F.matches(early, string: "kubectl get pods"))
        #expect(F.matches(early, string: "kubectl exec"))
    }

    // MARK: base64

    @Test("the base64 encoder agrees with Foundation's")
    func base64Encoder() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<70 {
            for _ in 0..<5 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let ours = String(decoding: Base64.encode(bytes), as: UTF8.self)
                #expect(ours == Data(bytes).base64EncodedString(), "\(bytes)")
            }
        }
        #expect(String(decoding: Base64.encode(Array("hello".utf8)), as: UTF8.self) == "aGVsbG8=")
    }

    @Test("base64 matches the encoded value, case-sensitively")
    func base64() throws {
        let m = try F.compile("base64", "hello")
        #expect(F.matches(m, string: "aGVsbG8="))
        #expect(!F.matches(m, string: "AGVSBG8="))
        #expect(!F.matches(m, string: "hello"))
        let c = try F.compile("base64|contains", "/bin/sh")
        let encoded = Data("/bin/sh".utf8).base64EncodedString()
        #expect(F.matches(c, string: "prefix " + encoded + " suffix"))
        #expect(!F.matches(c, string: "prefix " + encoded.lowercased() + " suffix"))
        // Values with wildcards cannot be encoded; contains before base64 adds them.
        #expect(F.error("contains|base64", [.string("x")])?.message.contains("base64") == true)
        #expect(F.error("base64", [.string("a*")]) != nil)
        #expect(F.error("base64", [.bool(true)]) != nil)
        // An escaped wildcard is a plain character, and can be encoded.
        let star = try F.compile("base64", #"a\*"#)
        #expect(F.matches(star, string: Data("a*".utf8).base64EncodedString()))
    }

    @Test("base64offset: the three fragments of the Sigma documentation's http:// example")
    func base64OffsetKnownVector() throws {
        let fragments = Base64.offsetFragments(Array("http://".utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(fragments == ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"])
        // One byte: the fragment for offset 1 would be empty, and is dropped.
        #expect(Base64.offsetFragments(Array("a".utf8)).map { String(decoding: $0, as: UTF8.self) } == ["Y", "h"])
        let m = try F.compile("base64offset|contains", "http://")
        #expect(F.matches(m, string: "aHR0cDovL2V2aWwuZXhhbXBsZQ=="))
        #expect(!F.matches(m, string: "AHR0CDOVL2V2AWWUZXHHBXBSZQ=="))
    }

    @Test("base64offset|contains finds the value at any offset of any base64 text (Foundation-encoded)")
    func base64OffsetProperty() throws {
        var rng = SystemRandomNumberGenerator()
        for value in ["http://", "a", "ab", "abc", "/bin/sh -c", "kubectl exec", "é中😀", "Invoke-Expression"] {
            let m = try F.compile("base64offset|contains", value)
            for prefixLength in 0..<7 {
                // A single byte after 1 (mod 3) bytes has no base64 character of its own: no
                // fixed fragment exists (the empty one is dropped), so it cannot be found.
                if value.utf8.count == 1 && prefixLength % 3 == 1 { continue }
                for suffixLength in 0..<4 {
                    let prefix = (0..<prefixLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let suffix = (0..<suffixLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let encoded = Data(prefix + Array(value.utf8) + suffix).base64EncodedString()
                    #expect(F.matches(m, string: encoded), "'\(value)' prefix \(prefixLength) suffix \(suffixLength)")
                }
            }
        }
    }

    @Test("base64offset expands each value into an OR group; all ANDs the groups")
    func base64OffsetWithAll() throws {
        let m = try F.compile("base64offset|contains|all", "curl", "wget")
        let both = Data("x curl y wget".utf8).base64EncodedString()
        let one = Data("x curl y".utf8).base64EncodedString()
        #expect(F.matches(m, string: both))
        #expect(!F.matches(m, string: one))
        let any = try F.compile("base64offset|contains", "curl", "wget")
        #expect(F.matches(any, string: one))
        #expect(F.error("contains|base64offset", [.string("x")]) != nil)
    }

    // MARK: UTF-16

    @Test("wide/utf16le, utf16be and utf16 re-encode the value")
    func utf16() throws {
        // "cmd" in UTF-16LE, written as JSON \u escapes (63 00 6d 00 64 00).
        let le = #""c\u0000m\u0000d\u0000""#
        let be = #""\u0000c\u0000m\u0000d""#
        #expect(F.matches(try F.compile("wide", "cmd"), json: le))
        #expect(F.matches(try F.compile("utf16le", "CMD"), json: le))  // still case-insensitive
        #expect(!F.matches(try F.compile("wide", "cmd"), json: be))
        #expect(F.matches(try F.compile("utf16be", "cmd"), json: be))
        let bom = try ValueMatcher(values: [.string("cmd")], modifiers: ["utf16"])
        #expect(F.matches(bom, jsonBytes: [0x22, 0xFF, 0xFE] + Array(#"c\u0000m\u0000d\u0000""#.utf8)))
        #expect(!F.matches(bom, json: le))
        // Wildcards are kept.
        #expect(F.matches(try F.compile("wide|contains", "md"), json: le))
    }

    @Test("wide|base64offset|contains finds UTF-16LE text inside base64 (Foundation-encoded)")
    func wideBase64Offset() throws {
        let m = try F.compile("wide|base64offset|contains", "IEX")
        for prefix in ["", "a", "ab", "powershell "] {
            let utf16le = Array((prefix + "IEX (New-Object)").utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            #expect(F.matches(m, string: Data(utf16le).base64EncodedString()), "prefix '\(prefix)'")
        }
        #expect(!F.matches(m, string: Data("IEX".utf8).base64EncodedString()))
    }

    // MARK: windash

    @Test("windash varies flag dashes over - / – — ―")
    func windash() throws {
        let m = try F.compile("windash|contains", " -exec ")
        for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
            #expect(F.matches(m, string: "cmd \(dash)exec now"), "\(dash)")
        }
        #expect(!F.matches(m, string: "cmd +exec now"))
        // Two flags: 25 variants.
        let two = try F.compile("windash", "-a /b")
        #expect(two.groupSizes[0] == 25)
        #expect(F.matches(two, string: "/a \u{2014}b"))
        // Dashes that do not start a word are left alone.
        let plain = try F.compile("windash", "a-b")
        #expect(plain.groupSizes[0] == 1)
        #expect(!F.matches(plain, string: "a/b"))
        let path = try F.compile("windash", "C:/x/y")  // only the first slash starts a word after a non-word
        #expect(path.groupSizes[0] == 5)
        #expect(F.matches(path, string: "C:-x/y"))
        #expect(!F.matches(path, string: "C:/x-y"))
        // Too many variants.
        #expect(F.error("windash", [.string("-a -b -c -d -e -f")]) != nil)
        #expect(try F.compile("windash", "-a -b -c -d -e").groupSizes[0] == 3125)
    }

    // MARK: re

    @Test("re: an unanchored, case-sensitive search")
    func regex() throws {
        let m = try F.compile("re", "^/api/v1/namespaces/[a-z-]+/secrets$")
        #expect(F.matches(m, string: "/api/v1/namespaces/kube-system/secrets"))
        #expect(!F.matches(m, string: "/api/v1/namespaces/kube-system/secrets/x"))
        #expect(!F.matches(m, string: "/API/v1/namespaces/kube-system/secrets"))
        let search = try F.compile("re", "b.sh")
        #expect(F.matches(search, string: "/bin/bash -c"))
        #expect(!F.matches(search, string: "/bin/BASH"))
        // The value is taken as written: * and ? are regex syntax, not Sigma wildcards.
        let q = try F.compile("re", "^colou?r$")
        #expect(F.matches(q, string: "color"))
        #expect(!F.matches(q, string: "colouur"))
        // Escaped JSON values are decoded; numbers and booleans match on their text.
        #expect(F.matches(try F.compile("re", #"^a"b$"#), json: #""a\"b""#))
        #expect(F.matches(try F.compile("re", "^4[0-9]{2}$"), json: "403"))
        #expect(!F.matches(try F.compile("re", "^4[0-9]{2}$"), json: "503"))
        #expect(F.matches(try F.compile("re", "^t"), json: "true"))
        #expect(!F.matches(try F.compile("re", ".*"), json: "null"))
        #expect(!F.matches(try F.compile("re", ".*"), json: "{}"))
        // . is one scalar (Unicode-scalar semantics).
        #expect(F.matches(try F.compile("re", "^caf.$"), string: "café"))
        #expect(F.matches(try F.compile("re", "^.$"), string: "😀"))
    }

    @Test("re flags i, m and s")
    func regexFlags() throws {
        #expect(F.matches(try F.compile("re|i", "^/BIN/SH$"), string: "/bin/sh"))
        #expect(!F.matches(try F.compile("re", "^/BIN/SH$"), string: "/bin/sh"))
        let text = "first line\nsecond line"
        #expect(!F.matches(try F.compile("re", "^second"), string: text))
        #expect(F.matches(try F.compile("re|m", "^second"), string: text))
        #expect(F.matches(try F.compile("re|m", "line$"), string: text))
        #expect(!F.matches(try F.compile("re", "line.second"), string: text))
        #expect(F.matches(try F.compile("re|s", "line.second"), string: text))
        #expect(F.matches(try F.compile("re|i|m|s", "LINE.SECOND LINE$"), string: text))
        #expect(F.matches(try F.compile("re|s|i", "LINE.SECOND"), string: text))
    }

    @Test("re lists are ORs, or ANDs with all")
    func regexLists() throws {
        let any = try F.compile("re", "^a", "b$")
        #expect(F.matches(any, string: "ax"))
        #expect(F.matches(any, string: "xb"))
        let all = try F.compile("re|all", "^a", "b$")
        #expect(!F.matches(all, string: "ax"))
        #expect(F.matches(all, string: "axb"))
    }

    @Test("re errors: invalid patterns, wrong values, wrong chains")
    func regexErrors() {
        let invalid = F.error("re", [.string("a(b")])
        #expect(invalid?.message.contains("a(b") == true, "\(String(describing: invalid))")
        #expect(F.error("re", [.string("[z-a]")]) != nil)
        #expect(F.error("re", [.int(1)]) != nil)
        #expect(F.error("contains|re", [.string("a")]) != nil)
        #expect(F.error("re|contains", [.string("a")]) != nil)
        #expect(F.error("re|base64", [.string("a")]) != nil)
        #expect(F.error("i", [.string("a")])?.message.contains("'re'") == true)
        #expect(F.error("i|re", [.string("a")]) != nil)
        #expect(F.error("re|cased", [.string("a")]) != nil)
        #expect(F.error("cased|re", [.string("a")]) != nil)
        #expect(F.error("re|cidr", [.string("a")]) != nil)
        #expect(F.error("all|re", [.string("a"), .string("b")]) == nil)
        #expect(F.error("neq|re", [.string("a")]) == nil)
    }

    // MARK: Sharing

    @Test("one matcher serves many tasks at once (regex included)")
    func concurrentUse() async throws {
        let regex = try F.compile("re|i", "^/api/v1/namespaces/[a-z0-9-]+/secrets")
        let contains = try F.compile("contains", "secrets")
        let total = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var hits = 0
                    for k in 0..<500 {
                        let text = "/API/v1/namespaces/ns-\(task)-\(k)/secrets"
                        if regex.matches(text) && contains.matches(text) { hits += 1 }
                    }
                    return hits
                }
            }
            return await group.reduce(0, +)
        }
        #expect(total == 4000)
    }

    // MARK: Errors

    @Test("unknown modifiers are named; expand and fieldref belong to the engine")
    func modifierErrors() {
        let unknown = F.error("contains|containz", [.string("a")])
        #expect(unknown?.message.contains("'containz'") == true)
        for name in ["expand", "fieldref"] {
            let e = F.error(name, [.string("%x%")])
            #expect(e?.message.contains(name) == true)
            #expect(e?.message.contains("engine") == true)
        }
        #expect(F.error("hour", [.int(3)])?.message.contains("hour") == true)
        #expect(F.error("contains||all", [.string("a")])?.message.contains("empty") == true)
        #expect(F.error("Contains", [.string("a")]) != nil)  // modifiers are lowercase
        #expect(F.error("", [])?.message.contains("value") == true)
        #expect(F.error("contains", [.bool(true)]) != nil)
        #expect(F.error("cidr|contains", [.string("10.0.0.0/8")]) != nil)
    }
}

/// A list of `contains` values is searched in one pass (bigram buckets): it must answer as
/// a search for each value in turn would, for any text, case and `cased`.
@Suite("ValueMatcher: contains lists in one pass")
struct ContainsListTests {
    static let needles = ["password=", "Passphrase", "aws_secret", "stratum+tcp", "xmrig", "to", "PA", "a\u{e9}b", "ssss"]

    /// The reference: each needle looked for on its own, ASCII case folded unless cased.
    static func naive(_ text: [UInt8], cased: Bool) -> Bool {
        func fold(_ b: UInt8) -> UInt8 { cased || b < 0x41 || b > 0x5A ? b : b | 0x20 }
        for n in needles.map({ Array($0.utf8) }) where n.count <= text.count {
            for i in 0...(text.count - n.count) where (0..<n.count).allSatisfy({ fold(text[i + $0]) == fold(n[$0]) }) {
                return true
            }
        }
        return false
    }

    @Test("random texts over the needles' alphabet: the same answers as one search per value", arguments: [false, true])
    func sameAsEachInTurn(cased: Bool) throws {
        let matcher = try MatcherFixture.compile(cased ? "contains|cased" : "contains", Self.needles.map { .string($0) })
        let alphabet = Array("pPaAsSwWoOrRdD=_+tTcCxXmMiIgGhHeE \u{e9}b".utf8)
        var state: UInt64 = 7
        var hits = 0
        for round in 0..<4_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 58) + round % 7
            var text: [UInt8] = []
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            let expected = Self.naive(text, cased: cased)
            if expected { hits += 1 }
            let got = text.withUnsafeBufferPointer { matcher.matches(utf8: $0) }
            #expect(got == expected, "\(String(decoding: text, as: UTF8.self))")
        }
        #expect(hits > (cased ? 20 : 200) && hits < 3_800, "both answers are exercised")
    }
}
