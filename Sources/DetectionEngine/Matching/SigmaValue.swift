/// One value of a Sigma field condition, as the rule loader hands it over (a YAML scalar).
///
/// Strings are kept exactly as written in the rule: wildcards (`*`, `?`) and their
/// backslash escapes are interpreted by `ValueMatcher`, not by the loader. For the `re`
/// modifier the string is the regular expression itself.
public enum SigmaValue: Sendable, Equatable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
}

extension SigmaValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    /// The kind of value, for error messages.
    var typeName: String {
        switch self {
        case .string: return "a string"
        case .int, .double: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// Why a field condition could not be compiled into a matcher.
public struct MatcherError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
