import AuditJSON
import AuditModel

/// A selection that is a list of maps `P.a|exists: true`, `P.b|exists: true`, ... (one test
/// each, one path `P` before the last name, into a body or an envelope object such as
/// `annotations`), judged in one pass over the members of each object at `P` instead of one
/// path walk per name. A rule listing 38 credential-like ConfigMap keys spent most of its
/// time walking to `requestObject.data` 38 times.
///
/// It answers exactly as the tests one by one (`FieldSource.forEachValue` counting values):
/// - the objects are those the path walk reaches: arrays on the way, and arrays at `P`, are
///   crossed as the walk crosses them (up to `JSONPath.maxTransparentArrayDepth` levels);
/// - a name counts by its last member in an object (duplicate keys), names compared decoded;
/// - a member's value counts as the walk counts it: `null` is present, an array is its
///   non-array elements (so `[]` is absent).
///
/// A list whose tests are not all `exists: true` but each false when its field is absent
/// (not negated, not matching `null`: `P.a|contains: x`, `P.b: y`) is grouped as a filter
/// (`isExact` false): when none of the names is a member of an object at `P`, every test is
/// false and the selection too, without walking to `P` once per name; otherwise the maps
/// are judged one by one. The 40 annotation tests of the rule about pods mutated by an
/// admission webhook cost 1.3 µs per pod creation one by one.
///
/// Names that are array indexes (`0`, `12`) select elements rather than members and are not
/// grouped; nor are more than `maxNames`.
final class SiblingExistsTest: Sendable {
    /// The envelope object the path starts in (`requestObject`, `responseObject`, `annotations`).
    let root: EnvelopeField
    /// `P`: the root's name, then the segments to the objects whose members are named.
    let parent: JSONPath
    /// The member names, each a bit of the masks in `isPresent(in:)`.
    let names: [[UInt8]]
    /// Whether every test is `exists: true`, so that `evaluate` is the selection's answer;
    /// otherwise `anyNamePresent` only rules it out.
    let isExact: Bool

    static let maxNames = 64

    /// The group for the maps of an `any` selection, or nil unless every map is one test of
    /// a body or envelope-object path, all share the path up to the last name, and every
    /// test is `exists: true` or false when its field is absent.
    init?(maps: [[FieldTest]]) {
        guard maps.count >= 2, maps.count <= Self.maxNames else { return nil }
        var shared: (root: EnvelopeField, parent: [[UInt8]])?
        var names: [[UInt8]] = []
        var exact = true
        for tests in maps {
            guard tests.count == 1, let matcher = tests[0].valueMatcher, !matcher.isNegated, matcher.existsCheck != false,
                matcher.existsCheck == true || !tests[0].absentMatches,
                let (root, path) = Self.rootAndPath(tests[0].source), path.segments.count >= 2,
                let name = path.segments.last, JSONValue.arrayIndex(name) == nil
            else { return nil }
            if matcher.existsCheck != true { exact = false }
            let parent = Array(path.segments.dropLast())
            if let shared {
                guard shared.root == root, shared.parent == parent else { return nil }
            } else {
                shared = (root, parent)
            }
            names.append(name)
        }
        guard let shared else { return nil }
        root = shared.root
        parent = JSONPath(segmentBytes: shared.parent)
        self.names = names
        isExact = exact
    }

    /// The envelope object a test's path starts in and the whole path (the object's name
    /// first), for a body path or a path whose first segment names an envelope field.
    private static func rootAndPath(_ source: FieldSource) -> (EnvelopeField, JSONPath)? {
        switch source {
        case .body(let which, let path):
            return (which == .request ? .requestObject : .responseObject, path)
        case .path(let path):
            guard let first = path.segments.first,
                let field = EnvelopeField.classify(segment: first)
            else { return nil }
            return (field, path)
        default:
            return nil
        }
    }

    /// Whether any of the names is present (as its own test would find it).
    func evaluate(_ context: EventContext) -> Bool { atParent(context, anyValue: false) }

    /// Whether any of the names is a member, whatever its value, of an object the walk to
    /// `P` reaches (false: every test of the group is false).
    func anyNamePresent(_ context: EventContext) -> Bool { atParent(context, anyValue: true) }

    /// `isPresent` for one of the values the walk to `P` reaches.
    private func atParent(_ context: EventContext, anyValue: Bool) -> Bool {
        guard let object = context.index[root] else { return false }
        var found = false
        context.forEachValue(from: object, at: parent, segment: 1, flattenArrays: false) { value in
            found = isPresent(in: value, arrayDepth: 0, anyValue: anyValue)
            return !found
        }
        return found
    }

    /// Whether an object at `P` (or, through arrays, inside the value) has one of the names
    /// with a value (`anyValue`: as a member at all).
    private func isPresent(in value: JSONValue, arrayDepth: Int, anyValue: Bool) -> Bool {
        switch value.kind {
        case .object:
            // One bit per name, set or cleared by each member of that name: the last decides.
            var present: UInt64 = 0
            var members = value.members
            while let m = members.next() {
                guard let k = position(of: m.key) else { continue }
                if anyValue { return true }
                if Self.countsAsValue(m.value) { present |= 1 << UInt64(k) } else { present &= ~(1 << UInt64(k)) }
            }
            return present != 0
        case .array:
            guard arrayDepth < JSONPath.maxTransparentArrayDepth else { return false }
            for e in value.elements where isPresent(in: e, arrayDepth: arrayDepth + 1, anyValue: anyValue) { return true }
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
