// The transformation modifiers: base64, base64offset, utf16 encodings and windash. They run
// once, at compile time, on `SigmaPattern`s.

enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 (RFC 4648, `+/`, `=` padding).
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return out
    }

    /// The three fragments of `base64offset`: the part of the base64 text that is the same
    /// wherever `bytes` sit in a longer encoded input, for each of the three alignments
    /// (the value preceded by 0, 1 or 2 bytes). This is pySigma's computation:
    /// `b64encode(i * b" " + value)[(0, 2, 3)[i] : (None, -3, -2)[(len + i) % 3]]`, with `len`
    /// the byte length (pySigma uses the character count, which differs for non-ASCII text).
    /// Empty fragments (one-byte values at offset 1) are dropped: matching them would
    /// match everything.
    static func offsetFragments(_ bytes: [UInt8]) -> [[UInt8]] {
        let startOffsets = [0, 2, 3]
        let endTrims = [0, 3, 2]
        var fragments: [[UInt8]] = []
        for shift in 0..<3 {
            let encoded = encode(Array(repeating: UInt8(ascii: " "), count: shift) + bytes)
            let start = startOffsets[shift]
            let end = encoded.count - endTrims[(bytes.count + shift) % 3]
            if end > start { fragments.append(Array(encoded[start..<end])) }
        }
        return fragments
    }
}

enum UTF16Encoding {
    case littleEndian, bigEndian, littleEndianWithBOM

    /// Re-encodes the literal bytes (UTF-8) of `pattern` as UTF-16, keeping wildcards in
    /// place (as pySigma does). `utf16` puts the byte order mark FF FE first.
    func apply(_ pattern: SigmaPattern) -> SigmaPattern {
        var out: [PatternAtom] = []
        var run: [UInt8] = []
        func flush() {
            guard !run.isEmpty else { return }
            for unit in String(decoding: run, as: UTF8.self).utf16 {
                let low = PatternAtom.byte(UInt8(truncatingIfNeeded: unit))
                let high = PatternAtom.byte(UInt8(truncatingIfNeeded: unit >> 8))
                if self == .bigEndian {
                    out.append(high)
                    out.append(low)
                } else {
                    out.append(low)
                    out.append(high)
                }
            }
            run.removeAll()
        }
        for atom in pattern.atoms {
            if case .byte(let b) = atom {
                run.append(b)
            } else {
                flush()
                out.append(atom)
            }
        }
        flush()
        if self == .littleEndianWithBOM { out.insert(contentsOf: [.byte(0xFF), .byte(0xFE)], at: 0) }
        return SigmaPattern(atoms: out, forceCased: pattern.forceCased)
    }
}

enum WindowsDash {
    /// The characters `windash` substitutes for one another: `-`, `/`, en dash, em dash,
    /// horizontal bar.
    static let variants: [[UInt8]] = [
        Array("-".utf8), Array("/".utf8), Array("\u{2013}".utf8), Array("\u{2014}".utf8), Array("\u{2015}".utf8),
    ]

    /// At most this many variants per value (5 per dash: up to five dashes).
    static let maximumVariants = 3125

    /// Every variant of `pattern` with each command-line-flag dash replaced by each of the
    /// five characters. As in pySigma (`\B[-/]\b`), only a dash that starts a flag counts:
    /// one at the start of the value or after a non-word character, and followed by a word
    /// character (a letter, digit or `_`; wildcards count as non-word characters). So
    /// ` -exec` and `C:/x` vary, but `a-b` and the second slash of `C:/x/y` do not.
    /// - Returns: nil when there would be more than `maximumVariants`.
    static func expand(_ pattern: SigmaPattern) -> [SigmaPattern]? {
        let atoms = pattern.atoms
        // Find flag dashes: (start index, atom count).
        var sites: [(start: Int, length: Int)] = []
        var i = 0
        while i < atoms.count {
            if let length = dashLength(atoms, at: i),
                !isWordCharacter(before: i, in: atoms), isWordCharacter(at: i + length, in: atoms)
            {
                sites.append((i, length))
                i += length
            } else {
                i += 1
            }
        }
        var total = 1
        for _ in sites {
            total *= variants.count
            if total > maximumVariants { return nil }
        }
        var results: [SigmaPattern] = []
        results.reserveCapacity(total)
        for combination in 0..<total {
            var out: [PatternAtom] = []
            var c = combination
            var last = 0
            for site in sites {
                out.append(contentsOf: atoms[last..<site.start])
                out.append(contentsOf: variants[c % variants.count].map { .byte($0) })
                c /= variants.count
                last = site.start + site.length
            }
            out.append(contentsOf: atoms[last...])
            results.append(SigmaPattern(atoms: out, forceCased: pattern.forceCased))
        }
        return results
    }

    /// The number of atoms of the dash at `i`, if one starts there.
    private static func dashLength(_ atoms: [PatternAtom], at i: Int) -> Int? {
        guard case .byte(let b) = atoms[i] else { return nil }
        if b == UInt8(ascii: "-") || b == UInt8(ascii: "/") { return 1 }
        if b == 0xE2, i + 2 < atoms.count, atoms[i + 1] == .byte(0x80),
            case .byte(let c) = atoms[i + 2], c >= 0x93 && c <= 0x95
        {
            return 3
        }
        return nil
    }

    /// Whether the character starting at atom `i` is a word character.
    private static func isWordCharacter(at i: Int, in atoms: [PatternAtom]) -> Bool {
        guard i < atoms.count, case .byte(let b) = atoms[i] else { return false }
        if b < 0x80 { return isASCIIWord(b) }
        // Decode the scalar from the following bytes.
        var bytes: [UInt8] = [b]
        var j = i + 1
        while j < atoms.count, case .byte(let c) = atoms[j], isContinuation(c) {
            bytes.append(c)
            j += 1
        }
        return isWordScalar(bytes)
    }

    /// Whether the character ending just before atom `i` is a word character.
    private static func isWordCharacter(before i: Int, in atoms: [PatternAtom]) -> Bool {
        guard i > 0, case .byte(let b) = atoms[i - 1] else { return false }
        if b < 0x80 { return isASCIIWord(b) }
        var bytes: [UInt8] = [b]
        var j = i - 1
        while isContinuation(bytes[0]), j > 0, case .byte(let c) = atoms[j - 1] {
            bytes.insert(c, at: 0)
            j -= 1
        }
        return isWordScalar(bytes)
    }

    private static func isASCIIWord(_ b: UInt8) -> Bool {
        ASCIIFold.isLetter(b) || b &- UInt8(ascii: "0") < 10 || b == UInt8(ascii: "_")
    }

    private static func isWordScalar(_ bytes: [UInt8]) -> Bool {
        guard let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first else { return false }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}
