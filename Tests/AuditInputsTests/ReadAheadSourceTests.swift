import AuditInputs
import AuditTestSupport
import Testing

// ReadAheadSource reads another source on its own thread: the consumer must see exactly
// the bytes, in order, then the inner source's error, whatever the block and read sizes.

/// A source that hands out `bytes` in pieces of scripted sizes, then fails or ends.
private struct ScriptedSource: ByteSource {
    let bytes: [UInt8]
    var pieces: SplitMix64
    var position = 0
    var failure: InputError?
    /// Never ends (for the early-stop test): after the bytes, keeps producing zeros.
    var endless = false

    var consumedBytes: Int64 { Int64(position) }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if endless {
            let n = min(buffer.count, 100)
            for i in 0..<n { buffer[i] = 0 }
            position += n
            return n
        }
        if position == bytes.count {
            if let failure { throw failure }
            return 0
        }
        let n = min(buffer.count, bytes.count - position, 1 + Int(pieces.next() % 3_000))
        for i in 0..<n { buffer[i] = bytes[position + i] }
        position += n
        return n
    }
}

/// Reads `source` to its end with reads of `readSize` bytes.
private func drain(_ source: ReadAheadSource, readSize: Int) -> (bytes: [UInt8], error: InputError?, consumed: [Int64]) {
    var out: [UInt8] = []
    var consumed: [Int64] = []
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 1)
    defer { chunk.deallocate() }
    do {
        while true {
            let n = try source.read(into: chunk)
            if n == 0 { break }
            out += chunk[0..<n]
            consumed.append(source.consumedBytes)
        }
        return (out, nil, consumed)
    } catch {
        return (out, error, consumed)
    }
}

@Suite("ReadAheadSource")
struct ReadAheadSourceTests {
    static let bytes: [UInt8] = {
        var g = SplitMix64(seed: 3)
        return (0..<300_000).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }()

    @Test(
        "every byte in order, whatever the block, depth and read sizes",
        arguments: [(1_000, 2, 1), (1_000, 3, 7), (4_096, 4, 4_096), (65_536, 2, 100_000), (1, 2, 3)])
    func sameBytes(blockSize: Int, depth: Int, readSize: Int) {
        let bytes = blockSize == 1 ? Array(Self.bytes.prefix(20_000)) : Self.bytes
        let inner = ScriptedSource(bytes: bytes, pieces: SplitMix64(seed: UInt64(blockSize)))
        let source = ReadAheadSource(inner, blockSize: blockSize, depth: depth)
        let read = drain(source, readSize: readSize)
        #expect(read.error == nil)
        #expect(read.bytes == bytes)
        #expect(read.consumed == read.consumed.sorted(), "consumed bytes never go back")
        #expect(source.consumedBytes == Int64(bytes.count))
        source.stop()
    }

    @Test("the inner source's error comes after every byte before it, with its code and message")
    func errorAfterTheBytes() {
        var inner = ScriptedSource(bytes: Self.bytes, pieces: SplitMix64(seed: 9))
        inner.failure = InputError(.truncatedArchive, "audit.log.gz: truncated at compressed offset 1234")
        let read = drain(ReadAheadSource(inner, blockSize: 8_192, depth: 3), readSize: 5_000)
        #expect(read.bytes == Self.bytes)
        #expect(read.error?.code == .truncatedArchive)
        #expect(read.error?.message == "audit.log.gz: truncated at compressed offset 1234")
        #expect(read.consumed.last == Int64(Self.bytes.count))
    }

    @Test("an empty source ends at once")
    func empty() {
        let read = drain(ReadAheadSource(ScriptedSource(bytes: [], pieces: SplitMix64(seed: 1))), readSize: 10)
        #expect(read.bytes.isEmpty && read.error == nil)
    }

    @Test("stopping early ends the reading thread, even while the source has more")
    func stopEarly() throws {
        var inner = ScriptedSource(bytes: [], pieces: SplitMix64(seed: 1))
        inner.endless = true
        let source = ReadAheadSource(inner, blockSize: 1_000, depth: 2)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 10, alignment: 1)
        defer { chunk.deallocate() }
        #expect(try source.read(into: chunk) == 10)
        source.stop()  // returns: the thread was waiting for a free block and is told to finish
        source.stop()  // and again, harmlessly
    }

    @Test("a damaged gzip archive gives the same bytes and error as read directly")
    func damagedArchive() throws {
        let dir = try TemporaryDirectory()
        var text: [UInt8] = []
        for i in 0..<20_000 { text += Array("{\"n\":\(i),\"pad\":\"\(String(repeating: "x", count: i % 50))\"}\n".utf8) }
        let archive = try gzip(text, in: dir)
        let path = try dir.write("cut.gz", Array(archive.prefix(archive.count * 2 / 3)))
        let direct = decompress(path)
        let opened = try InputOpener.open(path)
        defer { opened.close() }
        let source = ReadAheadSource(opened.source, blockSize: 16_384, depth: 3)
        let ahead = drain(source, readSize: 10_000)
        source.stop()
        #expect(direct.error?.code == .truncatedArchive)
        #expect(ahead.bytes == direct.bytes)
        #expect(ahead.error?.code == direct.error?.code)
        #expect(ahead.error?.message == direct.error?.message)
    }
}
