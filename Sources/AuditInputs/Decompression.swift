import CZlib
import CZstd

/// The container format of an input, told by its first bytes (never by its name).
public enum InputFormat: String, Sendable {
    case plain, gzip, zstd

    /// Recognises gzip (`1f 8b`), zstd frames (`28 b5 2f fd`) and zstd skippable frames
    /// (`5? 2a 4d 18`); anything else is plain text.
    public static func detect(_ prefix: UnsafeRawBufferPointer) -> InputFormat {
        if prefix.count >= 2 && prefix[0] == 0x1F && prefix[1] == 0x8B { return .gzip }
        if prefix.count >= 4 {
            if prefix[0] == 0x28 && prefix[1] == 0xB5 && prefix[2] == 0x2F && prefix[3] == 0xFD { return .zstd }
            if prefix[0] & 0xF0 == 0x50 && prefix[1] == 0x2A && prefix[2] == 0x4D && prefix[3] == 0x18 { return .zstd }
        }
        return .plain
    }

    /// A compressed or archive format kaudit does not read, told by the same first four
    /// bytes, so such a file is refused with a message instead of being read as text that is
    /// all errors.
    public static func unsupportedArchive(_ prefix: UnsafeRawBufferPointer) -> UnsupportedArchive? {
        guard prefix.count >= 4 else { return nil }
        let magic = (prefix[0], prefix[1], prefix[2], prefix[3])
        switch magic {
        case (0xFD, 0x37, 0x7A, 0x58): return .xz
        case (0x42, 0x5A, 0x68, 0x31...0x39): return .bzip2
        case (0x04, 0x22, 0x4D, 0x18): return .lz4
        case (0x37, 0x7A, 0xBC, 0xAF): return .sevenZip
        case (0x50, 0x4B, 0x03, 0x04): return .zip
        default: return nil
        }
    }
}

/// The formats `InputFormat.unsupportedArchive` recognises, with what to call each and the
/// command that decompresses it to standard output.
public enum UnsupportedArchive: Sendable {
    case xz, bzip2, lz4, sevenZip, zip

    public var named: String {
        switch self {
        case .xz: "an xz archive"
        case .bzip2: "a bzip2 archive"
        case .lz4: "an lz4 frame"
        case .sevenZip: "a 7z archive"
        case .zip: "a zip archive"
        }
    }

    public var command: String {
        switch self {
        case .xz: "xz -dc"
        case .bzip2: "bzip2 -dc"
        case .lz4: "lz4 -dc"
        case .sevenZip: "7z x -so"
        case .zip: "unzip -p"
        }
    }
}

/// Replays bytes already read (the magic-number peek) before reading on.
public final class PrefixedSource<Inner: ByteSource>: ByteSource {
    var prefix: [UInt8]
    var prefixUsed = 0
    var inner: Inner
    /// Whether the prefix's bytes are counted in `inner.consumedBytes` (file bytes), so the
    /// ones not replayed yet are taken off; decompressed bytes are not (their archive's
    /// offset is what counts).
    let prefixIsConsumedBytes: Bool

    public init(prefix: [UInt8], inner: Inner, prefixIsConsumedBytes: Bool = true) {
        self.prefix = prefix
        self.inner = inner
        self.prefixIsConsumedBytes = prefixIsConsumedBytes
    }

    public var consumedBytes: Int64 {
        prefixIsConsumedBytes ? inner.consumedBytes - Int64(prefix.count - prefixUsed) : inner.consumedBytes
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if prefixUsed < prefix.count {
            let n = min(buffer.count, prefix.count - prefixUsed)
            prefix.withUnsafeBytes { p in
                buffer.baseAddress!.copyMemory(from: p.baseAddress! + prefixUsed, byteCount: n)  // Safe: n > 0.
            }
            prefixUsed += n
            return n
        }
        return try inner.read(into: buffer)
    }
}

/// Streaming gzip decompression with zlib, in bounded memory.
///
/// Every member of a multi-member file is read (pigz and concatenated rotations produce
/// them). A stream that ends inside a member is reported as truncated, after every byte
/// decoded before the damage has been returned.
public final class GzipSource<Inner: ByteSource>: ByteSource {
    var inner: Inner
    let name: String
    var stream = z_stream()
    var input: UnsafeMutableRawBufferPointer
    var innerEOF = false
    var memberEnded = false
    var finished = false

    /// Compressed bytes read from the file; decompressed bytes are what `read` returns.
    public var consumedBytes: Int64 { inner.consumedBytes - Int64(stream.avail_in) }

    public init(inner: Inner, name: String, inputBufferSize: Int = 256 << 10) throws(InputError) {
        self.inner = inner
        self.name = name
        input = .allocate(byteCount: inputBufferSize, alignment: 64)
        // 15 + 32: a 32 KiB window, and a gzip or zlib header detected automatically.
        let rc = kaudit_inflateInit2(&stream, 15 + 32)
        guard rc == Z_OK else {
            input.deallocate()
            throw InputError(.corruptArchive, "\(name): cannot start gzip decoding (zlib error \(rc))")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        guard !finished, buffer.count > 0 else { return 0 }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)  // Safe: count > 0.
        stream.avail_out = UInt32(clamping: buffer.count)
        while stream.avail_out > 0 {
            if stream.avail_in == 0 && !innerEOF {
                let n = try inner.read(into: input)
                if n == 0 {
                    innerEOF = true
                } else {
                    stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)  // Safe: allocated.
                    stream.avail_in = UInt32(n)
                }
            }
            if stream.avail_in == 0 && innerEOF {
                let produced = buffer.count - Int(stream.avail_out)
                if produced > 0 { return produced }
                finished = true
                if !memberEnded {
                    throw InputError(.truncatedArchive,
                        "\(name): gzip stream is truncated at compressed offset \(consumedBytes)")
                }
                return 0
            }
            if memberEnded {
                // More input after a complete member: the next member starts here.
                inflateReset(&stream)
                memberEnded = false
            }
            let rc = inflate(&stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                memberEnded = true
            default:
                finished = true
                let produced = buffer.count - Int(stream.avail_out)
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                pendingError = InputError(.corruptArchive,
                    "\(name): corrupt gzip data at compressed offset \(consumedBytes): \(detail)")
                if produced > 0 { return produced }
                let e = pendingError!  // Safe: set just above.
                pendingError = nil
                throw e
            }
        }
        return buffer.count
    }

    var pendingError: InputError?
}

/// Streaming zstd decompression in bounded memory.
///
/// Every frame is read and skippable frames are skipped (libzstd does both). Frames whose
/// window exceeds `maxWindowLog` are refused, so a hostile archive cannot make kaudit
/// allocate an arbitrary window.
public final class ZstdSource<Inner: ByteSource>: ByteSource {
    /// 2^27 = 128 MiB, zstd's own default limit for streaming decoders.
    public static var defaultMaxWindowLog: Int32 { 27 }

    var inner: Inner
    let name: String
    let context: OpaquePointer
    var input: UnsafeMutableRawBufferPointer
    var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    var innerEOF = false
    var frameComplete = true
    var finished = false
    var pendingError: InputError?
    /// The window limit in force, for the error message.
    let maxWindowLog: Int32

    public var consumedBytes: Int64 { inner.consumedBytes - Int64(inBuffer.size - inBuffer.pos) }

    public init(inner: Inner, name: String, maxWindowLog: Int32 = ZstdSource.defaultMaxWindowLog) throws(InputError) {
        self.inner = inner
        self.name = name
        self.maxWindowLog = maxWindowLog
        guard let ctx = ZSTD_createDCtx() else {
            throw InputError(.corruptArchive, "\(name): cannot create a zstd decoder")
        }
        context = ctx
        ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, maxWindowLog)
        input = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 64)
    }

    deinit {
        ZSTD_freeDCtx(context)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let e = pendingError {
            pendingError = nil
            finished = true
            throw e
        }
        guard !finished, buffer.count > 0 else { return 0 }
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos < out.size {
            if inBuffer.pos == inBuffer.size && !innerEOF {
                let n = try inner.read(into: input)
                if n == 0 {
                    innerEOF = true
                } else {
                    inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: n, pos: 0)
                }
            }
            if inBuffer.pos == inBuffer.size && innerEOF {
                // Flush whatever the decoder still holds.
                let before = out.pos
                let rc = ZSTD_decompressStream(context, &out, &inBuffer)
                if ZSTD_isError(rc) == 0 && out.pos > before { continue }
                if out.pos > 0 {
                    if !frameComplete { pendingError = truncated() }
                    finished = pendingError != nil
                    return out.pos
                }
                finished = true
                if !frameComplete { throw truncated() }
                return 0
            }
            let rc = ZSTD_decompressStream(context, &out, &inBuffer)
            if ZSTD_isError(rc) != 0 {
                let message = String(cString: ZSTD_getErrorName(rc))
                let error: InputError
                if ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge {
                    error = InputError(.windowTooLarge,
                        "\(name): zstd window larger than \(Self.describeWindow(log: maxWindowLog)); raise the limit with --zstd-window-log-max")
                } else {
                    error = InputError(.corruptArchive,
                        "\(name): corrupt zstd data at compressed offset \(consumedBytes): \(message)")
                }
                if out.pos > 0 {
                    pendingError = error
                    return out.pos
                }
                finished = true
                throw error
            }
            frameComplete = rc == 0
        }
        return out.pos
    }

    /// Fix: the message used to name the default limit (128 MiB) whatever the configured one was.
    static func describeWindow(log: Int32) -> String {
        log >= 20 ? "\(1 << (Int(log) - 20)) MiB" : "\(1 << (Int(log) - 10)) KiB"
    }

    private func truncated() -> InputError {
        InputError(.truncatedArchive, "\(name): zstd stream is truncated at compressed offset \(consumedBytes)")
    }
}
