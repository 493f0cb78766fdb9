// reader-throughput: how fast kaudit frames and parses audit logs.
//
//   reader-throughput FILE [--reps N]
//
// Loads FILE into memory (as the simdjson baseline does, so the two are compared on the
// same work), then measures, each as the median of N runs:
//   framing      NDJSON line framing alone (memchr), 1 core and 2 cores
//   parse        framing + decoding every event + extracting every envelope field,
//                1 core and 2 cores (the input split at a newline, one reader per core)
//   stream       the same parse through the file reader (read(2) into 1 MiB buffers)
// plus heap allocations per event in the parse loop (when run under the malloc counter
// that Benchmarks/run.sh preloads) and peak RSS. Output: one JSON object per line.
import AuditInputs
import AuditJSON
import AuditModel
import BenchSupport
import Glibc

// MARK: Setup

let args = CommandLine.arguments
guard args.count >= 2 else {
    fputs("usage: reader-throughput FILE [--reps N]\n", stderr)
    exit(2)
}
let path = args[1]
var reps = 5
if let i = args.firstIndex(of: "--reps"), i + 1 < args.count, let n = Int(args[i + 1]) { reps = n }
/// `--only parse` runs just the one-core parse (for profiling).
let only = args.firstIndex(of: "--only").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }





/// Splits at newlines into `parts` pieces.
func split(_ data: UnsafeRawBufferPointer, _ parts: Int) -> [UnsafeRawBufferPointer] {
    var cuts = [0]
    for k in 1..<parts {
        var p = data.count * k / parts
        while p < data.count && data[p] != 0x0A { p += 1 }
        cuts.append(min(p + 1, data.count))
    }
    cuts.append(data.count)
    return (0..<parts).map { UnsafeRawBufferPointer(rebasing: data[cuts[$0]..<cuts[$0 + 1]]) }
}

/// Runs `work` on each part in its own thread and waits for all.
func parallel(_ parts: [UnsafeRawBufferPointer], _ work: @escaping @Sendable (UnsafeRawBufferPointer) -> UInt64) -> UInt64 {
    final class Box: @unchecked Sendable {
        var results: [UInt64]
        init(_ n: Int) { results = [UInt64](repeating: 0, count: n) }
    }
    let box = Box(parts.count)
    var threads: [pthread_t] = []
    for (i, part) in parts.enumerated() {
        final class Job {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        let job = Job { box.results[i] = work(part) }
        var t = pthread_t()
        let ctx = Unmanaged.passRetained(job).toOpaque()
        pthread_create(&t, nil, { p in
            let job = Unmanaged<Job>.fromOpaque(p!).takeRetainedValue()
            job.run()
            return nil
        }, ctx)
        threads.append(t)
    }
    for t in threads { pthread_join(t, nil) }
    return box.results.reduce(0, &+)
}

// MARK: Workloads

/// Framing alone: count lines with the reader's framer.
@Sendable func frame(_ data: UnsafeRawBufferPointer) -> UInt64 {
    let base = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var framer = NDJSONFramer()
    var lines: UInt64 = 0
    var start = 0
    while let nl = framer.nextNewline(base, lineStart: start, end: data.count) {
        lines &+= 1
        start = nl + 1
    }
    return lines
}

/// Touches every envelope field of every event; folds lengths and values into a checksum
/// so nothing can be optimised away.
struct ExtractAll: AuditRecordHandler {
    var events: UInt64 = 0
    var checksum: UInt64 = 0
    var issues: UInt64 = 0

    @inline(__always)
    mutating func fold(_ v: JSONValue?) {
        if let v { checksum &+= UInt64(v.end &- v.start) }
    }

    /// A string field is extracted as its raw byte range (escapes are decoded only when a
    /// caller asks for the text); its first byte is read so the range is really located.
    @inline(__always)
    mutating func foldString(_ v: JSONValue?) {
        if let v, v.kind == .string { checksum &+= UInt64(v.end &- v.start) &+ UInt64(v.base[v.start &+ 1]) }
    }

    mutating func handle(event e: AuditEvent, at location: RecordLocation) {
        events &+= 1
        foldString(e.kind)
        foldString(e.apiVersion)
        checksum &+= UInt64(e.level.map { $0 == .metadata ? 1 : 2 } ?? 0)
        foldString(e.auditID)
        checksum &+= UInt64(e.stage.map { $0 == .responseComplete ? 1 : 2 } ?? 0)
        foldString(e.requestURI)
        foldString(e.verb)
        // Nested fields straight from the index, as a rule engine reads them.
        foldString(e[nested: .userUsername])
        foldString(e[nested: .userUID])
        if let g = e[nested: .userGroups] { for x in g.elements { foldString(x) } }
        fold(e[nested: .userExtra])
        if let u = e.impersonatedUser { foldString(u.username) }
        if let ips = e.sourceIPs { for x in ips.elements { foldString(x) } }
        foldString(e.userAgent)
        foldString(e[nested: .refResource])
        foldString(e[nested: .refSubresource])
        foldString(e[nested: .refNamespace])
        foldString(e[nested: .refName])
        foldString(e[nested: .refAPIGroup])
        foldString(e[nested: .refAPIVersion])
        foldString(e[nested: .refUID])
        checksum &+= UInt64(e[nested: .statusCode]?.int64 ?? 0)
        foldString(e[nested: .statusReason])
        foldString(e[nested: .statusMessage])
        fold(e.requestObject)
        fold(e.responseObject)
        checksum &+= UInt64(bitPattern: e.requestReceivedMicros ?? 0)
        checksum &+= UInt64(bitPattern: e.stageMicros ?? 0)
        foldString(e.authorizationDecision)
        foldString(e.authorizationReason)
    }

    mutating func handle(issue: ReadIssue) { issues &+= 1 }
}

@Sendable func parse(_ data: UnsafeRawBufferPointer) -> (events: UInt64, checksum: UInt64, issues: UInt64) {
    let reader = AuditStreamReader()
    var h = ExtractAll()
    reader.read(bytes: data, name: path, into: &h)
    return (h.events, h.checksum, h.issues)
}

func report(_ name: String, cores: Int, bytes: Int, events: UInt64, times: [Double], extra: String = "") {
    let t = median(times)
    let mbps = Double(bytes) / t / 1e6
    print(
        "{\"bench\":\"\(name)\",\"cores\":\(cores),\"bytes\":\(bytes),\"events\":\(events),"
            + "\"median_seconds\":\(t),\"MBps\":\(Int(mbps)),\"events_per_s\":\(Int(Double(events) / t)),"
            + "\"runs\":\(times.count)\(extra)}")
    fflush(stdout)
}

// MARK: Run

let data = loadFile(path)
let halves = split(data, 2)

if only == "parse" {
    for _ in 0..<reps { _ = parse(data) }
    exit(0)
}

do {
    var times: [Double] = []
    var lines: UInt64 = 0
    for _ in 0..<reps {
        let t0 = now()
        lines = frame(data)
        times.append(now() - t0)
    }
    report("framing", cores: 1, bytes: data.count, events: lines, times: times)
    times = []
    for _ in 0..<reps {
        let t0 = now()
        lines = parallel(halves, frame)
        times.append(now() - t0)
    }
    report("framing", cores: 2, bytes: data.count, events: lines, times: times)
}

do {
    var times: [Double] = []
    var result = (events: UInt64(0), checksum: UInt64(0), issues: UInt64(0))
    var allocations: UInt64 = 0
    for r in 0..<reps {
        let m0 = mallocCalls() ?? 0
        let t0 = now()
        result = parse(data)
        times.append(now() - t0)
        if r == 0 { allocations = (mallocCalls() ?? 0) &- m0 }
    }
    let perEvent = mallocCalls() == nil ? "null" : String(Double(allocations) / Double(max(result.events, 1)))
    report(
        "parse_extract_all", cores: 1, bytes: data.count, events: result.events, times: times,
        extra: ",\"checksum\":\(result.checksum),\"issues\":\(result.issues),\"allocations\":\(mallocCalls() == nil ? "null" : String(allocations)),\"allocations_per_event\":\(perEvent)")
    times = []
    var events: UInt64 = 0
    for _ in 0..<reps {
        let t0 = now()
        events = parallel(halves) { parse($0).events }
        times.append(now() - t0)
    }
    report("parse_extract_all", cores: 2, bytes: data.count, events: events, times: times)
}

do {
    // Through the file reader: read(2) into the reader's own 1 MiB-read buffer.
    var times: [Double] = []
    var events: UInt64 = 0
    let reader = AuditStreamReader()
    for _ in 0..<max(1, reps / 2) {
        var source = try! FileDescriptorSource(path: path)
        var h = ExtractAll()
        let t0 = now()
        try! reader.read(from: &source, name: path, into: &h)
        times.append(now() - t0)
        source.close()
        events = h.events
    }
    report("stream_parse_extract_all", cores: 1, bytes: data.count, events: events, times: times)
}

var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
print("{\"bench\":\"peak_rss\",\"max_rss_kib\":\(usage.ru_maxrss),\"note\":\"includes the whole input loaded in memory\"}")
