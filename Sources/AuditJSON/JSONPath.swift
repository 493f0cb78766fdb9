/// A dotted path into a JSON document, compiled once and matched many times.
///
/// `spec.containers.image` names every container's image: arrays met on the way are
/// transparent ("any element" semantics), so the path visits each element. A segment of
/// digits selects one array element instead (`spec.containers.0.image`). A key that
/// contains dots is written with them escaped: `metadata.annotations.eks\.amazonaws\.com/role-arn`
/// (a backslash before any other character stands for that character).
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// The UTF-8 bytes of each segment.
    public let segments: [[UInt8]]

    /// Nested arrays crossed transparently per segment at most; deeper ones are not
    /// descended (this bounds recursion on hostile input such as `[[[[...]]]]`).
    public static let maxTransparentArrayDepth = 4

    /// Splits `dotted` at dots that are not escaped with a backslash.
    public init(_ dotted: String) {
        var segments: [[UInt8]] = []
        var current: [UInt8] = []
        var escaped = false
        for b in dotted.utf8 {
            if escaped {
                current.append(b)
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
            } else if b == UInt8(ascii: ".") {
                segments.append(current)
                current = []
            } else {
                current.append(b)
            }
        }
        if escaped { current.append(UInt8(ascii: "\\")) }
        segments.append(current)
        self.segments = segments
    }

    /// Uses the given segments as they are (for keys that contain dots).
    public init(segments: [String]) {
        self.segments = segments.map { Array($0.utf8) }
    }

    /// Uses the given UTF-8 segments as they are.
    public init(segmentBytes: [[UInt8]]) {
        self.segments = segmentBytes
    }

    /// The dotted form, with dots and backslashes inside keys escaped.
    public var description: String {
        segments.map { segment in
            var text = ""
            for scalar in String(decoding: segment, as: UTF8.self).unicodeScalars {
                if scalar == "." || scalar == "\\" { text.unicodeScalars.append("\\") }
                text.unicodeScalars.append(scalar)
            }
            return text
        }.joined(separator: ".")
    }
}

extension JSONValue {
    /// Visits every value the path reaches from this value.
    ///
    /// - Parameters:
    ///   - path: the path; an empty path visits this value.
    ///   - flattenArrays: when true, an array found at the end of the path is not visited
    ///     itself; its elements are (so `user.groups` visits each group).
    ///   - body: called for each value reached; return false to stop early.
    /// - Returns: false when `body` stopped the walk.
    ///   - fromSegment: the first segment to match (the ones before it were matched elsewhere).
    @discardableResult
    public func forEachValue(
        at path: JSONPath, fromSegment: Int = 0, flattenArrays: Bool = true, _ body: (JSONValue) throws -> Bool
    ) rethrows -> Bool {
        try visit(
            path, segment: fromSegment, arrayDepth: 0, flattenArrays: flattenArrays,
            member: { object, key in key.withUnsafeBufferPointer { object.member($0) } }, body)
    }

    /// As `forEachValue(at:fromSegment:flattenArrays:_:)`, finding each object's member
    /// with `member` (the object, the key's UTF-8), which must answer as
    /// `member(_:)` does: a caller judging many paths through one document can list each
    /// object's members once instead of walking the object again for every path.
    @discardableResult
    public func forEachValue(
        at path: JSONPath, fromSegment: Int = 0, flattenArrays: Bool = true,
        member: (JSONValue, [UInt8]) -> JSONValue?, _ body: (JSONValue) throws -> Bool
    ) rethrows -> Bool {
        try visit(path, segment: fromSegment, arrayDepth: 0, flattenArrays: flattenArrays, member: member, body)
    }

    /// The first value the path reaches, if any.
    public func firstValue(at path: JSONPath) -> JSONValue? {
        var found: JSONValue?
        forEachValue(at: path, flattenArrays: false) { v in
            found = v
            return false
        }
        return found
    }

    private func visit(
        _ path: JSONPath, segment: Int, arrayDepth: Int, flattenArrays: Bool,
        member: (JSONValue, [UInt8]) -> JSONValue?, _ body: (JSONValue) throws -> Bool
    ) rethrows -> Bool {
        if segment == path.segments.count {
            if flattenArrays && kind == .array {
                for e in elements where e.kind != .array {
                    if try !body(e) { return false }
                }
                return true
            }
            return try body(self)
        }
        switch kind {
        case .object:
            if let child = member(self, path.segments[segment]) {
                return try child.visit(
                    path, segment: segment + 1, arrayDepth: 0, flattenArrays: flattenArrays, member: member, body)
            }
            return true
        case .array:
            let key = path.segments[segment]
            if let index = Self.arrayIndex(key) {
                var n = 0
                for e in elements {
                    if n == index {
                        return try e.visit(
                            path, segment: segment + 1, arrayDepth: 0, flattenArrays: flattenArrays, member: member, body)
                    }
                    n += 1
                }
                return true
            }
            guard arrayDepth < JSONPath.maxTransparentArrayDepth else { return true }
            for e in elements {
                if try !e.visit(
                    path, segment: segment, arrayDepth: arrayDepth + 1, flattenArrays: flattenArrays, member: member, body)
                {
                    return false
                }
            }
            return true
        default:
            return true
        }
    }

    /// The element a segment of digits selects (nil: the segment is a member name).
    public static func arrayIndex(_ key: [UInt8]) -> Int? {
        guard !key.isEmpty, key.count <= 9 else { return nil }
        var v = 0
        for b in key {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(b - UInt8(ascii: "0"))
        }
        return v
    }
}
