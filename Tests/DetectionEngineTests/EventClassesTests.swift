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
