import AuditJSON

/// Where a member's value sits in the buffer: two 32-bit offsets, or absent.
///
/// Events are capped far below 2 GiB, so 32-bit offsets keep the index small (it is
/// rebuilt for every event and lives on the stack). A present value never ends at
/// offset 0, so all-zero means absent and a fresh index is plain zeroed memory.
@frozen
public struct FieldSlot: Sendable {
    @usableFromInline var start: Int32 = 0
    @usableFromInline var end: Int32 = 0

    @inlinable public init() {}

    @inlinable var isPresent: Bool { end > 0 }

    @inlinable @inline(__always)
    mutating func set(_ v: JSONValue) -> Bool {
        let wasSet = end > 0
        start = Int32(truncatingIfNeeded: v.start)
        end = Int32(truncatingIfNeeded: v.end)
        return wasSet
    }

    @inlinable @inline(__always)
    func value(_ base: UnsafePointer<UInt8>) -> JSONValue? {
        end > 0 ? JSONValue(base: base, start: Int(start), end: Int(end)) : nil
    }
}

/// Decodes an escaped key into a small stack buffer and hands it to `body`; keys longer
/// than 64 decoded bytes are not envelope keys, so they are reported as empty.
@inlinable
func withDecodedKey<R>(_ key: JSONString, _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    if !key.hasEscapes { return body(key.base + key.start, key.rawCount) }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { tmp in
        var decoder = JSONUnescaper(key)
        var n = 0
        while let b = decoder.next() {
            if n == 64 { return body(tmp.baseAddress!, 0) }  // Safe: capacity 64.
            tmp[n] = b
            n += 1
        }
        return body(tmp.baseAddress!, n)  // Safe: capacity 64.
    }
}
