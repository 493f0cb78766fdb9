import AuditJSON
// IP addresses and CIDR ranges for the `cidr` modifier, parsed from bytes without allocating.

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) are IPv4.
enum IPAddress: Equatable, Sendable {
    case v4(UInt32)
    case v6(UInt128)

    /// Parses dotted-quad IPv4 (no leading zeros: `010.0.0.1` is refused, as by Go's and
    /// Python's parsers) or IPv6 text (hex groups, one `::`, an optional trailing dotted
    /// quad). Zone suffixes (`%eth0`), brackets, ports and spaces are refused.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return nil }
        var hasColon = false
        for b in bytes where b == UInt8(ascii: ":") {
            hasColon = true
            break
        }
        if !hasColon {
            return parseV4(p, 0, bytes.count).map { .v4($0) }
        }
        guard let a = parseV6(p, 0, bytes.count) else { return nil }
        if a >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: a)) }
        return .v6(a)
    }

    static func parseV4(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var i = start
        while true {
            guard i < end, p[i] &- UInt8(ascii: "0") < 10 else { return nil }
            if p[i] == UInt8(ascii: "0") && i + 1 < end && p[i + 1] &- UInt8(ascii: "0") < 10 { return nil }
            var octet: UInt32 = 0
            var digits = 0
            while i < end, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
                octet = octet * 10 + UInt32(d)
                digits += 1
                guard digits <= 3 else { return nil }
                i += 1
            }
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
            octets += 1
            if octets == 4 { return i == end ? value : nil }
            guard i < end, p[i] == UInt8(ascii: ".") else { return nil }
            i += 1
        }
    }

    static func parseV6(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> UInt128? {
        var head: UInt128 = 0
        var headCount = 0
        var tail: UInt128 = 0
        var tailCount = 0
        var compressed = false
        var i = start
        if end - i >= 2 && p[i] == UInt8(ascii: ":") && p[i + 1] == UInt8(ascii: ":") {
            compressed = true
            i += 2
        } else if i < end && p[i] == UInt8(ascii: ":") {
            return nil
        }
        while i < end {
            var j = i
            var dotted = false
            while j < end && p[j] != UInt8(ascii: ":") {
                if p[j] == UInt8(ascii: ".") { dotted = true }
                j += 1
            }
            if dotted {
                // An embedded IPv4 address: the last 32 bits, as two groups.
                guard j == end, let v4 = parseV4(p, i, end) else { return nil }
                if compressed {
                    tail = tail << 32 | UInt128(v4)
                    tailCount += 2
                } else {
                    head = head << 32 | UInt128(v4)
                    headCount += 2
                }
                guard headCount + tailCount <= 8 else { return nil }
                i = end
                break
            }
            guard j - i >= 1 && j - i <= 4 else { return nil }
            var group: UInt16 = 0
            for k in i..<j {
                guard let d = hexDigitValue(p[k]) else { return nil }
                group = group << 4 | UInt16(d)
            }
            if compressed {
                tail = tail << 16 | UInt128(group)
                tailCount += 1
            } else {
                head = head << 16 | UInt128(group)
                headCount += 1
            }
            guard headCount + tailCount <= 8 else { return nil }
            i = j
            if i == end { break }
            i += 1  // the ':'
            if i < end && p[i] == UInt8(ascii: ":") {
                guard !compressed else { return nil }
                compressed = true
                i += 1
                if i == end { break }
            } else if i == end {
                return nil  // a trailing single ':'
            }
        }
        let total = headCount + tailCount
        if compressed {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let shift = 16 * (8 - headCount)
        return (shift >= 128 ? 0 : head << UInt128(shift)) | tail
    }
}

/// A CIDR range of the `cidr` modifier.
enum CIDRRange: Equatable, Sendable {
    case v4(network: UInt32, mask: UInt32)
    case v6(network: UInt128, mask: UInt128)

    /// Parses `address/prefix` (or a bare address, as a single-address range). Host bits
    /// set in the address are ignored (`10.1.2.3/8` is `10.0.0.0/8`). An IPv4-mapped IPv6
    /// range with a prefix of at least 96 (`::ffff:10.0.0.0/104`) is the IPv4 range it maps.
    init?(_ text: String) {
        var text = text
        let parsed: CIDRRange? = text.withUTF8 { bytes -> CIDRRange? in
            guard let p = bytes.baseAddress else { return nil }
            let n = bytes.count
            var slash = n
            for k in 0..<n where p[k] == UInt8(ascii: "/") {
                slash = k
                break
            }
            var prefix: Int? = nil
            if slash < n {
                let digits = n - slash - 1
                guard digits >= 1 && digits <= 3 else { return nil }
                if digits > 1 && p[slash + 1] == UInt8(ascii: "0") { return nil }
                var v = 0
                for k in (slash + 1)..<n {
                    let d = p[k] &- UInt8(ascii: "0")
                    guard d < 10 else { return nil }
                    v = v * 10 + Int(d)
                }
                prefix = v
            }
            let address = UnsafeBufferPointer(start: p, count: slash)
            var hasColon = false
            for b in address where b == UInt8(ascii: ":") {
                hasColon = true
                break
            }
            if !hasColon {
                guard let a = IPAddress.parseV4(p, 0, slash) else { return nil }
                let len = prefix ?? 32
                guard len <= 32 else { return nil }
                return CIDRRange.v4(address: a, prefix: len)
            }
            guard let a = IPAddress.parseV6(p, 0, slash) else { return nil }
            let len = prefix ?? 128
            guard len <= 128 else { return nil }
            if a >> 32 == 0xFFFF && len >= 96 {
                return CIDRRange.v4(address: UInt32(truncatingIfNeeded: a), prefix: len - 96)
            }
            return CIDRRange.v6(address: a, prefix: len)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    static func v4(address: UInt32, prefix: Int) -> CIDRRange {
        let mask: UInt32 = prefix == 0 ? 0 : ~0 << UInt32(32 - prefix)
        return .v4(network: address & mask, mask: mask)
    }

    static func v6(address: UInt128, prefix: Int) -> CIDRRange {
        let mask: UInt128 = prefix == 0 ? 0 : ~0 << UInt128(128 - prefix)
        return .v6(network: address & mask, mask: mask)
    }

    /// Whether `address` is in the range. IPv4 ranges hold IPv4 addresses (and their
    /// IPv4-mapped IPv6 forms); IPv6 ranges hold IPv6 addresses only, so `::/0` does not
    /// contain `10.1.2.3` (as with Go's `net.IPNet` and Python's `ipaddress`).
    func contains(_ address: IPAddress) -> Bool {
        switch (self, address) {
        case (.v4(let network, let mask), .v4(let a)): return a & mask == network
        case (.v6(let network, let mask), .v6(let a)): return a & mask == network
        default: return false
        }
    }
}
