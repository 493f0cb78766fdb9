// Typing YAML scalars: which unquoted words are null, booleans and numbers.
//
// Decided: the YAML 1.2 core schema, the one YAML 1.2 parsers agree on, with an eye on YAML 1.1:
// pySigma reads rules with PyYAML, which implements YAML 1.1, where `yes`/`no`/`on`/`off` are
// booleans, `0755` is octal, `1_000` and `1:30` are numbers and `1e5` is a string. Where the
// two schemas disagree the scalar is read as the string written (the rule author's likely
// intent, and what matching a string field wants) and the typing reports an ambiguity, which
// the detection parser turns into an `ambiguous-scalar` warning ("quote it"). Quoted and block
// scalars, and `!!str`/`!` tagged ones, are always strings. Dates (`2024-07-11`) are strings:
// timestamps are a YAML 1.1 type the core schema does not have, and Sigma wants the text.
import DetectionEngine

enum ScalarTyping {
    struct Typed {
        var value: SigmaValue
        /// Why YAML 1.1 would read the scalar differently, when it would.
        var ambiguity: String?
    }

    static let strTag = "tag:yaml.org,2002:str"

    static func value(of scalar: YScalar) -> Typed {
        let text = scalar.text
        if scalar.style != .plain || scalar.tag == strTag || scalar.tag == "!" {
            return Typed(value: .string(text))
        }
        switch text {
        case "", "~", "null", "Null", "NULL": return Typed(value: .null)
        case "true", "True", "TRUE": return Typed(value: .bool(true))
        case "false", "False", "FALSE": return Typed(value: .bool(false))
        case "yes", "Yes", "YES", "on", "On", "ON":
            return Typed(
                value: .string(text), ambiguity: "YAML 1.1 (PyYAML, pySigma) reads `\(text)` as the boolean true")
        case "no", "No", "NO", "off", "Off", "OFF":
            return Typed(
                value: .string(text), ambiguity: "YAML 1.1 (PyYAML, pySigma) reads `\(text)` as the boolean false")
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return Typed(value: .double(.infinity))
        case "-.inf", "-.Inf", "-.INF": return Typed(value: .double(-.infinity))
        case ".nan", ".NaN", ".NAN": return Typed(value: .double(.nan))
        default: break
        }
        let bytes = Array(text.utf8)
        guard let first = bytes.first,
            isDigit(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
        else { return Typed(value: .string(text)) }
        return number(text, bytes)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "f"))
    }

    private static func number(_ text: String, _ bytes: [UInt8]) -> Typed {
        let string = Typed(value: .string(text))
        let i = bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") ? 1 : 0
        let body = bytes[i...]
        guard !body.isEmpty else { return string }

        // Hexadecimal and octal (0x1F, 0o17): YAML 1.2 core, unsigned.
        if i == 0, body.count > 2, body.first == UInt8(ascii: "0") {
            let marker = body[body.startIndex + 1]
            let digits = body.dropFirst(2)
            if marker == UInt8(ascii: "x"), digits.allSatisfy(isHex) {
                if let v = UInt64(String(decoding: digits, as: UTF8.self), radix: 16), v <= UInt64(Int64.max) {
                    return Typed(value: .int(Int64(v)))
                }
                return Typed(value: .string(text), ambiguity: "`\(text)` is out of the 64-bit integer range")
            }
            if marker == UInt8(ascii: "o"), digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                return Typed(
                    value: .string(text), ambiguity: "YAML 1.2 reads `\(text)` as an octal number, YAML 1.1 as a string"
                )
            }
        }

        // Decimal integers.
        if body.allSatisfy(isDigit) {
            if body.count > 1 && body.first == UInt8(ascii: "0") {
                return Typed(
                    value: .string(text),
                    ambiguity:
                        "YAML 1.1 (PyYAML, pySigma) reads `\(text)` as an octal number, YAML 1.2 as a decimal one")
            }
            if let v = Int64(text) { return Typed(value: .int(v)) }
            return Typed(value: .string(text), ambiguity: "`\(text)` is out of the 64-bit integer range")
        }

        // YAML 1.1 only: digit separators and base 60.
        if body.contains(UInt8(ascii: "_"))
            && body.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        {
            return Typed(value: .string(text), ambiguity: "YAML 1.1 (PyYAML, pySigma) reads `\(text)` as a number")
        }
        if body.contains(UInt8(ascii: ":")) && body.first != UInt8(ascii: "0")
            && body.allSatisfy({
                isDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            })
        {
            return Typed(
                value: .string(text), ambiguity: "YAML 1.1 (PyYAML, pySigma) reads `\(text)` as a base-60 number")
        }

        // Floats: [digits][.digits][e[sign]digits], at least one digit, a dot or an exponent.
        var j = body.startIndex
        var mantissaDigits = 0
        while j < body.endIndex, isDigit(body[j]) {
            j += 1
            mantissaDigits += 1
        }
        var hasDot = false
        if j < body.endIndex, body[j] == UInt8(ascii: ".") {
            hasDot = true
            j += 1
            while j < body.endIndex, isDigit(body[j]) {
                j += 1
                mantissaDigits += 1
            }
        }
        guard mantissaDigits > 0 else { return string }
        var hasExponent = false
        var signedExponent = false
        if j < body.endIndex, body[j] | 0x20 == UInt8(ascii: "e") {
            hasExponent = true
            j += 1
            if j < body.endIndex, body[j] == UInt8(ascii: "+") || body[j] == UInt8(ascii: "-") {
                signedExponent = true
                j += 1
            }
            let digitsStart = j
            while j < body.endIndex, isDigit(body[j]) { j += 1 }
            guard j > digitsStart else { return string }
        }
        guard j == body.endIndex, hasDot || hasExponent, let v = Double(text) else { return string }
        if hasExponent && !(hasDot && signedExponent) {
            // PyYAML's float needs a dot and a signed exponent.
            return Typed(
                value: .string(text),
                ambiguity: "YAML 1.2 reads `\(text)` as a number, YAML 1.1 (PyYAML, pySigma) as a string")
        }
        return Typed(value: .double(v))
    }
}
