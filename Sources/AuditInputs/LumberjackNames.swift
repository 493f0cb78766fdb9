/// The file names of the apiserver's log rotation (lumberjack v2, reference §1.7).
///
/// The current file is `<prefix><ext>` (`audit.log`). At rotation it is renamed to
/// `<prefix>-<UTC "2006-01-02T15-04-05.000"><ext>` (`audit-2026-01-02T03-04-05.678.log`), and
/// with compression a background goroutine writes `….log.gz` and then removes the `.log`.
public struct LumberjackName: Sendable, Equatable {
    /// The name of the current file this backup was rotated from (`audit.log`).
    public let currentName: String
    /// The rotation time as written in the name; it sorts like the time it stands for.
    public let timestamp: String
    /// Whether the name ends in `.gz` (a compressed backup).
    public let compressed: Bool

    /// Length of `2006-01-02T15-04-05.000`.
    static let timestampLength = 23

    /// Parses a backup's base name (no directory); nil for anything else, the current file included.
    public init?(backup name: String) {
        var rest = Substring(name)
        compressed = rest.hasSuffix(".gz")
        if compressed { rest = rest.dropLast(3) }
        // Go's filepath.Ext: from the last dot on. The timestamp's own dot comes before it.
        guard let dot = rest.lastIndex(of: "."), rest[dot...].count > 1 else { return nil }
        let ext = rest[dot...]
        let stem = rest[..<dot]
        guard stem.count > Self.timestampLength else { return nil }
        let ts = stem.suffix(Self.timestampLength)
        let prefix = stem.dropLast(Self.timestampLength)
        guard prefix.hasSuffix("-"), Self.isTimestamp(ts) else { return nil }
        timestamp = String(ts)
        currentName = String(prefix.dropLast()) + ext
    }

    /// `dddd-dd-ddTdd-dd-dd.ddd`.
    static func isTimestamp(_ s: Substring) -> Bool {
        let shape = Array("dddd-dd-ddTdd-dd-dd.ddd".utf8)
        var i = 0
        for b in s.utf8 {
            guard i < shape.count else { return false }
            let ok = shape[i] == UInt8(ascii: "d") ? (b >= 0x30 && b <= 0x39) : b == shape[i]
            if !ok { return false }
            i += 1
        }
        return i == shape.count
    }

    /// The backup name for a rotation of `currentName` at `timestamp` (tests and the simulated writer).
    public static func backupName(of currentName: String, timestamp: String) -> String {
        let bytes = Array(currentName.utf8)
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")) else { return currentName + "-" + timestamp }
        return String(decoding: bytes[..<dot], as: UTF8.self) + "-" + timestamp + String(decoding: bytes[dot...], as: UTF8.self)
    }
}

/// Orders the files of one directory the way they were written, and drops the partial
/// archives that a crash during compression leaves behind.
public enum LumberjackOrder {
    /// One file of a replay, with why it is there.
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// A current file (`audit.log`) that has rotated backups beside it: empty just after a
        /// rotation, which is not an error.
        public let isCurrentWithBackups: Bool
    }

    /// Sorts base names: every backup of `X` by its timestamp, then `X` itself; other files by
    /// name. When both `audit-T.log` and `audit-T.log.gz` exist, the `.gz` is an interrupted
    /// compression (lumberjack removes the `.log` only after the `.gz` is complete): the
    /// `.log` is kept and the `.gz` returned in `skipped`.
    public static func order(_ names: [String]) -> (files: [Entry], skipped: [String]) {
        let present = Set(names)
        var skipped: [String] = []
        var currentsWithBackups = Set<String>()
        var keyed: [(key: (String, Int, String), name: String)] = []
        for name in names {
            if let backup = LumberjackName(backup: name) {
                if backup.compressed && present.contains(String(name.dropLast(3))) {
                    skipped.append(name)
                    continue
                }
                currentsWithBackups.insert(backup.currentName)
                keyed.append(((backup.currentName, 0, backup.timestamp), name))
            } else {
                keyed.append(((name, 1, ""), name))
            }
        }
        keyed.sort { $0.key < $1.key }
        let files = keyed.map { Entry(name: $0.name, isCurrentWithBackups: currentsWithBackups.contains($0.name)) }
        return (files, skipped.sorted())
    }
}
