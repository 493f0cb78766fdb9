import CZstd

/// One zstd frame per group commit. A frame is complete on its own, so every fsync leaves a
/// segment that `kaudit scan` (and any zstd tool) reads to its end, and the detection reader
/// and crash recovery can find commit boundaries with `ZSTD_findFrameCompressedSize`.
final class ZstdFrameEncoder {
    let context: OpaquePointer
    var output: [UInt8] = []

    init(level: Int32) {
        context = ZSTD_createCCtx()!  // Only fails when malloc does.
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // The content size in the header lets the reader allocate the output once.
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into one frame held in `output` (reused between calls).
    func encode(_ input: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let n = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count)
        }
        guard ZSTD_isError(n) == 0 else { return nil }
        return output.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[0..<n]) }
    }
}

/// Reading back the frames the encoder wrote.
public enum ZstdFrames {
    /// Size of the complete frame at the start of `bytes`; nil when the bytes hold only part
    /// of one (or something that is not a frame).
    public static func completeFrameSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count > 0 else { return nil }
        let n = ZSTD_findFrameCompressedSize(bytes.baseAddress, bytes.count)
        return ZSTD_isError(n) != 0 || n > bytes.count ? nil : n
    }

    /// Decompresses the single frame `frame` into `output` (resized as needed), refusing
    /// frames that do not state their size or state more than `limit` bytes.
    public static func decode(
        _ frame: UnsafeRawBufferPointer, into output: inout [UInt8], context: OpaquePointer, limit: Int
    ) -> Int? {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard size < UInt64.max - 1, size <= UInt64(limit) else { return nil }  // unknown, error or too big
        if output.count < Int(size) { output = [UInt8](repeating: 0, count: Int(size)) }
        let n = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(context, out.baseAddress, Int(size), frame.baseAddress, frame.count)
        }
        return ZSTD_isError(n) != 0 ? nil : n
    }

    /// A decoder context for `decode` (free it with `freeContext`).
    public static func makeContext() -> OpaquePointer { ZSTD_createDCtx()! }  // Only fails when malloc does.
    public static func freeContext(_ context: OpaquePointer) { ZSTD_freeDCtx(context) }
}
