// webhook-load: posts 400-event EventList batches to `kaudit serve` over keep-alive
// connections and reports acknowledgement latency, throughput and (with --verify) whether
// every acknowledged event is in the spool.
//
//   webhook-load --port P [--host 127.0.0.1] [--connections 8] [--rate EVENTS_PER_S]
//                [--seconds 30] [--batch 400] [--tls-ca F --client-cert F --client-key F]
//                [--token-file F] [--server-pid PID] [--verify STATE_DIR]
//
// Events come from AuditSynth (realistic verbs, identities and bodies). Each batch sent gets
// fresh auditIDs (the first 12 hex digits are a global sequence number), so no two
// requests are retries of each other. --rate 0 (the default) sends as fast as the server
// answers (each connection posts its next batch when the previous one is acknowledged).
import AuditInputs
import AuditJSON
import AuditModel
import AuditSynth
import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import WebhookClient

struct Options {
    var host = "127.0.0.1"
    var port = 0
    var connections = 8
    var rate = 0
    var seconds = 30.0
    var batch = 400
    var tlsCA: String?
    var clientCert: String?
    var clientKey: String?
    var tokenFile: String?
    var serverPID: Int32?
    var verify: String?
}

func fail(_ message: String) -> Never {
    let line = Array(("webhook-load: " + message + "\n").utf8)
    line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func must<T>(_ value: T?, _ message: String) -> T {
    guard let value else { fail(message) }
    return value
}

/// `value` with `digits` decimals (no Foundation here).
func fmt(_ value: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((value * scale).rounded())
    let whole = String(n / Int(scale))
    var frac = String(abs(n % Int(scale)))
    while frac.count < digits { frac = "0" + frac }
    return digits == 0 ? whole : whole + "." + frac
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
        func value() -> String { must(args.next(), "\(a) needs a value") }
        switch a {
        case "--host": o.host = value()
        case "--port": o.port = must(Int(value()), "--port")
        case "--connections": o.connections = must(Int(value()), "--connections")
        case "--rate": o.rate = must(Int(value()), "--rate")
        case "--seconds": o.seconds = must(Double(value()), "--seconds")
        case "--batch": o.batch = must(Int(value()), "--batch")
        case "--tls-ca": o.tlsCA = value()
        case "--client-cert": o.clientCert = value()
        case "--client-key": o.clientKey = value()
        case "--token-file": o.tokenFile = value()
        case "--server-pid": o.serverPID = must(Int32(value()), "--server-pid")
        case "--verify": o.verify = value()
        default: fail("unknown argument \(a)")
        }
    }
    if o.port == 0 { fail("--port is required") }
    return o
}

/// Templates: pre-generated batch bodies and where each auditID's first 12 characters are.
struct Template {
    var body: [UInt8]
    var idOffsets: [Int]
}

func makeTemplates(count: Int, batch: Int) -> [Template] {
    var log = SyntheticAuditLog(.init(seed: 42))
    let key = Array(#""auditID":""#.utf8)
    return (0..<count).map { _ in
        let lines = log.makeEvents(batch)
        var body = Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8)
        var offsets: [Int] = []
        var first = true
        var start = 0
        for i in 0..<lines.count where lines[i] == 0x0A {
            if !first { body.append(UInt8(ascii: ",")) }
            first = false
            let base = body.count
            body += lines[start..<i]
            // The first auditID of the event (the envelope's comes before any body).
            let line = Array(lines[start..<i])
            if let at = find(key, in: line) { offsets.append(base + at + key.count) }
            start = i + 1
        }
        body += Array("]}".utf8)
        return Template(body: body, idOffsets: offsets)
    }
}

func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
    return nil
}

let hex = Array("0123456789abcdef".utf8)

final class Stats: Sendable {
    struct S {
        var latencies: [UInt32] = []  // microseconds, 200s only
        var status: [Int: Int] = [:]
        var retryAfterMissing = 0
        var ackedEvents = 0
        var acked: Set<UInt64> = []
        var errors = 0
    }
    let s = Mutex(S())
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func rss(_ pid: Int32) -> (rss: Int, hwm: Int)? {
    guard let f = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(f) }
    var rss = 0
    var hwm = 0
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // fgets ends it with a NUL
        let kb = Int(s.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        if s.hasPrefix("VmRSS:") { rss = kb }
        if s.hasPrefix("VmHWM:") { hwm = kb }
    }
    return (rss, hwm)
}

let o = parse()
var tls: TLSConfiguration?
if let ca = o.tlsCA {
    var t = TLSConfiguration.makeClientConfiguration()
    t.trustRoots = .certificates(must(try? NIOSSLCertificate.fromPEMFile(ca), "cannot read \(ca)"))
    if let cert = o.clientCert, let key = o.clientKey {
        t.certificateChain = must(try? NIOSSLCertificate.fromPEMFile(cert), "cannot read \(cert)").map { .certificate($0) }
        t.privateKey = .privateKey(must(try? NIOSSLPrivateKey(file: key, format: .pem), "cannot read \(key)"))
    }
    tls = t
}
var headers = [("Content-Type", "application/json")]
if let tf = o.tokenFile {
    let fd = open(tf, O_RDONLY)
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = fd >= 0 ? read(fd, &buf, 4096) : -1
    if n <= 0 { fail("cannot read \(tf)") }
    headers.append(("Authorization", "Bearer " + String(decoding: buf[0..<n], as: UTF8.self).trimmingWhitespace()))
}
extension String {
    func trimmingWhitespace() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}

let templates = makeTemplates(count: 64, batch: o.batch)
let avgBytes = templates.reduce(0) { $0 + $1.body.count } / templates.count
print("webhook-load: \(templates.count) templates of \(o.batch) events, \(avgBytes) bytes per batch; \(o.connections) connections, rate \(o.rate == 0 ? "max" : String(o.rate)) events/s, \(o.seconds) s")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let stats = Stats()
let sequence = Atomic<UInt64>(1)
let started = now()
let deadline = started + o.seconds
let verify = o.verify != nil
let interval = o.rate > 0 ? Double(o.connections * o.batch) / Double(o.rate) : 0

/// One connection's loop: build a batch with fresh IDs, post, record, repeat.
func runConnection(_ index: Int) async {
    var conn: WebhookConnection?
    var next = now() + interval * Double(index) / Double(max(o.connections, 1))
    var t = index
    while now() < deadline {
        if interval > 0 {
            let wait = next - now()
            if wait > 0 { try? await Task.sleep(for: .microseconds(Int(wait * 1e6))) }
            next += interval
        }
        if conn == nil || !(conn!.isActive) {
            conn = try? await WebhookConnection.connect(host: o.host, port: o.port, tls: tls, serverName: "localhost", group: group).get()
            if conn == nil {
                stats.s.withLock { $0.errors += 1 }
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
        }
        let tpl = templates[t % templates.count]
        t += o.connections
        let seq = sequence.add(1, ordering: .relaxed).newValue
        var buffer = ByteBuffer(bytes: tpl.body)
        var ids: [UInt64] = []
        buffer.withUnsafeMutableReadableBytes { p in
            var digits = [UInt8](repeating: 0, count: 12)
            for i in 0..<12 { digits[i] = hex[Int((seq >> (4 * UInt64(11 - i))) & 15)] }
            for off in tpl.idOffsets where off + 36 <= p.count {
                for i in 0..<12 { p[off + i] = digits[i] }
                if verify {
                    var h = Hasher()
                    h.combine(bytes: UnsafeRawBufferPointer(rebasing: p[off..<off + 36]))
                    ids.append(UInt64(bitPattern: Int64(h.finalize())))
                }
            }
        }
        let t0 = now()
        do {
            let r = try await conn!.request(path: "/audit", headers: headers, body: buffer).get()
            let us = UInt32(min((now() - t0) * 1e6, Double(UInt32.max)))
            stats.s.withLock { s in
                s.status[r.status, default: 0] += 1
                if r.status == 200 {
                    s.latencies.append(us)
                    s.ackedEvents += tpl.idOffsets.count
                    for id in ids { s.acked.insert(id) }
                } else if r.status == 503 {
                    if r.header("Retry-After") == nil { s.retryAfterMissing += 1 }
                }
            }
            if r.header("Connection")?.lowercased() == "close" {
                conn?.close()  // the server ends the connection after this answer (a 503 before the body): open another
                conn = nil
            }
            if r.status == 503, let ra = r.header("Retry-After"), let secs = Double(ra), interval == 0 {
                try? await Task.sleep(for: .milliseconds(Int(secs * 100)))  // back off a little, as a client would
            }
        } catch {
            stats.s.withLock { $0.errors += 1 }
            conn = nil
        }
    }
    conn?.close()
}

/// A counting semaphore on pthread primitives (this tool avoids Foundation and Dispatch waits in async code).
final class DispatchSemaphoreLike: Sendable {
    let remaining = Mutex(0)
    func add() { remaining.withLock { $0 += 1 } }
    func done() { remaining.withLock { $0 -= 1 } }
    var zero: Bool { remaining.withLock { $0 == 0 } }
}
let pending = DispatchSemaphoreLike()
var peakRSS = 0
for i in 0..<o.connections {
    pending.add()
    Task { await runConnection(i); pending.done() }
}
var samples: [Int] = []
while !pending.zero {  // awaits, so the connection tasks (on the main actor with the globals) can run
    try? await Task.sleep(for: .milliseconds(500))
    if let pid = o.serverPID, let r = rss(pid) { samples.append(r.rss) }
}
let elapsed = now() - started
let result = stats.s.withLock { $0 }
let lat = result.latencies.sorted()
func pct(_ lat: [UInt32], _ p: Double) -> Double { lat.isEmpty ? 0 : Double(lat[min(lat.count - 1, Int(Double(lat.count) * p))]) / 1000 }
let statusText = result.status.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
print("requests    \(statusText); connection errors \(result.errors); 503 without Retry-After \(result.retryAfterMissing)")
print("acked       \(result.ackedEvents) events in \(fmt(elapsed)) s = \(Int(Double(result.ackedEvents) / elapsed)) events/s, \(fmt(Double(result.latencies.count * avgBytes) / elapsed / 1e6)) MB/s")
print("ack latency p50 \(fmt(pct(lat, 0.5))) ms, p99 \(fmt(pct(lat, 0.99))) ms, max \(fmt(lat.isEmpty ? 0 : Double(lat.last!) / 1000)) ms")
if let pid = o.serverPID, let r = rss(pid) {
    let sorted = samples.sorted()
    print("server RSS  now \(r.rss / 1024) MiB, peak (VmHWM) \(r.hwm / 1024) MiB, median during run \((sorted.isEmpty ? 0 : sorted[sorted.count / 2]) / 1024) MiB")
}

if let dir = o.verify {
    // Every acknowledged auditID must be in the spool (read as `kaudit scan` reads it).
    struct Collect: AuditRecordHandler {
        var ids: Set<UInt64> = []
        var events = 0
        mutating func handle(event: AuditEvent, at location: RecordLocation) {
            events += 1
            guard let id = event.auditID, id.byteCount >= 38 else { return }
            var h = Hasher()
            h.combine(bytes: UnsafeRawBufferPointer(start: id.base + id.start + 1, count: 36))
            ids.insert(UInt64(bitPattern: Int64(h.finalize())))
        }
        mutating func handle(issue: ReadIssue) {}
    }
    var c = Collect()
    let reader = AuditStreamReader()
    for path in InputPaths.expand([dir + "/spool"]).inputs.map(\.path) {
        guard var opened = try? InputOpener.open(path) else { fail("cannot open \(path)") }
        do { try reader.read(from: &opened.source, name: path, into: &c) } catch { fail("\(path): \(error)") }
        opened.close()
    }
    let lost = result.acked.subtracting(c.ids).count
    print("verify      \(c.events) events in the spool, \(c.ids.count) distinct auditIDs; acknowledged \(result.acked.count), lost \(lost), stored twice \(c.events - c.ids.count)")
    exit(lost == 0 ? 0 : 1)
}
