import AuditJSON
import CAuditSIMD

/// A compiled Sigma field condition: the values and modifier chain of one
/// `field|mod1|mod2: values` entry, applied to the JSON values of audit events.
///
/// Compile once per rule with `init(values:modifiers:)`, then call `matches` per event
/// value. For arrays the engine calls `matches` per element ("any element matches").
/// Matching a plain or wildcard string never allocates: it runs on the JSON string's raw
/// bytes when it has no escapes, otherwise on bytes decoded into a temporary buffer (on
/// the stack unless the string is very long). Only regular expressions build a `String`.
/// A matcher is immutable and can be shared across threads.
///
/// Semantics (the Sigma specification and its modifiers appendix, v2.1.0; decisions where
/// the specification is silent are marked "decided"):
///
/// - **Strings** match the whole value, case-insensitively. `*` matches any run of
///   characters, `?` exactly one character (one UTF-8 encoded Unicode scalar, not one byte:
///   `é` precomposed is one, `e` + combining accent two); a backslash escapes `*`, `?` and
///   itself, and is a plain backslash before anything else (`\\*` is a backslash then a
///   wildcard, `\\\*` a backslash then a star).
///   Decided: case folding is ASCII only (`A`-`Z`), on the UTF-8 bytes; `É` and `é` differ.
/// - **A list of values** is an OR; with `all`, an AND. Decided: `all` on a single value is
///   accepted (the specification discourages it; the meaning is the same).
/// - **What a string is matched against** (decided): a JSON string's decoded contents; a
///   JSON number's raw text (`'403'` and `'40*'` match `403`; `'403'` does not match
///   `403.0`); the raw text `true`/`false` of a JSON boolean. A JSON null never matches a
///   string. An object or array value (the field is a container) only matches a pattern
///   made of `*` alone, which is how rules write "the field is present with any value"
///   (`hostPath: '*'` in the SigmaHQ Kubernetes rules).
/// - **Numbers** (decided, after pySigma's lenient backends): a rule number matches a JSON
///   number of equal value (`403` matches `403`, `403.0` and `4.03e2`) and a JSON string
///   whose whole contents read as a decimal number of equal value (`"403"`, `"0403"`).
/// - **Booleans** (decided): `true` matches JSON `true` and the strings `"true"`/`"TRUE"`
///   (ASCII case-insensitive); likewise `false`.
/// - **null** matches JSON `null` only, and may not be listed with other values (the
///   specification forbids it). A missing field is the engine's business: the Elastic and
///   Splunk backends treat `field: null` as "null or absent", and the engine should too.
/// - **`contains`, `startswith`, `endswith`** add `*` around / after / before the value
///   (not twice); wildcards inside still work. Applied to a rule number, they use its text.
/// - **`cased`**: compare string bytes exactly (numbers and booleans are unaffected).
/// - **`neq`** (decided): negates the field condition's result on a present value
///   (`matches` is true when no value matches; with `all`, when not all do). Exposed as `isNegated` so the engine can
///   apply it to arrays as "no element matches" (every element `matches`) and decide about
///   absent fields.
/// - **`exists`**: takes one boolean and no other modifier. It is about presence, which only
///   the engine can see: it reads `existsCheck`. On a present value (null included, per the
///   specification) `matches` returns the `existsCheck` flag.
/// - **`gt`, `gte`, `lt`, `lte`**: numeric values only; compared with JSON numbers and with
///   numeric strings as above. Integers compare exactly, mixed values as Doubles.
/// - **`re`** (+ `i`, `m`, `s`): a Swift `Regex` on the value's text (strings decoded,
///   numbers and booleans raw), unanchored (a search), with Unicode-scalar semantics (`.`
///   is one scalar, as in PCRE's UTF mode). Case-sensitive unless `i`. `re` takes the value
///   exactly as written (no Sigma wildcards or escapes), so it combines with no string
///   modifier (`contains`, `base64`, `cased`, ...) in either order; `all` and `neq` combine
///   with it. `i`, `m` and `s` must follow `re`.
/// - **`cidr`**: IPv4 and IPv6 ranges (a bare address is a single-address range; host bits
///   are ignored). Only JSON strings holding an address can match. Decided: an IPv4-mapped
///   IPv6 address (`::ffff:10.1.2.3`) is the IPv4 address; IPv6 ranges never hold IPv4
///   addresses (`::/0` does not match `10.1.2.3`) unless written in the mapped space with a
///   prefix >= 96, as in Go's `net.IPNet`.
/// - **`base64`, `base64offset`**: encode the value's UTF-8 bytes (the three shifted
///   fragments for `base64offset`, computed as pySigma does); a value with wildcards is an
///   error. Decided: the encoded text is matched case-sensitively whatever else the rule
///   says (base64 is case-significant), and empty `base64offset` fragments are dropped.
/// - **`wide`/`utf16le`, `utf16be`, `utf16`**: re-encode the literal parts as UTF-16
///   (keeping wildcards; `utf16` puts the byte order mark FF FE first). Mostly useful before
///   `base64offset`.
/// - **`windash`**: every variant with each flag dash (`-`, `/`, en dash, em dash,
///   horizontal bar at the start of a word, as pySigma's `\B[-/]\b`) replaced by each of the
///   five (at most five such dashes per value).
/// - **Modifier chains** apply in the order written, as in pySigma: `base64offset|contains`
///   encodes then wraps in `*`; `contains|base64` is an error (wildcards cannot be encoded).
/// - **Errors**: unknown modifiers, modifiers used on the wrong kind of value, invalid
///   regular expressions and CIDRs. `expand` and `fieldref` are rejected here: the engine
///   resolves them before compiling a matcher. The time modifiers (`minute`, `hour`, `day`,
///   `week`, `month`, `year`) are not supported.
public final class ValueMatcher: Sendable {
    /// The compiled values, group after group (plain data: evaluating copies nothing).
    let tests: [ValueTest]
    /// With `all`, where each group ends in `tests`: AND over the groups, OR within one.
    /// Empty when `tests` is a single OR group.
    let groupEnds: [Int]
    /// The literals of the `.literal` tests, back to back (plus a padding byte, so the
    /// storage always has an address).
    let literalBytes: [UInt8]
    /// Patterns of the general shape, referenced by index from `.glob` tests.
    let globs: [WildcardPattern]
    /// Regular expressions, referenced by index from `.regex` tests.
    let regexes: [RegexTest]
    /// CIDR ranges, referenced by index from `.cidr` tests.
    let cidrs: [CIDRRange]

    /// For `exists`: whether the field must be present (`true`) or absent (`false`).
    /// nil for every other field condition.
    public let existsCheck: Bool?

    /// Whether `neq` negates the result.
    public let isNegated: Bool

    /// The values, lowered, when the condition is an OR of plain strings without wildcards
    /// matched case-insensitively (no modifier but possibly `all` with one value): what an
    /// index of exact field values (verb, resource) can be built from. nil otherwise.
    public let exactLowercasedStrings: [String]?

    /// Compiles one Sigma field condition.
    /// - Parameters:
    ///   - values: the rule's values for the field (one, or the list's elements).
    ///   - modifiers: the modifier chain after the field name, in order (`["contains", "all"]`).
    public init(values: [SigmaValue], modifiers: [String]) throws(MatcherError) {
        guard !values.isEmpty else { throw MatcherError("a field condition needs at least one value") }
        let plan = try ModifierPlan(modifiers)
        isNegated = plan.negated
        if plan.mode == .exists {
            guard values.count == 1, case .bool(let flag) = values[0] else {
                throw MatcherError("'exists' takes a single boolean value (true or false), not \(Self.list(values))")
            }
            existsCheck = flag
            exactLowercasedStrings = nil
            tests = []
            groupEnds = []
            literalBytes = [0]
            globs = []
            regexes = []
            cidrs = []
            containsBigrams = nil
            containsKeys = []
            containsShifts = []
            containsWindow = 0
            containsAnchors = []
            anchorsFold = false
            return
        }
        let (groups, exact) = try Self.compileGroups(values, plan)
        existsCheck = nil
        exactLowercasedStrings = exact

        // Lower the groups into flat storage.
        var tests: [ValueTest] = []
        var groupEnds: [Int] = []
        var literalBytes: [UInt8] = []
        var globs: [WildcardPattern] = []
        var regexes: [RegexTest] = []
        var cidrs: [CIDRRange] = []
        for group in groups {
            for value in group {
                switch value {
                case .pattern(let p):
                    if let shape = p.literalShape {
                        let start = literalBytes.count
                        let count = p.literal.count
                        tests.append(.literal(shape, fold: p.fold, start: start, count: count, anchor: p.anchor))
                        literalBytes += p.literal
                    } else if p.matchesEverything {
                        tests.append(.anything)
                    } else {
                        tests.append(.glob(globs.count))
                        globs.append(p)
                    }
                case .regex(let r):
                    tests.append(.regex(regexes.count))
                    regexes.append(r)
                case .number(let n): tests.append(.number(n))
                case .bool(let b): tests.append(.bool(b))
                case .null: tests.append(.null)
                case .cidr(let c):
                    tests.append(.cidr(cidrs.count))
                    cidrs.append(c)
                case .compare(let op, let n): tests.append(.compare(op, n))
                }
            }
            if plan.all { groupEnds.append(tests.count) }
        }
        literalBytes.append(0)
        self.tests = tests
        self.groupEnds = groupEnds
        self.literalBytes = literalBytes
        self.globs = globs
        self.regexes = regexes
        self.cidrs = cidrs
        containsBigrams = Self.bigramFilter(tests, groupEnds, literalBytes)
        containsKeys = containsBigrams == nil ? [] : Self.bigramKeys(tests, literalBytes)
        let shifts = containsBigrams == nil ? ([], 0) : Self.shiftTable(tests, literalBytes)
        containsShifts = shifts.0
        containsWindow = shifts.1
        let anchors = containsBigrams == nil ? nil : Self.anchors(tests, literalBytes)
        containsAnchors = anchors?.bytes ?? []
        anchorsFold = anchors?.fold ?? false
    }

    /// For `containsBigrams`' matchers whose literals are all at least three bytes long and
    /// begin with at most `KAUDIT_MAX_ANCHORS` distinct three-byte prefixes (a rule's keyword
    /// list): those prefixes, with bit 0x20 set on each byte when any literal folds case.
    /// A value of `anchorScanMinimum` bytes or more is searched for them with SIMD
    /// (`kaudit_find_anchor3`), and the literals are compared only where one occurs. Empty
    /// when it does not apply.
    let containsAnchors: [UInt8]
    let anchorsFold: Bool
    static let anchorScanMinimum = 64

    private static func anchors(_ tests: [ValueTest], _ literals: [UInt8]) -> (bytes: [UInt8], fold: Bool)? {
        var fold = false
        for t in tests {
            guard case .literal(.contains, let f, _, let count, _) = t, count >= 3 else { return nil }
            fold = fold || f
        }
        var seen = Set<[UInt8]>()
        var bytes: [UInt8] = []
        for t in tests {
            guard case .literal(_, _, let start, _, _) = t else { continue }
            let prefix = literals[start..<(start + 3)].map { fold ? $0 | 0x20 : $0 }
            if seen.insert(prefix).inserted { bytes += prefix }
        }
        guard seen.count <= Int(KAUDIT_MAX_ANCHORS) else { return nil }
        return (bytes, fold)
    }

    /// `anyLiteral` for a long value, from the positions where an anchor occurs. Out of line:
    /// inlined, it kept `evaluate` from inlining the per-value tests of every other matcher.
    @inline(never)
    private func anyLiteralAnchored(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let v = bytes.baseAddress else { return false }
        let n = bytes.count
        let count = Int32(containsAnchors.count / 3)
        let fold: Int32 = anchorsFold ? 1 : 0
        return containsAnchors.withUnsafeBufferPointer { anchors in
            containsKeys.withUnsafeBufferPointer { keys in
                tests.withUnsafeBufferPointer { tests in
                    literalBytes.withUnsafeBufferPointer { l in
                        let literals = l.baseAddress!
                        var i = kaudit_find_anchor3(v, n, 0, anchors.baseAddress, count, fold)
                        while i < n {
                            if Self.literalStarts(at: i, v, n, keys, tests, literals) { return true }
                            i = kaudit_find_anchor3(v, n, i + 1, anchors.baseAddress, count, fold)
                        }
                        return false
                    }
                }
            }
        }
    }

    /// For an OR of several `contains` literals (a list of suspicious substrings): a bit per
    /// (byte, next byte) that begins one of them, ASCII letters lowered. A value in which no
    /// adjacent pair of bytes has its bit set contains none of the literals, which one pass
    /// over the value tells, instead of one search per literal. nil when it does not apply.
    let containsBigrams: [UInt64]?

    private static func bigramFilter(_ tests: [ValueTest], _ groupEnds: [Int], _ literals: [UInt8]) -> [UInt64]? {
        guard groupEnds.isEmpty, tests.count >= 3 else { return nil }
        var bits = [UInt64](repeating: 0, count: 1024)
        for t in tests {
            guard case .literal(.contains, _, let start, let count, _) = t, count >= 2 else { return nil }
            for a in [ASCIIFold.lower(literals[start]), ASCIIFold.upper(literals[start])] {
                for b in [ASCIIFold.lower(literals[start + 1]), ASCIIFold.upper(literals[start + 1])] {
                    let k = Int(a) << 8 | Int(b)
                    bits[k >> 6] |= 1 << UInt64(k & 63)
                }
            }
        }
        return bits
    }

    /// Per test of `containsBigrams`' matchers: the literal's first two bytes, ASCII lowered.
    let containsKeys: [UInt16]

    private static func bigramKeys(_ tests: [ValueTest], _ literals: [UInt8]) -> [UInt16] {
        tests.map { t in
            guard case .literal(_, _, let start, let count, _) = t, count >= 2 else { return 0 }
            return UInt16(ASCIIFold.lower(literals[start])) << 8 | UInt16(ASCIIFold.lower(literals[start + 1]))
        }
    }

    /// For `containsBigrams`' matchers whose literals are all at least `minShiftWindow` bytes
    /// long (keyword lists searched through whole events): how far the end of a window of
    /// `containsWindow` bytes (the shortest literal's length) may jump, per hashed pair of
    /// bytes ending it (Wu-Manber), so a long value is skipped several bytes at a time
    /// instead of examined at every byte. Empty when it does not apply.
    let containsShifts: [UInt8]
    let containsWindow: Int
    static let minShiftWindow = 4
    static let shiftTableSize = 4096

    /// The hashed pair of bytes that indexes `containsShifts`. Bit 0x20 is set on both
    /// instead of folding case: ASCII letters of either case hash alike, in one instruction
    /// a byte. Other bytes that differ only in that bit (`@` and `` ` ``) share slots too,
    /// which can only shorten a jump (a slot keeps the smallest shift of its pairs), never
    /// skip a match.
    @inline(__always)
    static func shiftSlot(_ a: UInt8, _ b: UInt8) -> Int {
        (Int(a | 0x20) << 4 ^ Int(b | 0x20)) & (shiftTableSize - 1)
    }

    /// A pair ending at position `j` of a literal's first `window` bytes lets the window's
    /// end move `window - 1 - j` bytes; pairs in no literal move it `window - 1`.
    static func shiftTable(_ tests: [ValueTest], _ literals: [UInt8]) -> ([UInt8], Int) {
        var window = Int.max
        for t in tests {
            guard case .literal(_, _, _, let count, _) = t else { return ([], 0) }
            window = min(window, count)
        }
        guard window >= minShiftWindow, window < 256 else { return ([], 0) }
        var shifts = [UInt8](repeating: UInt8(window - 1), count: shiftTableSize)
        for t in tests {
            guard case .literal(_, _, let start, _, _) = t else { continue }
            for j in 1..<window {
                let slot = shiftSlot(literals[start + j - 1], literals[start + j])
                shifts[slot] = min(shifts[slot], UInt8(window - 1 - j))
            }
        }
        return (shifts, window)
    }

    /// `anyLiteral` with the window jumps of `containsShifts`: the same answer, since a
    /// window is skipped only when no literal can start in the bytes jumped over.
    @inline(__always)
    private static func anyLiteralSkipping(
        _ bytes: UnsafeBufferPointer<UInt8>, _ shifts: UnsafeBufferPointer<UInt8>, _ window: Int,
        _ keys: UnsafeBufferPointer<UInt16>, _ tests: UnsafeBufferPointer<ValueTest>, _ literals: UnsafePointer<UInt8>
    ) -> Bool {
        let n = bytes.count
        guard n >= window, let v = bytes.baseAddress else { return false }
        var end = window - 1
        while end < n {
            let shift = Int(shifts[shiftSlot(v[end - 1], v[end])])
            if shift > 0 {
                end += shift
                continue
            }
            if literalStarts(at: end - (window - 1), v, n, keys, tests, literals) { return true }
            end += 1
        }
        return false
    }

    /// Whether any of the `contains` literals occurs in `bytes`, in one pass: at each
    /// position whose pair of bytes begins some literal (the bigram bits), only the
    /// literals beginning with that pair are compared there. The same answer as searching
    /// for each literal in turn, without one scan of the value per literal.
    @inline(__always)
    private static func anyLiteral(
        _ bytes: UnsafeBufferPointer<UInt8>, _ bits: UnsafeBufferPointer<UInt64>, _ keys: UnsafeBufferPointer<UInt16>,
        _ tests: UnsafeBufferPointer<ValueTest>, _ literals: UnsafePointer<UInt8>
    ) -> Bool {
        guard bytes.count >= 2, let v = bytes.baseAddress else { return false }
        let n = bytes.count
        var i = 0
        while i < n - 1 {
            let k = Int(v[i]) << 8 | Int(v[i + 1])
            if bits[k >> 6] & (1 << UInt64(k & 63)) != 0 && literalStarts(at: i, v, n, keys, tests, literals) { return true }
            i += 1
        }
        return false
    }

    /// Whether one of the literals whose first two bytes (`keys`) are those at `i` starts
    /// there (the value is `v[0..<n]`, at least two bytes from `i` on).
    @inline(__always)
    private static func literalStarts(
        at i: Int, _ v: UnsafePointer<UInt8>, _ n: Int, _ keys: UnsafeBufferPointer<UInt16>,
        _ tests: UnsafeBufferPointer<ValueTest>, _ literals: UnsafePointer<UInt8>
    ) -> Bool {
        let key = UInt16(ASCIIFold.lower(v[i])) << 8 | UInt16(ASCIIFold.lower(v[i + 1]))
        for j in 0..<keys.count where keys[j] == key {
            guard case .literal(_, let fold, let start, let count, _) = tests[j] else { continue }
            if i + count <= n && bytesMatch(v + i, literals + start, count, fold: fold) { return true }
        }
        return false
    }

    /// Compiles the values into groups (one per rule value; several alternatives when a
    /// modifier expands a value) and, when they qualify, the exact strings for indexing.
    private static func compileGroups(
        _ values: [SigmaValue], _ plan: ModifierPlan
    ) throws(MatcherError) -> ([[CompiledValue]], [String]?) {
        var groups: [[CompiledValue]] = []
        var exact: [String]? = nil
        switch plan.mode {
        case .exists:
            preconditionFailure("exists has no values to compile")

        case .compare(let op):
            for value in values {
                guard let n = number(value) else {
                    throw MatcherError("'\(op.rawValue)' compares with numbers, not \(value.typeName) (\(value))")
                }
                groups.append([.compare(op, n)])
            }

        case .cidr:
            for value in values {
                guard case .string(let text) = value else {
                    throw MatcherError("'cidr' takes CIDR ranges as strings, not \(value.typeName) (\(value))")
                }
                guard let range = CIDRRange(text) else { throw MatcherError("invalid CIDR range '\(text)'") }
                groups.append([.cidr(range)])
            }

        case .regex:
            for value in values {
                guard case .string(let text) = value else {
                    throw MatcherError("'re' takes regular expressions as strings, not \(value.typeName) (\(value))")
                }
                groups.append([.regex(try RegexTest(text, flags: plan.regexFlags))])
            }

        case .plain:
            if values.count > 1 && values.contains(.null) {
                throw MatcherError("null cannot be listed with other values (Sigma: give it its own selection)")
            }
            if plan.transforms.isEmpty {
                var literals: [String]? = plan.cased ? nil : []
                for value in values {
                    switch value {
                    case .string(let text):
                        let pattern = SigmaPattern(sigma: text)
                        groups.append([.pattern(WildcardPattern(pattern, cased: plan.cased))])
                        if let bytes = pattern.literalBytes {
                            literals?.append(String(decoding: ASCIIFold.lowered(bytes), as: UTF8.self))
                        } else {
                            literals = nil
                        }
                    case .int, .double:
                        guard let n = number(value) else { throw MatcherError("the number \(value) is not finite") }
                        groups.append([.number(n)])
                        literals = nil
                    case .bool(let b):
                        groups.append([.bool(b)])
                        literals = nil
                    case .null:
                        groups.append([.null])
                        literals = nil
                    }
                }
                if !plan.negated && (!plan.all || values.count == 1) { exact = literals }
            } else {
                for value in values {
                    var patterns: [SigmaPattern]
                    switch value {
                    case .string(let text):
                        patterns = [SigmaPattern(sigma: text)]
                    case .int, .double:
                        guard let n = number(value) else { throw MatcherError("the number \(value) is not finite") }
                        patterns = [SigmaPattern(literal: Array(n.text.utf8))]
                    case .bool, .null:
                        throw MatcherError(
                            "'\(plan.transforms[0].name)' applies to strings (and numbers), not \(value.typeName)")
                    }
                    for step in plan.transforms {
                        var next: [SigmaPattern] = []
                        for p in patterns { next.append(contentsOf: try step.transform.apply(p, name: step.name)) }
                        patterns = next
                    }
                    var seen = Set<SigmaPattern>()
                    var group: [CompiledValue] = []
                    for p in patterns where seen.insert(p).inserted {
                        group.append(.pattern(WildcardPattern(p, cased: plan.cased)))
                    }
                    groups.append(group)
                }
            }
        }
        return (groups, exact)
    }

    /// The number of alternatives in each group (one group unless `all`), for tests.
    var groupSizes: [Int] {
        guard !groupEnds.isEmpty else { return [tests.count] }
        var start = 0
        return groupEnds.map { end in
            defer { start = end }
            return end - start
        }
    }

    // MARK: Matching

    /// Whether the present value `value` satisfies the condition (see the type's notes;
    /// for `exists` this is the `existsCheck` flag). An invalid value never matches.
    public func matches(_ value: JSONValue) -> Bool {
        if let existsCheck { return existsCheck }
        switch value.kind {
        case .string:
            guard let s = value.jsonString else { return false }
            if !s.hasEscapes {
                return evaluate(.string, s.rawBytes) != isNegated
            }
            return s.withDecodedBytes { evaluate(.string, $0) } != isNegated
        case .number:
            return evaluate(.number, value.rawBytes) != isNegated
        case .bool:
            guard let b = value.bool else { return false }
            return evaluate(.bool(b), value.rawBytes) != isNegated
        case .null:
            return evaluate(.null, value.rawBytes) != isNegated
        case .object, .array:
            return evaluate(.container, value.rawBytes) != isNegated
        case .invalid:
            return false
        }
    }

    /// Whether a string value, given as its decoded UTF-8 bytes, satisfies the condition
    /// (for values the engine derives itself, such as a URL-decoded exec command).
    public func matches(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if let existsCheck { return existsCheck }
        return evaluate(.string, bytes) != isNegated
    }

    /// Whether the string `text` satisfies the condition (cold path: tests, tools).
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(utf8: $0) }
    }

    private func evaluate(_ kind: SubjectKind, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if !containsAnchors.isEmpty, bytes.count >= Self.anchorScanMinimum, kind == .string || kind == .number {
            return anyLiteralAnchored(bytes)
        }
        return tests.withUnsafeBufferPointer { t in
            literalBytes.withUnsafeBufferPointer { l in
                let literals = l.baseAddress!
                if groupEnds.isEmpty {
                    if containsWindow > 0, kind == .string || kind == .number {
                        return containsShifts.withUnsafeBufferPointer { shifts in
                            containsKeys.withUnsafeBufferPointer { keys in
                                Self.anyLiteralSkipping(bytes, shifts, containsWindow, keys, t, literals)
                            }
                        }
                    }
                    if let containsBigrams, kind == .string || kind == .number {
                        return containsBigrams.withUnsafeBufferPointer { bits in
                            containsKeys.withUnsafeBufferPointer { keys in
                                Self.anyLiteral(bytes, bits, keys, t, literals)
                            }
                        }
                    }
                    for i in 0..<t.count where test(t[i], kind, bytes, literals) { return true }
                    return false
                }
                var start = 0
                for end in groupEnds {
                    var matched = false
                    var i = start
                    while i < end {
                        if test(t[i], kind, bytes, literals) {
                            matched = true
                            break
                        }
                        i += 1
                    }
                    if !matched { return false }
                    start = end
                }
                return true
            }
        }
    }

    /// With `all` over several values: the groups (one per rule value) that `value`
    /// satisfies, as bits (group i is bit i; at most 64 groups are tracked). Lets the engine
    /// apply `all` across a multi-valued field: every rule value matched by some element.
    public func matchedGroups(_ value: FieldValueBytes) -> UInt64 {
        let kind: SubjectKind
        let bytes: UnsafeBufferPointer<UInt8>
        switch value {
        case .string(let b):
            kind = .string
            bytes = b
        case .number(let b):
            kind = .number
            bytes = b
        }
        var mask: UInt64 = 0
        tests.withUnsafeBufferPointer { t in
            literalBytes.withUnsafeBufferPointer { l in
                let literals = l.baseAddress!
                var start = 0
                for (g, end) in groupEnds.prefix(64).enumerated() {
                    var i = start
                    while i < end {
                        if test(t[i], kind, bytes, literals) {
                            mask |= 1 << UInt64(g)
                            break
                        }
                        i += 1
                    }
                    start = end
                }
            }
        }
        return mask
    }

    /// Whether evaluating runs a regular expression (costly: the engine tries such tests last).
    public var usesRegex: Bool { !regexes.isEmpty }

    /// Number of AND groups (`all` over several values), 1 otherwise.
    public var allGroupCount: Int { groupEnds.isEmpty ? 1 : groupEnds.count }

    /// A string's decoded bytes or a number's text, for `matchedGroups`.
    public enum FieldValueBytes {
        case string(UnsafeBufferPointer<UInt8>)
        case number(UnsafeBufferPointer<UInt8>)
    }

    @inline(__always)
    private func test(
        _ t: ValueTest, _ kind: SubjectKind, _ bytes: UnsafeBufferPointer<UInt8>, _ literals: UnsafePointer<UInt8>
    ) -> Bool {
        switch t {
        case .literal(let shape, let fold, let start, let count, let anchor):
            switch kind {
            case .string, .number, .bool:
                return literalMatches(shape, literals + start, count, anchor: anchor, bytes, fold: fold)
            case .null, .container: return false
            }
        case .anything:
            return kind != .null
        case .glob(let index):
            switch kind {
            case .string, .number, .bool: return matchGlob(index, bytes)
            case .null, .container: return false
            }
        case .number(let n):
            guard kind == .string || kind == .number, let v = NumberValue.parse(bytes) else { return false }
            return NumberValue.compare(v, n) == 0
        case .bool(let b):
            switch kind {
            case .bool(let v): return v == b
            case .string: return Self.isBooleanText(bytes, b)
            default: return false
            }
        case .null:
            return kind == .null
        case .regex(let index):
            switch kind {
            case .string, .number, .bool: return regexes[index].matches(bytes)
            case .null, .container: return false
            }
        case .cidr(let index):
            guard kind == .string, let address = IPAddress.parse(bytes) else { return false }
            return cidrs[index].contains(address)
        case .compare(let op, let n):
            guard kind == .string || kind == .number, let v = NumberValue.parse(bytes) else { return false }
            return op.holds(NumberValue.compare(v, n))
        }
    }

    @inline(never)
    private func matchGlob(_ index: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        globs[index].matches(bytes)
    }

    /// Whether `bytes` spell `true` or `false` (whichever `value` is), ignoring ASCII case.
    private static func isBooleanText(_ bytes: UnsafeBufferPointer<UInt8>, _ value: Bool) -> Bool {
        let word: StaticString = value ? "true" : "false"
        guard bytes.count == word.utf8CodeUnitCount, let v = bytes.baseAddress else { return false }
        return bytesMatch(v, word.utf8Start, bytes.count, fold: true)
    }

    // MARK: Helpers

    private static func number(_ value: SigmaValue) -> NumberValue? {
        switch value {
        case .int(let i): return .int(i)
        case .double(let d): return d.isFinite ? .double(d) : nil
        default: return nil
        }
    }

    private static func list(_ values: [SigmaValue]) -> String {
        values.count == 1 ? values[0].description : "[" + values.map(\.description).joined(separator: ", ") + "]"
    }
}

// MARK: - Tests on one value

/// What a value is, for the tests that treat kinds differently.
enum SubjectKind: Equatable {
    /// Decoded string contents.
    case string
    /// A JSON number's raw text.
    case number
    /// A JSON boolean (the bytes are its raw text).
    case bool(Bool)
    case null
    /// An object or an array.
    case container
}

/// One compiled value, as built: what `ValueMatcher` lowers into `ValueTest`s.
enum CompiledValue {
    case pattern(WildcardPattern)
    case number(NumberValue)
    case bool(Bool)
    case null
    case regex(RegexTest)
    case cidr(CIDRRange)
    case compare(NumericComparison, NumberValue)
}

/// One compiled value of a field condition, as plain data (patterns and regular
/// expressions live in the matcher's side tables).
enum ValueTest: Sendable {
    /// A pattern with one literal and no `?`: `literalBytes[start..<start+count]`.
    case literal(LiteralShape, fold: Bool, start: Int, count: Int, anchor: Int)
    /// `*`: any present value but null.
    case anything
    /// A general wildcard pattern: `globs[index]`.
    case glob(Int)
    case number(NumberValue)
    case bool(Bool)
    case null
    /// `regexes[index]`
    case regex(Int)
    /// `cidrs[index]`
    case cidr(Int)
    case compare(NumericComparison, NumberValue)
}

/// A compiled `re` value. A class: `Regex` comes from a resilient library, so a struct
/// holding one has a size known only at run time, which would cost every evaluation
/// (inlined or not) a metadata lookup and a stack allocation.
final class RegexTest: @unchecked Sendable {
    // `Regex<AnyRegexOutput>` is not declared Sendable (because of AnyRegexOutput's
    // captures). Shared read-only use is safe here: the regex is immutable after `init`,
    // which also forces its lazily lowered program, and matches return only a Bool.
    let pattern: String
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, flags: RegexFlags) throws(MatcherError) {
        var regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw MatcherError("invalid regular expression '\(pattern)': \(error)")
        }
        regex = regex.matchingSemantics(.unicodeScalar)
        if flags.ignoreCase { regex = regex.ignoresCase() }
        if flags.multiline { regex = regex.anchorsMatchLineEndings() }
        if flags.dotAll { regex = regex.dotMatchesNewlines() }
        self.pattern = pattern
        self.regex = regex
        // With `m`, `^` also matches after every line break: no prefix is required then.
        requiredPrefix = flags.multiline ? [] : Self.literalPrefix(pattern)
        foldPrefix = flags.ignoreCase
        // Regex lowers its program lazily on first use: do it now, once, rather than in the
        // first (possibly concurrent) match.
        _ = try? regex.firstMatch(in: "")
    }

    /// For a pattern anchored with `^` and starting with literal characters (and no
    /// top-level `|`): those characters. A value that does not start with them cannot match,
    /// which is found without building a String or running the regex.
    let requiredPrefix: [UInt8]
    let foldPrefix: Bool

    static func literalPrefix(_ pattern: String) -> [UInt8] {
        let p = Array(pattern.utf8)
        guard p.first == UInt8(ascii: "^") else { return [] }
        var depth = 0
        var escaped = false
        for c in p.dropFirst() {
            if escaped {
                escaped = false
                continue
            }
            if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: ")") || c == UInt8(ascii: "]") {
                depth -= 1
            } else if c == UInt8(ascii: "|") && depth == 0 {
                return []
            }
        }
        var prefix: [UInt8] = []
        var i = 1
        let special = Set("[](){}.*+?|^$".utf8)
        while i < p.count {
            var c = p[i]
            var width = 1
            if c == UInt8(ascii: "\\") {
                guard i + 1 < p.count else { break }
                let n = p[i + 1]
                // Only escaped punctuation is a literal; \d, \w, \s... are classes.
                guard !((n >= 0x30 && n <= 0x39) || (n | 0x20 >= 0x61 && n | 0x20 <= 0x7A)) else { break }
                c = n
                width = 2
            } else if special.contains(c) || c >= 0x80 {
                break
            }
            // A quantifier after this character makes it optional or repeated.
            if i + width < p.count, [UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "{"), UInt8(ascii: "+")].contains(p[i + width]) {
                break
            }
            prefix.append(c)
            i += width
        }
        return prefix
    }

    @inline(never)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if !requiredPrefix.isEmpty {
            guard bytes.count >= requiredPrefix.count else { return false }
            for (k, c) in requiredPrefix.enumerated() {
                let b = bytes[k]
                if b != c && !(foldPrefix && ASCIIFold.lower(b) == ASCIIFold.lower(c)) { return false }
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return (try? regex.firstMatch(in: text)) != nil
    }
}

struct RegexFlags: Equatable {
    var ignoreCase = false
    var multiline = false
    var dotAll = false
}

// MARK: - Modifier chains

/// A modifier chain, checked and sorted into what it does.
struct ModifierPlan {
    enum Mode: Equatable {
        case plain, regex, cidr, exists
        case compare(NumericComparison)
    }

    enum Transform {
        case contains, startswith, endswith, base64, base64offset, windash
        case utf16(UTF16Encoding)

        func apply(_ p: SigmaPattern, name: String) throws(MatcherError) -> [SigmaPattern] {
            var p = p
            switch self {
            case .contains:
                p.ensureLeadingAny()
                p.ensureTrailingAny()
                return [p]
            case .startswith:
                p.ensureTrailingAny()
                return [p]
            case .endswith:
                p.ensureLeadingAny()
                return [p]
            case .base64:
                return [SigmaPattern(literal: Base64.encode(try Self.literal(p, name)), forceCased: true)]
            case .base64offset:
                return Base64.offsetFragments(try Self.literal(p, name)).map {
                    SigmaPattern(literal: $0, forceCased: true)
                }
            case .utf16(let encoding):
                return [encoding.apply(p)]
            case .windash:
                guard let variants = WindowsDash.expand(p) else {
                    throw MatcherError(
                        "'windash' would make more than \(WindowsDash.maximumVariants) variants of one value"
                            + " (more than five dashes)")
                }
                return variants
            }
        }

        private static func literal(_ p: SigmaPattern, _ name: String) throws(MatcherError) -> [UInt8] {
            guard let bytes = p.literalBytes else {
                throw MatcherError("'\(name)' cannot encode a value with wildcards (put 'contains' after it)")
            }
            return bytes
        }
    }

    var mode: Mode = .plain
    var modeName = ""
    var transforms: [(name: String, transform: Transform)] = []
    var all = false
    var cased = false
    var negated = false
    var regexFlags = RegexFlags()

    init(_ modifiers: [String]) throws(MatcherError) {
        for name in modifiers {
            switch name {
            case "all": all = true
            case "cased": cased = true
            case "neq": negated = true
            case "contains": try addTransform(name, .contains)
            case "startswith": try addTransform(name, .startswith)
            case "endswith": try addTransform(name, .endswith)
            case "base64": try addTransform(name, .base64)
            case "base64offset": try addTransform(name, .base64offset)
            case "wide", "utf16le": try addTransform(name, .utf16(.littleEndian))
            case "utf16be": try addTransform(name, .utf16(.bigEndian))
            case "utf16": try addTransform(name, .utf16(.littleEndianWithBOM))
            case "windash": try addTransform(name, .windash)
            case "re": try setMode(name, .regex)
            case "cidr": try setMode(name, .cidr)
            case "exists": try setMode(name, .exists)
            case "gt": try setMode(name, .compare(.gt))
            case "gte": try setMode(name, .compare(.gte))
            case "lt": try setMode(name, .compare(.lt))
            case "lte": try setMode(name, .compare(.lte))
            case "i", "m", "s":
                guard mode == .regex else {
                    throw MatcherError("modifier '\(name)' is a flag of 're' and must follow it")
                }
                switch name {
                case "i": regexFlags.ignoreCase = true
                case "m": regexFlags.multiline = true
                default: regexFlags.dotAll = true
                }
            case "expand", "fieldref":
                throw MatcherError(
                    "modifier '\(name)' is handled by the rule engine before value matching, not by ValueMatcher")
            case "minute", "hour", "day", "week", "month", "year":
                throw MatcherError("time modifier '\(name)' is not supported")
            case "":
                throw MatcherError("empty modifier (a doubled '|' in the field name?)")
            default:
                throw MatcherError("unknown modifier '\(name)'")
            }
        }
        switch mode {
        case .plain:
            break
        case .exists:
            if all || cased || negated || modifiers.count > 1 {
                throw MatcherError("'exists' cannot be combined with other modifiers")
            }
        case .regex, .cidr, .compare:
            if cased {
                throw MatcherError(
                    "'cased' applies to string matching, not to '\(modeName)'"
                        + (mode == .regex ? " (regular expressions are case-sensitive unless 'i')" : ""))
            }
        }
    }

    private mutating func addTransform(_ name: String, _ t: Transform) throws(MatcherError) {
        guard mode == .plain else {
            throw MatcherError("modifier '\(name)' cannot follow '\(modeName)'")
        }
        transforms.append((name, t))
    }

    private mutating func setMode(_ name: String, _ m: Mode) throws(MatcherError) {
        if mode != .plain {
            throw MatcherError("modifiers '\(modeName)' and '\(name)' cannot be combined")
        }
        if let last = transforms.last {
            throw MatcherError("modifier '\(name)' cannot follow '\(last.name)': it takes the value as written")
        }
        mode = m
        modeName = name
    }
}
