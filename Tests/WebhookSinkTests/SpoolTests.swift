import AuditInputs
import AuditModel
import AuditSpool
import Foundation
import NIOHTTP1
import Testing
import WebhookSink

@Suite struct SpoolTests {
    @Test func dedupTableRemembersAtLeastHalfItsCapacity() {
        var t = DedupTable(capacity: 1024)
        func insert(_ range: Range<UInt64>) -> [Bool] { range.map { t.insert($0 &* 0x9E37_79B9_7F4A_7C15) } }
        #expect(insert(0..<512).allSatisfy { $0 })
        #expect(insert(0..<512).allSatisfy { !$0 })
        #expect(insert(512..<1024).allSatisfy { $0 })  // the first generation is now the previous one
        #expect(t.rotations == 1)
        #expect(insert(0..<1024).allSatisfy { !$0 })
        #expect(insert(1024..<1536).allSatisfy { $0 })  // the oldest 512 are forgotten
        #expect(insert(0..<1).allSatisfy { $0 })
    }

    @Test func dedupTableForgetsARemovedFingerprint() {
        var t = DedupTable(capacity: 1024)
        let keys: [UInt64] = [7, 7 + 1024, 7 + 2048, 8]  // one probe chain
        let first = keys.map { t.insert($0) }
        t.remove(7 + 1024)
        let again = keys.map { t.insert($0) }
        #expect(first == [true, true, true, true])
        #expect(again == [false, true, false, false])
    }

    @Test func fingerprintsDependOnSenderAndBytesAndSurviveARestart() throws {
        let dir = try StateDir()
        let a = try Fingerprinter.load(orCreate: dir.path + "/key")
        let b = try Fingerprinter.load(orCreate: dir.path + "/key")
        func fp(_ f: Fingerprinter, _ s: String, _ l: String) -> UInt64 {
            Array(s.utf8).withUnsafeBytes { sb in Array(l.utf8).withUnsafeBytes { f.fingerprint(sender: sb, line: $0) } }
        }
        #expect(fp(a, "cn:x", "{\"a\":1}") == fp(b, "cn:x", "{\"a\":1}"))
        #expect(fp(a, "cn:x", "{\"a\":1}") != fp(a, "cn:y", "{\"a\":1}"))
        #expect(fp(a, "cn:x", "{\"a\":1}") != fp(a, "cn:x", "{\"a\":2}"))
        #expect(fp(a, "ab", "c") != fp(a, "a", "bc"))
    }

    @Test func aCrashMidWriteIsCutAndRetriesAfterARestartAreStillDuplicates() async throws {
        let h = try Harness()
        let body = Bodies.batch(50)
        #expect(await h.post(body).status == .ok)
        h.spool.close()
        // A write cut short by a crash: half a frame at the end of the segment.
        let segment = try #require(h.spool.segments().last)
        let path = h.spool.segmentDirectory + "/" + segment.name
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x40]))
        try handle.close()
        let reopened = try Spool(directory: h.dir.path)
        #expect(reopened.stats.recoveredTruncatedBytes == 6)
        #expect(reopened.stats.fingerprintsReloaded == 50)
        let endpoint = SinkEndpoint(path: "/audit", limits: RequestLimits(), policy: .none, spool: reopened, metrics: SinkMetrics())
        let bytes = Array(body.utf8)
        let outcome: SinkResponse = await withCheckedContinuation { c in
            guard case .readBody(_, let id, let reserved) = endpoint.admit(Harness.head(length: bytes.count), peerSubject: nil) else { return }
            bytes.withUnsafeBytes { endpoint.accept(body: $0, identity: id, reserved: reserved) { c.resume(returning: $0) } }
        }
        #expect(outcome.status == .ok)
        #expect(reopened.stats.duplicates == 50)
        #expect(reopened.stats.eventsStored == 0)
    }

    @Test func theSpoolIsWhatKauditScanReads() async throws {
        var options = SpoolOptions()
        options.segmentBytes = 4096  // several segments
        let h = try Harness(options: options)
        for i in 0..<20 { _ = await h.post(Bodies.batch(20, prefix: "s\(i)")) }
        #expect(h.spool.segments().count > 1)
        // The standard reader (as `kaudit scan DIR` uses it) reads every event of every segment.
        var count = 0
        struct Counter: AuditRecordHandler {
            var events = 0
            var issues = 0
            mutating func handle(event: AuditEvent, at location: RecordLocation) { events += 1 }
            mutating func handle(issue: ReadIssue) { issues += 1 }
        }
        var handler = Counter()
        let reader = AuditStreamReader()
        for seg in h.spool.segments() {
            var opened = try InputOpener.open(h.spool.segmentDirectory + "/" + seg.name)
            #expect(opened.format == .zstd)
            try reader.read(from: &opened.source, name: seg.name, into: &handler)
            opened.close()
        }
        count = handler.events
        #expect(count == 400)
        #expect(handler.issues == 0)
    }

    @Test func detectionPositionIsSavedAndLoaded() throws {
        let dir = try StateDir()
        try SpoolPosition(segment: "audit-2026-01-01T00-00-00.000.zst", offset: 1234).save(to: dir.path)
        let loaded = try SpoolPosition.load(from: dir.path).get()
        #expect(loaded == SpoolPosition(segment: "audit-2026-01-01T00-00-00.000.zst", offset: 1234))
        try "garbage".write(toFile: dir.path + "/detection.checkpoint", atomically: true, encoding: .utf8)
        #expect((try? SpoolPosition.load(from: dir.path).get()) == nil)
    }

    @Test func base64RoundTrips() {
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 97 + 3) }
            var out: [UInt8] = []
            Base64.append(bytes, to: &out)
            #expect(Data(bytes).base64EncodedString() == String(decoding: out, as: UTF8.self))
            #expect(Base64.decode(String(decoding: out, as: UTF8.self)) == bytes)
        }
    }
}
