import AuditSynth
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// These tests only use AuditSynth's public API and a few byte-level helpers (libc memchr/memcmp,
// so scanning tens of MB stays fast in debug builds); they don't depend on the JSON reader
// under test elsewhere.

/// Splits NDJSON into lines (without the trailing newline).
private func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    bytes.withUnsafeBufferPointer { buf in
        guard let base = buf.baseAddress else { return }
        var start = 0
        while start < buf.count, let nl = memchr(base + start, 0x0A, buf.count - start) {
            let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            out.append(bytes[start..<end])
            start = end + 1
        }
        if start < buf.count { out.append(bytes[start...]) }
    }
    return out
}

/// Absolute index of the first occurrence of `needle` in `line` at or after `from`.
private func find(_ needle: String, in line: ArraySlice<UInt8>, from: Int? = nil) -> Int? {
    let from = from ?? line.startIndex
    guard from < line.endIndex else { return nil }
    return line.withUnsafeBufferPointer { hay -> Int? in
        let skip = from - line.startIndex
        var needle = needle
        return needle.withUTF8 { n -> Int? in
            // memchr for the first byte, memcmp for the rest (memmem isn't exported on every libc).
            var i = skip
            while hay.count - i >= n.count,
                  let hit = memchr(hay.baseAddress! + i, Int32(n[0]), hay.count - i - n.count + 1) {
                let at = hay.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(hay.baseAddress! + at, n.baseAddress!, n.count) == 0 { return line.startIndex + at }
                i = at + 1
            }
            return nil
        }
    }
}

private func has(_ line: ArraySlice<UInt8>, _ needle: String) -> Bool { find(needle, in: line) != nil }

/// The string value following the first occurrence of `"key":"` (top-level for the envelope
/// fields, which precede any body).
private func value(_ line: ArraySlice<UInt8>, _ key: String) -> String? {
    guard let r = find("\"\(key)\":\"", in: line) else { return nil }
    let start = r + key.utf8.count + 4
    guard let end = line[start...].firstIndex(of: 0x22) else { return nil }
    return String(decoding: line[start..<end], as: UTF8.self)
}

/// Minimal structural check: one object, balanced braces/brackets outside strings, valid
/// escapes, no raw control characters.
private func isSingleJSONObject(_ line: ArraySlice<UInt8>) -> Bool {
    line.withUnsafeBufferPointer { b -> Bool in
        guard b.first == 0x7B, b.last == 0x7D else { return false }
        var depth = 0
        var inString = false
        var escaped = false
        for i in 0..<b.count {
            let c = b[i]
            if c < 0x20 { return false }
            if inString {
                if escaped {
                    switch c {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74, 0x75: escaped = false
                    default: return false
                    }
                } else if c == 0x5C {
                    escaped = true
                } else if c == 0x22 {
                    inString = false
                }
            } else {
                switch c {
                case 0x22: inString = true
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D:
                    depth -= 1
                    if depth < 0 || (depth == 0 && i != b.count - 1) { return false }
                default: break
                }
            }
        }
        return depth == 0 && !inString
    }
}

/// Microseconds since the epoch of `2026-01-05T00:00:01.123456Z` (days computed independently).
private func micros(_ ts: String) -> Int64 {
    let b = Array(ts.utf8)
    func num(_ r: Range<Int>) -> Int64 { r.reduce(0) { $0 * 10 + Int64(b[$1] - 0x30) } }
    var y = num(0..<4), m = num(5..<7)
    let d = num(8..<10)
    if m <= 2 { y -= 1; m += 12 }
    // Days since 1970-01-01 via the classic Gregorian day-number formula.
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469
    let secs = days * 86_400 + num(11..<13) * 3600 + num(14..<16) * 60 + num(17..<19)
    let frac = b.count > 21 ? num(20..<26) : 0
    return secs * 1_000_000 + frac
}

@Suite struct AuditSynthTests {
    @Test func sameSeedIsByteIdenticalAndDifferentSeedDiffers() {
        var a = SyntheticAuditLog(.init(seed: 7))
        var b = SyntheticAuditLog(.init(seed: 7))
        var c = SyntheticAuditLog(.init(seed: 8))
        let x = a.makeEvents(3_000)
        let y = b.makeEvents(3_000)
        let z = c.makeEvents(3_000)
        #expect(x == y)
        #expect(x != z)
        #expect(a.bytesGenerated == x.count)
        #expect(a.eventsGenerated == 3_000)
    }

    @Test func generateHandsOutNewlineTerminatedBlocksOfTheSameStream() {
        var blocks = SyntheticAuditLog(.init(seed: 3))
        var joined: [UInt8] = []
        var sizes: [Int] = []
        blocks.generate(bytes: 2_500_000) { block in
            sizes.append(block.count)
            #expect(block.last == 0x0A)
            joined.append(contentsOf: block)
        }
        #expect(joined.count >= 2_500_000)
        #expect(joined.count == blocks.bytesGenerated)
        #expect(sizes.count == 3)
        #expect(sizes.dropLast().allSatisfy { $0 >= SyntheticAuditLog.blockSize && $0 < SyntheticAuditLog.blockSize + 64 * 1024 })
        var single = SyntheticAuditLog(.init(seed: 3))
        #expect(single.makeEvents(blocks.eventsGenerated) == joined)
    }

    @Test func everyLineIsOneCompactJSONObjectInGoFieldOrder() {
        var log = SyntheticAuditLog(.init(seed: 11, attackInterval: 400))
        let bytes = log.makeEvents(8_000)
        #expect(bytes.last == 0x0A)
        let all = lines(bytes)
        #expect(all.count == 8_000)
        let order = ["\"kind\":\"Event\"", "\"apiVersion\":\"audit.k8s.io/v1\"", "\"level\":", "\"auditID\":", "\"stage\":",
                     "\"requestURI\":", "\"verb\":", "\"user\":{\"username\":", "\"sourceIPs\":[", "\"userAgent\":",
                     "\"requestReceivedTimestamp\":", "\"stageTimestamp\":"]
        var bad = 0
        for line in all {
            guard isSingleJSONObject(line) else { bad += 1; continue }
            var last = line.startIndex
            for key in order {
                guard let r = find(key, in: line, from: last) else { bad += 1; break }
                last = r + key.utf8.count
            }
            let id = value(line, "auditID") ?? ""
            if id.utf8.count != 36 || Array(id.utf8)[14] != UInt8(ascii: "4") { bad += 1 }
        }
        #expect(bad == 0)
    }

    @Test func mixSizeAndTimestampsLookLikeARealCluster() {
        var log = SyntheticAuditLog()
        let bytes = log.makeEvents(20_000)
        let all = lines(bytes)
        var reads = 0, metadata = 0, requestLevel = 0, requestResponse = 0, received = 0, watches = 0, failures = 0
        var previous: Int64 = 0
        var nonMonotonic = 0, receivedAfterStage = 0
        for line in all {
            switch value(line, "verb") {
            case "get", "list": reads += 1
            case "watch": reads += 1; watches += 1
            default: break
            }
            switch value(line, "level") {
            case "Metadata": metadata += 1
            case "Request": requestLevel += 1
            case "RequestResponse": requestResponse += 1
            default: break
            }
            if value(line, "stage") == "RequestReceived" { received += 1 }
            if has(line, "\"status\":\"Failure\"") { failures += 1 }
            let stage = micros(value(line, "stageTimestamp")!)
            let receivedAt = micros(value(line, "requestReceivedTimestamp")!)
            if stage < previous { nonMonotonic += 1 }
            if receivedAt > stage { receivedAfterStage += 1 }
            previous = stage
        }
        let n = Double(all.count)
        let readShare = Double(reads) / n
        let metadataShare = Double(metadata) / n
        let mean = Double(bytes.count) / n
        #expect(readShare > 0.70 && readShare < 0.85, "get/list/watch share \(readShare)")
        #expect(metadataShare > 0.80 && metadataShare < 0.92, "Metadata share \(metadataShare)")
        #expect(Double(requestLevel) / n > 0.04 && Double(requestResponse) / n > 0.03)
        #expect(Double(received) / n > 0.015 && Double(received) / n < 0.05)
        #expect(watches > 0 && failures > 0)
        #expect(mean > 1_200 && mean < 1_600, "mean event size \(mean)")
        #expect(nonMonotonic == 0)
        #expect(receivedAfterStage == 0)
        #expect(value(all[0], "stageTimestamp")!.hasPrefix("2026-01-05T00:00:0"))
    }

    @Test func everyNodeRenewsItsLeaseEveryTenSeconds() {
        var log = SyntheticAuditLog(.init(seed: 5, nodes: 12, eventsPerSecond: 150))
        let all = lines(log.makeEvents(12_000))
        let start = micros(value(all.first!, "stageTimestamp")!)
        let end = micros(value(all.last!, "stageTimestamp")!)
        #expect(end - start > 60_000_000)  // enough event time for several renewals
        var renewals: [String: [Int64]] = [:]
        let prefix = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/"
        for line in all where value(line, "verb") == "update" {
            guard let uri = value(line, "requestURI"), uri.hasPrefix(prefix) else { continue }
            let node = String(uri.dropFirst(prefix.count).prefix { $0 != "?" })
            renewals[node, default: []].append(micros(value(line, "requestReceivedTimestamp")!))
        }
        #expect(Set(renewals.keys) == Set(log.nodeNames))
        for node in log.nodeNames {
            let times = renewals[node] ?? []
            #expect(times.count >= Int((end - start) / 10_000_000) - 1, "\(node): \(times.count) renewals")
            #expect((times.first ?? .max) - start < 10_500_000)
            #expect(end - (times.last ?? 0) < 10_500_000)
            for (a, b) in zip(times, times.dropFirst()) {
                #expect(b - a >= 9_900_000 && b - a <= 10_100_000, "\(node) renewal gap \(b - a) µs")
            }
        }
    }

    @Test func civilDateConversionCrossesLeapDay() {
        let leapDayEnd = (Int64(19_782) * 86_400 + 86_399) * 1_000_000  // 2024-02-29T23:59:59Z
        var log = SyntheticAuditLog(.init(seed: 1, startMicros: leapDayEnd, eventsPerSecond: 1_000))
        let all = lines(log.makeEvents(3_000))
        #expect(value(all.first!, "stageTimestamp")!.hasPrefix("2024-02-29T23:59:59."))
        #expect(value(all.last!, "stageTimestamp")!.hasPrefix("2024-03-01T00:00:0"))
        for line in all.prefix(50) {
            let ts = value(line, "stageTimestamp")!
            #expect(ts.utf8.count == 27 && ts.hasSuffix("Z"))
        }
    }

    @Test func injectedCountsMatchTheLinesWithAttackShapes() {
        var log = SyntheticAuditLog(.init(seed: 9, attackInterval: 500))
        let all = lines(log.makeEvents(20_000))
        var found = InjectedCounts()
        for line in all {
            if has(line, "\"subresource\":\"exec\"") {
                found.podExec += 1
                #expect(value(line, "verb") == "create" && value(line, "stage") == "ResponseStarted" && has(line, "\"code\":101"))
                #expect(value(line, "requestURI")!.split(separator: "command=").count >= 4)  // several command= params
            }
            if value(line, "verb") == "list" && has(line, "\"requestURI\":\"/api/v1/secrets?") {
                found.secretsList += 1
                #expect(has(line, "\"username\":\"system:serviceaccount:"))
            }
            if value(line, "verb") == "create" && has(line, "\"resource\":\"clusterrolebindings\"")
                && has(line, "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"}") {
                found.clusterAdminBindings += 1
            }
            if has(line, "\"privileged\":true") { found.privilegedPods += 1 }
            if has(line, "\"hostPath\":{\"path\":\"/\",\"type\":\"\"}") { found.hostPathPods += 1 }
        }
        #expect(found == log.injected)
        #expect(log.injected.total == 40)
        #expect(log.injected.podExec == 8 && log.injected.hostPathPods == 8)

        var quiet = SyntheticAuditLog(.init(seed: 9, injectAttacks: false, attackInterval: 500))
        let clean = lines(quiet.makeEvents(20_000))
        #expect(quiet.injected == InjectedCounts())
        #expect(!clean.contains { has($0, "\"subresource\":\"exec\"") || has($0, "\"privileged\":true") || has($0, "\"name\":\"cluster-admin\"}") })
    }

    @Test func defaultAttackRateIsAFewPerHundredThousand() {
        var log = SyntheticAuditLog(.init(seed: 42))
        _ = log.makeEvents(60_000)
        #expect(log.injected.total >= 1 && log.injected.total <= 5)
    }
}
