// Condition lexer: splits condition text into words and parentheses.
//
// Keywords are not distinguished here; the parser classifies words by position, because
// whether `1` or `all` is a quantifier depends on the next word being `of`.

/// One token of condition text.
struct ConditionToken: Equatable {
    enum Kind: Equatable {
        /// A run of `[A-Za-z0-9_*?]`: a keyword, a number, a selection name or a pattern.
        /// `?` is lexed into words only so the parser can explain that it is not a Sigma
        /// wildcard, instead of calling it an unknown character.
        case word
        case leftParen
        case rightParen
        /// The end of the text. Always the last token.
        case end
        /// A character no condition may contain, with the message to report. The lexer stops
        /// after it; the parser throws when it reaches it, so an earlier syntax error (in text
        /// order) wins.
        case invalid(String)
    }

    var kind: Kind
    /// Byte offset of the token's first character.
    var offset: Int
    /// The word's text; empty for other kinds.
    var text: String = ""
}

enum ConditionLexer {
    /// Tokenizes `text`. The result always ends with `.end` or `.invalid`.
    static func tokenize(_ text: String) -> [ConditionToken] {
        let bytes = Array(text.utf8)
        var tokens: [ConditionToken] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if isSpace(byte) {
                i += 1
            } else if byte == UInt8(ascii: "(") {
                tokens.append(ConditionToken(kind: .leftParen, offset: i))
                i += 1
            } else if byte == UInt8(ascii: ")") {
                tokens.append(ConditionToken(kind: .rightParen, offset: i))
                i += 1
            } else if isWordByte(byte) {
                let start = i
                while i < bytes.count, isWordByte(bytes[i]) { i += 1 }
                let word = String(decoding: bytes[start..<i], as: UTF8.self)
                tokens.append(ConditionToken(kind: .word, offset: start, text: word))
            } else {
                tokens.append(ConditionToken(kind: .invalid(invalidMessage(bytes, at: i)), offset: i))
                return tokens
            }
        }
        tokens.append(ConditionToken(kind: .end, offset: bytes.count))
        return tokens
    }

    /// Whitespace between tokens. Newlines count because a YAML block scalar (`condition: >`)
    /// can spread one condition over several lines.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "*"), UInt8(ascii: "?"):
            true
        default:
            false
        }
    }

    /// The message for a character that cannot appear in a condition, aimed at the mistakes
    /// people actually make: operators from other languages and the removed pipe syntax.
    private static func invalidMessage(_ bytes: [UInt8], at i: Int) -> String {
        let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
        switch bytes[i] {
        case UInt8(ascii: "|"):
            if next == UInt8(ascii: "|") { return "`||` is not a Sigma operator; write `or`" }
            return "the pipe syntax (`| count() …`, `| near …`) is obsolete and not part of Sigma conditions; "
                + "express aggregations and event relationships as a Sigma correlation rule "
                + "(see the Sigma correlation rules specification)"
        case UInt8(ascii: "&"):
            return "`&` is not a Sigma operator; write `and`"
        case UInt8(ascii: "!"):
            return "`!` is not a Sigma operator; write `not`"
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return "quotes cannot appear in a condition: selection names are written bare"
        case let byte where byte >= 0x80:
            var end = i + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            let character = String(decoding: bytes[i..<end], as: UTF8.self)
            return "unexpected character `\(character)`: conditions use only ASCII letters, digits, `_`, "
                + "spaces and parentheses"
        case let byte:
            let character = String(decoding: [byte], as: UTF8.self)
            let shown = byte < 0x20 || byte == 0x7F ? "byte 0x" + String(byte, radix: 16) : "`\(character)`"
            return "unexpected \(shown): selection names in a condition contain only letters, digits and `_` "
                + "(and `*` after `1 of` / `all of`)"
        }
    }
}
