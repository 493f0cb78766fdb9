import AnalyzerKit
import ArgumentParser
import AuditSpool
import DetectionEngine
import Glibc
import NIOCore
import NIOSSL
import WebhookSink

/// `kaudit serve`: the kube-apiserver's audit webhook backend.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive audit events from kube-apiserver's webhook backend, store them durably, and run the rules.",
        discussion: """
            Listens for the apiserver's POSTs (an EventList per batch, or a single Event) on \
            --path over HTTPS (HTTP/1.1). A batch is appended to the spool in --state-dir and \
            synced to disk before the 200 goes out; detection reads the spool on a thread of \
            its own and prints alerts on stdout as `scan` does, so a slow rule never slows \
            the apiserver. The spool's segments (STATE/spool/*.zst) are zstd NDJSON that \
            `kaudit scan STATE/spool` replays.

            Who may send: client certificates signed by --client-ca (optionally only the \
            subjects given with --allowed-subject) and/or the bearer token in --token-file \
            (re-read when it changes); with both, both are required. A refused request is \
            answered before its body is read. Plain HTTP only with --insecure-listen on a \
            loopback address.

            Answers: 200 once stored (items that are not audit events are quarantined in \
            STATE/quarantine with their raw bytes, never refused); 401/403 for missing or \
            wrong credentials; 413 above --max-body-bytes; 415 for any Content-Encoding; \
            503 with Retry-After when the spool is at --spool-max-bytes or its queue is \
            full. A batch sent again (a retry) is stored and judged once. GET /healthz, \
            /readyz, and /metrics (Prometheus text, authenticated like the webhook path).

            SIGINT or SIGTERM: stop accepting, answer the requests in flight, sync the \
            spool, let detection read to the end, print the summary on stderr, exit 0. A \
            restart resumes detection where it stopped (STATE/detection.checkpoint).

            --print-webhook-config prints the kubeconfig and kube-apiserver flags that \
            point an apiserver at this sink, and exits.
            """)

    @Option(name: .long, help: ArgumentHelp("Directory for the spool, quarantine and detection checkpoint (created if missing).", valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("Address to serve HTTPS on.", valueName: "host:port"))
    var listen: String?

    @Option(name: .long, help: ArgumentHelp("Serve plain HTTP instead, on a loopback address only (development, tests).", valueName: "host:port"))
    var insecureListen: String?

    @Option(name: .long, help: ArgumentHelp("The server certificate chain (PEM).", valueName: "file"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The server certificate's private key (PEM).", valueName: "file"))
    var tlsKey: String?

    @Option(name: .long, help: ArgumentHelp("Require client certificates signed by this CA (PEM).", valueName: "file"))
    var clientCA: String?

    @Option(name: .long, help: ArgumentHelp("Allow only client certificates with this subject common name (repeatable).", valueName: "cn"))
    var allowedSubject: [String] = []

    @Option(name: .long, help: ArgumentHelp("Require `Authorization: Bearer` with the token in this file (re-read when it changes).", valueName: "file"))
    var tokenFile: String?

    @Option(name: .long, help: ArgumentHelp("Path the apiserver posts to.", valueName: "path"))
    var path = "/audit"

    @Option(name: .long, help: ArgumentHelp("Largest request body; larger ones get 413 (default 64 MiB: 400 events of 100 KiB, the truncating backend's largest batch, with room to spare).", valueName: "bytes"))
    var maxBodyBytes: ByteCount = ByteCount(64 << 20)

    @Option(name: .long, help: ArgumentHelp("Request bodies held in memory at once, all connections together; more get 503.", valueName: "bytes"))
    var maxInFlightBytes: ByteCount = ByteCount(512 << 20)

    @Option(name: .long, help: ArgumentHelp("Open connections allowed; more are closed at once.", valueName: "n"))
    var maxConnections = 1024

    @Option(name: .long, help: ArgumentHelp("Requests being received, stored or answered at once; more get 503 with Retry-After before their body is read (load shedding: the apiserver retries them).", valueName: "n"))
    var maxActiveRequests = 32

    @Option(name: .long, help: ArgumentHelp("Seconds from a request's first byte (or the connection) to its complete headers.", valueName: "seconds"))
    var headerTimeout = 10

    @Option(name: .long, help: ArgumentHelp("Seconds a kept-alive connection may wait for its next request.", valueName: "seconds"))
    var idleTimeout = 120

    @Option(name: .long, help: ArgumentHelp("Slowest body accepted, in bytes per second over 5 s windows.", valueName: "bytes"))
    var minBodyRate: ByteCount = ByteCount(16 << 10)

    @Option(name: .long, help: ArgumentHelp("Retry-After seconds on a 503.", valueName: "seconds"))
    var retryAfter = 1

    @Option(name: .long, help: ArgumentHelp("Disk cap of the spool and quarantine; at the cap, segments detection has read are pruned oldest first, else 503.", valueName: "bytes"))
    var spoolMaxBytes: ByteCount = ByteCount(8 << 30)

    @Option(name: .long, help: ArgumentHelp("Size at which a spool segment is closed and a new one started.", valueName: "bytes"))
    var segmentBytes: ByteCount = ByteCount(64 << 20)

    @Option(name: .long, help: ArgumentHelp("Batches waiting to be written, in bytes; more get 503 at once.", valueName: "bytes"))
    var maxQueuedBytes: ByteCount = ByteCount(256 << 20)

    @Option(name: .long, help: ArgumentHelp("Slots of the retry table: it remembers the last N/2 to N events (8 bytes x 2 per slot).", valueName: "n"))
    var dedupSlots = 1 << 21

    @Option(name: .long, help: ArgumentHelp("Event-loop threads (default: one per core).", valueName: "n"))
    var threads: Int?

    @Flag(name: .long, help: "Print the webhook kubeconfig and kube-apiserver flags for this sink, then exit.")
    var printWebhookConfig = false

    @Option(name: .long, help: ArgumentHelp("With --print-webhook-config: the URL the apiserver reaches this sink at.", valueName: "url"))
    var serverURL: String?

    @Option(name: .long, help: ArgumentHelp("With --print-webhook-config: the directory holding ca.crt, client.crt, client.key and token on the apiserver's host.", valueName: "dir"))
    var apiserverFiles = "/etc/kubernetes/kaudit"

    @OptionGroup var detection: DetectionOptions

    func validate() throws {
        if printWebhookConfig { return }
        guard stateDir != nil else { throw ValidationError("--state-dir is required") }
        switch (listen, insecureListen) {
        case (nil, nil): throw ValidationError("give --listen HOST:PORT (HTTPS) or --insecure-listen HOST:PORT (loopback, plain HTTP)")
        case (_?, _?): throw ValidationError("--listen and --insecure-listen exclude each other")
        case (let address?, nil):
            _ = try Self.address(address)
            guard tlsCert != nil, tlsKey != nil else { throw ValidationError("--listen needs --tls-cert and --tls-key") }
            guard clientCA != nil || tokenFile != nil else {
                throw ValidationError("no client authentication: give --client-ca (mTLS) and/or --token-file")
            }
        case (nil, let address?):
            let (host, _) = try Self.address(address)
            guard Self.isLoopback(host) else { throw ValidationError("--insecure-listen takes a loopback address only (127.0.0.1, ::1, localhost)") }
            guard clientCA == nil else { throw ValidationError("--client-ca needs TLS (--listen)") }
        }
        if !allowedSubject.isEmpty && clientCA == nil { throw ValidationError("--allowed-subject needs --client-ca") }
        guard path.hasPrefix("/") else { throw ValidationError("--path must start with /") }
        guard maxBodyBytes.value >= 1 << 20 else { throw ValidationError("--max-body-bytes must be at least 1 MiB") }
        guard maxInFlightBytes.value >= maxBodyBytes.value else { throw ValidationError("--max-in-flight-bytes must be at least --max-body-bytes") }
        guard maxConnections >= 1, maxActiveRequests >= 1, headerTimeout >= 1, idleTimeout >= 1, retryAfter >= 1 else {
            throw ValidationError(
                "--max-connections, --max-active-requests, --header-timeout, --idle-timeout and --retry-after must be at least 1")
        }
        guard segmentBytes.value >= 1 << 20, spoolMaxBytes.value >= 2 * segmentBytes.value else {
            throw ValidationError("--segment-bytes must be at least 1 MiB and --spool-max-bytes at least twice that")
        }
        guard dedupSlots >= 1024 else { throw ValidationError("--dedup-slots must be at least 1024") }
    }

    func run() throws {
        if printWebhookConfig {
            Output.stdout(webhookConfig())
            return
        }
        let stop = StopSignals()  // before any thread starts, so every thread blocks the signals
        let stateDir = stateDir!  // Safe: validate() requires it.
        var spoolOptions = SpoolOptions()
        spoolOptions.maxBytes = Int64(spoolMaxBytes.value)
        spoolOptions.segmentBytes = segmentBytes.value
        spoolOptions.maxQueuedBytes = maxQueuedBytes.value
        spoolOptions.dedupSlots = dedupSlots
        let spool: Spool
        do { spool = try Spool(directory: stateDir, options: spoolOptions) } catch { throw ValidationError("\(error)") }
        let metrics = SinkMetrics()
        // The apiserver's webhook batches events for up to 30 s: correlate that late by default.
        let (detector, pipeline, ruleErrors) = try detection.makeDetector(defaultLateness: 30, also: {
            metrics.alert(rule: $0.rule.id, level: $0.rule.level.rawValue)
        })
        let detectionLoop = try SpoolDetection(
            spool: spool, detector: detector, summary: ScanSummary(), metrics: metrics, afterEvent: pipeline.tick)
        detectionLoop.start()

        var limits = RequestLimits()
        limits.maxBodyBytes = maxBodyBytes.value
        limits.maxInFlightBodyBytes = maxInFlightBytes.value
        limits.maxConnections = maxConnections
        limits.maxActiveRequests = maxActiveRequests
        limits.headerTimeout = .seconds(Int64(headerTimeout))
        limits.idleTimeout = .seconds(Int64(idleTimeout))
        limits.minBodyBytesPerSecond = minBodyRate.value
        limits.retryAfterSeconds = retryAfter
        let token: TokenFile?
        do { token = try tokenFile.map { try TokenFile(path: $0) } } catch { throw ValidationError("\(error)") }
        let policy = AccessPolicy(
            clientCertificates: clientCA != nil, allowedSubjects: allowedSubject.isEmpty ? nil : Set(allowedSubject), token: token)
        let endpoint = SinkEndpoint(path: path, limits: limits, policy: policy, spool: spool, metrics: metrics)
        let server = try WebhookServer(endpoint: endpoint, tls: try tlsConfiguration(), threads: threads ?? System.coreCount)
        let (host, port) = try Self.address(listen ?? insecureListen!)  // Safe: validate() requires one.
        let bound = try server.start(host: host, port: port)
        let scheme = listen != nil ? "https" : "http"
        var auth: [String] = []
        if clientCA != nil { auth.append(allowedSubject.isEmpty ? "client certificates" : "client certificates (\(allowedSubject.count) subjects)") }
        if tokenFile != nil { auth.append("bearer token") }
        Output.stderr("kaudit serve: listening on \(scheme)://\(host):\(bound)\(path) (\(auth.isEmpty ? "no authentication, loopback" : auth.joined(separator: " and "))); state in \(stateDir)\n")
        let started = Clock.now()

        while !stop.wait(1) {}
        Output.stderr("kaudit serve: stopping\n")
        server.shutdown(grace: 30)
        spool.close()
        let handler = detectionLoop.stop()
        pipeline.finish()
        let stats = spool.stats
        var out = "webhook\n"
        out += "  requests          \(metrics.responses(200)) stored, \(metrics.responses(503)) answered 503\n"
        out += "  events stored     \(stats.eventsStored)\n"
        out += "  duplicates        \(stats.duplicates)\n"
        out += "  quarantined       \(stats.quarantined)\n"
        out += "  spool             \(stats.segments) segments, \(stats.diskBytes) bytes on disk\n"
        out += "  detection at      \(detectionLoop.position.segment) byte \(detectionLoop.position.offset)\n"
        let report = DetectionReport(detector: detector, ruleErrors: ruleErrors, alertsByLevel: pipeline.tally.byLevel)
        Output.stderr(
            SummaryReport(handler.summary, top: 10, elapsedSeconds: Clock.now() - started).text() + "\n" + out + report.text()
                + "\n" + pipeline.outputsReport.text())
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard listen != nil, let tlsCert, let tlsKey else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tlsCert).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tlsKey, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            tls.applicationProtocols = ["http/1.1"]  // never h2: no rapid-reset or CONTINUATION floods
            if let clientCA {
                tls.certificateVerification = .noHostnameVerification  // required, and verified against the CA
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
            }
            return tls
        } catch {
            throw ValidationError("cannot load the TLS files: \(error)")
        }
    }

    /// The kubeconfig for `--audit-webhook-config-file`, and the apiserver flags, as comments.
    func webhookConfig() -> String {
        let url = serverURL ?? {
            let (host, port) = (try? Self.address(listen ?? insecureListen ?? ":8443")) ?? ("0.0.0.0", 8443)
            let shown = host == "0.0.0.0" || host == "::" ? "kaudit.example.internal" : host
            return "\(listen == nil && insecureListen != nil ? "http" : "https")://\(shown):\(port)\(path)"
        }()
        let dir = apiserverFiles
        var user = ""
        if clientCA != nil || tokenFile == nil {
            user += "    client-certificate: \(dir)/client.crt\n    client-key: \(dir)/client.key\n"
        }
        if tokenFile != nil { user += "    tokenFile: \(dir)/token\n" }
        return """
            # kube-apiserver flags (batch mode; truncation keeps a batch under 400 x 100 KiB, within --max-body-bytes):
            #   --audit-policy-file=/etc/kubernetes/audit-policy.yaml      (example: SampleLogs/audit-policy.yaml)
            #   --audit-webhook-config-file=\(dir)/webhook.kubeconfig     (this file)
            #   --audit-webhook-mode=batch
            #   --audit-webhook-batch-max-size=400
            #   --audit-webhook-truncate-enabled=true
            #   --audit-webhook-initial-backoff=10s
            # Keep the log backend (--audit-log-path) on as well: it fills any gap the webhook leaves.
            # kaudit serve correlates events up to 30 s late by default (--lateness): the apiserver batches that long.
            apiVersion: v1
            kind: Config
            clusters:
            - name: kaudit
              cluster:
                server: \(url)
                certificate-authority: \(dir)/ca.crt
            users:
            - name: kube-apiserver
              user:
            \(user)contexts:
            - name: kaudit
              context:
                cluster: kaudit
                user: kube-apiserver
            current-context: kaudit

            """
    }

    /// `HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses).
    static func address(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\(text): expected HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// A byte count written as a number with an optional KiB, MiB or GiB suffix (`64MiB`).
struct ByteCount: ExpressibleByArgument, CustomStringConvertible {
    let value: Int
    init(_ value: Int) { self.value = value }

    init?(argument: String) {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let n = Int(argument.dropLast(suffix.count)), n >= 0, n <= Int.max / scale else { return nil }
            value = n * scale
            return
        }
        guard let n = Int(argument), n >= 0 else { return nil }
        value = n
    }

    var description: String {
        for (suffix, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where value >= scale && value % scale == 0 {
            return "\(value / scale)\(suffix)"
        }
        return String(value)
    }

    var defaultValueDescription: String { description }
}
