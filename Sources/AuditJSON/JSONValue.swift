/// The type of a JSON value, read from its first byte.
public enum JSONKind: Sendable, Equatable {
    case object, array, string, number, bool, null, invalid
}

/// A JSON value as a byte range of borrowed memory.
///
/// A `JSONValue` is valid only while the bytes it points into are; it never owns or copies
/// them. Accessors scan on demand: looking up a member walks the object's members comparing
/// raw key bytes and skipping the other values.
@frozen
public struct JSONValue {
    /// The buffer the value lives in.
    public let base: UnsafePointer<UInt8>
    /// Offset of the value's first byte.
    public let start: Int
    /// Offset one past the value's last byte.
    public let end: Int

    @inlinable @inline(__always)
    public init(base: UnsafePointer<UInt8>, start: Int, end: Int) {
        self.base = base
        self.start = start
        self.end = end
    }

    /// Parses the single JSON value that fills `bytes` (surrounding whitespace allowed).
    /// - Returns: nil when the bytes hold no complete value or hold trailing garbage.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        guard let base = bytes.baseAddress else { return nil }
        let end = bytes.count
        let s = JSONScanner.skipWhitespace(base, 0, end)
        guard s < end else { return nil }
        let e = JSONScanner.skipValue(base, s, end)
        guard e > s, JSONScanner.skipWhitespace(base, e, end) == end else { return nil }
        return JSONValue(base: base, start: s, end: e)
    }

    @inlinable
    public var kind: JSONKind {
        guard start < end else { return .invalid }
        switch base[start] {
        case ASCII.openBrace: return .object
        case ASCII.openBracket: return .array
        case ASCII.quote: return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return .invalid
        }
    }

    /// The raw bytes of the value, exactly as in the input (strings keep their quotes).
    @inlinable
    public var rawBytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + start, count: end - start)
    }

    /// Number of raw bytes.
    @inlinable public var byteCount: Int { end - start }

    // MARK: Objects

    /// The members of an object, in document order (empty for non-objects).
    @inlinable
    public var members: JSONMembers { JSONMembers(self) }

    /// The elements of an array, in document order (empty for non-arrays).
    @inlinable
    public var elements: JSONElements { JSONElements(self) }

    /// Looks up an object member by key. With duplicate keys the last one wins.
    @inlinable
    public subscript(key: StaticString) -> JSONValue? {
        guard kind == .object else { return nil }
        var found: JSONValue?
        var it = members
        while let m = it.next() {
            if m.key.equals(key) { found = m.value }
        }
        return found
    }

    /// Looks up an object member by raw key bytes. With duplicate keys the last one wins.
    public func member(_ key: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        guard kind == .object else { return nil }
        var found: JSONValue?
        var it = members
        while let m = it.next() {
            if m.key.equals(key) { found = m.value }
        }
        return found
    }

    /// Looks up an object member by key given as a String (cold path: tests, tools).
    public subscript(key: String) -> JSONValue? {
        var k = key
        return k.withUTF8 { member($0) }
    }

    // MARK: Scalars

    /// True for `true`, false for `false`, nil otherwise.
    @inlinable
    public var bool: Bool? {
        guard start < end else { return nil }
        if base[start] == UInt8(ascii: "t") && end - start == 4 { return true }
        if base[start] == UInt8(ascii: "f") && end - start == 5 { return false }
        return nil
    }

    /// The value as an integer, when it is a JSON integer that fits in 64 bits.
    @inlinable
    public var int64: Int64? {
        guard kind == .number else { return nil }
        var i = start
        var negative = false
        if base[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < end else { return nil }
        var value: Int64 = 0
        while i < end {
            let d = base[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        return value
    }

    /// The value as a Double (`1e999999` gives infinity). Cold path: it builds a String.
    public var double: Double? {
        guard kind == .number else { return nil }
        return Double(String(decoding: rawBytes, as: UTF8.self))
    }

    /// True for `null`.
    @inlinable public var isNull: Bool { kind == .null }
}

/// One object member: its key and its value.
@frozen
public struct JSONMember {
    public let key: JSONString
    public let value: JSONValue

    @inlinable
    public init(key: JSONString, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// Iterates the members of an object without allocating.
///
/// When the object is malformed iteration stops early and `failed` is set.
@frozen
public struct JSONMembers: IteratorProtocol, Sequence {
    @usableFromInline var cursor: JSONObjectCursor
    @usableFromInline var done: Bool

    /// Set when iteration stopped at malformed input instead of the closing brace.
    public var failed: Bool { cursor.failure >= 0 }
    /// Offset where the malformed input was found.
    public var failureOffset: Int { Swift.max(cursor.failure, 0) }

    @inlinable
    init(_ object: JSONValue) {
        cursor = JSONObjectCursor(object.base, open: object.start, end: object.end)
        done = object.kind != .object
    }

    @inlinable
    public mutating func next() -> JSONMember? {
        guard !done, let key = cursor.nextKey() else {
            done = true
            return nil
        }
        let valueStart = cursor.position
        let valueEnd = JSONScanner.skipValue(cursor.base, valueStart, cursor.end, skimLimit: JSONScanner.bodySkimLimit)
        guard cursor.valueEnded(at: valueEnd) else {
            done = true
            return nil
        }
        return JSONMember(key: key, value: JSONValue(base: cursor.base, start: valueStart, end: valueEnd))
    }
}

/// Iterates the elements of an array without allocating.
@frozen
public struct JSONElements: IteratorProtocol, Sequence {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline var i: Int
    @usableFromInline let end: Int
    @usableFromInline var first = true
    /// Set when iteration stopped at malformed input instead of the closing bracket.
    public var failed = false

    @inlinable
    init(_ array: JSONValue) {
        base = array.base
        if array.kind == .array {
            i = array.start + 1
            end = array.end - 1
        } else {
            i = 0
            end = 0
        }
    }

    @inlinable
    public mutating func next() -> JSONValue? {
        var j = JSONScanner.skipWhitespace(base, i, end)
        guard j < end else { return nil }
        if !first {
            guard base[j] == ASCII.comma else {
                failed = true
                i = end
                return nil
            }
            j = JSONScanner.skipWhitespace(base, j + 1, end)
        }
        first = false
        let e = JSONScanner.skipValue(base, j, end, skimLimit: JSONScanner.bodySkimLimit)
        guard e > j else {
            failed = true
            i = end
            return nil
        }
        i = e
        return JSONValue(base: base, start: j, end: e)
    }
}
