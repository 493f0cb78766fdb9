// The duplicate and long-running-request tables: a bounded map forgotten oldest first.
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("RecentKeys (bounded key table, oldest forgotten first)")
struct RecentKeysTests {
    /// The same operations on a dictionary and a FIFO list of keys.
    struct Model {
        var payloads: [UInt64: UInt64] = [:]
        var order: [(key: UInt64, time: Int64)] = []
        let capacity: Int
        var evicted = 0

        mutating func payloadOrInsert(_ key: UInt64, payload: UInt64, time: Int64) -> UInt64? {
            let k = key == 0 ? 1 : key
            if let p = payloads[k] { return p }
            if order.count == capacity {
                evicted += 1
                payloads[order.removeFirst().key] = nil
            }
            payloads[k] = payload
            order.append((k, time))
            return nil
        }

        mutating func forget(before time: Int64) {
            while let first = order.first, first.time < time {
                payloads[first.key] = nil
                order.removeFirst()
            }
        }
    }

    @Test("random inserts, lookups and forgetting agree with a dictionary, through growth, eviction and wrap-around", arguments: [16, 100, 1000, 5000, 70_000])
    func againstModel(capacity: Int) {
        var rng = SplitMix64(seed: UInt64(capacity))
        let table = RecentKeys(capacity: capacity)
        var model = Model(capacity: max(capacity, 16))
        var time: Int64 = 0
        // Keys from a small space (hits) and a large one (misses); a few colliding homes.
        for step in 0..<60_000 {
            time += Int64.random(in: 0...3, using: &rng)
            let key: UInt64 =
                Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64(capacity * 2), using: &rng) : rng.next()
            switch step % 7 {
            case 0:
                #expect(table.payload(key) == model.payloads[key == 0 ? 1 : key])
            case 1 where step % 700 == 1 && step > 45_000:  // first, room to grow past 32,768 keys
                let horizon = time - Int64.random(in: 0...200, using: &rng)
                table.forget(before: horizon)
                model.forget(before: horizon)
            default:
                let payload = rng.next()
                #expect(table.payloadOrInsert(key, payload: payload, time: time) == model.payloadOrInsert(key, payload: payload, time: time))
            }
            if step == 45_000 && capacity > 40_000 { #expect(table.count > 32_768) }
            if step % 5000 == 0 {
                #expect(table.count == model.order.count)
                #expect(table.evicted == model.evicted)
            }
        }
        #expect(table.count == model.order.count)
        for (key, payload) in model.payloads { #expect(table.payload(key) == payload) }
        table.removeAll()
        #expect(table.count == 0)
        for key in model.payloads.keys { #expect(table.payload(key) == nil) }
    }
}

@Suite("fastHash (table keys and event fingerprints)")
struct FastHashTests {
    /// Every string of 0 to 7 bytes over a small alphabet, plus its length's neighbours: the
    /// short inputs take the overlapping-load paths, which must see every byte and the length.
    @Test("no collisions among all short strings, and the hash reads only the bytes given")
    func shortInputsAreDistinct() {
        let alphabet: [UInt8] = [0x00, 0x22, 0x30, 0x61, 0x7A, 0xFF]
        var seen: [UInt64: [UInt8]] = [:]
        var strings: [[UInt8]] = [[]]
        var ofLength: [[UInt8]] = [[]]
        for _ in 1...7 {
            ofLength = ofLength.flatMap { s in alphabet.map { s + [$0] } }
            strings += ofLength
        }
        #expect(strings.count == 335_923)  // 6^0 + 6^1 + ... + 6^7
        for s in strings {
            // An exact-size allocation: a read past the end would show under the sanitizers.
            let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: s.count)
            _ = copy.initialize(from: s)
            let h = fastHash(UnsafeBufferPointer(copy), seed: 7)
            copy.deallocate()
            if let other = seen[h] { Issue.record("\(s) and \(other) share hash \(h)") }
            seen[h] = s
        }
    }

    @Test("the seed and every byte position of a long input change the hash")
    func seedAndPositionsMatter() {
        let base = [UInt8](repeating: 0x41, count: 40)
        let h = base.withUnsafeBufferPointer { fastHash($0, seed: 1) }
        #expect(base.withUnsafeBufferPointer { fastHash($0, seed: 2) } != h)
        for i in base.indices {
            var changed = base
            changed[i] = 0x42
            #expect(changed.withUnsafeBufferPointer { fastHash($0, seed: 1) } != h, "byte \(i)")
        }
    }
}
