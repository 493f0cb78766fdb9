import AuditJSON
import AuditModel

/// A selection that is a list of maps `P.a|exists: true`, `P.b|exists: true`, ... (one test
/// each, one body path `P` before the last name), judged in one pass over the members of each
/// object at `P` instead of one path walk per name. A rule listing 38 credential-like
/// ConfigMap keys spent most of its time walking to `requestObject.data` 38 times.
///
/// It answers exactly as the tests one by one (`FieldSource.forEachValue` counting values):
/// - the objects are those the path walk reaches: arrays on the way, and arrays at `P`, are
///   crossed as the walk crosses them (up to `JSONPath.maxTransparentArrayDepth` levels);
/// - a name counts by its last member in an object (duplicate keys), names compared decoded;
/// - a member's value counts as the walk counts it: `null` is present, an array is its
///   non-array elements (so `[]` is absent).
///
/// Names that are array indexes (`0`, `12`) select elements rather than members and are not
/// grouped; nor are more than `maxNames`.
final class SiblingExistsTest: Sendable {
    let body: AuditEvent.Body
    /// `P`: the body's name, then the segments to the objects whose members are named.
    let parent: JSONPath
    /// The member names, each a bit of the masks in `isPresent(in:)`.
    let names: [[UInt8]]

    static let maxNames = 64

    /// The group for the maps of an `any` selection, or nil unless every map is one
    /// `exists: true` test of a body path and all share the path up to the last name.
    init?(maps: [[FieldTest]]) {
        guard maps.count >= 2, maps.count <= Self.maxNames else { return nil }
        var shared: (body: AuditEvent.Body, parent: [[UInt8]])?
        var names: [[UInt8]] = []
        for tests in maps {
            guard tests.count == 1, let matcher = tests[0].valueMatcher, matcher.existsCheck == true, !matcher.isNegated,
                case .body(let which, let path) = tests[0].source, path.segments.count >= 2,
                let name = path.segments.last, JSONValue.arrayIndex(name) == nil
            else { return nil }
            let parent = Array(path.segments.dropLast())
            if let shared {
                guard shared.body == which, shared.parent == parent else { return nil }
            } else {
                shared = (which, parent)
            }
            names.append(name)
        }
        guard let shared else { return nil }
        body = shared.body
        parent = JSONPath(segmentBytes: shared.parent)
        self.names = names
    }

    /// Whether any of the names is present (as its own test would find it).
    func evaluate(_ context: EventContext) -> Bool {
        guard let object = context.index[body == .request ? .requestObject : .responseObject] else { return false }
        var found = false
        context.forEachValue(from: object, at: parent, segment: 1, flattenArrays: false) { value in
            found = isPresent(in: value, arrayDepth: 0)
            return !found
        }
        return found
    }

    /// Whether an object at `P` (or, through arrays, inside the value) has one of the names
    /// with a value.
    private func isPresent(in value: JSONValue, arrayDepth: Int) -> Bool {
        switch value.kind {
        case .object:
            // One bit per name, set or cleared by each member of that name: the last decides.
            var present: UInt64 = 0
            var members = value.members
            while let m = members.next() {
                guard let k = position(of: m.key) else { continue }
                if Self.countsAsValue(m.value) { present |= 1 << UInt64(k) } else { present &= ~(1 << UInt64(k)) }
            }
            return present != 0
        case .array:
            guard arrayDepth < JSONPath.maxTransparentArrayDepth else { return false }
            for e in value.elements where isPresent(in: e, arrayDepth: arrayDepth + 1) { return true }
            return false
        default:
            return false
        }
    }

    /// Which of the names `key` is (decoded), if any.
    @inline(__always)
    private func position(of key: JSONString) -> Int? {
        let length = key.end - key.start
        for k in names.indices {
            let name = names[k]
            guard key.hasEscapes || name.count == length else { continue }
            if name.withUnsafeBufferPointer({ key.equals($0) }) { return k }
        }
        return nil
    }

    /// Whether the path walk would visit at least one value here (see the type's comment).
    private static func countsAsValue(_ value: JSONValue) -> Bool {
        guard value.kind == .array else { return true }
        for e in value.elements where e.kind != .array { return true }
        return false
    }
}
