// The verdict memo's byte-keyed records: keys are found by hash and confirmed by comparing
// bytes, so the compare alone decides that two identities or request shapes are one.
@testable import DetectionEngine
import Testing

@Suite("EventClasses (byte-keyed records of the verdict memo)")
struct EventClassesTests {
    /// Runs of every length up to a few hundred bytes (identity keys are about 250), each in
    /// an allocation of exactly its size: equal to a copy of itself, and unequal to every copy
    /// with one byte changed, whichever 16-byte step or tail that byte falls in.
    @Test("the key compare sees every byte of runs of every length")
    func compareSeesEveryByte() {
        let lengths = Array(0...70) + [127, 128, 129, 250, 255, 256, 257, 301]
        for n in lengths {
            let a = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 1)
            let b = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 1)
            defer {
                a.deallocate()
                b.deallocate()
            }
            for i in 0..<n { a.storeBytes(of: UInt8(truncatingIfNeeded: i &* 37 &+ n), toByteOffset: i, as: UInt8.self) }
            b.copyMemory(from: a, byteCount: n)
            #expect(EventClasses.equal(a, b, n), "length \(n)")
            for i in 0..<n {
                let original = b.load(fromByteOffset: i, as: UInt8.self)
                for flip: UInt8 in [0x01, 0x80] {
                    b.storeBytes(of: original ^ flip, toByteOffset: i, as: UInt8.self)
                    #expect(!EventClasses.equal(a, b, n), "length \(n), byte \(i) ^ \(flip)")
                    #expect(!EventClasses.equal(b, a, n), "length \(n), byte \(i) ^ \(flip), swapped")
                }
                b.storeBytes(of: original, toByteOffset: i, as: UInt8.self)
            }
        }
    }

    /// A slot value is copied into a key by width-dependent loads and stores: every length
    /// (past the 64 that `memmove` takes over at) comes out whole, from a source allocated at
    /// exactly its size, and not a byte around the copy's place in the key is written.
    @Test("slot values of every length are copied whole, and nothing around them is written")
    func slotCopiesAreExact() {
        let guardBytes = 32
        for n in 0...80 {
            let source = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
            let target = UnsafeMutablePointer<UInt8>.allocate(capacity: n + 2 * guardBytes)
            defer {
                source.deallocate()
                target.deallocate()
            }
            for i in 0..<n { source[i] = UInt8(truncatingIfNeeded: i &* 73 &+ n &+ 1) }
            target.initialize(repeating: 0xEE, count: n + 2 * guardBytes)
            EventClasses.copy(source, to: target + guardBytes, n)
            for i in 0..<n { #expect(target[guardBytes + i] == source[i], "length \(n), byte \(i)") }
            for i in 0..<guardBytes {
                #expect(target[i] == 0xEE, "length \(n), \(guardBytes - i) bytes before")
                #expect(target[guardBytes + n + i] == 0xEE, "length \(n), \(i) bytes after")
            }
        }
    }
}

/// The class keys' AES hash (`kaudit_key_hash_aes`, where the CPU has AES-NI): it must see
/// every byte, the length and the seed, read nothing outside the key, and spread keys that
/// differ only in a counter evenly over a table's cells.
@Suite("Class-key hash with AES rounds", .enabled(if: EventClasses.aesAvailable, "this CPU has no AES-NI: keys use fastHash"))
struct KeyHashTests {
    private func hash(_ bytes: [UInt8], seed: UInt64 = 7) -> UInt64 {
        // An exact-size allocation: a read past the end would show under the sanitizers.
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { copy.deallocate() }
        _ = copy.initialize(from: bytes)
        return EventClasses.hash(copy.baseAddress!, bytes.count, seed: seed, aes: true)
    }

    @Test("no collisions among all strings of up to seven bytes over a small alphabet")
    func shortInputsAreDistinct() {
        let alphabet: [UInt8] = [0x00, 0x22, 0x30, 0x61, 0x7A, 0xFF]
        var seen: [UInt64: [UInt8]] = [:]
        var ofLength: [[UInt8]] = [[]]
        seen[hash([])] = []
        for _ in 1...7 {
            ofLength = ofLength.flatMap { s in alphabet.map { s + [$0] } }
            for s in ofLength {
                let h = hash(s)
                if let other = seen[h] { Issue.record("\(s) and \(other) share hash \(h)") }
                seen[h] = s
            }
        }
        #expect(seen.count == 335_923)  // 6^0 + 6^1 + ... + 6^7
    }

    /// Every length through the 16-, 32-, 64-byte and overlapping-tail paths, and past them.
    @Test("every byte of keys of every length, the length and the seed change the hash")
    func everyByteLengthAndSeedMatter() {
        for n in Array(0...140) + [191, 192, 193, 200, 255, 256, 257, 301, 512, 1000] {
            let base = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) }
            let h = hash(base)
            #expect(hash(base) == h, "length \(n): not deterministic")
            #expect(hash(base, seed: 8) != h, "length \(n): the seed is ignored")
            #expect(hash(base + [0]) != h, "length \(n): a trailing zero byte is ignored")
            for i in 0..<n {
                for flip: UInt8 in [0x01, 0x80] {
                    var changed = base
                    changed[i] ^= flip
                    #expect(hash(changed) != h, "length \(n), byte \(i) ^ \(flip)")
                }
            }
        }
    }

    /// Identity keys of one cluster differ in a few bytes (a user or pod number): their hashes'
    /// low bits (what picks a cell) and high bits must still spread evenly.
    @Test("keys that differ in a counter spread evenly over 256 cells", arguments: [0, 28, 56])
    func countersSpreadEvenly(shift: Int) {
        let cells = 256
        let keys = 65_536
        var counts = [Int](repeating: 0, count: cells)
        for i in 0..<keys {
            let key = Array("system:serviceaccount:team-\(i % 97):runner-\(i)|kubectl/v1.31.0 (linux/amd64)".utf8)
            counts[Int(truncatingIfNeeded: hash(key) >> UInt64(shift)) & (cells - 1)] += 1
        }
        // 256 per cell on average (standard deviation 16): every cell within 90 of it.
        let expected = Double(keys) / Double(cells)
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(counts.min()! > 256 - 90 && counts.max()! < 256 + 90, "cells range \(counts.min()!)...\(counts.max()!)")
        // 255 degrees of freedom: mean 255, standard deviation about 23.
        #expect(chiSquare < 370, "chi-square \(chiSquare)")
    }
}
