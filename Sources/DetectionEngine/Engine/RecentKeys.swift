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
        // Start at a size a busy minute fills, so a stream does not pay for rehashing
        // while it warms up (1 MiB of keys and payloads at most).
        var initial = 1024
        while initial < min(self.capacity, 32_768) { initial *= 2 }
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

/// A 64-bit hash of byte strings and numbers (`fastHash`, then a multiply-xorshift mix): for
/// table keys and event fingerprints, not for anything adversarial beyond collisions being
/// counted as different events.
struct ByteHasher {
    private(set) var state: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) { state = Self.mix(fastHash(bytes, seed: state)) }

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

/// A 64-bit hash of bytes, 16 at a time through a 128-bit multiply (short dependency
/// chains). Not a cryptographic hash: the verdict memo confirms equal hashes by comparing
/// bytes, and `ByteHasher`'s users accept collisions as described there.
@inline(__always)
func fastHash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
    @inline(__always) func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }
    let k1: UInt64 = 0xA076_1D64_78BD_642F
    let k2: UInt64 = 0xE703_7ED1_A0B4_28DB
    let n = bytes.count
    var h = seed ^ mum(UInt64(n) ^ k1, k2)
    guard let p = bytes.baseAddress, n > 0 else { return h }
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 16 <= n {
        h = mum(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k1, raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ h)
        i += 16
    }
    if i < n {
        var a: UInt64 = 0
        var b: UInt64 = 0
        if n >= 16 {
            // The last 16 bytes, overlapping what was hashed: no byte outside the buffer.
            a = raw.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 8 {
            a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else {
            for j in 0..<n { a |= UInt64(p[j]) << (8 * UInt64(j)) }
        }
        h = mum(a ^ k2, b ^ h)
    }
    return mum(h ^ k1, k2 ^ UInt64(n))
}
