import Glibc

/// The rotated backups of a log, found beside it by their lumberjack names.
public enum RotatedFiles {
    /// One backup: its path and what its name says.
    public struct Backup: Sendable, Equatable {
        public let path: String
        public let baseName: String
        public let name: LumberjackName
    }

    /// The backups of the log at `currentPath`, oldest first. When both `X.log` and `X.log.gz`
    /// exist, the `.gz` is still being written (or was interrupted): only the `.log` is listed.
    public static func backups(of currentPath: String) -> [Backup] {
        let (directory, current) = InputPaths.split(currentPath)
        let dir = directory.isEmpty ? "." : directory
        let (ordered, _) = LumberjackOrder.order(InputPaths.regularFiles(in: dir))
        return ordered.compactMap { entry in
            guard let name = LumberjackName(backup: entry.name), name.currentName == current else { return nil }
            return Backup(path: dir + "/" + entry.name, baseName: entry.name, name: name)
        }
    }

    /// The lumberjack timestamp (UTC, `2006-01-02T15-04-05.000`) of a wall-clock time, so that
    /// times can be compared with the ones in backup names.
    public static func timestamp(millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + "-" + pad(parts.tm_min, 2) + "-" + pad(parts.tm_sec, 2) + "." + pad(Int32(millis % 1000), 3)
    }

    /// Milliseconds since the epoch, now.
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
