/// The subject common name of an X.509 certificate, read from its DER bytes.
///
/// NIOSSL keeps its own accessor internal; pulling in swift-certificates for one field would
/// add a second copy of BoringSSL to the build. The walk is short and bounds-checked:
/// Certificate → tbsCertificate → (skip [0] version, serial, signature, issuer, validity)
/// → subject → the last attribute with OID 2.5.4.3, as OpenSSL and client-go read it.
public enum CertificateSubject {
    public static func commonName(der: [UInt8]) -> String? {
        var r = DERReader(der)
        guard var cert = r.enter(tag: 0x30), var tbs = cert.enter(tag: 0x30) else { return nil }
        if tbs.peek == 0xA0 { guard tbs.skip() else { return nil } }  // version
        for _ in 0..<4 { guard tbs.skip() else { return nil } }  // serial, signature, issuer, validity
        guard var subject = tbs.enter(tag: 0x30) else { return nil }
        var found: String?
        while !subject.atEnd {
            guard var set = subject.enter(tag: 0x31) else { return nil }
            while !set.atEnd {
                guard var attribute = set.enter(tag: 0x30), let oid = attribute.value(tag: 0x06) else { return nil }
                guard let tag = attribute.peek, let value = attribute.value(tag: tag) else { return nil }
                if oid == [0x55, 0x04, 0x03] { found = String(decoding: value, as: UTF8.self) }
            }
        }
        return found
    }
}

/// A cursor over DER tag-length-value items.
struct DERReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position = 0
        end = bytes.count
    }

    init(_ bytes: [UInt8], _ start: Int, _ end: Int) {
        self.bytes = bytes
        position = start
        self.end = end
    }

    var atEnd: Bool { position >= end }
    var peek: UInt8? { position < end ? bytes[position] : nil }

    /// Reads a header; returns the content range and moves past the whole item.
    mutating func item() -> (tag: UInt8, start: Int, end: Int)? {
        guard position + 2 <= end else { return nil }
        let tag = bytes[position]
        var length = Int(bytes[position + 1])
        var p = position + 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 4, p + count <= end else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[p])
                p += 1
            }
        }
        guard length <= end - p else { return nil }
        position = p + length
        return (tag, p, p + length)
    }

    mutating func enter(tag: UInt8) -> DERReader? {
        guard let i = item(), i.tag == tag else { return nil }
        return DERReader(bytes, i.start, i.end)
    }

    mutating func value(tag: UInt8) -> ArraySlice<UInt8>? {
        guard let i = item(), i.tag == tag else { return nil }
        return bytes[i.start..<i.end]
    }

    mutating func skip() -> Bool { item() != nil }
}
