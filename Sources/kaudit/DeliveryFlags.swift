import AlertDelivery
import AnalyzerKit
import ArgumentParser
import DetectionEngine
import Glibc

/// `--alert-url` and the options of HTTP delivery, shared by `scan` and `follow`.
struct DeliveryFlags: ParsableArguments {
    enum BodyFormat: String, ExpressibleByArgument, CaseIterable { case json, falco }

    @Option(name: .customLong("alert-url"), help: ArgumentHelp("""
        POST alerts to this http:// or https:// URL, in batches (a JSON array), from a \
        bounded queue on a thread of its own: a slow or dead receiver never holds up \
        detection. Failed POSTs (no connection, timeout, 408, 429, 5xx) are retried with \
        backoff; other 4xx answers give the batch up. Repeat for several receivers.
        """, valueName: "url"))
    var alertURLs: [String] = []

    @Option(name: .long, help: ArgumentHelp("Delivered alert format: json (kaudit's alert objects) or falco. Default: falco with --format falco, else json.", valueName: "format"))
    var alertFormat: BodyFormat?

    @Option(name: .long, help: ArgumentHelp("Alerts per POST. With 1, each POST carries the alert object itself, as falcosidekick expects.", valueName: "n"))
    var alertBatch: Int = 100

    @Option(name: .long, help: ArgumentHelp("Alerts waiting per URL; when full, new alerts are dropped and counted.", valueName: "n"))
    var alertQueue: Int = 10_000

    @Option(name: .long, help: ArgumentHelp("File holding a bearer token, sent as 'Authorization: Bearer TOKEN'.", valueName: "file"))
    var alertTokenFile: String?

    @Option(name: .long, help: ArgumentHelp("PEM file of CA certificates that https:// receivers are checked against (instead of the system's).", valueName: "file"))
    var alertCA: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a POST may take, connection included, before it counts as failed.", valueName: "seconds"))
    var alertTimeout: Double = 10

    @Option(name: .long, help: ArgumentHelp("At the end (or on SIGINT/SIGTERM for follow), wait at most this long for queued alerts to be delivered; what is left is counted as unsent.", valueName: "seconds"))
    var alertFlushTimeout: Double = 10

    func validate() throws {
        guard (1...10_000).contains(alertBatch) else { throw ValidationError("--alert-batch must be between 1 and 10000") }
        guard (1...10_000_000).contains(alertQueue) else { throw ValidationError("--alert-queue must be between 1 and 10000000") }
        guard alertTimeout > 0, alertTimeout <= 600 else { throw ValidationError("--alert-timeout must be between 0 and 600 seconds") }
        guard alertFlushTimeout >= 0, alertFlushTimeout <= 3600 else { throw ValidationError("--alert-flush-timeout must be between 0 and 3600 seconds") }
        for url in alertURLs {
            do { _ = try DeliveryTarget(url) } catch { throw ValidationError("--alert-url \(error)") }
        }
        if alertURLs.isEmpty {
            let given = [("--alert-token-file", alertTokenFile != nil), ("--alert-ca", alertCA != nil), ("--alert-format", alertFormat != nil)]
            if let (flag, _) = given.first(where: { $0.1 }) { throw ValidationError("\(flag) needs --alert-url") }
        }
    }

    /// Starts one delivery thread per URL (none without `--alert-url`).
    func start(defaultFormat: BodyFormat) throws -> AlertDeliveries {
        guard !alertURLs.isEmpty else { return AlertDeliveries(format: defaultFormat, targets: [], loop: nil, flushTimeout: 0) }
        var options = DeliveryOptions()
        options.batchSize = alertBatch
        options.singleDocumentBodies = alertBatch == 1
        options.queueCapacity = alertQueue
        options.requestTimeout = alertTimeout
        options.connectTimeout = min(5, alertTimeout)
        options.caFile = alertCA
        if let alertTokenFile { options.bearerToken = try Self.readToken(alertTokenFile) }
        let loop = DeliveryLoop()
        var targets: [HTTPDelivery] = []
        do {
            for url in alertURLs {
                targets.append(
                    try HTTPDelivery(target: try DeliveryTarget(url), options: options, loop: loop) {
                        Output.stderr("kaudit: \($0)\n")
                    })
            }
        } catch {
            for t in targets { t.stop(within: 0) }
            for t in targets { t.waitUntilStopped() }
            loop.shutdown()
            throw ValidationError(String(describing: error))
        }
        return AlertDeliveries(format: alertFormat ?? defaultFormat, targets: targets, loop: loop, flushTimeout: alertFlushTimeout)
    }

    /// The token: the file's content without surrounding white space; one line, no control
    /// characters (it goes into a header).
    static func readToken(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot read --alert-token-file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &bytes, bytes.count)
        guard n >= 0 else { throw ValidationError("cannot read --alert-token-file \(path): \(String(cString: strerror(errno)))") }
        bytes.removeSubrange(n...)
        var token = Substring(String(decoding: bytes, as: UTF8.self))
        while let c = token.first, c.isWhitespace { token = token.dropFirst() }
        while let c = token.last, c.isWhitespace { token = token.dropLast() }
        guard !token.isEmpty else { throw ValidationError("--alert-token-file \(path) is empty") }
        guard token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ValidationError("--alert-token-file \(path): the token must be printable ASCII without spaces")
        }
        return String(token)
    }
}

/// The running deliveries: each alert is formatted once and queued for every URL.
final class AlertDeliveries {
    let format: DeliveryFlags.BodyFormat
    let targets: [HTTPDelivery]
    private let loop: DeliveryLoop?
    private let flushTimeout: Double
    private var final: [DeliveryCounters]?

    init(format: DeliveryFlags.BodyFormat, targets: [HTTPDelivery], loop: DeliveryLoop?, flushTimeout: Double) {
        self.format = format
        self.targets = targets
        self.loop = loop
        self.flushTimeout = flushTimeout
    }

    /// Queues `alert` for every URL; `printed` is the line stdout got, reused when it is in
    /// the delivered form.
    func enqueue(_ alert: Alert, printed: (format: DeliveryFlags.BodyFormat, line: String)?) {
        guard !targets.isEmpty else { return }
        let text = printed.flatMap { $0.format == format ? $0.line : nil }
            ?? (format == .falco ? AlertFormat.falco(alert) : AlertFormat.json(alert))
        let document = Array(text.utf8)
        for t in targets { t.enqueue(document) }
    }

    /// Flushes every URL within one shared flush timeout (the waits overlap).
    func finish() {
        guard final == nil else { return }
        for t in targets { t.stop(within: flushTimeout) }
        final = targets.map { $0.waitUntilStopped() }
        loop?.shutdown()
    }

    var rows: [OutputsReport.Delivery] {
        targets.enumerated().map { i, t in
            let c = final?[i] ?? t.counters
            return OutputsReport.Delivery(
                target: t.target.description, sent: c.sent, batches: c.batches, retried: c.retried, dropped: c.dropped,
                failed: c.failed, unsent: c.unsent)
        }
    }
}
