import AuditJSON
@testable import DetectionEngine
import Testing

// Numbers, booleans and null, against every kind of JSON value; the comparison modifiers;
// exists and neq.

private typealias F = MatcherFixture

@Suite("ValueMatcher: numbers, booleans, null, comparisons, exists, neq")
struct MatcherTypeTests {
    @Test(
        "a rule integer matches equal JSON numbers and numeric strings",
        arguments: [
            ("403", true), ("403.0", true), ("4.03e2", true), ("4030E-1", true), ("\"403\"", true),
            ("\"0403\"", true), ("\"403.00\"", true), ("404", false), ("-403", false), ("\" 403\"", false),
            ("\"403 \"", false), ("\"4O3\"", false), ("\"\"", false), ("true", false), ("null", false),
            ("[403]", false), ("{\"code\":403}", false), ("\"+403\"", false), ("\"0x193\"", false),
        ])
    func integerValue(_ json: String, _ expected: Bool) throws {
        let m = try F.compile("", [.int(403)])
        #expect(F.matches(m, json: json) == expected, "\(json)")
    }

    @Test("responseStatus.code: [401, 403] (the unauthorized-actions rule)")
    func statusCodes() throws {
        let m = try F.compile("", [.int(401), .int(403)])
        #expect(F.matches(m, json: "403"))
        #expect(F.matches(m, json: "401"))
        #expect(!F.matches(m, json: "200"))
        #expect(m.exactLowercasedStrings == nil)
        // And a string value against the numeric field: 'ALLOW' never matches a number.
        let allow = try F.compile("", "ALLOW")
        #expect(!F.matches(allow, json: "200"))
    }

    @Test("integers compare exactly at the 64-bit limits; overflowing ones as doubles")
    func integerLimits() throws {
        let max = try F.compile("", [.int(Int64.max)])
        #expect(F.matches(max, json: "9223372036854775807"))
        #expect(!F.matches(max, json: "9223372036854775806"))
        #expect(!F.matches(max, json: "9223372036854775808"))  // overflows: 2^63 as a double, not equal
        let min = try F.compile("", [.int(Int64.min)])
        #expect(F.matches(min, json: "-9223372036854775808"))
        let big = try F.compile("gt", [.int(Int64.max)])
        #expect(F.matches(big, json: "9223372036854775808"))
        #expect(F.matches(big, json: "1e19"))
        #expect(!F.matches(big, json: "9223372036854775807"))
    }

    @Test("a rule double matches equal numbers")
    func doubleValue() throws {
        let m = try F.compile("", [.double(1.5)])
        #expect(F.matches(m, json: "1.5"))
        #expect(F.matches(m, json: "15e-1"))
        #expect(F.matches(m, json: "\"1.50\""))
        #expect(!F.matches(m, json: "1"))
        let whole = try F.compile("", [.double(2)])
        #expect(F.matches(whole, json: "2"))
        #expect(F.error("", [.double(.nan)]) != nil)
        #expect(F.error("", [.double(.infinity)]) != nil)
    }

    @Test("a rule string matches a JSON number's or boolean's raw text")
    func stringAgainstScalars() throws {
        #expect(F.matches(try F.compile("", "403"), json: "403"))
        #expect(!F.matches(try F.compile("", "403"), json: "403.0"))
        #expect(F.matches(try F.compile("", "40*"), json: "403"))
        #expect(F.matches(try F.compile("startswith", "-1"), json: "-12.5e+3"))
        #expect(F.matches(try F.compile("", "true"), json: "true"))
        #expect(F.matches(try F.compile("", "TRUE"), json: "true"))
        #expect(!F.matches(try F.compile("", "true"), json: "false"))
        #expect(F.matches(try F.compile("", "f*"), json: "false"))
        #expect(!F.matches(try F.compile("", "null"), json: "null"))
        #expect(!F.matches(try F.compile("", "*"), json: "null"))
        #expect(!F.matches(try F.compile("", ""), json: "null"))
    }

    @Test("a lone * matches any present non-null value, containers included; other strings never match containers")
    func containers() throws {
        let any = try F.compile("", "*")
        let present = [
            #"{"path":"/var/run/docker.sock","type":""}"#, "[]", "{}", #"["NET_ADMIN"]"#, "\"\"", "0", "false",
        ]
        for json in present {
            #expect(F.matches(any, json: json), "\(json)")
        }
        #expect(!F.matches(any, json: "null"))
        let other = try F.compile("contains", "docker")
        #expect(!F.matches(other, json: #"{"path":"/var/run/docker.sock"}"#))
        #expect(!F.matches(try F.compile("", "*?*"), json: "{}"))
        #expect(!F.matches(try F.compile("", [.int(1)]), json: "[1]"))
    }

    @Test("booleans match JSON booleans and the strings true/false")
    func booleans() throws {
        let t = try F.compile("", [.bool(true)])
        #expect(F.matches(t, json: "true"))
        #expect(!F.matches(t, json: "false"))
        #expect(F.matches(t, json: "\"true\""))
        #expect(F.matches(t, json: "\"True\""))
        #expect(!F.matches(t, json: "\"yes\""))
        #expect(!F.matches(t, json: "\"true \""))
        #expect(!F.matches(t, json: "1"))
        #expect(!F.matches(t, json: "null"))
        let f = try F.compile("", [.bool(false)])
        #expect(F.matches(f, json: "false"))
        #expect(F.matches(f, json: "\"FALSE\""))
        #expect(!F.matches(f, json: "true"))
        #expect(!F.matches(f, json: "0"))
        #expect(!F.matches(f, json: "\"\""))
    }

    @Test("null matches JSON null only, and cannot be listed with other values")
    func null() throws {
        let m = try F.compile("", [.null])
        #expect(F.matches(m, json: "null"))
        #expect(F.matches(m, json: " null "))
        #expect(!F.matches(m, json: "\"null\""))
        #expect(!F.matches(m, json: "\"\""))
        #expect(!F.matches(m, json: "0"))
        #expect(!F.matches(m, json: "{}"))
        let listed = F.error("", [.string(""), .null])
        #expect(listed?.message.contains("null") == true)
        #expect(F.error("contains", [.null]) != nil)
    }

    // MARK: gt, gte, lt, lte

    @Test(
        "numeric comparisons at their boundaries",
        arguments: [
            // modifier, rule value, JSON, expected
            ("gt", SigmaValue.int(10), "11", true), ("gt", .int(10), "10", false), ("gt", .int(10), "10.0", false),
            ("gt", .int(10), "10.000001", true), ("gt", .int(10), "9", false), ("gt", .int(10), "-11", false),
            ("gte", .int(10), "10", true), ("gte", .int(10), "10.0", true), ("gte", .int(10), "9.999", false),
            ("lt", .int(10), "9", true), ("lt", .int(10), "10", false), ("lt", .int(10), "-1e300", true),
            ("lte", .int(10), "10", true), ("lte", .int(10), "1e1", true), ("lte", .int(10), "11", false),
            ("gt", .int(-5), "-4", true), ("gt", .int(-5), "-5", false), ("lt", .int(-5), "-6", true),
            ("gt", .double(0.5), "1", true), ("gt", .double(0.5), "0.5", false), ("gt", .double(0.5), "0", false),
            ("gte", .double(0.5), "0.5", true), ("lt", .double(0.5), "0.49", true), ("lte", .double(-0.0), "0", true),
            ("gt", .int(10), "\"11\"", true), ("gt", .int(10), "\"9\"", false), ("gt", .int(10), "\"eleven\"", false),
            ("gt", .int(0), "true", false), ("gt", .int(0), "null", false), ("gt", .int(0), "[1]", false),
            ("gt", .int(0), "\"\"", false), ("lt", .int(0), "\"-1\"", true), ("gte", .int(0), "\"1e999\"", true),
        ])
    func comparisons(_ modifier: String, _ value: SigmaValue, _ json: String, _ expected: Bool) throws {
        let m = try F.compile(modifier, [value])
        #expect(F.matches(m, json: json) == expected, "\(json) \(modifier) \(value)")
    }

    @Test("comparison lists are ORs, or ANDs with all (a range)")
    func comparisonLists() throws {
        let either = try F.compile("lt", [.int(0), .int(100)])
        #expect(F.matches(either, json: "50"))
        let range = try F.compile("gt|all", [.int(0), .int(10)])  // > 0 and > 10
        #expect(F.matches(range, json: "11"))
        #expect(!F.matches(range, json: "5"))
    }

    @Test("comparisons need numeric rule values")
    func comparisonErrors() {
        for modifier in ["gt", "gte", "lt", "lte"] {
            let e = F.error(modifier, [.string("5")])
            #expect(e?.message.contains(modifier) == true, "\(String(describing: e))")
            #expect(F.error(modifier, [.bool(true)]) != nil)
            #expect(F.error(modifier, [.null]) != nil)
            #expect(F.error(modifier, [.double(.nan)]) != nil)
        }
        #expect(F.error("gt|lt", [.int(1)]) != nil)
        #expect(F.error("contains|gt", [.int(1)]) != nil)
        #expect(F.error("gt|contains", [.int(1)]) != nil)
        #expect(F.error("gt|cased", [.int(1)]) != nil)
    }

    // MARK: exists

    @Test("exists exposes the presence check; on a present value matches returns the flag")
    func exists() throws {
        let yes = try F.compile("exists", [.bool(true)])
        #expect(yes.existsCheck == true)
        #expect(F.matches(yes, json: "null"))  // a null field is present
        #expect(F.matches(yes, json: "\"\""))
        #expect(F.matches(yes, json: "{}"))
        #expect(yes.matches("anything"))
        let no = try F.compile("exists", [.bool(false)])
        #expect(no.existsCheck == false)
        #expect(!F.matches(no, json: "1"))
        #expect(try F.compile("", "x").existsCheck == nil)
    }

    @Test("exists takes one boolean and no other modifier")
    func existsErrors() {
        #expect(F.error("exists", [.string("true")]) != nil)
        #expect(F.error("exists", [.bool(true), .bool(false)]) != nil)
        #expect(F.error("exists", [.int(1)]) != nil)
        #expect(F.error("exists|all", [.bool(true)]) != nil)
        #expect(F.error("neq|exists", [.bool(true)]) != nil)
        #expect(F.error("contains|exists", [.bool(true)]) != nil)
        #expect(F.error("exists|contains", [.bool(true)]) != nil)
        #expect(F.error("exists|cased", [.bool(true)]) != nil)
    }

    // MARK: neq

    @Test("neq: true when no value matches")
    func notEqual() throws {
        let m = try F.compile("neq", "get", "list")
        #expect(m.isNegated)
        #expect(F.matches(m, string: "create"))
        #expect(!F.matches(m, string: "GET"))
        #expect(!F.matches(m, string: "list"))
        #expect(m.exactLowercasedStrings == nil)
        let n = try F.compile("neq", [.int(200)])
        #expect(F.matches(n, json: "403"))
        #expect(!F.matches(n, json: "200"))
        let c = try F.compile("contains|neq", "system:")
        #expect(F.matches(c, string: "alice"))
        #expect(!F.matches(c, string: "system:admin"))
        #expect(try F.compile("", "x").isNegated == false)
        #expect(F.matches(m, json: "null"))  // null is not "get" or "list"
    }
}
