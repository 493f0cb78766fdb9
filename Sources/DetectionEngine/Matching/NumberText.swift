// Numbers read from bytes (a JSON number's raw text, or a string's contents) and compared
// with rule values, without allocating for integers and short decimals.

/// A number from a rule or an event: an exact 64-bit integer when it is one, else a Double.
enum NumberValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)

    /// Reads `bytes` as a decimal number: `-?digits(.digits)?([eE][+-]?digits)?`.
    /// Leading zeros are accepted (`"007"` is 7: event strings are not JSON). No spaces,
    /// no `+` sign, no hex, no `inf`/`nan`. Integers that overflow 64 bits become Doubles.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> NumberValue? {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return nil }
        var i = 0
        let negative = p[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let digitsStart = i
        var value: Int64 = 0
        var overflow = false
        while i < n, case let d = p[i] &- UInt8(ascii: "0"), d < 10 {
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
                overflow = o1 || o2
                value = a
            }
            i += 1
        }
        guard i > digitsStart else { return nil }
        var integral = true
        if i < n && p[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            let fractionStart = i
            while i < n && p[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard i > fractionStart else { return nil }
        }
        if i < n && (p[i] | 0x20) == UInt8(ascii: "e") {
            integral = false
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            let exponentStart = i
            while i < n && p[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard i > exponentStart else { return nil }
        }
        guard i == n else { return nil }
        if integral && !overflow { return .int(value) }
        // Cold path: decimals and huge integers. Strings of up to 15 bytes are stored inline,
        // so typical numbers still do not allocate.
        guard let d = Double(String(decoding: bytes, as: UTF8.self)) else { return nil }
        return .double(d)
    }

    /// Compares two numbers exactly when both are integers (or the Double is a whole
    /// number in Int64 range), otherwise as Doubles.
    static func compare(_ a: NumberValue, _ b: NumberValue) -> Int {
        switch (a, b) {
        case (.int(let x), .int(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .double(let y)):
            return -compareDouble(y, x)
        case (.double(let x), .int(let y)):
            return compareDouble(x, y)
        case (.double(let x), .double(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        }
    }

    private static func compareDouble(_ x: Double, _ y: Int64) -> Int {
        if let xi = Int64(exactly: x) { return xi < y ? -1 : (xi == y ? 0 : 1) }
        if x >= 0x1p63 { return 1 }  // beyond Int64 (Double(y) could round up to 2^63)
        if x < -0x1p63 { return -1 }
        let yd = Double(y)
        return x < yd ? -1 : (x == yd ? 0 : 1)
    }

    /// The number as rule text, for string modifiers applied to numbers (`|startswith: 40`).
    var text: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        }
    }
}

/// The comparison of the `gt`, `gte`, `lt` and `lte` modifiers.
enum NumericComparison: String, Sendable {
    case gt, gte, lt, lte

    /// Whether `event <op> rule` holds, given `compare(event, rule)`.
    @inline(__always)
    func holds(_ order: Int) -> Bool {
        switch self {
        case .gt: return order > 0
        case .gte: return order >= 0
        case .lt: return order < 0
        case .lte: return order <= 0
        }
    }
}
