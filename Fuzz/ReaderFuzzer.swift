// libFuzzer target for AuditStreamReader (see Fuzz/README.md for building and running).
//
// For every input it
//   1. reads the bytes in place with `read(bytes:)`, touching every envelope accessor and
//      the derived views (exec request, pod spec) of every event, and records a digest
//      of everything the handler saw;
//   2. reads the same bytes again through a ByteSource that hands them out in small
//      pieces whose sizes depend on the input (the simdjson fuzz_ndjson idea), and traps
//      when the digest differs: framing, layout detection and the resumable container
//      scan must not depend on where reads happen to split the input;
//   3. reads them once more with the smallest record limit, so the oversized-record
//      paths (discarding, falling back to lines) run too (no comparison: a record that
//      is "too long" legitimately depends on how much was buffered).

import AuditInputs
import AuditJSON
import AuditModel

/// Everything a handler observed, as plain values, so two reads can be compared.
struct Digest: Equatable {
    var lines: [String] = []
    var stats: ReaderStats?

    mutating func add(_ s: String) { lines.append(s) }
}

/// Touches every accessor of every event and writes what it found into a digest.
struct TouchingHandler: AuditRecordHandler {
    var digest = Digest()

    mutating func handle(event: AuditEvent, at location: RecordLocation) {
        var d = "event line=\(location.line) off=\(location.byteOffset) item=\(location.itemIndex ?? -1)"
        d += " bytes=\(event.object.byteCount)"
        d += " dup=\(event.hasDuplicateKeys)"
        for field in EnvelopeField.allCases {
            if let v = event[field] { d += " \(field.key)=\(v.byteCount):\(v.kind)" }
        }
        d += " kind=\(str(event.kind)) api=\(str(event.apiVersion))"
        d += " level=\(event.level?.rawValue ?? "-") stage=\(event.stage?.rawValue ?? "-")"
        d += " id=\(str(event.auditID)) verb=\(str(event.verb)) uri=\(str(event.requestURI))"
        d += " ua=\(str(event.userAgent))"
        if let ips = event.sourceIPs { for ip in ips.elements { d += " ip=\(str(ip))" } }
        d += user(event.user, "user") + user(event.impersonatedUser, "imp")
        if let ref = event.objectRef {
            d += " ref=\(str(ref.resource))/\(str(ref.subresource)) ns=\(str(ref.namespace)) name=\(str(ref.name))"
            d += " group=\(str(ref.apiGroup)) v=\(str(ref.apiVersion)) uid=\(str(ref.uid)) rv=\(str(ref.resourceVersion))"
        }
        if let rs = event.responseStatus {
            d += " code=\(rs.code.map(String.init) ?? "-") status=\(str(rs.status)) reason=\(str(rs.reason))"
            d += " msg=\(str(rs.message)) dbl=\(rs.codeValue?.double.map { String($0) } ?? "-")"
        }
        d += " rr=\(event.requestReceivedMicros.map(String.init) ?? "-")"
        d += " st=\(event.stageMicros.map(String.init) ?? "-")"
        if let t = event.stageMicros { d += " fmt=\(RFC3339.format(microseconds: t))" }
        if let a = event.annotations {
            for m in a.members { d += " ann[\(m.key.string)]=\(str(m.value))" }
        }
        d += " decision=\(str(event.authorizationDecision)) why=\(str(event.authorizationReason))"
        if let exec = event.execRequest {
            d += " exec=\(exec.kind.rawValue) argv=\(exec.command) line=\(exec.commandLine)"
            d += " container=\(exec.container ?? "-") io=\(exec.stdin)\(exec.stdout)\(exec.stderr)\(exec.tty)"
            d += " ports=\(exec.ports)"
        }
        for body in [AuditEvent.Body.request, .response] {
            guard let spec = event.podSpec(in: body) else { continue }
            d += " pod host=\(spec.hostPID)\(spec.hostIPC)\(spec.hostNetwork) sa=\(str(spec.serviceAccountName))"
            d += " psc=\(spec.securityContext?.byteCount ?? -1)"
            for c in spec.allContainers {
                d += " c[\(c.kind)]=\(str(c.name)) img=\(str(c.image)) priv=\(c.privileged)"
                d += " ape=\(c.allowPrivilegeEscalation.map { "\($0)" } ?? "-") uid=\(c.runAsUser.map(String.init) ?? "-")"
                if let caps = c.capabilitiesAdd { for cap in caps.elements { d += " cap=\(str(cap))" } }
                if let mounts = c.volumeMounts {
                    for m in mounts.elements {
                        d += " mount=\(str(m["name"])):\(str(m["mountPath"])):\(m["readOnly"]?.bool.map { "\($0)" } ?? "-")"
                    }
                }
            }
            for v in spec.volumes { d += " vol=\(str(v.name)) hp=\(str(v.hostPath)):\(str(v.hostPathType))" }
        }
        // Walk the whole event generically too (the scanner's member/element iterators).
        d += " walk=\(walk(event.object, depth: 0))"
        digest.add(d)
    }

    mutating func handle(issue: ReadIssue) {
        digest.add("issue \(issue.kind.rawValue) \(issue.description)")
    }

    func str(_ v: JSONValue?) -> String {
        guard let v else { return "-" }
        if let s = v.jsonString {
            // Exercise both decoders: the allocating one and the streaming one.
            var n = 0
            s.withDecodedBytes { n = $0.count }
            return s.string + "#\(n)"
        }
        return "<\(v.kind):\(v.byteCount):\(v.int64.map(String.init) ?? "")>"
    }

    func user(_ u: UserInfoView?, _ label: String) -> String {
        guard let u else { return "" }
        var d = " \(label)=\(str(u.username)) uid=\(str(u.uid))"
        if let g = u.groups { for x in g.elements { d += " g=\(str(x))" } }
        d += " masters=\(u.isMember(of: "system:masters"))"
        d += " pod=\(str(u.extraValues("authentication.kubernetes.io/pod-name")))"
        return d
    }

    /// Counts values reachable from `v`, bounded in depth so a hostile input cannot blow the stack.
    func walk(_ v: JSONValue, depth: Int) -> Int {
        guard depth < 64 else { return 1 }
        var n = 1
        switch v.kind {
        case .object:
            var it = v.members
            while let m = it.next() { n += walk(m.value, depth: depth + 1) }
            if it.failed { n += 1_000_000 }
        case .array:
            var it = v.elements
            while let e = it.next() { n += walk(e, depth: depth + 1) }
            if it.failed { n += 1_000_000 }
        default:
            break
        }
        return n
    }
}

/// Hands out the input in pieces whose sizes come from a small deterministic generator
/// seeded by the input itself (1 to 97 bytes, sometimes a larger run).
struct ChunkingSource: ByteSource {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    var state: UInt64

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        for b in bytes.prefix(16) { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        state = h
    }

    var consumedBytes: Int64 { Int64(position) }

    mutating func next() -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state % 8 == 0 ? 200 + Int((state >> 8) % 300) : 1 + Int((state >> 8) % 97)
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, bytes.count - position, next())
        if n > 0 {
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + position, byteCount: n)
            position += n
        }
        return n
    }
}

// Readers are reused across inputs, as kaudit does across files.
nonisolated(unsafe) let inPlaceReader = AuditStreamReader()
nonisolated(unsafe) let chunkedReader = AuditStreamReader()
nonisolated(unsafe) let tinyReader = AuditStreamReader(limits: ReaderLimits(maxRecordBytes: 64))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // libFuzzer's buffer is exactly `size` bytes long, so ASan sees any over-read.
    let bytes = UnsafeRawBufferPointer(start: data, count: size)

    var first = TouchingHandler()
    inPlaceReader.read(bytes: bytes, name: "fuzz", into: &first)
    first.digest.stats = inPlaceReader.stats

    var second = TouchingHandler()
    var source = ChunkingSource(bytes)
    do {
        try chunkedReader.read(from: &source, name: "fuzz", into: &second)
    } catch {
        fatalError("a memory source cannot fail: \(error)")
    }
    second.digest.stats = chunkedReader.stats

    if first.digest != second.digest {
        let a = first.digest.lines
        let b = second.digest.lines
        var report = "in-place and chunked reads differ (\(a.count) vs \(b.count) records)\n"
        for i in 0..<max(a.count, b.count) where i >= a.count || i >= b.count || a[i] != b[i] {
            report += "first difference at record \(i):\n  in place: \(i < a.count ? a[i] : "<none>")\n"
            report += "  chunked:  \(i < b.count ? b[i] : "<none>")\n"
            break
        }
        report += "stats: \(String(describing: first.digest.stats)) vs \(String(describing: second.digest.stats))\n"
        fatalError(report)
    }

    var third = TouchingHandler()
    var small = ChunkingSource(bytes)
    try? tinyReader.read(from: &small, name: "fuzz", into: &third)
    return 0
}
