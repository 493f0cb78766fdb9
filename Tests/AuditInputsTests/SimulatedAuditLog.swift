import AuditInputs
import AuditTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stand-in for the apiserver's log backend: appends one audit event per line to
/// `audit.log` and rotates it the way lumberjack does (rename to `audit-<UTC ms>.log` before
/// the write that would pass `maxBytes`, then a fresh file), optionally gzipping backups
/// later (the background "mill"), or the way logrotate's copytruncate does. Every event it
/// finished writing is in `ledger`, in order: what a follower must end up with.
final class SimulatedAuditLog {
    enum Mode {
        /// Lumberjack: rename rotation; with `compress`, backups are gzipped some steps later.
        case rename(compress: Bool)
        /// Copy the file aside and truncate it in place; the writer keeps its descriptor.
        case copytruncate
    }

    let directory: String
    let path: String
    let mode: Mode
    let maxBytes: Int
    private(set) var ledger: [String] = []
    private(set) var rotations = 0
    private var fd: Int32
    private var size = 0
    private var next = 0
    /// The second half of a line written in two pieces (a reader may see the first alone).
    private var pendingTail: [UInt8]?
    private var pendingID: String?
    private var toCompress: [String] = []
    private var lastStampMillis: Int64 = 0
    var rng: SplitMix64
    /// Whether the last line of a write may be left half-written.
    let splitLines: Bool
    let idPrefix: String

    init(directory: String, mode: Mode, maxBytes: Int, seed: UInt64, splitLines: Bool = true, idPrefix: String = "e") {
        self.directory = directory
        self.splitLines = splitLines
        self.idPrefix = idPrefix
        path = directory + "/audit.log"
        self.mode = mode
        self.maxBytes = maxBytes
        rng = SplitMix64(seed: seed)
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
    }

    deinit { close(fd) }

    /// One event line, about 480 bytes, with its number as audit ID.
    func line(_ id: String) -> [UInt8] {
        Array((#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"\#(id)","stage":"ResponseComplete","#
            + #""requestURI":"/api/v1/namespaces/default/pods/web-0","verb":"get","user":{"username":"system:serviceaccount:ci:deployer"},"#
            + #""sourceIPs":["10.0.3.17"],"objectRef":{"resource":"pods","namespace":"default","name":"web-0","apiVersion":"v1"},"#
            + #""responseStatus":{"metadata":{},"code":200},"stageTimestamp":"2024-05-01T12:34:56.234567Z"}"# + "\n").utf8)
    }

    /// Writes up to `count` events (rotating when one would not fit). The last may be left
    /// half-written, finished by the next call.
    func write(_ count: Int) {
        finishPendingLine()
        for i in 0..<count {
            let id = idPrefix + String(next)
            next += 1
            let bytes = line(id)
            if size + bytes.count > maxBytes { rotate() }
            if splitLines && i == count - 1 && rng.next() % 3 == 0 {
                let cut = 1 + Int(rng.next() % UInt64(bytes.count - 1))
                append(Array(bytes[..<cut]))
                pendingTail = Array(bytes[cut...])
                pendingID = id
            } else {
                append(bytes)
                ledger.append(id)
            }
        }
    }

    func finishPendingLine() {
        guard let tail = pendingTail, let id = pendingID else { return }
        append(tail)
        ledger.append(id)
        pendingTail = nil
        pendingID = nil
    }

    private func append(_ bytes: [UInt8]) {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count, "short write to the simulated log")
        size += bytes.count
    }

    /// The UTC time in backup names: now, kept strictly increasing so names never collide.
    private func stamp() -> String {
        let now = RotatedFiles.nowMillis()
        lastStampMillis = max(now, lastStampMillis + 1)
        return RotatedFiles.timestamp(millis: lastStampMillis)
    }

    func rotate() {
        rotations += 1
        switch mode {
        case .rename(let compress):
            close(fd)
            let backup = directory + "/" + LumberjackName.backupName(of: "audit.log", timestamp: stamp())
            precondition(rename(path, backup) == 0)
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0o600)
            if compress { toCompress.append(backup) }
        case .copytruncate:
            let copy = directory + "/audit.log.\(rotations)"
            _ = try? FileManager.default.copyItem(atPath: path, toPath: copy)
            precondition(ftruncate(fd, 0) == 0)
        }
        size = 0
    }

    /// Gzips the backups waiting for the mill (gzip writes `.gz`, then removes the original,
    /// as lumberjack does); `keep` newest ones wait longer.
    func compressBackups(keep: Int = 0) {
        guard toCompress.count > keep else { return }
        let batch = toCompress.prefix(toCompress.count - keep)
        toCompress.removeFirst(batch.count)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        p.arguments = ["-n", "-1"] + batch
        try? p.run()
        p.waitUntilExit()
    }

    /// Rotates and truncates at once when it is time, for copytruncate that races the reader:
    /// the file is truncated and then written again.
    func truncateNow() { rotate() }

    static var canCompress: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") }
}
