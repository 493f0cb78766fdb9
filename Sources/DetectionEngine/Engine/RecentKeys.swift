/// A bounded table of recently seen 64-bit keys, each with a 64-bit payload, forgotten
/// oldest first: when a key is older than the table's horizon (in event time), or when the
/// table is full (counted in `evicted`).
///
/// Open addressing with linear probing and backward-shift deletion over power-of-two
/// arrays, and a FIFO ring of keys in insertion order for forgetting. Both grow by doubling
/// up to the capacity given, so a lookup or an insert costs a hash probe and allocates
/// nothing once the table has reached its working size.
struct RecentKeys {
    private var keys: [UInt64]
    private var payloads: [UInt64]
    private var mask: Int
    /// Insertion order: key and the event time it was inserted at.
    private var ring: [(key: UInt64, time: Int64)]
    private var ringHead = 0
    private(set) var count = 0
    let capacity: Int
    /// Keys forgotten because the table was full rather than because they aged out.
    private(set) var evicted = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        let initial = 1024
        keys = Array(repeating: 0, count: initial * 2)
        payloads = Array(repeating: 0, count: initial * 2)
        mask = initial * 2 - 1
        ring = Array(repeating: (0, 0), count: initial)
    }

    /// The key 0 marks empty slots; real keys are never 0.
    @inline(__always)
    private static func normalized(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: key &* 0x9E37_79B9_7F4A_7C15 >> 20) & mask }

    /// The slot holding `key` (normalized), or the empty slot where it would go.
    @inline(__always)
    private func probe(_ key: UInt64) -> (slot: Int, found: Bool) {
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i + 1) & mask
        }
    }

    /// The payload stored for `key`, if it is in the table.
    func payload(_ key: UInt64) -> UInt64? {
        let (i, found) = probe(Self.normalized(key))
        return found ? payloads[i] : nil
    }

    /// The payload stored for `key` if it is present; otherwise inserts it with `payload` and
    /// returns nil. One probe for the common "look up, then remember" step.
    mutating func payloadOrInsert(_ key: UInt64, payload: UInt64, time: Int64) -> UInt64? {
        let key = Self.normalized(key)
        let (i, found) = probe(key)
        if found { return payloads[i] }
        add(key, payload: payload, time: time, at: i)
        return nil
    }

    /// Inserts `key` (or updates its payload when present).
    mutating func insert(_ key: UInt64, payload: UInt64, time: Int64) {
        let key = Self.normalized(key)
        let (i, found) = probe(key)
        if found {
            payloads[i] = payload
        } else {
            add(key, payload: payload, time: time, at: i)
        }
    }

    /// Stores a new key in the empty slot `i` found for it, making room first when full.
    private mutating func add(_ key: UInt64, payload: UInt64, time: Int64, at i: Int) {
        guard count < capacity, count < ring.count else {
            if count == capacity {
                evicted += 1
                removeOldest()
            } else {
                grow()
            }
            add(key, payload: payload, time: time, at: probe(key).slot)  // the slots moved
            return
        }
        keys[i] = key
        payloads[i] = payload
        ring[(ringHead + count) % ring.count] = (key, time)
        count += 1
    }

    /// Forgets keys inserted before `time`.
    mutating func forget(before time: Int64) {
        while count > 0 && ring[ringHead].time < time { removeOldest() }
    }

    /// Forgets everything.
    mutating func removeAll() {
        while count > 0 { removeOldest() }
    }

    private mutating func removeOldest() {
        let key = ring[ringHead].key
        ringHead = (ringHead + 1) % ring.count
        count -= 1
        remove(key)
    }

    /// Deletes `key`, shifting later members of its probe run back so lookups stay correct.
    private mutating func remove(_ key: UInt64) {
        var i = home(key)
        while keys[i] != key {
            if keys[i] == 0 { return }
            i = (i + 1) & mask
        }
        var hole = i
        var j = (i + 1) & mask
        while keys[j] != 0 {
            let h = home(keys[j])
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                keys[hole] = keys[j]
                payloads[hole] = payloads[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = 0
        payloads[hole] = 0
    }

    private mutating func grow() {
        let newRing = min(ring.count * 2, capacity)
        var order: [(key: UInt64, time: Int64)] = []
        order.reserveCapacity(newRing)
        for n in 0..<count { order.append(ring[(ringHead + n) % ring.count]) }
        var all: [(UInt64, UInt64)] = []
        for n in 0..<count {
            let k = order[n].key
            all.append((k, payload(k)!))
        }
        var slots = 1
        while slots < newRing * 2 { slots <<= 1 }
        keys = Array(repeating: 0, count: slots)
        payloads = Array(repeating: 0, count: slots)
        mask = slots - 1
        ring = order + Array(repeating: (0, 0), count: newRing - order.count)
        ringHead = 0
        for (k, p) in all {
            let i = probe(k).slot
            keys[i] = k
            payloads[i] = p
        }
    }
}

/// A 64-bit hash of byte strings (a multiply-xorshift mix, eight bytes at a time): for
/// table keys and event fingerprints, not for anything adversarial beyond collisions being
/// counted as different events.
struct ByteHasher {
    private(set) var state: UInt64 = 0x243F_6A88_85A3_08D3

    init() {}
    /// A hasher whose results depend on `seed` (random per process where inputs may be hostile).
    init(seed: UInt64) { state ^= seed }

    @inline(__always)
    mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var h = state ^ UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
        guard let p = bytes.baseAddress else {
            state = Self.mix(h)
            return
        }
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = Self.mix(h ^ UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p[i]) << shift
            shift += 8
            i += 1
        }
        state = Self.mix(h ^ tail)
    }

    @inline(__always)
    mutating func combine(_ value: UInt64) { state = Self.mix(state ^ value) }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
