import AuditInputs
import AuditModel
import Testing

// gzip and zstd inputs opened through InputOpener (by magic bytes): the same events as the
// plain text; damage reported as truncated or corrupt after everything before it was read.

@Suite("Compressed inputs")
struct CompressedInputTests {
    /// About 2 MiB of NDJSON, so decompression and reading both take several rounds.
    static let plain: (bytes: [UInt8], ids: [String]) = {
        var bytes: [UInt8] = []
        var ids: [String] = []
        for i in 0..<2_600 {
            let id = "evt-\(i)"
            ids.append(id)
            bytes += utf8(Events.compact(id, verb: i % 3 == 0 ? "create" : "get") + "\n")
        }
        return (bytes, ids)
    }()

    /// The events of the plain text as the reader reports them (locations included).
    static let plainEntries: [Entry] = readStream(plain.bytes).entries

    /// Events of the complete lines at the start of `prefix` (what a reader must have
    /// handled when the input breaks off after `prefix`).
    static func entriesOfCompleteLines(_ prefix: [UInt8]) -> [Entry] {
        guard let lastNewline = prefix.lastIndex(of: 0x0A) else { return [] }
        return readInPlace(Array(prefix[...lastNewline])).entries
    }

    @Test("plain, gzip and zstd files give the same events")
    func sameEvents() throws {
        let dir = try TemporaryDirectory()
        let plainPath = try dir.write("audit.log", Self.plain.bytes)
        let gzPath = try dir.write("audit.log.gz", try gzip(Self.plain.bytes, in: dir))
        let zstPath = try dir.write("audit.log.zst", try zstd(Self.plain.bytes, in: dir))
        // The format comes from the bytes, never from the name.
        let disguised = try dir.write("audit.log.txt", try readBytes(gzPath))

        let reads = [plainPath, gzPath, zstPath, disguised].map { readFile($0) }
        #expect(reads.map(\.format) == [.plain, .gzip, .zstd, .gzip])
        for read in reads {
            #expect(read.error == nil)
            #expect(read.found.entries == Self.plainEntries)
        }
        #expect(reads[0].found.auditIDs.count == 2_600)
    }

    @Test("a multi-member gzip file (concatenated rotations) reads every member")
    func multiMemberGzip() throws {
        let dir = try TemporaryDirectory()
        let split = Self.plain.bytes.count / 3
        let cut = Self.plain.bytes[..<split].lastIndex(of: 0x0A)! + 1
        let members = try gzip(Array(Self.plain.bytes[..<cut]), in: dir) + (try gzip(Array(Self.plain.bytes[cut...]), in: dir))
            + (try gzip([], in: dir))  // an empty member at the end
        let read = readFile(try dir.write("rotated.log.gz", members))
        #expect(read.error == nil)
        #expect(read.found.entries == Self.plainEntries)
    }

    @Test("a multi-frame zstd file with skippable frames reads every frame")
    func multiFrameZstd() throws {
        let dir = try TemporaryDirectory()
        let cut = Self.plain.bytes[..<(Self.plain.bytes.count / 2)].lastIndex(of: 0x0A)! + 1
        let file = zstdSkippableFrame(utf8("seekable index or metadata"), variant: 0xE)
            + (try zstd(Array(Self.plain.bytes[..<cut]), in: dir))
            + zstdSkippableFrame([0, 1, 2, 3])
            + (try zstd(Array(Self.plain.bytes[cut...]), in: dir))
            + zstdSkippableFrame([])
        let read = readFile(try dir.write("frames.log.zst", file))
        #expect(read.format == .zstd)
        #expect(read.error == nil)
        #expect(read.found.entries == Self.plainEntries)
    }

    @Test("a truncated gzip file: complete lines before the damage are read, then truncatedArchive")
    func truncatedGzip() throws {
        let dir = try TemporaryDirectory()
        let compressed = try gzip(Self.plain.bytes, in: dir)
        for fraction in [0.1, 0.5, 0.9, 0.999] {
            let path = try dir.write("cut-\(fraction).log.gz", Array(compressed.prefix(Int(Double(compressed.count) * fraction))))
            try expectTruncated(path)
        }
        // Cut inside the 8-byte trailer: every line decodes, the member still did not end.
        let path = try dir.write("no-trailer.log.gz", Array(compressed.dropLast(4)))
        let read = try expectTruncated(path)
        #expect(read.found.entries == Self.plainEntries)
    }

    @Test("a truncated zstd file: complete lines before the damage are read, then truncatedArchive")
    func truncatedZstd() throws {
        let dir = try TemporaryDirectory()
        let compressed = try zstd(Self.plain.bytes, in: dir)
        for fraction in [0.1, 0.5, 0.9, 0.999] {
            let path = try dir.write("cut-\(fraction).log.zst", Array(compressed.prefix(Int(Double(compressed.count) * fraction))))
            try expectTruncated(path)
        }
        // Cut inside the content checksum.
        try expectTruncated(try dir.write("no-checksum.log.zst", Array(compressed.dropLast(2))))
    }

    /// Reads a truncated archive and checks what was handled and how the read ended.
    @discardableResult
    func expectTruncated(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> FileRead {
        let read = readFile(path)
        let error = try #require(read.error, "\(path) read without error", sourceLocation: sourceLocation)
        #expect(error.code == .truncatedArchive, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(path), "the message names the file: \(error)", sourceLocation: sourceLocation)
        // What the decompressor produced before stopping is a prefix of the original ...
        let (decoded, decodeError) = decompress(path)
        #expect(decodeError?.code == .truncatedArchive, sourceLocation: sourceLocation)
        #expect(decoded == Array(Self.plain.bytes.prefix(decoded.count)), sourceLocation: sourceLocation)
        // ... and the reader handled every complete line of it, nothing more.
        #expect(read.found.entries == Self.entriesOfCompleteLines(decoded), sourceLocation: sourceLocation)
        #expect(read.found.issues.isEmpty, sourceLocation: sourceLocation)
        return read
    }

    @Test("every truncation point of a small gzip and zstd file is reported as truncated")
    func everyTruncationPoint() throws {
        let dir = try TemporaryDirectory()
        let small = utf8((0..<6).map { Events.compact("s\($0)") + "\n" }.joined())
        let reader = AuditStreamReader()
        for (name, compressed, magicCount) in [("gz", try gzip(small, in: dir), 2), ("zst", try zstd(small, in: dir), 4)] {
            for cut in magicCount..<compressed.count {
                let path = try dir.write("small-\(cut).\(name)", Array(compressed.prefix(cut)))
                let read = readFile(path, reader: reader)
                if read.error?.code != .truncatedArchive {
                    Issue.record("\(name) cut at \(cut) of \(compressed.count): \(String(describing: read.error))")
                    break
                }
                let decoded = decompress(path).bytes
                #expect(read.found.entries == Self.entriesOfCompleteLines(decoded), "\(name) cut at \(cut)")
            }
        }
    }

    @Test("a corrupt gzip file is corruptArchive")
    func corruptGzip() throws {
        let dir = try TemporaryDirectory()
        let compressed = try gzip(Self.plain.bytes, in: dir)
        // A bad CRC in the trailer: every line decodes first, then the check fails.
        var badCRC = compressed
        badCRC[badCRC.count - 8] ^= 0xFF
        let crcRead = readFile(try dir.write("bad-crc.log.gz", badCRC))
        #expect(crcRead.error?.code == .corruptArchive)
        #expect(crcRead.found.entries == Self.plainEntries)
        // An unknown compression method in the header: nothing decodes.
        var badMethod = compressed
        badMethod[2] = 7
        let path = try dir.write("bad-method.log.gz", badMethod)
        let methodRead = readFile(path)
        #expect(methodRead.error?.code == .corruptArchive)
        #expect(methodRead.error?.message.contains(path) == true)
        #expect(methodRead.found.entries.isEmpty)
        // Garbage after a complete member is not a second member.
        let trailing = readFile(try dir.write("trailing.log.gz", compressed + utf8("this is not gzip")))
        #expect(trailing.error?.code == .corruptArchive)
        #expect(trailing.found.entries == Self.plainEntries)
    }

    @Test("a corrupt zstd file is corruptArchive")
    func corruptZstd() throws {
        let dir = try TemporaryDirectory()
        let cut = Self.plain.bytes[..<(Self.plain.bytes.count / 2)].lastIndex(of: 0x0A)! + 1
        let first = try zstd(Array(Self.plain.bytes[..<cut]), in: dir)
        let second = try zstd(Array(Self.plain.bytes[cut...]), in: dir)
        // A wrong content checksum on the only frame.
        var badChecksum = first
        badChecksum[badChecksum.count - 1] ^= 0xFF
        let checksumRead = readFile(try dir.write("bad-checksum.log.zst", badChecksum))
        #expect(checksumRead.error?.code == .corruptArchive)
        // A second frame with a broken magic number: the first frame's lines are read.
        var badMagic = second
        badMagic[3] ^= 0x01
        let path = try dir.write("bad-second-frame.log.zst", first + badMagic)
        let read = readFile(path)
        #expect(read.error?.code == .corruptArchive)
        #expect(read.error?.message.contains(path) == true)
        #expect(read.found.entries == Self.entriesOfCompleteLines(Array(Self.plain.bytes[..<cut])))
    }

    /// The message names the limit in force (it used to say 128 MiB whatever the limit was)
    /// and the flag that raises it.
    @Test("a zstd window over the limit is refused, and the message names the limit")
    func zstdWindowTooLarge() throws {
        let dir = try TemporaryDirectory()
        // About 1.9 MiB in one frame: its window is the content size, over 1 MiB.
        let path = try dir.write("big-window.log.zst", try zstd(Self.plain.bytes, in: dir))
        for (log, limit) in [(Int32(10), "1 KiB"), (20, "1 MiB")] {
            var options = InputOpener.Options()
            options.zstdWindowLogMax = log
            let read = readFile(path, options: options)
            let error = try #require(read.error, "window log \(log)")
            #expect(error.code == .windowTooLarge)
            #expect(error.message == "\(path): zstd window larger than \(limit); raise the limit with --zstd-window-log-max")
            #expect(read.found.entries.isEmpty)
        }
        var options = InputOpener.Options()
        options.zstdWindowLogMax = 21  // 2 MiB is enough
        #expect(readFile(path, options: options).error == nil)
        #expect(readFile(path).error == nil)  // the default limit accepts it
    }

    @Test("magic numbers")
    func detection() {
        func detect(_ bytes: [UInt8]) -> InputFormat { bytes.withUnsafeBytes { InputFormat.detect($0) } }
        #expect(detect([0x1F, 0x8B, 0x08, 0x00]) == .gzip)
        #expect(detect([0x1F, 0x8B]) == .gzip)
        #expect(detect([0x28, 0xB5, 0x2F, 0xFD]) == .zstd)
        #expect(detect([0x50, 0x2A, 0x4D, 0x18]) == .zstd)
        #expect(detect([0x5F, 0x2A, 0x4D, 0x18]) == .zstd)
        #expect(detect([0x60, 0x2A, 0x4D, 0x18]) == .plain)
        #expect(detect(utf8(#"{"ki"#)) == .plain)
        #expect(detect([0x1F]) == .plain)
        #expect(detect([]) == .plain)
    }

    @Test("open failures: a missing file, a directory; an empty file reads as nothing")
    func openFailures() throws {
        let dir = try TemporaryDirectory()
        let missing = readFile(dir.path("missing.log"))
        #expect(missing.error?.code == .open)
        #expect(missing.error?.message.contains("missing.log") == true)
        #expect(readFile(dir.path("")).error?.code == .open)
        let empty = readFile(try dir.write("empty.log", []))
        #expect(empty.error == nil)
        #expect(empty.format == .plain)
        #expect(empty.found.entries.isEmpty)
    }
}
