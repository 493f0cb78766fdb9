import AuditJSON
import CAuditSIMD
import Glibc

/// Results of field tests that read only the request body, remembered per body across
/// events: a request body seen again (byte for byte, for the same resource) answers those
/// tests from memory instead of walking the body again.
///
/// Clusters send the same bodies over and over: a ReplicaSet's, DaemonSet's or Job's
/// controller creates each pod from one template (the same `requestObject` for every
/// replica), and GitOps tools and CI pipelines re-apply the same manifests. The rules about
/// pod specs, images, commands and host access read these bodies member by member; on the
/// benchmark corpus 1,934 of 2,173 pod creations repeat an earlier body.
///
/// A test is remembered when its result depends on nothing else (`FieldTest.BodyBinding`):
/// a path into `requestObject`, the body itself, or a pod-spec field when the spec was
/// found in the request body (where it sits depends on the resource, which is part of the
/// key). A remembered body is compared byte for byte before its results are used, so a hash
/// collision costs a lookup, never a wrong verdict.
///
/// Bounded: `entryCount` bodies of at most `maxBodyBytes` each are kept (larger ones are
/// judged as usual), so at most `entryCount * (maxBodyBytes + maxResourceBytes)` bytes of
/// copies (about 8.5 MiB with their rounding to whole KiB). A body is copied in only when it
/// is seen a second time (its hash is remembered on the first sighting), so a stream of
/// distinct bodies costs one hash each and evicts nothing. One per judge (per thread):
/// nothing here is shared.
final class BodyVerdicts {
    /// Bodies kept at most (a power of two: the table is direct-mapped).
    static let entryCount = 512
    /// The largest body kept, in bytes, and the longest resource name (the key's other part;
    /// resource names are short, but the field is the log's to set).
    static let maxBodyBytes = 16 << 10
    static let maxResourceBytes = 256
    /// Hashes of bodies seen once, waiting for a second sighting (a power of two).
    static let sightingCount = 1024

    private struct Entry {
        var hash: UInt64 = 0
        var resourceCount = 0
        var bodyCount = 0
        var capacity = 0
        /// The resource's bytes, then the body's.
        var bytes: UnsafeMutablePointer<UInt8>?
    }

    private let entries: UnsafeMutablePointer<Entry>
    private let sightings: UnsafeMutablePointer<UInt64>
    /// Per entry, `words` words of which tests' results are known, then `words` of the results.
    private let bits: UnsafeMutablePointer<UInt64>
    private let words: Int
    private let seed = UInt64.random(in: 1...UInt64.max)
    private let hashesWithAES = EventClasses.aesAvailable

    /// Events whose body was found kept, kept anew (second sighting), or not kept.
    private(set) var hits = 0
    private(set) var stores = 0
    private(set) var misses = 0

    /// `slots`: one more than the highest `FieldTest.resultSlot` of the plan.
    init(slots: Int) {
        words = max((slots + 63) / 64, 1)
        entries = .allocate(capacity: Self.entryCount)
        entries.initialize(repeating: Entry(), count: Self.entryCount)
        sightings = .allocate(capacity: Self.sightingCount)
        sightings.initialize(repeating: 0, count: Self.sightingCount)
        bits = .allocate(capacity: Self.entryCount * 2 * words)
        bits.initialize(repeating: 0, count: Self.entryCount * 2 * words)
    }

    deinit {
        for i in 0..<Self.entryCount { entries[i].bytes?.deallocate() }
        entries.deallocate()
        sightings.deallocate()
        bits.deallocate()
    }

    /// The entry of this body of this resource, if it is kept (or kept now, on its second
    /// sighting); -1 otherwise.
    func entry(resource: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>) -> Int {
        guard let b = body.baseAddress, body.count <= Self.maxBodyBytes, resource.count <= Self.maxResourceBytes else {
            misses += 1
            return -1
        }
        var hash = EventClasses.hash(b, body.count, seed: seed, aes: hashesWithAES)
        hash ^= ByteHasher.mix(fastHash(resource, seed: seed))
        hash = max(hash, 1)  // 0 marks an empty sighting
        let i = Int(truncatingIfNeeded: hash) & (Self.entryCount - 1)
        let e = entries[i]
        if e.hash == hash, e.resourceCount == resource.count, e.bodyCount == body.count, let kept = e.bytes,
            resource.count == 0 || memcmp(kept, resource.baseAddress!, resource.count) == 0,
            memcmp(kept + resource.count, b, body.count) == 0
        {
            hits += 1
            return i
        }
        let s = Int(truncatingIfNeeded: hash >> 32) & (Self.sightingCount - 1)
        guard sightings[s] == hash else {
            sightings[s] = hash
            misses += 1
            return -1
        }
        sightings[s] = 0
        store(i, hash: hash, resource: resource, body: body)
        stores += 1
        return i
    }

    private func store(_ i: Int, hash: UInt64, resource: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>) {
        let need = resource.count + body.count
        if entries[i].capacity < need {
            entries[i].bytes?.deallocate()
            let capacity = (need + 1023) & ~1023
            entries[i].bytes = .allocate(capacity: capacity)
            entries[i].capacity = capacity
        }
        let bytes = entries[i].bytes!
        if let r = resource.baseAddress { bytes.update(from: r, count: resource.count) }
        (bytes + resource.count).update(from: body.baseAddress!, count: body.count)
        entries[i].hash = hash
        entries[i].resourceCount = resource.count
        entries[i].bodyCount = body.count
        (bits + i * 2 * words).update(repeating: 0, count: 2 * words)
    }

    /// The result of test `slot` remembered in entry `i`, if any.
    @inline(__always)
    func result(_ i: Int, _ slot: Int) -> Bool? {
        let (known, bit) = place(i, slot)
        guard known.pointee & bit != 0 else { return nil }
        return known[words] & bit != 0
    }

    /// Remembers test `slot`'s result in entry `i`.
    @inline(__always)
    func remember(_ result: Bool, _ i: Int, _ slot: Int) {
        let (known, bit) = place(i, slot)
        known.pointee |= bit
        if result { known[words] |= bit } else { known[words] &= ~bit }
    }

    /// The word of entry `i` that says whether test `slot`'s result is known (its result is
    /// `words` further on), and the test's bit in both.
    @inline(__always)
    private func place(_ i: Int, _ slot: Int) -> (UnsafeMutablePointer<UInt64>, UInt64) {
        (bits + (i &* 2 &* words &+ slot &>> 6), UInt64(1) << UInt64(slot & 63))
    }
}
