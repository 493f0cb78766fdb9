// The verdict memo's table of event classes keyed by (candidate list, identity, shape).
import AuditTestSupport
@testable import DetectionEngine
import Testing

@Suite("PairClasses (event classes by list, identity and shape; one cache line per class)")
struct PairClassesTests {
    /// A rule list of `n` entries that says which class it belongs to.
    static func list(_ key: UInt64, _ n: Int) -> [Int32] {
        (0..<n).map { Int32(truncatingIfNeeded: key &* 31 &+ UInt64($0)) * ($0 % 2 == 0 ? 1 : -1) }
    }

    @Test("lists inline and in the arena come back as filed, through growth, against a dictionary")
    func againstModel() {
        var rng = SplitMix64(seed: 7)
        var table = PairClasses(capacity: 100_000)
        defer { table.free() }
        var model: [UInt64: [Int32]] = [:]
        for _ in 0..<20_000 {
            let list = Int.random(in: 0..<(1 << PairClasses.listBits), using: &rng)
            let identity = Int32.random(in: 0..<300, using: &rng)
            let shape = Int32.random(in: 0..<(1 << 20), using: &rng)
            let key = PairClasses.key(list: list, identity: identity, shape: shape)
            // Homes that collide often, so lookups probe past other classes.
            let home = UInt32(truncatingIfNeeded: key % 97)
            if let found = table.lookup(key, home: home) {
                #expect(Array(found) == model[key])
            } else {
                #expect(model[key] == nil)
                let filed = Self.list(key, Int.random(in: 0...30, using: &rng))
                table.insert(key, home: home, filed)
                model[key] = filed
            }
        }
        for (key, filed) in model {
            #expect(table.lookup(key, home: UInt32(truncatingIfNeeded: key % 97)).map(Array.init) == filed)
        }
        #expect(table.count == model.count)
        #expect(table.resets == 0)
    }

    @Test("keys of different lists, identities and shapes never coincide, and none is 0")
    func keysAreDistinct() {
        let keys = [
            PairClasses.key(list: 0, identity: 0, shape: 0), PairClasses.key(list: 1, identity: 0, shape: 0),
            PairClasses.key(list: 0, identity: 1, shape: 0), PairClasses.key(list: 0, identity: 0, shape: 1),
            PairClasses.key(list: (1 << PairClasses.listBits) - 1, identity: (1 << 20) - 1, shape: (1 << 20) - 1),
            PairClasses.key(list: 0, identity: (1 << 20) - 1, shape: 0),
        ]
        #expect(Set(keys).count == keys.count)
        #expect(!keys.contains(0))
    }

    @Test("a full table forgets every class, counted, and files the new one")
    func fullTableForgets() {
        var table = PairClasses(capacity: 10)
        defer { table.free() }
        for i in 0..<10 { table.insert(PairClasses.key(list: i, identity: 0, shape: 0), home: UInt32(i), [Int32(i)]) }
        #expect(table.count == 10 && table.resets == 0)
        let key = PairClasses.key(list: 99, identity: 1, shape: 2)
        table.insert(key, home: 5, Self.list(key, 20))
        #expect(table.resets == 1 && table.count == 1)
        #expect(table.lookup(PairClasses.key(list: 3, identity: 0, shape: 0), home: 3) == nil)
        #expect(table.lookup(key, home: 5).map(Array.init) == Self.list(key, 20))
        table.removeAll()
        #expect(table.count == 0 && table.resets == 2 && table.lookup(key, home: 5) == nil)
    }
}
