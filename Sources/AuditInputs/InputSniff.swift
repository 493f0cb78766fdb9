/// Tells, from an input's first bytes, whether it can be an audit log at all.
///
/// A directory holds more than logs: `/var/log/kubernetes` has the apiserver's own klog text
/// next to its audit files, an archive of exported logs has a README or a LICENSE. Reading
/// those as logs buries the findings under an error per line, so a file found by listing a
/// directory (or by a glob) whose first decompressed byte cannot start any layout the reader
/// takes (`{` for lines or concatenated objects, `[` for an array) is left out with a note.
/// A file named on the command line is always read.
public enum InputSniff {
    public enum Verdict: Equatable, Sendable {
        /// Starts like JSON (or holds only blanks, which the reader reports itself).
        case readable
        /// Starts with something else; `start` shows its first bytes for the note.
        case notJSON(start: String)
    }

    /// How far to look for the first byte that is not blank before giving up and reading
    /// the input as it is.
    public static let lookahead = 64 << 10

    /// Reads from `source` up to its first byte that is not blank (a byte-order mark is
    /// blank here), at most `lookahead` bytes, and returns what they say and a source that
    /// replays them before the rest of `source`.
    public static func sniff(_ source: any ByteSource) throws(InputError) -> (source: any ByteSource, verdict: Verdict) {
        var inner = source
        var prefix: [UInt8] = []
        var verdict = Verdict.readable
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        while prefix.count < lookahead {
            let n = try inner.read(into: chunk)
            if n == 0 { break }
            prefix.append(contentsOf: chunk[0..<n])
            if let decided = Self.verdict(of: prefix) {
                verdict = decided
                // Enough of a refused start to show it (a first read may be a 4-byte peek).
                if case .notJSON = decided, prefix.count < 64 { continue }
                break
            }
        }
        return (replaying(prefix, before: inner), verdict)
    }

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
