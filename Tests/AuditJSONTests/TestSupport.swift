import AuditJSON
import AuditTestSupport
import Testing

// Shared helpers for the AuditJSON tests: byte plumbing, a seeded PRNG, a scalar
// reference skipper and a generator of JSON-ish documents.

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Calls `body` with a pointer to `bytes` (never empty) and its count.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
    precondition(!bytes.isEmpty, "withBytes needs at least one byte")
    return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!, $0.count) }
}

/// Parses `bytes` as one JSON value (failing the test when it is not one) and calls `body`.
func withParsed<R>(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ body: (JSONValue) throws -> R
) throws -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        let value = try #require(
            JSONValue.parse(buffer), "not one JSON value: \(String(decoding: bytes.prefix(80), as: UTF8.self))",
            sourceLocation: sourceLocation)
        return try body(value)
    }
}

func withParsed<R>(
    _ text: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: (JSONValue) throws -> R
) throws -> R {
    try withParsed(utf8(text), sourceLocation: sourceLocation, body)
}

/// Whether `bytes` parse as exactly one JSON value.
func parses(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { JSONValue.parse($0) != nil }
}

/// The decoded bytes of a JSON string value.
func decodedBytes(_ value: JSONValue) -> [UInt8]? {
    value.jsonString.map { s in s.withDecodedBytes { Array($0) } }
}

/// Every value `path` reaches from `value`, decoded to text (strings unquoted, others raw).
func texts(_ value: JSONValue, _ path: String, flattenArrays: Bool = true) -> [String] {
    var out: [String] = []
    value.forEachValue(at: JSONPath(path), flattenArrays: flattenArrays) { v in
        out.append(v.string ?? String(decoding: v.rawBytes, as: UTF8.self))
        return true
    }
    return out
}

// MARK: Deterministic randomness


// MARK: Reference skipper

/// A byte-at-a-time container skipper with the same contract as
/// `JSONScanner.skipContainer`: brackets inside strings do not count, `\` escapes the
/// next byte inside a string, `}` and `]` are treated alike. Returns the offset after the
/// bracket that brings the depth back to zero, or -1.
func referenceSkipContainer(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
    var depth = 0
    var inString = false
    var i = start
    while i < end {
        let b = bytes[i]
        if inString {
            if b == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if b == UInt8(ascii: "\"") { inString = false }
        } else {
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
        }
        i += 1
    }
    return -1
}

/// `JSONScanner.skipContainer` (64-byte blocks) over `bytes[start..<end]`.
func skipContainer(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
    withBytes(bytes) { base, _ in JSONScanner.skipContainer(base, start, end) }
}

/// `JSONScanner.skimContainer` (token by token) over `bytes[start..<end]`.
func skimContainer(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
    withBytes(bytes) { base, _ in JSONScanner.skimContainer(base, start, end) }
}

/// Both container skippers must agree with each other (and with the reference, checked by
/// the callers). Returns the common answer, or records an issue and returns nil.
func bothSkippers(
    _ bytes: [UInt8], from start: Int, to end: Int, sourceLocation: SourceLocation = #_sourceLocation
) -> Int? {
    let block = skipContainer(bytes, from: start, to: end)
    let skim = skimContainer(bytes, from: start, to: end)
    guard block == skim else {
        Issue.record("skipContainer \(block) but skimContainer \(skim)", sourceLocation: sourceLocation)
        return nil
    }
    return block
}

/// Runs a `ContainerScan` over `bytes` as if they arrived `pieceSize` bytes at a time
/// (each call sees a longer buffer and `isFinal: false`, then one final call).
func resumableSkip(_ bytes: [UInt8], pieceSize: Int) -> Int {
    withBytes(bytes) { base, count in
        var scan = ContainerScan(start: 0)
        var end = 0
        while end < count {
            end = min(end + pieceSize, count)
            let r = scan.advance(base, end: end, isFinal: false)
            if r >= 0 { return r }
        }
        return scan.advance(base, end: count, isFinal: true)
    }
}

// MARK: Generator of JSON-ish documents

/// Generates structurally valid JSON (strings terminated, brackets balanced) designed to
/// stress the block skipper: strings full of brackets, escaped quotes after backslash runs
/// of every length, multi-byte UTF-8, whitespace of every kind, and occasional deep nesting.
struct JSONishGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    mutating func whitespace() -> [UInt8] {
        let set: [UInt8] = [0x20, 0x20, 0x20, 0x0A, 0x09, 0x0D]
        return (0..<int(0...3)).map { _ in set[int(0...set.count - 1)] }
    }

    mutating func string() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for _ in 0..<int(0...8) {
            switch int(0...11) {
            case 0: out += Array(repeating: UInt8(ascii: "a"), count: int(1...80))
            case 1: out += utf8("{[[")  // unbalanced brackets inside a string
            case 2: out += utf8("]}}]")
            case 3: out += utf8("\\\"")  // an escaped quote
            case 4:  // an even run of backslashes (escaped backslashes) ...
                out += Array(repeating: UInt8(ascii: "\\"), count: 2 * int(1...40))
            case 5:  // ... then an escaped quote: an odd run before the quote
                out += Array(repeating: UInt8(ascii: "\\"), count: 2 * int(0...40)) + utf8("\\\"")
            case 6: out += utf8("\\n\\t\\/\\u00e9\\ud83d\\ude00")
            case 7: out += utf8("é中😀")
            case 8: out += utf8(", : ")
            case 9: out += utf8("\\\\\\\\")  // four backslashes: two escaped ones
            case 10: out += [0x00, 0xFF, 0xC3]  // NUL and invalid UTF-8 pass through
            default: out += utf8("x")
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    mutating func scalar() -> [UInt8] {
        switch int(0...5) {
        case 0: return utf8("true")
        case 1: return utf8("false")
        case 2: return utf8("null")
        case 3: return utf8(String(int(-1_000_000...1_000_000)))
        case 4: return utf8("-12.5e+3")
        default: return string()
        }
    }

    mutating func value(depth: Int) -> [UInt8] {
        if depth > 6 || chance(35) { return scalar() }
        return container(depth: depth)
    }

    mutating func container(depth: Int) -> [UInt8] {
        if chance(3) {  // a deep chain, to cross many blocks at high depth
            let n = int(20...300)
            return Array(repeating: UInt8(ascii: "["), count: n) + scalar() + Array(repeating: UInt8(ascii: "]"), count: n)
        }
        var out: [UInt8] = []
        if chance(50) {
            out.append(UInt8(ascii: "{"))
            for k in 0..<int(0...5) {
                if k > 0 { out += whitespace() + utf8(",") }
                out += whitespace() + string() + whitespace() + utf8(":") + whitespace() + value(depth: depth + 1)
            }
            out += whitespace() + utf8("}")
        } else {
            out.append(UInt8(ascii: "["))
            for k in 0..<int(0...6) {
                if k > 0 { out += whitespace() + utf8(",") }
                out += whitespace() + value(depth: depth + 1)
            }
            out += whitespace() + utf8("]")
        }
        return out
    }
}
