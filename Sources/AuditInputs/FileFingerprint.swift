/// A file's identity: a hash of its first bytes (of its decompressed content, for archives).
///
/// Inode numbers are reused and rotation renames files, so a follower recognises "the file I
/// was reading" by what it starts with (as Filebeat and Vector do). The first KiB of an audit
/// log holds at least one audit ID, so two different logs practically never share it. A file
/// shorter than that is fingerprinted by what it has; the fingerprint grows with the file.
public struct FileFingerprint: Sendable, Equatable, CustomStringConvertible {
    /// Bytes a complete fingerprint covers.
    public static let fullLength = 1024

    /// How many leading bytes the hash covers.
    public private(set) var length = 0
    /// FNV-1a (64 bit) of those bytes.
    public private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    /// Whether those bytes hold a newline, i.e. a whole first line.
    public private(set) var coversLine = false

    public init() {}

    public init(length: Int, hash: UInt64, coversLine: Bool) {
        self.length = length
        self.hash = hash
        self.coversLine = coversLine
    }

    public var isComplete: Bool { length >= Self.fullLength }

    /// Whether the fingerprint tells files apart: it covers a whole first line (an audit
    /// event, with its unique audit ID) or the full length. Every audit log starts with the
    /// same 80 bytes (`{"kind":"Event","apiVersion":…,"auditID":"`), so a shorter one does not;
    /// a file with no complete line has had nothing read from it either.
    public var isDistinctive: Bool { coversLine || isComplete }

    /// Extends the fingerprint with the bytes that follow the ones it covers (up to `fullLength`).
    public mutating func extend(with bytes: UnsafeRawBufferPointer) {
        let n = min(bytes.count, Self.fullLength - length)
        guard n > 0 else { return }
        var h = hash
        for i in 0..<n {
            h ^= UInt64(bytes[i])
            h &*= 0x0000_0100_0000_01B3
            if bytes[i] == 0x0A { coversLine = true }
        }
        hash = h
        length += n
    }

    public var description: String { "\(length):" + String(hash, radix: 16) }

    /// The fingerprint of the first `length` bytes of the file at `path` (decompressed if it is
    /// an archive); nil when it cannot be read or holds fewer bytes.
    public static func of(path: String, length: Int = fullLength, options: InputOpener.Options = InputOpener.Options()) -> FileFingerprint? {
        guard var opened = try? InputOpener.open(path, options: options) else { return nil }
        defer { opened.close() }
        return of(source: &opened.source, length: length)
    }

    /// The fingerprint of a source's first `length` bytes (nil if it has fewer).
    public static func of<S: ByteSource>(source: inout S, length: Int) -> FileFingerprint? {
        var fp = FileFingerprint()
        let want = min(length, fullLength)
        return withUnsafeTemporaryAllocation(byteCount: fullLength, alignment: 8) { buffer in
            var got = 0
            while got < want {
                guard let n = try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got..<want])), n > 0
                else { break }
                got += n
            }
            guard got == want else { return nil }
            fp.extend(with: UnsafeRawBufferPointer(rebasing: buffer[0..<want]))
            return fp
        }
    }
}

/// Passes bytes through and fingerprints the first `FileFingerprint.fullLength` of them.
///
/// `position` is where in the file the next byte read comes from; while it equals the
/// fingerprint's length (the source started at the beginning, or where an earlier
/// fingerprint of a short file ended), the bytes extend the fingerprint.
public struct FingerprintingSource<Inner: ByteSource>: ByteSource {
    public var inner: Inner
    public private(set) var fingerprint: FileFingerprint
    /// File offset of the next byte.
    public private(set) var position: Int64

    public init(_ inner: Inner, fingerprint: FileFingerprint = FileFingerprint(), position: Int64 = 0) {
        self.inner = inner
        self.fingerprint = fingerprint
        self.position = position
    }

    public var consumedBytes: Int64 { inner.consumedBytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 && Int64(fingerprint.length) == position && !fingerprint.isComplete {
            fingerprint.extend(with: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        position += Int64(n)
        return n
    }

    /// Reads and drops `count` bytes (resuming inside an archive, which cannot seek).
    /// - Returns: the bytes actually skipped (fewer when the source ends first).
    public mutating func skip(_ count: Int64) throws(InputError) -> Int64 {
        var left = count
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
        defer { chunk.deallocate() }
        while left > 0 {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(min(left, Int64(chunk.count)))]))
            if n == 0 { break }
            left -= Int64(n)
        }
        return count - left
    }
}
