import CAuditSIMD

/// Low-level skipping primitives over borrowed bytes.
///
/// Every function takes the buffer's base pointer, a start offset and an exclusive end
/// offset, and returns the offset just past what it skipped, or `-1` when the input
/// ends before the value does (or the value is malformed). They never read at or past `end`.
public enum JSONScanner {
    /// Skips spaces, tabs, carriage returns and newlines.
    @inlinable @inline(__always)
    public static func skipWhitespace(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i
        while j < end && ASCII.isWhitespace(base[j]) { j &+= 1 }
        return j
    }

    /// Skips a string whose opening quote is at `i`.
    /// - Returns: the offset after the closing quote, or -1 if the string is unterminated.
    @inlinable @inline(__always)
    public static func skipString(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var escaped = false
        return skipString(base, i, end, sawEscape: &escaped)
    }

    /// Skips a string and reports whether it contains a backslash escape.
    ///
    /// The loop looks at 16 bytes at a time for a quote or a backslash (SSE2), which made
    /// the whole scanner about 5x faster than a byte loop.
    ///
    /// A string with many escapes (a script, a JSON or YAML document inside a ConfigMap
    /// value: `\"` and `\n` every few bytes) cost a pass of that loop per escape; from its
    /// second escape on, a string is read 64 bytes per step instead (`skipEscapedString`).
    @inlinable @inline(__always)
    public static func skipString(
        _ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int, sawEscape: inout Bool
    ) -> Int {
        var j = i &+ 1
        while true {
            if j &+ 16 <= end {
                let m = kaudit_quote_or_backslash16(base + j)
                if m == 0 {
                    j &+= 16
                    continue
                }
                let k = j &+ m.trailingZeroBitCount
                if base[k] == ASCII.quote { return k &+ 1 }
                if sawEscape { return skipEscapedString(base, k, end) }
                sawEscape = true
                j = k &+ 2
                continue
            }
            if j >= end { return -1 }
            let b = base[j]
            if b == ASCII.quote { return j &+ 1 }
            if b == ASCII.backslash {
                sawEscape = true
                j &+= 2
            } else {
                j &+= 1
            }
        }
    }

    /// Skips the rest of a string from `i`, which lies inside it and not just after a
    /// backslash, 64 bytes per step: the quotes that no odd run of backslashes escapes
    /// (`escapes(_:carry:)`), the first of which ends the string. Returns the offset after
    /// it, or -1 if the string is unterminated.
    ///
    /// Out of line: inlined into every caller of `skipString`, it slowed the reader's loops
    /// over the envelope (parse alone 3% slower on the 1 GiB corpus).
    @usableFromInline @inline(never)
    static func skipEscapedString(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i
        var carry: UInt64 = 0
        while j &+ 64 <= end {
            let m = kaudit_block64(base + j)
            let quotes = m.quote & ~escapes(m.backslash, carry: &carry)
            if quotes != 0 { return j &+ quotes.trailingZeroBitCount &+ 1 }
            j &+= 64
        }
        if carry != 0 { j &+= 1 }  // the byte a backslash at the block's end escapes
        while j < end {
            let b = base[j]
            if b == ASCII.quote { return j &+ 1 }
            j &+= b == ASCII.backslash ? 2 : 1
        }
        return -1
    }

    /// The bytes of a 64-byte block that backslashes escape, given its backslashes: the byte
    /// after each odd-length run of them (the runs' parities found with one addition, as in
    /// simdjson's stage 1). `carry` says whether the byte before the block was an unpaired
    /// backslash, and is set for the next block.
    @inlinable @inline(__always)
    public static func escapes(_ backslashes: UInt64, carry: inout UInt64) -> UInt64 {
        let even: UInt64 = 0x5555_5555_5555_5555
        let backslash = backslashes & ~carry
        let followsEscape = (backslash << 1) | carry
        let oddStarts = backslash & ~even & ~followsEscape
        let (sequencesOnEven, overflow) = oddStarts.addingReportingOverflow(backslash)
        carry = overflow ? 1 : 0
        return (even ^ (sequencesOnEven << 1)) & followsEscape
    }

    /// Whether `[i, end)` contains a backslash (16 bytes per step).
    ///
    /// Offsets are relative to the start of the buffer, so bytes at offsets >= 0 are
    /// readable: a short string is checked with one 16-byte load that ends where it ends.
    @inlinable @inline(__always)
    public static func containsBackslash(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Bool {
        let n = end &- i
        if n <= 16 && end >= 16 {
            let m = kaudit_eq16(base + (end &- 16), ASCII.backslash)
            return (m >> UInt32(16 &- n)) != 0
        }
        var j = i
        while j &+ 16 <= end {
            if kaudit_eq16(base + j, ASCII.backslash) != 0 { return true }
            j &+= 16
        }
        if j < end && end >= 16 {
            let m = kaudit_eq16(base + (end &- 16), ASCII.backslash)
            return (m >> UInt32(16 &- (end &- j))) != 0
        }
        while j < end {
            if base[j] == ASCII.backslash { return true }
            j &+= 1
        }
        return false
    }

    /// Skips a number or a literal (`true`, `false`, `null`) starting at `i`.
    ///
    /// Numbers are not validated or converted here (a 200,000-digit number is skipped in
    /// linear time); literals must be spelled right.
    @inlinable @inline(__always)
    public static func skipScalar(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let first = base[i]
        switch first {
        case UInt8(ascii: "t"):
            return i &+ 4 <= end && base[i + 1] == UInt8(ascii: "r") && base[i + 2] == UInt8(ascii: "u")
                && base[i + 3] == UInt8(ascii: "e") ? i &+ 4 : -1
        case UInt8(ascii: "f"):
            return i &+ 5 <= end && base[i + 1] == UInt8(ascii: "a") && base[i + 2] == UInt8(ascii: "l")
                && base[i + 3] == UInt8(ascii: "s") && base[i + 4] == UInt8(ascii: "e") ? i &+ 5 : -1
        case UInt8(ascii: "n"):
            return i &+ 4 <= end && base[i + 1] == UInt8(ascii: "u") && base[i + 2] == UInt8(ascii: "l")
                && base[i + 3] == UInt8(ascii: "l") ? i &+ 4 : -1
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var j = i &+ 1
            while j < end {
                let b = base[j]
                // digits, '.', 'e', 'E', '+', '-'
                if (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".")
                    || b | 0x20 == UInt8(ascii: "e") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
                {
                    j &+= 1
                } else {
                    break
                }
            }
            return j
        default:
            return -1
        }
    }

    /// Skips any JSON value starting at `i` (which must not be whitespace).
    ///
    /// Containers are skimmed token by token (`skimContainer`) for their first `skimLimit`
    /// bytes, which is fastest for the small objects of the audit envelope; use
    /// `skipContainer` for large bodies.
    @inlinable
    public static func skipValue(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int, skimLimit: Int = skimLimit) -> Int {
        guard i < end else { return -1 }
        switch base[i] {
        case ASCII.quote: return skipString(base, i, end)
        case ASCII.openBrace, ASCII.openBracket: return skimContainer(base, i, end, skimLimit: skimLimit)
        default: return skipScalar(base, i, end)
        }
    }

    /// Skips an object or array by jumping from one quote or bracket to the next (16 bytes
    /// at a time) and skipping strings whole. Cheaper than `skipContainer` for containers
    /// of a few hundred bytes; `skipContainer` wins on large, string-dense bodies, so a
    /// container still open `skimLimit` bytes in is finished by a `ContainerScan` (a pod
    /// spec, a response body's `managedFields`).
    /// Depth is a counter, so nesting costs no stack.
    ///
    /// In compact JSON the byte after a string or a bracket is almost always the next token
    /// (`,` `:` `"` `}` `]` `{` `[`), so it is looked at directly; the 16-byte search runs
    /// only over numbers, literals and whitespace.
    @inlinable
    public static func skimContainer(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int, skimLimit: Int = skimLimit) -> Int {
        var depth = 0
        var j = i
        while true {
            guard j < end else { return -1 }
            if j &- i > skimLimit {
                // Between tokens, outside any string: the block scan goes on from here.
                var scan = ContainerScan(start: j, depth: depth)
                return scan.advance(base, end: end, isFinal: true)
            }
            var c = base[j]
            if c == ASCII.comma || c == ASCII.colon {
                j &+= 1
                guard j < end else { return -1 }
                c = base[j]
            }
            if c == ASCII.quote {
                j = skipString(base, j, end)
                if j < 0 { return -1 }
                continue
            }
            if c | 0x20 == ASCII.openBrace {
                depth &+= 1
                j &+= 1
                continue
            }
            if c | 0x20 == ASCII.closeBrace {
                depth &-= 1
                if depth <= 0 { return j &+ 1 }
                j &+= 1
                continue
            }
            // A number, a literal or whitespace: search for the next quote or bracket.
            var k: Int
            if j &+ 16 <= end {
                let m = kaudit_structural16(base + j)
                if m == 0 {
                    j &+= 16
                    continue
                }
                k = j &+ m.trailingZeroBitCount
            } else {
                k = j
                while k < end {
                    let f = base[k] | 0x20
                    if base[k] == ASCII.quote || f == ASCII.openBrace || f == ASCII.closeBrace { break }
                    k &+= 1
                }
                if k >= end { return -1 }
            }
            j = k
        }
    }

    /// How far `skimContainer` goes before it hands a container to `ContainerScan`: for the
    /// envelope's objects (the reader's indexing).
    @inlinable public static var skimLimit: Int { 384 }

    /// The same for values inside bodies (`JSONMembers`, `JSONElements`: the rules' walks
    /// through pod specs, ConfigMap data, workload templates). Over every container of the
    /// 1 GiB corpus's pod creations (`Benchmarks/container-skip`), the block scan beat token
    /// skimming from 64 bytes up (30 against 48 ns for 64 to 255 bytes, 82 against 190 for
    /// 256 to 1,023) and the two were even below; judging pod creations took 4.2 against
    /// 5.0 µs each (session 37). The reader keeps `skimLimit`: with 64 it was 1–2% slower.
    @inlinable public static var bodySkimLimit: Int { 64 }

    /// Skips an object or array whose opening bracket is at `i`.
    /// - Complexity: O(n) over 64-byte blocks, independent of nesting depth.
    @inlinable
    public static func skipContainer(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var scan = ContainerScan(start: i)
        return scan.advance(base, end: end, isFinal: true)
    }
}

/// A resumable skip over one object or array, 64 bytes at a time.
///
/// State carried between blocks (and between calls, when bytes arrive in pieces):
/// the nesting depth, whether the previous block ended inside a string, and whether
/// it ended on an unpaired backslash. The escape and in-string logic follows simdjson's
/// stage 1 (odd-length backslash runs; prefix-XOR of unescaped quotes).
public struct ContainerScan: Sendable {
    /// Offset of the next byte not yet examined.
    public var position: Int
    @usableFromInline var depth: Int = 0
    @usableFromInline var prevInString: UInt64 = 0
    @usableFromInline var prevEscaped: UInt64 = 0

    /// Below this many bytes the inlined SSE2 loop is cheaper than a call into C.
    @usableFromInline static var vectorThreshold: Int { 512 }

    /// Starts a scan at the container's opening bracket.
    @inlinable public init(start: Int) { self.position = start }

    /// Goes on with a container `depth` brackets deep at `position`, which lies between
    /// tokens (outside any string).
    @inlinable init(start position: Int, depth: Int) {
        self.position = position
        self.depth = depth
    }

    /// Shifts the scan's offsets after the caller moved its buffer contents by `-delta` bytes.
    public mutating func rebase(by delta: Int) { position -= delta }

    /// Examines bytes from `position` up to `end`.
    ///
    /// - Parameter isFinal: when false, only whole 64-byte blocks are consumed and the rest
    ///   waits for more bytes; when true, the tail is examined too.
    /// - Returns: the offset after the closing bracket, or -1 if it is not within `end` yet.
    @inlinable
    public mutating func advance(_ base: UnsafePointer<UInt8>, end: Int, isFinal: Bool) -> Int {
        if end &- position >= Self.vectorThreshold {
            // Large bodies: whole blocks with AVX2 in C when the CPU has it (one call per
            // body; the inlined SSE2 loop below finishes the rest).
            var st = kaudit_container_state(depth: depth, prev_escaped: prevEscaped, prev_in_string: prevInString)
            let r = kaudit_skip_container_blocks(base + position, end &- position, &st)
            if r >= 0 { return position &+ r }
            position &+= -(r &+ 1)
            depth = st.depth
            prevEscaped = st.prev_escaped
            prevInString = st.prev_in_string
        }
        while position &+ 64 <= end {
            let hit = processBlock(kaudit_block64(base + position))
            if hit >= 0 { return position &+ hit &+ 1 }
            position &+= 64
        }
        guard isFinal, position < end else { return -1 }
        // The last partial block: copy it into 64 bytes padded with spaces (which match no mask).
        let count = end &- position
        let hit = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { tmp -> Int in
            let t = tmp.baseAddress!  // Safe because capacity is 64 > 0.
            t.initialize(repeating: ASCII.space, count: 64)
            t.update(from: base + position, count: count)
            return processBlock(kaudit_block64(t))
        }
        if hit >= 0 { return position &+ hit &+ 1 }
        position = end
        return -1
    }

    /// Finds the closing bracket within one block; returns its bit index or -1.
    @inlinable @inline(__always)
    mutating func processBlock(_ m: kaudit_block_masks) -> Int {
        let quotes = m.quote & ~JSONScanner.escapes(m.backslash, carry: &prevEscaped)
        var inString = quotes
        inString ^= inString << 1
        inString ^= inString << 2
        inString ^= inString << 4
        inString ^= inString << 8
        inString ^= inString << 16
        inString ^= inString << 32
        inString ^= prevInString
        prevInString = UInt64(bitPattern: Int64(bitPattern: inString) >> 63)
        let opens = m.open & ~inString
        let closes = m.close & ~inString
        let closeCount = closes.nonzeroBitCount
        if depth > closeCount {
            depth = depth &+ opens.nonzeroBitCount &- closeCount
            return -1
        }
        var bits = opens | closes
        while bits != 0 {
            let t = bits.trailingZeroBitCount
            if (opens >> UInt64(t)) & 1 != 0 {
                depth &+= 1
            } else {
                depth &-= 1
                if depth <= 0 { return t }
            }
            bits &= bits &- 1
        }
        return -1
    }
}

/// Steps through the members of an object whose end is not known yet, without closures,
/// so that a caller's loop keeps its state in registers.
///
/// ```swift
/// var cursor = JSONObjectCursor(base, open: start, end: end)
/// while let key = cursor.nextKey() {
///     let valueEnd = JSONScanner.skipValue(base, cursor.position, end)  // or index it
///     guard cursor.valueEnded(at: valueEnd) else { break }
/// }
/// // cursor.closedAt: offset after the closing brace, or -1 (see cursor.failure)
/// ```
@frozen
public struct JSONObjectCursor {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let end: Int
    /// After `nextKey()` returned a key: the offset of the member's value.
    public var position: Int
    @usableFromInline var first = true
    /// Offset just past the closing `}` once iteration ended cleanly, else -1.
    public var closedAt = -1
    /// Where the object stopped making sense, when it did (else -1).
    public var failure = -1

    /// Starts at the object's `{` at offset `open`; nothing at or after `end` is read.
    @inlinable
    public init(_ base: UnsafePointer<UInt8>, open: Int, end: Int) {
        self.base = base
        self.end = end
        self.position = open &+ 1
    }

    @inlinable @inline(__always)
    mutating func fail(_ at: Int) -> JSONString? {
        failure = at
        return nil
    }

    /// Reads the next member's key and colon. Returns nil at the closing brace (setting
    /// `closedAt`) or at malformed input (setting `failure`).
    @inlinable @inline(__always)
    public mutating func nextKey() -> JSONString? {
        var j = position
        // Compact JSON (what the apiserver writes): `,"` right after the previous value.
        if !first && j &+ 1 < end && base[j] == ASCII.comma && base[j &+ 1] == ASCII.quote {
            j &+= 1
        } else {
            if j < end && ASCII.isWhitespace(base[j]) { j = JSONScanner.skipWhitespace(base, j, end) }
            guard j < end else { return fail(j) }
            var c = base[j]
            if c == ASCII.closeBrace {
                closedAt = j &+ 1
                return nil
            }
            if !first {
                guard c == ASCII.comma else { return fail(j) }
                j &+= 1
                if j < end && ASCII.isWhitespace(base[j]) { j = JSONScanner.skipWhitespace(base, j, end) }
                guard j < end else { return fail(j) }
                c = base[j]
            }
            first = false
            guard c == ASCII.quote else { return fail(j) }
        }
        var escaped = false
        let keyEnd = JSONScanner.skipString(base, j, end, sawEscape: &escaped)
        guard keyEnd > 0 else { return fail(j) }
        var k = keyEnd
        if k < end && base[k] != ASCII.colon { k = JSONScanner.skipWhitespace(base, k, end) }
        guard k < end, base[k] == ASCII.colon else { return fail(k) }
        k &+= 1
        if k < end && ASCII.isWhitespace(base[k]) { k = JSONScanner.skipWhitespace(base, k, end) }
        guard k < end else { return fail(k) }
        position = k
        return JSONString(base: base, start: j &+ 1, end: keyEnd &- 1, hasEscapes: escaped)
    }

    /// Records where the current member's value ended (-1 or no progress: malformed).
    @inlinable @inline(__always)
    public mutating func valueEnded(at valueEnd: Int) -> Bool {
        guard valueEnd > position else {
            failure = position
            return false
        }
        position = valueEnd
        return true
    }
}

extension JSONScanner {
    /// Walks the members of the object whose `{` is at `i`, without knowing where it ends.
    ///
    /// For each member, `body` gets the key and the offset of the value's first byte, and
    /// returns the offset just past the value (having skipped or indexed it as it likes),
    /// or -1 if the value is malformed.
    /// - Returns: the offset after the closing `}`, or -1 with `failure` set to where the
    ///   object stopped making sense.
    @inlinable @inline(__always)
    public static func walkObject(
        _ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int, failure: inout Int,
        _ body: (JSONString, Int) -> Int
    ) -> Int {
        var cursor = JSONObjectCursor(base, open: i, end: end)
        while let key = cursor.nextKey() {
            guard cursor.valueEnded(at: body(key, cursor.position)) else { break }
        }
        if cursor.closedAt < 0 { failure = cursor.failure }
        return cursor.closedAt
    }
}
