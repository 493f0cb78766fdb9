import AuditInputs
import AuditModel
import Foundation
import Testing

// Replay inputs: lumberjack names and directory order, globs, partial archives beside their
// logs, incremental reading, a pipe cut mid-line, and a decompression bomb.

@Suite("Replay inputs")
struct ReplayInputTests {
    @Test("lumberjack backup names are recognised; other names are not")
    func backupNames() {
        let b = LumberjackName(backup: "audit-2026-01-02T03-04-05.678.log")
        #expect(b == LumberjackName(backup: "audit-2026-01-02T03-04-05.678.log"))
        #expect(b?.currentName == "audit.log")
        #expect(b?.timestamp == "2026-01-02T03-04-05.678")
        #expect(b?.compressed == false)
        let gz = LumberjackName(backup: "kube-apiserver-audit-2026-01-02T03-04-05.678.log.gz")
        #expect(gz?.currentName == "kube-apiserver-audit.log")
        #expect(gz?.compressed == true)
        for name in ["audit.log", "audit-2026-01-02T03-04-05.log", "audit-2026-01-02T03:04:05.678.log",
            "2026-01-02T03-04-05.678.log", "audit-2026-01-02T03-04-05.678", "audit-x026-01-02T03-04-05.678.log", ""]
        {
            #expect(LumberjackName(backup: name) == nil, "\(name)")
        }
        #expect(LumberjackName.backupName(of: "audit.log", timestamp: "2026-01-02T03-04-05.678")
            == "audit-2026-01-02T03-04-05.678.log")
    }

    @Test("a directory reads backups in time order, then the current file; a partial .gz beside its .log is skipped")
    func lumberjackOrder() {
        let names = [
            "audit.log", "audit-2026-01-02T10-00-00.000.log.gz", "audit-2026-01-01T23-59-59.999.log.gz",
            "audit-2026-01-02T11-00-00.000.log", "audit-2026-01-02T11-00-00.000.log.gz",  // crash during compression
            "other.txt", "b.log", "b-2025-12-31T00-00-00.000.log",
        ]
        let (files, skipped) = LumberjackOrder.order(names)
        #expect(files.map(\.name) == [
            "audit-2026-01-01T23-59-59.999.log.gz", "audit-2026-01-02T10-00-00.000.log.gz",
            "audit-2026-01-02T11-00-00.000.log", "audit.log",
            "b-2025-12-31T00-00-00.000.log", "b.log", "other.txt",
        ])
        #expect(skipped == ["audit-2026-01-02T11-00-00.000.log.gz"])
        #expect(files.filter(\.isCurrentWithBackups).map(\.name) == ["audit.log", "b.log"])
    }

    @Test("directories and globs expand in lumberjack order; a glob matching nothing is an error")
    func expansion() throws {
        let dir = try TemporaryDirectory()
        for name in ["audit.log", "audit-2026-01-02T10-00-00.000.log", "audit-2026-01-01T10-00-00.000.log.gz", ".hidden"] {
            try dir.write(name, [])
        }
        let d = dir.url.path
        let viaDirectory = InputPaths.expand([d])
        #expect(viaDirectory.inputs.map(\.path) == [
            d + "/audit-2026-01-01T10-00-00.000.log.gz", d + "/audit-2026-01-02T10-00-00.000.log", d + "/audit.log",
        ])
        #expect(viaDirectory.inputs.map(\.mayBeEmpty) == [false, false, true])
        let viaGlob = InputPaths.expand([d + "/audit*"])
        #expect(viaGlob.inputs == viaDirectory.inputs)
        #expect(viaGlob.errors.isEmpty)
        let none = InputPaths.expand([d + "/nothing-*.log"])
        #expect(none.inputs.isEmpty)
        #expect(none.errors == [d + "/nothing-*.log: no file matches this pattern"])
        #expect(InputPaths.expand(["-", d + "/missing.log"]).inputs.map(\.path) == ["-", d + "/missing.log"])
    }

    @Test("incremental reading: a partial line waits for its newline; consumedOffset stops before it")
    func incremental() {
        let first = utf8(Events.compact("a") + "\n")
        let second = utf8(Events.compact("b") + "\n")
        let reader = AuditStreamReader()
        var collector = Collector()
        reader.begin(name: "live.log", offset: 1000)
        var source = PiecesSource([first + second.prefix(10)])
        #expect(throws: Never.self) { try reader.feed(from: &source, into: &collector) }
        #expect(collector.entries.count == 1)
        #expect(reader.consumedOffset == 1000 + Int64(first.count))
        #expect(reader.pendingBytes == 10)
        var rest = PiecesSource([Array(second.dropFirst(10))])
        #expect(throws: Never.self) { try reader.feed(from: &rest, into: &collector) }
        #expect(reader.consumedOffset == 1000 + Int64(first.count + second.count))
        reader.end(into: &collector)
        #expect(collector.entries == [
            .event(EventRecord(auditID: "a", apiVersion: "audit.k8s.io/v1", line: 1, byteOffset: 1000)),
            .event(EventRecord(auditID: "b", apiVersion: "audit.k8s.io/v1", line: 2, byteOffset: 1000 + Int64(first.count))),
        ])
    }

    @Test("a stream that ends mid-line: processed as a file, reported as partial_line for a pipe")
    func unterminatedLastLine() throws {
        let bytes = utf8(Events.compact("a") + "\n" + Events.compact("b"))
        let asFile = readStream(bytes)
        #expect(asFile.auditIDs == ["a", "b"])
        let reader = AuditStreamReader()
        var collector = Collector()
        var source = ChunkedSource(bytes, maxChunk: 7)
        try reader.read(from: &source, name: "-", unterminatedLine: .report, into: &collector)
        #expect(collector.auditIDs == ["a"])
        #expect(collector.issues.map(\.kind) == [.partialLine])
        #expect(collector.details.first?.hasPrefix("-:2: byte \(Events.compact("a").utf8.count + 1): input ended inside a line") == true)
        // A final newline, or trailing blanks after one, is no partial line.
        let whole = readStreamReporting(utf8(Events.compact("a") + "\n  "))
        #expect(whole.issues.isEmpty)
    }

    func readStreamReporting(_ bytes: [UInt8]) -> Collector {
        let reader = AuditStreamReader()
        var collector = Collector()
        var source = ChunkedSource(bytes, maxChunk: .max)
        try? reader.read(from: &source, name: "-", unterminatedLine: .report, into: &collector)
        return collector
    }

    /// A few KB of zstd that expand to a 48 MiB line, read with a 1 MiB cap: the line is
    /// reported once, the event after it is read, and the buffer never grows past a few MiB.
    @Test("a zstd decompression bomb stays within the line cap and bounded memory",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd"), "zstd CLI not installed"))
    func bomb() throws {
        let dir = try TemporaryDirectory()
        var line = utf8(#"{"kind":"Event","a":""#)
        line += [UInt8](repeating: UInt8(ascii: "A"), count: 48 << 20)
        line += utf8("\"}\n")
        let plain = line + utf8(Events.compact("after-the-bomb") + "\n")
        let compressed = try zstd(plain, in: dir)
        #expect(compressed.count < 64 << 10, "the fixture is a bomb: \(compressed.count) bytes")
        let path = try dir.write("bomb.log.zst", compressed)
        let reader = AuditStreamReader(limits: ReaderLimits(maxRecordBytes: 1 << 20, readSize: 256 << 10))
        let read = readFile(path, reader: reader)
        #expect(read.error == nil)
        #expect(read.found.issues.map(\.kind) == [.lineTooLong])
        #expect(read.found.auditIDs == ["after-the-bomb"])
        #expect(reader.stats.discardedBytes == Int64(line.count))
        #expect(reader.stats.peakBufferBytes <= 4 << 20, "buffer grew to \(reader.stats.peakBufferBytes)")
    }
}
