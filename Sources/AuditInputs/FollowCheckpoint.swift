import Glibc

/// Where a follower had got to: which file (by fingerprint) and how far into it every event
/// had been handled. Written after the events before it were processed, so a restart
/// resumes exactly there: nothing lost, nothing read twice.
///
/// Stored as one line of text, `key=value` pairs, the name last (it may hold spaces):
/// `kaudit-checkpoint 1 offset=… fp_len=… fp_hash=… fp_line=… seen_current_ms=… last_event_us=… rotated=… name=…`.
public struct FollowCheckpoint: Sendable, Equatable {
    public var fingerprint: FileFingerprint
    /// Decompressed byte offset of the first byte not yet handled.
    public var offset: Int64
    /// The file's base name when the checkpoint was written (`audit.log`, or a backup's name).
    public var name: String
    /// The rotation time in a backup's name, when the file was a backup; nil for the current file.
    public var rotatedTimestamp: String?
    /// Wall-clock time (ms since the epoch) when the file was last seen as the current log:
    /// every backup rotated after it holds later data.
    public var seenCurrentMillis: Int64
    /// Event time (µs) of the last event handled, for the time range of a gap.
    public var lastEventMicros: Int64?

    public init(
        fingerprint: FileFingerprint, offset: Int64, name: String, rotatedTimestamp: String?,
        seenCurrentMillis: Int64, lastEventMicros: Int64?
    ) {
        self.fingerprint = fingerprint
        self.offset = offset
        self.name = name
        self.rotatedTimestamp = rotatedTimestamp
        self.seenCurrentMillis = seenCurrentMillis
        self.lastEventMicros = lastEventMicros
    }

    static let fileName = "checkpoint"
    static let magic = "kaudit-checkpoint 1"

    var text: String {
        "\(Self.magic) offset=\(offset) fp_len=\(fingerprint.length) fp_hash=\(String(fingerprint.hash, radix: 16))"
            + " fp_line=\(fingerprint.coversLine ? 1 : 0)"
            + " seen_current_ms=\(seenCurrentMillis) last_event_us=\(lastEventMicros.map(String.init) ?? "-")"
            + " rotated=\(rotatedTimestamp ?? "-") name=\(name)\n"
    }

    /// Parses the stored line; nil for anything malformed (never traps on any bytes).
    static func parse(_ text: String) -> FollowCheckpoint? {
        guard text.hasPrefix(Self.magic + " "), text.hasSuffix("\n") else { return nil }
        let body = text.dropFirst(Self.magic.count + 1).dropLast()
        guard let nameRange = body.firstRange(of: " name=") else { return nil }
        let name = String(body[nameRange.upperBound...])
        var fields: [Substring: Substring] = [:]
        for pair in body[..<nameRange.lowerBound].split(separator: " ") {
            guard let eq = pair.firstIndex(of: "=") else { return nil }
            fields[pair[..<eq]] = pair[pair.index(after: eq)...]
        }
        guard let offset = fields["offset"].flatMap({ Int64($0) }), offset >= 0,
            let length = fields["fp_len"].flatMap({ Int($0) }), (0...FileFingerprint.fullLength).contains(length),
            let hash = fields["fp_hash"].flatMap({ UInt64($0, radix: 16) }),
            let line = fields["fp_line"], line == "0" || line == "1",
            let seen = fields["seen_current_ms"].flatMap({ Int64($0) }),
            let lastEvent = fields["last_event_us"], let rotated = fields["rotated"], !name.isEmpty
        else { return nil }
        let lastMicros = lastEvent == "-" ? nil : Int64(lastEvent)
        if lastEvent != "-" && lastMicros == nil { return nil }
        if rotated != "-" && !LumberjackName.isTimestamp(rotated) { return nil }
        return FollowCheckpoint(
            fingerprint: FileFingerprint(length: length, hash: hash, coversLine: line == "1"), offset: offset, name: name,
            rotatedTimestamp: rotated == "-" ? nil : String(rotated), seenCurrentMillis: seen, lastEventMicros: lastMicros)
    }

    /// Reads the checkpoint in `directory`: nil when there is none; an error message when it
    /// is there but unreadable or malformed (the caller reports it and starts afresh).
    public static func load(from directory: String) -> Result<FollowCheckpoint?, InputError> {
        let path = directory + "/" + fileName
        // A checkpoint is one short line; anything longer is not one.
        switch AtomicFile.read(path, limit: 64 << 10) {
        case .failure(let error) where error.code == .open: return .failure(error)
        case .success(nil): return .success(nil)
        case .success(let bytes?):
            if let checkpoint = parse(String(decoding: bytes, as: UTF8.self)) { return .success(checkpoint) }
        case .failure: break
        }
        return .failure(InputError(.corruptArchive, "the checkpoint \(path) is malformed; ignoring it"))
    }

    /// Writes the checkpoint atomically: a temporary file, fsync, rename over the old one,
    /// fsync of the directory. A crash leaves either the old checkpoint or the new one.
    public func save(to directory: String) throws(InputError) {
        try AtomicFile.replace(Self.fileName, in: directory, with: Array(text.utf8))
    }
}
