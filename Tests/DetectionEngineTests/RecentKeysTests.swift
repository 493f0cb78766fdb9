// The duplicate and long-running-request tables: a bounded map forgotten by age.
import AuditTestSupport
import CAuditSIMD
@testable import DetectionEngine
import Testing

@Suite("RecentKeys (bounded key table, forgotten by age, oldest replaced when full)")
struct RecentKeysTests {
    /// The same operations on a dictionary of key -> (payload, time).
    struct Model {
        var entries: [UInt64: (payload: UInt32, time: Int64)] = [:]

        mutating func payloadOrInsert(_ key: UInt64, payload: UInt32, time: Int64) -> UInt32? {
            if let e = entries[key] { return e.payload }
            entries[key] = (payload, time)
            return nil
        }

        mutating func forget(before time: Int64) { entries = entries.filter { $0.value.time >= time } }
    }

    /// Times on the table's grid (1,024 µs), so its millisecond precision cannot show.
    static func tick(_ n: Int64) -> Int64 { n << 10 }

    @Test("below capacity, inserts, lookups and forgetting agree with a dictionary, through growth", arguments: [1000, 70_000, 262_144])
    func againstModel(capacity: Int) {
        var rng = SplitMix64(seed: UInt64(capacity))
        let table = RecentKeys(capacity: capacity)
        var model = Model()
        var clock: Int64 = 1_000_000
        // Keys from a small space (hits) and a large one (misses); 0 is a key like any other.
        let live = capacity / 2  // a quarter of the slots: no key finds its buckets full
        for step in 0..<60_000 {
            clock += Int64.random(in: 0...3, using: &rng)
            let key: UInt64 =
                Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64(capacity * 2), using: &rng) : rng.next()
            switch step % 7 {
            case 0:
                #expect(table.payload(key) == model.entries[key]?.payload)
            case 1 where model.entries.count > live || step % 700 == 1:
                // Forget the older half (or a little), keeping the table below its capacity.
                let times = model.entries.values.map(\.time).sorted()
                let horizon = model.entries.count > live ? times[times.count / 2] : clock - Int64.random(in: 0...200, using: &rng)
                table.forget(before: Self.tick(horizon))
                model.forget(before: horizon)
            default:
                let payload = UInt32(truncatingIfNeeded: rng.next())
                #expect(table.payloadOrInsert(key, payload: payload, time: Self.tick(clock)) == model.payloadOrInsert(key, payload: payload, time: clock))
            }
            if step % 5000 == 0 { #expect(table.count == model.entries.count) }
        }
        #expect(table.evicted == 0)
        #expect(table.count == model.entries.count)
        for (key, entry) in model.entries { #expect(table.payload(key) == entry.payload) }
        table.removeAll()
        #expect(table.count == 0)
        #expect(!table.mayHoldKeys)
        for key in model.entries.keys { #expect(table.payload(key) == nil) }
    }

    @Test("the table starts small and grows to its capacity as live keys need the room")
    func growsToCapacity() {
        let table = RecentKeys(capacity: 262_144)
        #expect(table.slotCount == 32_768)
        var rng = SplitMix64(seed: 9)
        var keys: [UInt64] = []
        for n in 0..<200_000 {
            let key = rng.next()
            keys.append(key)
            #expect(table.payloadOrInsert(key, payload: UInt32(n & 0xFFFF), time: Self.tick(Int64(n))) == nil)
        }
        #expect(table.slotCount > 262_144 && table.slotCount <= 524_288)
        #expect(table.evicted == 0)
        #expect(table.count == 200_000)
        for (n, key) in keys.enumerated() { #expect(table.payload(key) == UInt32(n & 0xFFFF)) }
    }

    @Test("at capacity each new key replaces an old one (counted), recent keys stay, payloads never mix")
    func fullTableForgetsTheOldest() {
        let capacity = 4096
        let table = RecentKeys(capacity: capacity)
        var rng = SplitMix64(seed: 5)
        var keys: [UInt64] = []
        for n in 0..<(3 * capacity) {
            let key = rng.next()
            keys.append(key)
            _ = table.payloadOrInsert(key, payload: UInt32(n), time: Self.tick(Int64(n)))
        }
        #expect(table.slotCount == 2 * capacity)
        #expect(table.count + table.evicted == keys.count)
        #expect(table.count > capacity * 3 / 2)
        // A key still present has its own payload; the newest half-capacity is all there,
        // the newest capacity nearly all, and what was forgotten is mostly the oldest.
        var present = Array(repeating: false, count: keys.count)
        for (n, key) in keys.enumerated() {
            if let p = table.payload(key) {
                #expect(p == UInt32(n))
                present[n] = true
            }
        }
        let newest = present.suffix(capacity).filter { $0 }.count
        let oldest = present.prefix(capacity).filter { $0 }.count
        #expect(present.suffix(capacity / 2).allSatisfy { $0 })
        #expect(newest > capacity * 99 / 100)
        #expect(oldest < capacity / 4)
    }

    @Test("hostile times (far past, far future, Int64 extremes) neither trap nor break the table")
    func extremeTimes() {
        let table = RecentKeys(capacity: 64)
        let now = Self.tick(1_000_000)
        #expect(table.payloadOrInsert(100, payload: 1, time: now) == nil)
        for (k, t) in [Int64.min, -1, 0, Int64.min + 1].enumerated() {
            #expect(table.payloadOrInsert(UInt64(k), payload: 7, time: t) == nil)
        }
        table.forget(before: now)
        #expect(table.payload(100) == 1)
        #expect(table.payload(0) == nil)  // before the horizon
        // Far future: the stamps' range moves on, and what is before it is gone.
        #expect(table.payloadOrInsert(200, payload: 2, time: now + Self.tick(Int64(UInt32.max))) == nil)
        #expect(table.payload(200) == 2)
        #expect(table.payload(100) == nil)
        #expect(table.payloadOrInsert(300, payload: 3, time: .max) == nil)
        #expect(table.payload(300) == 3)
        table.forget(before: .max)
        #expect(table.payload(300) == 3)  // the horizon is not past the newest time
        table.forget(before: .min)
        #expect(table.payload(200) == nil)  // and it never moves back
    }

    /// `kaudit_recent_bucket` reads a bucket in one pass of vector compares: its answer for
    /// random buckets, keys that differ in one 32-bit half only, and stamps at the edges of
    /// the unsigned range (where a signed compare would go wrong) must be the slot-by-slot one.
    @Test("the one-pass bucket scan agrees with a slot-by-slot reading")
    func bucketScan() {
        var rng = SplitMix64(seed: 64)
        let edges: [UInt32] = [0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFE, 0xFFFF_FFFF]
        let bucket = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { bucket.deallocate() }
        for round in 0..<20_000 {
            let key = rng.next()
            var keys: [UInt64] = []
            var stamps: [UInt32] = []
            for _ in 0..<4 {
                switch rng.next() % 4 {
                case 0: keys.append(key)
                case 1: keys.append(key ^ (rng.next() & 0xFFFF_FFFF | 1))  // low half differs
                case 2: keys.append(key ^ (rng.next() << 32 | 1 << 32))  // high half differs
                default: keys.append(rng.next())
                }
                stamps.append(rng.next() % 2 == 0 ? edges[Int(rng.next() % 8)] : UInt32(truncatingIfNeeded: rng.next()))
            }
            let horizon = round % 3 == 0 ? edges[Int(rng.next() % 7) + 1] : max(1, UInt32(truncatingIfNeeded: rng.next()))
            for k in 0..<4 {
                bucket.storeBytes(of: keys[k], toByteOffset: 8 * k, as: UInt64.self)
                bucket.storeBytes(of: UInt32(truncatingIfNeeded: rng.next()), toByteOffset: 32 + 4 * k, as: UInt32.self)
                bucket.storeBytes(of: stamps[k], toByteOffset: 48 + 4 * k, as: UInt32.self)
            }
            var expected: UInt32 = 0
            for k in 0..<4 {
                let live = stamps[k] >= horizon
                if live && keys[k] == key { expected |= 1 << k }
                if !live { expected |= 1 << (8 + k) }
            }
            #expect(kaudit_recent_bucket(bucket, key, horizon) == expected, "keys \(keys) stamps \(stamps) horizon \(horizon)")
        }
    }

    @Test("a key seen again keeps its first time: insert updates the payload only")
    func insertUpdatesPayload() {
        let table = RecentKeys(capacity: 64)
        table.insert(42, payload: 1, time: Self.tick(10))
        table.insert(42, payload: 2, time: Self.tick(20))
        #expect(table.payload(42) == 2)
        table.forget(before: Self.tick(11))
        #expect(table.payload(42) == nil)
        #expect(table.mayHoldKeys == false)
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
