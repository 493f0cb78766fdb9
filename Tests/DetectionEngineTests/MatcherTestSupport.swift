import AuditJSON
import AuditTestSupport
@testable import DetectionEngine
import Testing

// Helpers for the ValueMatcher tests. Names carry a `Matcher` prefix or live in
// `MatcherFixture`: other test files of this target define their own helpers.

enum MatcherFixture {
    /// Compiles `values` with the modifier chain written as in a rule (`"contains|all"`).
    static func compile(
        _ modifiers: String, _ values: [SigmaValue], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ValueMatcher {
        let chain = chainOf(modifiers)
        do {
            return try ValueMatcher(values: values, modifiers: chain)
        } catch {
            Issue.record("compile failed: \(error.message)", sourceLocation: sourceLocation)
            throw error
        }
    }

    static func compile(
        _ modifiers: String, _ strings: String..., sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ValueMatcher {
        try compile(modifiers, strings.map { .string($0) }, sourceLocation: sourceLocation)
    }

    /// `"contains|all"` as `["contains", "all"]` (empty pieces kept, to test them).
    static func chainOf(_ modifiers: String) -> [String] {
        modifiers.isEmpty ? [] : modifiers.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    }

    /// The error compiling `values` with `modifiers` gives (nil when it compiles).
    static func error(_ modifiers: String, _ values: [SigmaValue]) -> MatcherError? {
        let chain = chainOf(modifiers)
        do {
            _ = try ValueMatcher(values: values, modifiers: chain)
            return nil
        } catch {
            return error
        }
    }

    /// Whether `matcher` matches the JSON value written as `json` (raw JSON text).
    static func matches(
        _ matcher: ValueMatcher, json: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        matches(matcher, jsonBytes: Array(json.utf8), sourceLocation: sourceLocation)
    }

    static func matches(
        _ matcher: ValueMatcher, jsonBytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        jsonBytes.withUnsafeBufferPointer { buffer in
            guard let value = JSONValue.parse(buffer) else {
                let text = String(decoding: jsonBytes, as: UTF8.self)
                Issue.record("not one JSON value: \(text)", sourceLocation: sourceLocation)
                return false
            }
            return matcher.matches(value)
        }
    }

    /// Whether `matcher` matches the JSON string holding `text` (escaped minimally: quotes,
    /// backslashes and control characters).
    static func matches(
        _ matcher: ValueMatcher, string text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        matches(matcher, json: quoted(text), sourceLocation: sourceLocation)
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `text` as a JSON string literal with every character written as a `\u` escape
    /// (surrogate pairs for scalars above U+FFFF): forces the decoding path.
    static func fullyEscaped(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            let hex = String(unit, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        return out + "\""
    }

    /// Random `contains` lists (3-8 literals of `literalLengths` characters from `alphabet`,
    /// folded or cased) checked against a naive search, 10 texts of `textLengths` each, half
    /// of them with a literal inserted (sometimes upper-cased). Returns how many lists `uses`
    /// says take the path under test, and how many texts matched.
    static func containsListCrossCheck(
        seed: UInt64, alphabet: [Character], literalLengths: ClosedRange<Int>, textLengths: ClosedRange<Int>,
        lists: Int, uses: (ValueMatcher) -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (using: Int, matched: Int) {
        var rng = SplitMix64(seed: seed)
        func word(_ n: Int) -> String { String((0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }) }
        var using = 0
        var matched = 0
        for _ in 0..<lists {
            let literals = (0..<Int.random(in: 3...8, using: &rng)).map { _ in word(Int.random(in: literalLengths, using: &rng)) }
            let cased = Bool.random(using: &rng)
            let m = try compile(cased ? "contains|cased" : "contains", literals.map { .string($0) }, sourceLocation: sourceLocation)
            if uses(m) { using += 1 }
            for _ in 0..<10 {
                var text = word(Int.random(in: textLengths, using: &rng))
                if Bool.random(using: &rng), let l = literals.randomElement(using: &rng) {
                    let at = text.index(text.startIndex, offsetBy: Int.random(in: 0...text.count, using: &rng))
                    text.insert(contentsOf: Bool.random(using: &rng) ? l.uppercased() : l, at: at)
                }
                let fold: (String) -> [UInt8] = { cased ? Array($0.utf8) : ASCIIFold.lowered(Array($0.utf8)) }
                let hay = fold(text)
                let expected = literals.contains { l in
                    let needle = fold(l)
                    return hay.count >= needle.count
                        && (0...(hay.count - needle.count)).contains { Array(hay[$0..<($0 + needle.count)]) == needle }
                }
                if expected { matched += 1 }
                #expect(m.matches(text) == expected, "\(literals)\(cased ? " cased" : "") in '\(text)'", sourceLocation: sourceLocation)
            }
        }
        return (using, matched)
    }
}
