import AuditJSON
import AuditTestSupport
@testable import DetectionEngine
import Testing

// Plain Sigma strings: exact matching, case folding, wildcards and their escapes,
// multi-byte characters, JSON escapes in event values, and the byte-level fast paths.

private typealias F = MatcherFixture

@Suite("ValueMatcher: strings and wildcards")
struct MatcherStringTests {
    @Test("a plain string matches the whole value, ignoring ASCII case")
    func exactCaseInsensitive() throws {
        let m = try F.compile("", "create")
        #expect(F.matches(m, string: "create"))
        #expect(F.matches(m, string: "CREATE"))
        #expect(F.matches(m, string: "CrEaTe"))
        #expect(!F.matches(m, string: "creates"))
        #expect(!F.matches(m, string: "recreate"))
        #expect(!F.matches(m, string: "creat"))
        #expect(!F.matches(m, string: ""))
        // Lengths around the eight-byte compare.
        let long = try F.compile("", "MutatingWebhookConfigurations")
        #expect(F.matches(long, string: "mutatingwebhookconfigurations"))
        #expect(F.matches(long, string: "MUTATINGWEBHOOKCONFIGURATIONS"))
        #expect(!F.matches(long, string: "mutatingwebhookconfiguration"))
        #expect(!F.matches(long, string: "mutatingwebhookconfigurationz"))
    }

    @Test("the empty string matches only the empty string")
    func emptyString() throws {
        let m = try F.compile("", "")
        #expect(F.matches(m, string: ""))
        #expect(!F.matches(m, string: " "))
        #expect(!F.matches(m, json: "null"))
    }

    @Test("case folding is ASCII only: non-ASCII letters must match exactly")
    func asciiFoldingOnly() throws {
        #expect(!F.matches(try F.compile("", "É"), string: "é"))
        #expect(F.matches(try F.compile("", "é"), string: "é"))
        #expect(F.matches(try F.compile("", "Ärger"), string: "ÄRGER"))
        #expect(!F.matches(try F.compile("", "Ärger"), string: "äRGER"))
        #expect(F.matches(try F.compile("", "straße"), string: "STRAßE"))
        #expect(!F.matches(try F.compile("", "strasse"), string: "straße"))
        // Punctuation next to the letter ranges is never folded: @[`{ vs `"`-`@` etc.
        #expect(!F.matches(try F.compile("", "@"), string: "`"))
        #expect(!F.matches(try F.compile("", "["), string: "{"))
        #expect(!F.matches(try F.compile("", "]]]]]]]]]"), string: "}}}}}}}}}"))
        // 0xC1 is 'A' | 0x80: bytes >= 0x80 are never folded, also eight at a time.
        let high = try ValueMatcher(values: [.string("xxxxxxxxa")], modifiers: [])
        #expect(!F.matches(high, jsonBytes: Array("\"xxxxxxxx".utf8) + [0xC1] + Array("\"".utf8)))
    }

    @Test("cased compares bytes exactly")
    func cased() throws {
        let m = try F.compile("cased", "Create")
        #expect(F.matches(m, string: "Create"))
        #expect(!F.matches(m, string: "create"))
        let c = try F.compile("contains|cased", "Bash")
        #expect(F.matches(c, string: "/bin/Bash -c"))
        #expect(!F.matches(c, string: "/bin/bash -c"))
        let w = try F.compile("cased", "A?c*")
        #expect(F.matches(w, string: "Abcdef"))
        #expect(!F.matches(w, string: "abcdef"))
        #expect(!F.matches(w, string: "ABCDEF"))
    }

    @Test(
        "wildcards * and ?",
        arguments: [
            ("*", "", true), ("*", "anything", true), ("**", "x", true),
            ("a*", "a", true), ("a*", "abc", true), ("a*", "ba", false),
            ("*a", "a", true), ("*a", "cba", true), ("*a", "ab", false),
            ("*a*", "xax", true), ("*a*", "xyz", false),
            ("a*c", "ac", true), ("a*c", "abbbc", true), ("a*c", "abcd", false), ("a*c", "c", false),
            ("a*b*c", "abc", true), ("a*b*c", "aXbYc", true), ("a*b*c", "acb", false),
            ("a*b*c", "abcbc", true), ("*ab*ab*", "abab", true), ("*ab*ab*", "aba", false),
            ("?", "a", true), ("?", "", false), ("?", "ab", false),
            ("a?c", "abc", true), ("a?c", "ac", false), ("a?c", "abbc", false),
            ("??", "ab", true), ("*?", "", false), ("*?", "x", true), ("?*?", "x", false), ("?*?", "xy", true),
            ("a*?c", "ac", false), ("a*?c", "abc", true), ("a*?c", "abbbc", true),
            ("*.k8s.io", "rbac.authorization.k8s.io", true), ("*.k8s.io", "k8s.io", false),
            ("system:serviceaccount:kube-system:*", "system:serviceaccount:kube-system:replicaset-controller", true),
            ("system:serviceaccount:*:default", "system:serviceaccount:prod:default", true),
            ("system:serviceaccount:*:default", "system:serviceaccount:prod:default2", false),
            ("*a?b*", "xxaZbyy", true), ("*a?b*", "xxabyy", false),
        ])
    func wildcards(_ pattern: String, _ value: String, _ expected: Bool) throws {
        let m = try F.compile("", pattern)
        #expect(F.matches(m, string: value) == expected, "'\(pattern)' vs '\(value)'")
    }

    @Test(
        "backslash escapes (the specification's Escape Character section)",
        arguments: [
            // pattern, value, expected
            (#"a\*"#, "a*", true), (#"a\*"#, "ab", false), (#"a\*"#, #"a\b"#, false),
            (#"a\?"#, "a?", true), (#"a\?"#, "ab", false),
            (#"\\"#, #"\"#, true), (#"\\"#, #"\\"#, false),  // \\ is one backslash
            (#"\"#, #"\"#, true),  // a lone backslash is a backslash
            (#"C:\Windows\*"#, #"C:\Windows*"#, true),  // \W is a plain backslash; \* is a plain star
            (#"C:\Windows\\*"#, #"C:\Windows\System32"#, true),  // \\* : a backslash, then a wildcard
            (#"C:\Windows\\*"#, #"C:\WindowsX"#, false),
            (#"\\*"#, #"\abc"#, true), (#"\\*"#, "abc", false),
            (#"\\\*"#, #"\*"#, true), (#"\\\*"#, #"\x"#, false),  // three: backslash and star, both plain
            (#"\\\\"#, #"\\"#, true), (#"\\\\"#, #"\"#, false),  // four: two backslashes
            (#"\\\"#, #"\\"#, true),  // three at the end: two backslashes
            (#"a\b"#, #"a\b"#, true), (#"\n"#, #"\n"#, true), (#"\n"#, "\n", false),
            (#"*\**"#, "x*y", true), (#"*\**"#, "xy", false),
            (#"*\?"#, "why?", true), (#"*\?"#, "why!", false),
        ])
    func escapes(_ pattern: String, _ value: String, _ expected: Bool) throws {
        let m = try F.compile("", pattern)
        #expect(F.matches(m, string: value) == expected, "'\(pattern)' vs '\(value)'")
    }

    @Test("`C:\\Windows\\*` is a literal star: \\* escapes the wildcard")
    func escapedStarIsLiteral() throws {
        let m = try F.compile("", #"C:\Windows\*"#)
        #expect(F.matches(m, string: #"C:\Windows*"#))
        #expect(!F.matches(m, string: #"C:\Windows\System32"#))
    }

    @Test("? takes one character: a whole multi-byte UTF-8 scalar")
    func questionMarkIsOneScalar() throws {
        let m = try F.compile("", "caf?")
        #expect(F.matches(m, string: "cafe"))
        #expect(F.matches(m, string: "café"))  // é is two bytes
        #expect(!F.matches(m, string: "caf"))
        #expect(!F.matches(m, string: "caféé"))
        let one = try F.compile("", "?")
        for s in ["a", "é", "中", "😀"] { #expect(F.matches(one, string: s), "\(s)") }
        for s in ["", "ab", "😀😀", "é!"] { #expect(!F.matches(one, string: s), "\(s)") }
        // Backward matching of a final segment with ? (the pattern does not end with *).
        let tail = try F.compile("", "*?é")
        #expect(F.matches(tail, string: "😀é"))
        #expect(F.matches(tail, string: "xx中é"))
        #expect(!F.matches(tail, string: "é"))
        let three = try F.compile("", "*???")
        #expect(F.matches(three, string: "😀中é"))
        #expect(!F.matches(three, string: "😀é"))
        let middle = try F.compile("", "a*?b?*c")
        #expect(F.matches(middle, string: "a😀b中c"))
        #expect(!F.matches(middle, string: "ab中c"))
        // Multi-byte literals around wildcards.
        let literal = try F.compile("", "*中文*")
        #expect(F.matches(literal, string: "日本語と中文です"))
        #expect(!F.matches(literal, string: "中 文"))
    }

    @Test("JSON escapes in event values are decoded before matching")
    func jsonEscapes() throws {
        #expect(F.matches(try F.compile("", #"a"b"#), json: #""a\"b""#))
        #expect(F.matches(try F.compile("", "abc"), json: #""\u0041BC""#))
        #expect(F.matches(try F.compile("", "café"), json: #""caf\u00e9""#))
        #expect(F.matches(try F.compile("", "caf?"), json: #""caf\u00E9""#))
        #expect(F.matches(try F.compile("", "?"), json: #""\ud83d\ude00""#))
        #expect(F.matches(try F.compile("", #"c:\windows\\*"#), json: #""C:\\Windows\\x""#))
        #expect(F.matches(try F.compile("", "/api/v1/*"), json: #""\/api\/v1\/pods""#))
        #expect(F.matches(try F.compile("contains", "\n"), json: #""line1\nline2""#))
        #expect(!F.matches(try F.compile("", "a\\nb"), json: #""a\nb""#))
        #expect(F.matches(try F.compile("endswith", "bash"), json: #""\/bin\/BASH""#))
        // Everything escaped, long enough to cross eight-byte blocks.
        let text = "system:serviceaccount:kube-system:Déployment-😀"
        for pattern in [text, "*:kube-system:*", "system:*-?", "*DÉPLOYMENT*"] {
            let m = try F.compile("", pattern)
            #expect(
                F.matches(m, json: F.fullyEscaped(text)) == F.matches(m, string: text),
                "'\(pattern)'")
        }
        #expect(F.matches(try F.compile("", text), json: F.fullyEscaped(text)))
    }

    @Test("a list of values is an OR")
    func listIsOr() throws {
        let verbs = try F.compile("", "create", "delete", "patch", "replace", "update")
        for v in ["create", "DELETE", "patch", "update"] { #expect(F.matches(verbs, string: v)) }
        for v in ["get", "list", "watch", ""] { #expect(!F.matches(verbs, string: v)) }
        #expect(verbs.exactLowercasedStrings == ["create", "delete", "patch", "replace", "update"])
    }

    @Test("matches(utf8:) and matches(String) match decoded text directly")
    func directText() throws {
        let m = try F.compile("contains", "/bin/sh")
        #expect(m.matches("sh -c /BIN/SH"))
        #expect(!m.matches("/bin/bash"))
        let bytes = Array("exec /bin/sh".utf8)
        #expect(bytes.withUnsafeBufferPointer { m.matches(utf8: $0) })
    }

    // MARK: Cross-checks

    /// A reference glob matcher over Unicode scalars (dynamic programming).
    private enum RefAtom: Equatable {
        case scalar(Unicode.Scalar), one, any
    }

    private static func referenceMatches(_ pattern: [RefAtom], _ value: [Unicode.Scalar], fold: Bool) -> Bool {
        func lower(_ s: Unicode.Scalar) -> Unicode.Scalar {
            fold && s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value | 0x20)! : s
        }
        // dp[j] == pattern[..<i] matches value[..<j]
        var dp = [Bool](repeating: false, count: value.count + 1)
        dp[0] = true
        for atom in pattern {
            var next = [Bool](repeating: false, count: value.count + 1)
            switch atom {
            case .any:
                var seen = false
                for j in 0...value.count {
                    seen = seen || dp[j]
                    next[j] = seen
                }
            case .one:
                for j in 1...max(1, value.count) where j <= value.count { next[j] = dp[j - 1] }
            case .scalar(let s):
                for j in 1...max(1, value.count) where j <= value.count {
                    next[j] = dp[j - 1] && lower(value[j - 1]) == lower(s)
                }
            }
            dp = next
        }
        return dp[value.count]
    }

    @Test("random wildcard patterns agree with a reference matcher (folded and cased)")
    func globCrossCheck() throws {
        var rng = SplitMix64(seed: 0x5167_4D41)
        // Pattern pieces: Sigma text and the reference atoms it stands for.
        let pieces: [(String, [RefAtom])] = [
            ("a", [.scalar("a")]), ("B", [.scalar("B")]), ("é", [.scalar("é")]), ("😀", [.scalar("😀")]),
            ("x", [.scalar("x")]), ("*", [.any]), ("?", [.one]), (#"\*"#, [.scalar("*")]), (#"\?"#, [.scalar("?")]),
        ]
        let alphabet: [Unicode.Scalar] = ["a", "A", "b", "B", "é", "É", "😀", "*", "x", "?"]
        var checked = 0
        for _ in 0..<3000 {
            var sigma = ""
            var atoms: [RefAtom] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let piece = pieces[Int.random(in: 0..<pieces.count, using: &rng)]
                sigma += piece.0
                atoms += piece.1
            }
            let cased = Bool.random(using: &rng)
            let m = try F.compile(cased ? "cased" : "", sigma)
            for _ in 0..<6 {
                let value = (0..<Int.random(in: 0...7, using: &rng)).map { _ in
                    alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: value)
                let expected = Self.referenceMatches(atoms, value, fold: !cased)
                #expect(m.matches(text) == expected, "'\(sigma)'\(cased ? " cased" : "") vs '\(text)'")
                #expect(F.matches(m, json: F.fullyEscaped(text)) == expected, "'\(sigma)' vs escaped '\(text)'")
                checked += 1
            }
        }
        #expect(checked == 18000)
    }

    @Test("eight-bytes-at-a-time folding agrees with the byte-at-a-time one for every byte")
    func swarFolding() {
        for b in 0...255 {
            for position in 0..<8 {
                var word: UInt64 = 0x6161_6161_6161_6161  // "aaaaaaaa"
                word &= ~(UInt64(0xFF) << UInt64(8 * position))
                word |= UInt64(b) << UInt64(8 * position)
                let folded = ASCIIFold.lower8(word)
                let expected = UInt64(ASCIIFold.lower(UInt8(b))) << UInt64(8 * position)
                    | (0x6161_6161_6161_6161 & ~(UInt64(0xFF) << UInt64(8 * position)))
                #expect(folded == expected, "byte \(b) at \(position)")
            }
        }
        // Neighbouring bytes do not disturb each other.
        let mixed = Array("@AZ[`az{".utf8)
        let word = mixed.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let lowered = withUnsafeBytes(of: ASCIIFold.lower8(word)) { Array($0) }
        #expect(lowered == Array("@az[`az{".utf8))
    }

    @Test("substring search agrees with a naive search at every alignment")
    func searchCrossCheck() {
        var rng = SplitMix64(seed: 42)
        let alphabet: [UInt8] = Array("aAbBzZ@[`{".utf8) + [0xC1, 0xE1, 0x80, 0x00]
        for _ in 0..<4000 {
            let n = Int.random(in: 0...70, using: &rng)
            let hay = (0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            let m = Int.random(in: 1...5, using: &rng)
            var needle = (0..<m).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            if n >= m && Bool.random(using: &rng) {  // often take the needle from the haystack
                let at = Int.random(in: 0...(n - m), using: &rng)
                needle = Array(hay[at..<(at + m)])
            }
            let from = Int.random(in: 0...max(0, n / 3), using: &rng)
            for fold in [false, true] {
                let pattern = fold ? ASCIIFold.lowered(needle) : needle
                var expected = -1
                if n >= m && from <= n - m {
                    for i in from...(n - m) {
                        let window = hay[i..<(i + m)].map { fold ? ASCIIFold.lower($0) : $0 }
                        if window == pattern {
                            expected = i
                            break
                        }
                    }
                }
                let padded = hay + [0]  // a valid base address even when empty
                for anchor in [0, m - 1, rareByteOffset(pattern)] {
                    let found = padded.withUnsafeBufferPointer { h in
                        pattern.withUnsafeBufferPointer { p in
                            firstOccurrence(of: p, anchor: anchor, in: h.baseAddress!, from: from, to: n, fold: fold)
                        }
                    }
                    #expect(found == expected, "\(hay) \(needle) from \(from) fold \(fold) anchor \(anchor)")
                }
            }
        }
    }

    @Test("a list of long contains literals (window jumps) agrees with a naive search")
    func containsListSkippingCrossCheck() throws {
        // With bytes that differ from others only in bit 0x20 (`@` and `` ` ``, `[` and `{`,
        // `_` and DEL), which share the jump table's slots.
        let alphabet: [Character] = ["a", "A", "b", "B", "s", "=", ":", " ", "_", "\u{7F}", "é", "@", "`", "[", "{"]
        let (skipping, _) = try F.containsListCrossCheck(
            seed: 0x57_4D, alphabet: alphabet, literalLengths: 2...9, textLengths: 0...60, lists: 600,
            uses: { $0.containsWindow > 0 })
        #expect(skipping > 100)
    }

    @Test("prefix, suffix and contains fast paths at every length and offset")
    func fastPathsAtEveryOffset() throws {
        let needle = "KubeSystem"
        let contains = try F.compile("contains", needle)
        let prefix = try F.compile("startswith", needle)
        let suffix = try F.compile("endswith", needle)
        for before in 0..<20 {
            for after in 0..<20 {
                let text = String(repeating: "x", count: before) + "kUBEsYSTEM" + String(repeating: "y", count: after)
                #expect(F.matches(contains, string: text))
                #expect(F.matches(prefix, string: text) == (before == 0))
                #expect(F.matches(suffix, string: text) == (after == 0))
                let broken = String(repeating: "x", count: before) + "kUBEsYSTEN" + String(repeating: "y", count: after)
                #expect(!F.matches(contains, string: broken))
            }
        }
    }
}
