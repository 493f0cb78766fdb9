import AuditJSON
@testable import DetectionEngine
import Foundation
import Testing

// The cidr modifier: IPv4 and IPv6 ranges, IPv4-mapped addresses, invalid ranges and
// values; the address parser cross-checked with the C library's inet_pton.

private typealias F = MatcherFixture

@Suite("ValueMatcher: cidr")
struct MatcherCIDRTests {
    @Test(
        "IPv4 ranges",
        arguments: [
            ("10.0.0.0/8", "10.1.2.3", true), ("10.0.0.0/8", "10.255.255.255", true), ("10.0.0.0/8", "11.0.0.0", false),
            ("10.0.0.0/8", "9.255.255.255", false), ("192.168.1.0/24", "192.168.1.77", true),
            ("192.168.1.0/24", "192.168.2.1", false), ("172.16.0.0/12", "172.31.255.1", true),
            ("172.16.0.0/12", "172.32.0.1", false), ("0.0.0.0/0", "8.8.8.8", true), ("0.0.0.0/0", "::1", false),
            ("1.2.3.4/32", "1.2.3.4", true), ("1.2.3.4/32", "1.2.3.5", false), ("1.2.3.4", "1.2.3.4", true),
            ("1.2.3.4", "1.2.3.40", false), ("10.1.2.3/8", "10.200.0.1", true),  // host bits ignored
            ("10.0.0.0/8", "::ffff:10.1.2.3", true), ("10.0.0.0/8", "::FFFF:a01:203", true),  // IPv4-mapped
            ("10.0.0.0/8", "0:0:0:0:0:ffff:10.9.9.9", true), ("10.0.0.0/8", "::ffff:11.1.2.3", false),
            ("10.0.0.0/8", "::10.1.2.3", false),  // IPv4-compatible (deprecated) is IPv6, not IPv4
            ("127.0.0.0/8", "127.0.0.1", true),
        ])
    func ipv4(_ range: String, _ address: String, _ expected: Bool) throws {
        let m = try F.compile("cidr", range)
        #expect(F.matches(m, string: address) == expected, "\(address) in \(range)")
    }

    @Test(
        "IPv6 ranges",
        arguments: [
            ("fd00::/8", "fd12:3456:789a::1", true), ("fd00::/8", "fe80::1", false), ("fc00::/7", "fdff::", true),
            ("::1/128", "::1", true), ("::1/128", "0:0:0:0:0:0:0:1", true), ("::1/128", "::2", false),
            ("::1", "::1", true), ("fe80::/10", "FE80::abcd:1", true), ("fe80::/10", "febf::1", true),
            ("fe80::/10", "fec0::1", false), ("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:db8::/32", "2001:db9::", false), ("::/0", "2001:db8::1", true),
            ("::/0", "10.1.2.3", false),  // IPv6 ranges hold IPv6 addresses only
            ("::/0", "::ffff:10.1.2.3", false),  // ... and a mapped address is IPv4
            ("::ffff:0:0/96", "10.1.2.3", true),  // a range in the mapped space is the IPv4 range
            ("::ffff:10.0.0.0/104", "10.1.2.3", true), ("::ffff:10.0.0.0/104", "11.1.2.3", false),
            ("64:ff9b::/96", "64:ff9b::10.0.0.1", true), ("64:ff9b::/96", "64:ff9c::10.0.0.1", false),
            ("2001:db8::/127", "2001:db8::1", true), ("2001:db8::/127", "2001:db8::2", false),
            ("1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8", true), ("1:2:3:4:5:6:7::/112", "1:2:3:4:5:6:7:ffff", true),
        ])
    func ipv6(_ range: String, _ address: String, _ expected: Bool) throws {
        let m = try F.compile("cidr", range)
        #expect(F.matches(m, string: address) == expected, "\(address) in \(range)")
    }

    @Test("values that are not a JSON string holding an address never match")
    func nonAddresses() throws {
        let m = try F.compile("cidr", "0.0.0.0/0", "::/0")
        for text in [
            "", "hello", "010.0.0.1", "10.0.0.1 ", " 10.0.0.1", "10.0.0", "10.0.0.1.5", "256.0.0.1", "10.0.0.1/8",
            "fe80::1%eth0", "[::1]", "[::1]:443", "10.0.0.1:443", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::",
            "g::1", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::ffff:1.2.3", "1.2.3.4::",
        ] {
            #expect(!F.matches(m, string: text), "'\(text)'")
        }
        #expect(!F.matches(m, json: "10"))
        #expect(!F.matches(m, json: "null"))
        #expect(!F.matches(m, json: #"["10.0.0.1"]"#))  // arrays are the engine's, element by element
        #expect(F.matches(m, json: #""10.0.0.1""#))
        #expect(F.matches(m, json: #""\u0031\u0030.0.0.1""#))  // escaped strings are decoded
    }

    @Test("a list of ranges is an OR: the private-network list")
    func privateRanges() throws {
        let m = try F.compile("cidr", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
        for address in ["10.244.1.5", "172.20.0.1", "192.168.49.2", "fd00::1", "::ffff:192.168.0.1"] {
            #expect(F.matches(m, string: address), "\(address)")
        }
        for address in ["8.8.8.8", "2001:4860:4860::8888", "172.15.0.1"] {
            #expect(!F.matches(m, string: address), "\(address)")
        }
    }

    @Test(
        "invalid ranges are errors naming the range",
        arguments: [
            "10.0.0.0/33", "300.1.1.1/8", "fd00::/129", "abc", "", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08",
            "1:2:3:4:5:6:7:8:9/64", ":::/0", "10.0.0/8", "10.0.0.0/8/8", "fe80::1%eth0/64", " 10.0.0.0/8",
            "10.0.0.0/1000",
        ])
    func invalidRanges(_ range: String) {
        let e = F.error("cidr", [.string(range)])
        #expect(e?.message.contains("'\(range)'") == true, "\(String(describing: e))")
    }

    @Test("cidr takes strings only, and no string modifiers")
    func cidrErrors() {
        #expect(F.error("cidr", [.int(10)]) != nil)
        #expect(F.error("cidr", [.null]) != nil)
        #expect(F.error("contains|cidr", [.string("10.0.0.0/8")]) != nil)
        #expect(F.error("cidr|cased", [.string("10.0.0.0/8")]) != nil)
        #expect(F.error("cidr|all", [.string("10.0.0.0/8"), .string("10.1.0.0/16")]) == nil)
    }

    @Test("the address parser agrees with inet_pton")
    func parserAgreesWithInetPton() {
        var samples = [
            "0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..3.4", "256.1.1.1",
            "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8", "1:2::7:8",
            "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1::1.2.3.4",
            "fe80::1%1", ":::", "1:::2", "1::2::3", ":1::", "1:", "12345::", "abcd:ef01:2345:6789:ABCD:EF01:2345:6789",
            "0000:0000:0000:0000:0000:0000:0000:0001", "00000::", "::ffff:01.2.3.4", "1:2:3:4:5:6:7:8:9", "",
            "::ffff:1.2.3.4.5", "1.2.3.4::", "::1.2.3", "g::", "1 ::",
        ]
        var rng = SystemRandomNumberGenerator()
        let pieces = ["1", "ff", "abcd", "0", ":", "::", ".", "12", "255", "1.2.3.4", "10000", "ffff"]
        for _ in 0..<3000 {
            let count = Int.random(in: 1...9, using: &rng)
            samples.append((0..<count).map { _ in pieces.randomElement(using: &rng)! }.joined())
        }
        for text in samples {
            let ours: IPAddress? = Array(text.utf8).withUnsafeBufferPointer { IPAddress.parse($0) }
            var v4 = in_addr()
            var v6 = in6_addr()
            let expected: IPAddress?
            if inet_pton(AF_INET, text, &v4) == 1 {
                expected = .v4(UInt32(bigEndian: v4.s_addr))
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                let bytes = withUnsafeBytes(of: v6) { Array($0) }
                let value = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
                expected = value >> 32 == 0xFFFF ? .v4(UInt32(truncatingIfNeeded: value)) : .v6(value)
            } else {
                expected = nil
            }
            #expect(ours == expected, "'\(text)'")
        }
    }
}
