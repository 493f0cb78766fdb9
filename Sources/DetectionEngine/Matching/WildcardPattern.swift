// Sigma string values: parsing wildcards and escapes, the modifier-level representation
// (`SigmaPattern`), and the compiled form matched against bytes (`WildcardPattern`).

/// One element of a Sigma string value: a literal byte or a wildcard.
enum PatternAtom: Hashable, Sendable {
    case byte(UInt8)
    /// `?`: exactly one character (one UTF-8 encoded scalar).
    case one
    /// `*`: any run of bytes, empty included.
    case any
}

/// A Sigma string value after wildcard parsing, while modifiers transform it.
struct SigmaPattern: Hashable, Sendable {
    var atoms: [PatternAtom]
    /// Set for patterns that must match case-sensitively whatever the rule says (base64 text).
    var forceCased = false

    /// Parses a Sigma string: `*` and `?` are wildcards; a backslash escapes `*`, `?` and
    /// itself; a backslash before anything else (or at the end) is a plain backslash. So
    /// `\\*` is a backslash followed by a wildcard, and `\\\*` or `\\\\` hold two plain
    /// characters, as the specification's "Escape Character" section lays out.
    init(sigma text: String) {
        var atoms: [PatternAtom] = []
        let bytes = Array(text.utf8)
        atoms.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "*"):
                atoms.append(.any)
            case UInt8(ascii: "?"):
                atoms.append(.one)
            case UInt8(ascii: "\\"):
                if i + 1 < bytes.count,
                    bytes[i + 1] == UInt8(ascii: "*") || bytes[i + 1] == UInt8(ascii: "?")
                        || bytes[i + 1] == UInt8(ascii: "\\")
                {
                    atoms.append(.byte(bytes[i + 1]))
                    i += 1
                } else {
                    atoms.append(.byte(b))
                }
            default:
                atoms.append(.byte(b))
            }
            i += 1
        }
        self.atoms = atoms
    }

    /// A pattern matching exactly `bytes` (no wildcards).
    init(literal bytes: [UInt8], forceCased: Bool = false) {
        atoms = bytes.map { .byte($0) }
        self.forceCased = forceCased
    }

    init(atoms: [PatternAtom], forceCased: Bool) {
        self.atoms = atoms
        self.forceCased = forceCased
    }

    var hasWildcards: Bool { atoms.contains { $0 == .any || $0 == .one } }

    /// The literal bytes, when the pattern has no wildcards.
    var literalBytes: [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(atoms.count)
        for a in atoms {
            guard case .byte(let b) = a else { return nil }
            out.append(b)
        }
        return out
    }

    mutating func ensureLeadingAny() {
        if atoms.first != .any { atoms.insert(.any, at: 0) }
    }

    mutating func ensureTrailingAny() {
        if atoms.last != .any { atoms.append(.any) }
    }
}

/// The four shapes of a wildcard pattern with a single literal and no `?`.
enum LiteralShape: UInt8, Sendable {
    case exact, prefix, suffix, contains
}

/// Whether `value` matches the literal `p[0..<m]` placed as `shape` says (`literal`,
/// `literal*`, `*literal`, `*literal*`). With `fold`, `p` must be lowered.
@inline(__always)
func literalMatches(
    _ shape: LiteralShape, _ p: UnsafePointer<UInt8>, _ m: Int, anchor: Int, _ value: UnsafeBufferPointer<UInt8>,
    fold: Bool
) -> Bool {
    let n = value.count
    switch shape {
    case .exact:
        guard n == m else { return false }
        guard m > 0, let v = value.baseAddress else { return true }
        return bytesMatch(v, p, m, fold: fold)
    case .prefix:
        guard n >= m else { return false }
        guard m > 0, let v = value.baseAddress else { return true }
        return bytesMatch(v, p, m, fold: fold)
    case .suffix:
        guard n >= m else { return false }
        guard m > 0, let v = value.baseAddress else { return true }
        return bytesMatch(v + (n - m), p, m, fold: fold)
    case .contains:
        guard n >= m else { return false }
        guard m > 0, let v = value.baseAddress else { return true }
        return firstOccurrence(
            of: UnsafeBufferPointer(start: p, count: m), anchor: anchor, in: v, from: 0, to: n, fold: fold) >= 0
    }
}

/// A compiled wildcard pattern: a fast path for the common shapes, a segment matcher for
/// the rest. Matching never allocates.
struct WildcardPattern: Sendable {
    enum Shape: Sendable {
        /// No wildcard: the whole value equals `literal`.
        case exact
        /// `literal*`
        case prefix
        /// `*literal`
        case suffix
        /// `*literal*`
        case contains
        /// Only `*`s: matches every value.
        case anything
        /// Anything else: `segments` separated by `*`s.
        case glob
    }

    /// A run between two `*`s: literal bytes, with `?` at the positions flagged in `isOne`.
    struct Segment: Sendable {
        /// Literal bytes (lowered when folding); 0 where `isOne` is set.
        var bytes: [UInt8]
        var isOne: [Bool]
        var hasOne: Bool
        /// The offset of the least common byte, where searches start (no `?` only).
        var anchor = 0
    }

    let shape: Shape
    /// Folding ASCII case (the Sigma default) or comparing bytes exactly (`cased`).
    let fold: Bool
    /// The literal of the four literal shapes (lowered when folding).
    let literal: [UInt8]
    /// The offset of the literal's least common byte (for `contains`).
    let anchor: Int
    let segments: [Segment]
    let leadingAny: Bool
    let trailingAny: Bool

    init(_ pattern: SigmaPattern, cased: Bool) {
        let fold = !(cased || pattern.forceCased)
        self.fold = fold
        // Split at runs of `*`.
        var segments: [Segment] = []
        var current = Segment(bytes: [], isOne: [], hasOne: false)
        var leadingAny = false
        var trailingAny = false
        var sawAny = false
        for (k, atom) in pattern.atoms.enumerated() {
            switch atom {
            case .any:
                if k == 0 { leadingAny = true }
                if k == pattern.atoms.count - 1 { trailingAny = true }
                if !current.bytes.isEmpty {
                    if !current.hasOne { current.anchor = rareByteOffset(current.bytes) }
                    segments.append(current)
                }
                current = Segment(bytes: [], isOne: [], hasOne: false)
                sawAny = true
            case .one:
                current.bytes.append(0)
                current.isOne.append(true)
                current.hasOne = true
            case .byte(let b):
                current.bytes.append(fold ? ASCIIFold.lower(b) : b)
                current.isOne.append(false)
            }
        }
        if !current.bytes.isEmpty || !sawAny {
            if !current.hasOne { current.anchor = rareByteOffset(current.bytes) }
            segments.append(current)
        }
        self.leadingAny = leadingAny
        self.trailingAny = trailingAny
        self.segments = segments

        let plain = segments.count == 1 && !segments[0].hasOne
        if segments.isEmpty {
            shape = .anything
            literal = []
        } else if plain && !sawAny {
            shape = .exact
            literal = segments[0].bytes
        } else if plain && leadingAny && trailingAny {
            shape = .contains
            literal = segments[0].bytes
        } else if plain && trailingAny {
            shape = .prefix
            literal = segments[0].bytes
        } else if plain && leadingAny {
            shape = .suffix
            literal = segments[0].bytes
        } else {
            shape = .glob
            literal = []
        }
        anchor = literal.isEmpty ? 0 : rareByteOffset(literal)
    }

    /// Whether the pattern matches every value (`*`).
    var matchesEverything: Bool { shape == .anything }

    /// Whether the pattern matches the whole of `value`.
    func matches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case .anything:
            return true
        case .glob:
            return globMatches(value)
        case .exact, .prefix, .suffix, .contains:
            return literal.withUnsafeBufferPointer { lit in
                // An empty array may have no base address; an empty literal is never read.
                var dummy: UInt8 = 0
                return withUnsafePointer(to: &dummy) { d in
                    literalMatches(literalShape!, lit.baseAddress ?? d, lit.count, anchor: anchor, value, fold: fold)
                }
            }
        }
    }

    /// The shape as a `LiteralShape` (nil for `anything` and `glob`).
    var literalShape: LiteralShape? {
        switch shape {
        case .exact: return .exact
        case .prefix: return .prefix
        case .suffix: return .suffix
        case .contains: return .contains
        case .anything, .glob: return nil
        }
    }

    // MARK: General patterns

    /// Segments between `*`s are matched greedily: the first one anchored at the start
    /// (unless the pattern starts with `*`), the last one anchored at the end (unless it
    /// ends with `*`), each one in between at its leftmost occurrence after the previous
    /// one. A segment matches at a given offset in at most one way (`?` takes exactly one
    /// character), so the leftmost occurrence always leaves the most room for the rest:
    /// no backtracking is needed, and the cost is at most (value length x segment length).
    private func globMatches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        // An empty buffer may have no base address: match against a one-byte dummy.
        guard let v = value.baseAddress else {
            var dummy: UInt8 = 0
            return withUnsafePointer(to: &dummy) { globMatches(base: $0, count: 0) }
        }
        return globMatches(base: v, count: value.count)
    }

    private func globMatches(base v: UnsafePointer<UInt8>, count n: Int) -> Bool {
        var lo = 0
        var hi = n
        var first = 0
        var last = segments.count - 1
        if !leadingAny {
            let e = matchForward(segments[0], v, at: 0, limit: n)
            guard e >= 0 else { return false }
            if segments.count == 1 && !trailingAny { return e == n }
            lo = e
            first = 1
        }
        if !trailingAny && first <= last {
            let s = matchBackward(segments[last], v, endingAt: n)
            guard s >= lo else { return false }
            hi = s
            last -= 1
        }
        if first <= last {
            for k in first...last {
                let segment = segments[k]
                var found = -1
                if !segment.hasOne {
                    let at = segment.bytes.withUnsafeBufferPointer {
                        firstOccurrence(of: $0, anchor: segment.anchor, in: v, from: lo, to: hi, fold: fold)
                    }
                    guard at >= 0 else { return false }
                    lo = at + segment.bytes.count
                    continue
                }
                var i = lo
                while i + segment.bytes.count <= hi {  // a segment needs at least one byte per atom
                    let e = matchForward(segment, v, at: i, limit: hi)
                    if e >= 0 {
                        found = e
                        break
                    }
                    i += 1
                }
                guard found >= 0 else { return false }
                lo = found
            }
        }
        return true
    }

    /// Matches `segment` at offset `i`, not reading at or past `limit`.
    /// - Returns: the offset after the match, or -1.
    private func matchForward(_ segment: Segment, _ v: UnsafePointer<UInt8>, at i: Int, limit: Int) -> Int {
        let count = segment.bytes.count
        if !segment.hasOne {
            guard limit - i >= count else { return -1 }
            let ok = segment.bytes.withUnsafeBufferPointer { bytesMatch(v + i, $0.baseAddress!, count, fold: fold) }
            return ok ? i + count : -1
        }
        var j = i
        for k in 0..<count {
            guard j < limit else { return -1 }
            if segment.isOne[k] {
                j = nextCharacter(v, j, limit)
            } else {
                let b = fold ? ASCIIFold.lower(v[j]) : v[j]
                guard b == segment.bytes[k] else { return -1 }
                j += 1
            }
        }
        return j
    }

    /// Matches `segment` so that it ends exactly at `end`.
    /// - Returns: the offset where the match starts, or -1.
    private func matchBackward(_ segment: Segment, _ v: UnsafePointer<UInt8>, endingAt end: Int) -> Int {
        let count = segment.bytes.count
        if !segment.hasOne {
            guard end >= count else { return -1 }
            let ok = segment.bytes.withUnsafeBufferPointer {
                bytesMatch(v + (end - count), $0.baseAddress!, count, fold: fold)
            }
            return ok ? end - count : -1
        }
        var j = end
        for k in stride(from: count - 1, through: 0, by: -1) {
            guard j > 0 else { return -1 }
            if segment.isOne[k] {
                j = previousCharacter(v, j)
            } else {
                j -= 1
                let b = fold ? ASCIIFold.lower(v[j]) : v[j]
                guard b == segment.bytes[k] else { return -1 }
            }
        }
        return j
    }
}
