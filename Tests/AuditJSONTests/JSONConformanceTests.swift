import AuditJSON
import Testing

// What JSONValue / JSONString make of the JSON grammar: escapes, \u sequences,
// whitespace, member order, duplicate keys, numbers, literals, nesting, and bytes a
// validator would reject but an audit log can contain (invalid UTF-8, NUL).

@Suite("JSON conformance")
struct JSONConformanceTests {
    // MARK: Strings

    @Test(
        "escapes decode",
        arguments: [
            (#""\"""#, "\""), (#""\\""#, "\\"), (#""\/""#, "/"), (#""\b""#, "\u{08}"), (#""\f""#, "\u{0C}"),
            (#""\n""#, "\n"), (#""\r""#, "\r"), (#""\t""#, "\t"),
            (#""a\"b\\c\/d\be\ff\ng\rh\ti""#, "a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti"),
            (#""RBAC: allowed by ClusterRoleBinding \"admin\" of ClusterRole \"cluster-admin\"""#,
             "RBAC: allowed by ClusterRoleBinding \"admin\" of ClusterRole \"cluster-admin\""),
        ])
    func escapes(_ json: String, _ expected: String) throws {
        try withParsed(json) { v in
            #expect(v.kind == .string)
            #expect(v.string == expected)
            #expect(v.jsonString?.hasEscapes == true)
        }
    }

    @Test(
        "\\u escapes, surrogate pairs and lone surrogates",
        arguments: [
            (#""\u0041\u00e9\u4E2D""#, "Aé中"),
            (#""\ud83d\ude00""#, "😀"),  // a surrogate pair is one scalar
            (#""x\uD83D\uDE00y""#, "x😀y"),
            (#""\ud800""#, "\u{FFFD}"),  // lone high surrogate
            (#""\udc00""#, "\u{FFFD}"),  // lone low surrogate
            (#""\ud800x""#, "\u{FFFD}x"),
            (#""\ud800\u0041""#, "\u{FFFD}A"),  // high surrogate then a non-surrogate escape
            (#""\ud83d\ud83d\ude00""#, "\u{FFFD}😀"),
            (#""\u00""#, "\u{FFFD}00"),  // too short: replaced, the digits kept
            (#""\uzzzz""#, "\u{FFFD}zzzz"),
        ])
    func unicodeEscapes(_ json: String, _ expected: String) throws {
        try withParsed(json) { v in
            #expect(v.string == expected)
        }
    }

    @Test("\\u escapes produce the same bytes as the literal text")
    func unicodeEscapeBytes() throws {
        try withParsed(#""\ud83d\ude00""#) { v in
            #expect(decodedBytes(v) == [0xF0, 0x9F, 0x98, 0x80])
        }
        try withParsed(#""\u07ff\u0800\uffff""#) { v in
            #expect(decodedBytes(v) == Array("\u{7FF}\u{800}\u{FFFF}".utf8))
        }
    }

    /// Escape sequences that decode to more bytes than they take (`\u` then no hex digits:
    /// 2 bytes in, 3 bytes of U+FFFD out) must not overrun the decoding buffer, whether it
    /// is on the stack (short strings) or on the heap (long ones).
    @Test("malformed \\u escapes that expand do not overrun the buffer")
    func expandingEscapes() throws {
        for count in Array(1...40) + [600, 5_000, 1_000_000] {
            let json = "\"" + String(repeating: #"\u"#, count: count) + "\""
            try withParsed(json) { v in
                #expect(v.string == String(repeating: "\u{FFFD}", count: count))
            }
        }
    }

    @Test("strings without escapes are compared on raw bytes; with escapes, decoded")
    func stringComparisons() throws {
        try withParsed(#"["Event","\u0045vent","Ev\u0065nt\n","ResponseComplete"]"#) { v in
            let items = Array(v.elements)
            #expect(items.count == 4)
            #expect(items[0].stringEquals("Event"))
            #expect(items[0].jsonString?.hasEscapes == false)
            #expect(items[1].stringEquals("Event"))
            #expect(!items[2].stringEquals("Event"))
            #expect(items[2].jsonString?.hasPrefix("Event") == true)
            #expect(items[3].jsonString?.hasPrefix("Response") == true)
            #expect(items[3].jsonString?.hasPrefix("ResponseCompleteX") == false)
            #expect(!items[3].stringEquals("Event"))
        }
        // Shorter, equally long and longer raw texts, with and without escapes: only a raw
        // text longer than the constant can be it through escapes.
        try withParsed(#"["get","watc","watch","watcH","\u0077atch","w\u0061tc","\\atch","watches"]"#) { v in
            let items = Array(v.elements)
            #expect(items.map { $0.stringEquals("watch") } == [false, false, true, false, true, false, false, false])
        }
    }

    // MARK: Bytes a validator would reject

    @Test("invalid UTF-8 inside strings passes through raw; String decoding repairs it")
    func invalidUTF8() throws {
        let bytes = utf8(#"{"userAgent":"curl"#) + [0xFF, 0xFE, 0xC3] + utf8(#" x","n":1}"#)
        try withParsed(bytes) { v in
            let ua = try #require(v["userAgent"])
            #expect(Array(ua.rawBytes) == utf8("\"curl") + [0xFF, 0xFE, 0xC3] + utf8(" x\""))
            #expect(ua.string == "curl\u{FFFD}\u{FFFD}\u{FFFD} x")
            #expect(v["n"]?.int64 == 1)  // the rest of the object is still reachable
        }
        // With an escape in the same string the decoded bytes still carry the raw ones.
        try withParsed(utf8(#""\n"#) + [0xFF] + utf8("\"")) { v in
            #expect(decodedBytes(v) == [0x0A, 0xFF])
        }
    }

    @Test("NUL bytes inside strings: raw 0x00 and \\u0000")
    func nulBytes() throws {
        let bytes = utf8(#"{"raw":"a"#) + [0x00] + utf8(#"b","escaped":"a\u0000b","after":true}"#)
        try withParsed(bytes) { v in
            #expect(v["raw"]?.string == "a\u{0}b")
            #expect(v["escaped"]?.string == "a\u{0}b")
            #expect(v["escaped"].flatMap(decodedBytes) == [0x61, 0x00, 0x62])
            #expect(v["after"]?.bool == true)
        }
    }

    // MARK: Structure

    @Test("whitespace is allowed everywhere the grammar allows it")
    func whitespaceEverywhere() throws {
        let json = " \t\r\n{ \t\"a\" \n:\r [ 1 ,\n2\t] ,\r\n\"b\"\t:\t{ } ,\"c\" : \"x\" \n} \r\n\t"
        try withParsed(json) { v in
            #expect(v.kind == .object)
            #expect(v["a"].map { $0.elements.compactMap(\.int64) } == [1, 2])
            #expect(v["b"]?.kind == .object)
            #expect(v["b"].map { Array($0.members).count } == 0)
            #expect(v["c"]?.string == "x")
        }
    }

    @Test("members come in document order")
    func memberOrder() throws {
        try withParsed(#"{"verb":"get","auditID":"1","kind":"Event","stage":"ResponseComplete"}"#) { v in
            var it = v.members
            var keys: [String] = []
            while let m = it.next() { keys.append(m.key.string) }
            #expect(keys == ["verb", "auditID", "kind", "stage"])
            #expect(!it.failed)
        }
    }

    @Test("duplicate keys: the subscript returns the last; iteration sees both")
    func duplicateKeys() throws {
        try withParsed(#"{"verb":"get","user":{"username":"a"},"verb":"delete"}"#) { v in
            #expect(v["verb"]?.string == "delete")
            #expect(v["verb" as String]?.string == "delete")
            #expect(Array(v.members).filter { $0.key.equals("verb") }.count == 2)
        }
        // An escaped spelling of the same key is the same key.
        try withParsed(#"{"verb":"get","v\u0065rb":"patch"}"#) { v in
            #expect(v["verb"]?.string == "patch")
        }
    }

    @Test(
        "integers",
        arguments: [
            ("0", Int64(0)), ("-0", 0), ("42", 42), ("-42", -42), ("101", 101),
            ("9223372036854775807", .max), ("-9223372036854775808", .min),
        ])
    func integers(_ json: String, _ expected: Int64) throws {
        try withParsed(json) { v in
            #expect(v.kind == .number)
            #expect(v.int64 == expected)
        }
    }

    @Test(
        "numbers that are not 64-bit integers have no int64",
        arguments: ["9223372036854775808", "-9223372036854775809", "18446744073709551616", "1.5", "1e3", "12345678901234567890123"])
    func notInt64(_ json: String) throws {
        try withParsed(json) { v in
            #expect(v.int64 == nil)
            #expect(v.double != nil)
        }
    }

    @Test("doubles, including overflow to infinity")
    func doubles() throws {
        try withParsed("[1.5,-2.25e2,1e999999,-1e999999,0.1]") { v in
            let values = v.elements.map(\.double)
            #expect(values == [1.5, -225, .infinity, -.infinity, 0.1])
        }
        try withParsed(#""1""#) { v in #expect(v.double == nil) }
    }

    @Test("a 200,000-digit number is skipped correctly and is not an Int64")
    func hugeNumber() throws {
        let digits = String(repeating: "9", count: 200_000)
        try withParsed(#"{"replicas":"# + digits + #","after":"still here"}"#) { v in
            let n = try #require(v["replicas"])
            #expect(n.kind == .number)
            #expect(n.byteCount == 200_000)
            #expect(n.int64 == nil)
            #expect(n.double == .infinity)
            #expect(v["after"]?.string == "still here")
        }
    }

    @Test("literals")
    func literals() throws {
        try withParsed(#"{"t":true,"f":false,"n":null,"s":"true"}"#) { v in
            #expect(v["t"]?.bool == true)
            #expect(v["t"]?.kind == .bool)
            #expect(v["f"]?.bool == false)
            #expect(v["n"]?.isNull == true)
            #expect(v["n"]?.bool == nil)
            #expect(v["s"]?.bool == nil)  // a string is not a bool
            #expect(v["missing"] == nil)
        }
        for bad in ["tru", "nul", "falsetto", "True", "NULL"] {
            #expect(!parses(utf8(bad)), "\(bad)")
        }
    }

    @Test("nested arrays and objects")
    func nesting() throws {
        try withParsed(#"{"a":[{"b":[1,[2,{"c":"d"}]]},[],{}],"e":{"f":{"g":[null]}}}"#) { v in
            let a = Array(try #require(v["a"]).elements)
            #expect(a.map(\.kind) == [.object, .array, .object])
            let b = Array(try #require(a[0]["b"]).elements)
            #expect(b[0].int64 == 1)
            let inner = Array(b[1].elements)
            #expect(inner[0].int64 == 2)
            #expect(inner[1]["c"]?.string == "d")
            #expect(v["e"]?["f"]?["g"].map { Array($0.elements).count } == 1)
        }
    }

    @Test("a 10,000-deep value parses and its neighbours stay reachable")
    func deepValue() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        try withParsed(#"{"deep":"# + deep + #","next":1}"#) { v in
            #expect(v["deep"]?.byteCount == 20_000)
            #expect(v["next"]?.int64 == 1)
        }
    }

    // MARK: Malformed input

    @Test(
        "parse rejects what is not exactly one value",
        arguments: ["", "   ", "{} x", "{}{}", "[1,2", #"{"a":1"#, #""abc"#, "]", "}", "tru"])
    func parseRejects(_ text: String) {
        let bytes = utf8(text)
        #expect(bytes.withUnsafeBufferPointer { JSONValue.parse($0) } == nil)
    }

    /// A documented non-goal: when skipping, `}` and `]` are alike, so a mismatched
    /// bracket is not detected (the structure that is *walked* is still checked).
    @Test("mismatched brackets in skipped values are not detected (by design)")
    func mismatchedBrackets() throws {
        #expect(parses(utf8("{]")))
        try withParsed(#"{"requestObject":{"a":[1}],"verb":"get"}"#) { v in
            #expect(v["verb"]?.string == "get")
            #expect(v["requestObject"]?.byteCount == 9)
        }
    }

    @Test(
        "malformed objects stop member iteration and report where",
        arguments: [
            (#"{"a" 1}"#, 5), (#"{"a":1 "b":2}"#, 7), (#"{a:1}"#, 1), (#"{"a":}"#, 5), (#"{,"a":1}"#, 1),
            (#"{"a":1,}"#, 7), (#"{"a":1,,"b":2}"#, 7), (#"{"a":tru}"#, 5),
        ])
    func malformedMembers(_ text: String, _ offset: Int) throws {
        // The skimmer accepts the outer braces; the member walk finds the problem.
        let bytes = utf8(text)
        try bytes.withUnsafeBufferPointer { buffer in
            let v = JSONValue(base: try #require(buffer.baseAddress), start: 0, end: buffer.count)
            var it = v.members
            while it.next() != nil {}
            #expect(it.failed)
            #expect(it.failureOffset == offset)
        }
    }

    @Test("malformed arrays stop element iteration", arguments: ["[1 2]", "[1,,2]", "[1,]", "[,1]", "[tru]"])
    func malformedElements(_ text: String) throws {
        let bytes = utf8(text)
        try bytes.withUnsafeBufferPointer { buffer in
            let v = JSONValue(base: try #require(buffer.baseAddress), start: 0, end: buffer.count)
            var it = v.elements
            while it.next() != nil {}
            #expect(it.failed)
        }
    }

    @Test("kinds")
    func kinds() throws {
        try withParsed(#"[{},[],"s",1,-1,true,false,null]"#) { v in
            #expect(v.elements.map(\.kind) == [.object, .array, .string, .number, .number, .bool, .bool, .null])
            #expect(Array(v.members).isEmpty)  // members of an array: none
        }
    }
}
