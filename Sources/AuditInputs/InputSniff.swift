/// Tells, from an input's first bytes, whether it can be an audit log at all.
///
/// A directory holds more than logs: `/var/log/kubernetes` has the apiserver's own klog text
/// next to its audit files, an archive of exported logs has a README or a LICENSE. Reading
/// those as logs buries the findings under an error per line, so a file found by listing a
/// directory (or by a glob) whose first decompressed byte cannot start any layout the reader
/// takes (`{` for lines or concatenated objects, `[` for an array) is left out with a note.
/// So is JSON that names no `auditID` in its first `lookahead` bytes (an audit policy or a
/// dashboard exported as JSON): every audit event has one, near its start. Exports that wrap
/// audit events in other records still name it (inside their strings), so they are read and
/// their records reported with how to unwrap them. A file named on the command line is
/// always read.
public enum InputSniff {
    public enum Verdict: Equatable, Sendable {
        /// Starts like JSON (or holds only blanks, which the reader reports itself).
        case readable
        /// Starts with something else; `start` shows its first bytes for the note.
        case notJSON(start: String)
        /// Starts like JSON but names no `auditID` in the `looked` bytes read; `whole` when
        /// they were the whole input.
        case noAuditID(looked: Int, whole: Bool)

        /// Why a file with this verdict is not an audit log (for the note that it was left
        /// out); nil when it is read.
        public var whyNotAuditLog: String? {
            switch self {
            case .readable:
                return nil
            case .notJSON(let shown):
                return "it starts with \(shown), not JSON"
            case .noAuditID(let looked, let whole):
                let span = whole ? "it" : "its first \(looked >> 10) KiB"
                return "JSON, but no \"auditID\" in \(span), which every audit event has"
            }
        }
    }

    /// How many bytes are read at most: to pass blanks before the first byte that is not
    /// blank (then the input is read as it is), and to find `auditID` in JSON (then it is
    /// left out).
    public static let lookahead = 64 << 10

    /// Reads from `source` up to its first byte that is not blank (a byte-order mark is
    /// blank here) and, when that starts JSON, on to the first `auditID`; at most
    /// `lookahead` bytes. Returns what they say and a source that replays them before the
    /// rest of `source`.
    public static func sniff(_ source: any ByteSource) throws(InputError) -> (source: any ByteSource, verdict: Verdict) {
        var inner = source
        var prefix: [UInt8] = []
        /// What the first byte that is not blank says (nil while there is none).
        var start: Verdict?
        var foundAuditID = false
        var searched = 0
        var atEnd = false
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        reading: while prefix.count < lookahead {
            let n = try inner.read(into: chunk)
            if n == 0 {
                atEnd = true
                break
            }
            prefix.append(contentsOf: chunk[0..<n])
            // Decided again while a refused start is read on (its preview grows).
            if start != .readable { start = Self.verdict(of: prefix) }
            switch start {
            case nil:
                continue
            case .notJSON:
                // Enough of a refused start to show it (a first read may be a 4-byte peek).
                if prefix.count < 64 { continue }
                break reading
            default:
                // The key may straddle two reads: look again from just before the new bytes.
                let from = max(0, searched - (auditIDKey.count - 1))
                foundAuditID = prefix[from...].firstRange(of: auditIDKey) != nil
                if foundAuditID { break reading }
                searched = prefix.count
            }
        }
        var verdict = start ?? .readable
        if start == .readable && !foundAuditID {
            // JSON, read to the end of the look-ahead or of the input without an `auditID`.
            verdict = .noAuditID(looked: prefix.count, whole: atEnd)
        }
        return (replaying(prefix, before: inner), verdict)
    }

    /// Every audit event (v1, v1beta1, v1alpha1) has this key.
    static let auditIDKey = Array("auditID".utf8)

    static func replaying<Inner: ByteSource>(_ prefix: [UInt8], before inner: Inner) -> any ByteSource {
        // The prefix may be decompressed bytes; the source's consumed count stays the file's.
        PrefixedSource(prefix: prefix, inner: inner, prefixIsConsumedBytes: false)
    }

    /// The verdict on an input starting with `bytes`, or nil when they are all blank.
    public static func verdict(of bytes: [UInt8]) -> Verdict? {
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        guard i < bytes.count else {
            // A byte-order mark cut after its first byte is still undecided.
            return nil
        }
        if bytes[i] == UInt8(ascii: "{") || bytes[i] == UInt8(ascii: "[") { return .readable }
        return .notJSON(start: preview(bytes[i...]))
    }

    /// The first line's first 40 bytes as text when they are printable ASCII, else the
    /// first 8 bytes in hex.
    static func preview(_ bytes: ArraySlice<UInt8>) -> String {
        let line = bytes.prefix(while: { $0 != 0x0A && $0 != 0x0D }).prefix(40)
        if line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            let text = String(decoding: line, as: UTF8.self)
            return "\"" + text + (line.count == 40 ? "…" : "") + "\""
        }
        return "bytes " + bytes.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")
    }
}
