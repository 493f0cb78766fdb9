import AuditInputs
import Foundation
import Testing

// Helpers for the compressed-input tests: a temporary directory, the gzip and zstd command
// line tools (run on files, so no pipe can fill up), and reading a path the way the CLI does.

/// A fresh directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("kaudit-inputs-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
}

func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs `tool arguments… input` with standard output going to a file, and returns the output.
func runTool(_ tool: String, _ arguments: [String], input: [UInt8], in dir: TemporaryDirectory) throws -> [UInt8] {
    let name = UUID().uuidString
    let inputPath = try dir.write(name + ".in", input)
    let outputPath = dir.path(name + ".out")
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments + [inputPath]
    process.standardOutput = output
    try process.run()
    process.waitUntilExit()
    try output.close()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(tool) \(arguments) exited with \(process.terminationStatus)")
    }
    return try readBytes(outputPath)
}

/// One gzip member, as `gzip -c -n` writes it.
func gzip(_ bytes: [UInt8], in dir: TemporaryDirectory) throws -> [UInt8] {
    try runTool("/usr/bin/gzip", ["-c", "-n", "-6"], input: bytes, in: dir)
}

/// One zstd frame with a content checksum, as `zstd -c --check` writes it.
func zstd(_ bytes: [UInt8], in dir: TemporaryDirectory) throws -> [UInt8] {
    try runTool("/usr/bin/zstd", ["-q", "-c", "--check", "--no-progress"], input: bytes, in: dir)
}

/// A zstd skippable frame (magic 0x184D2A5?, little-endian size, payload).
func zstdSkippableFrame(_ payload: [UInt8], variant: UInt8 = 0) -> [UInt8] {
    let size = UInt32(payload.count)
    return [0x50 | (variant & 0x0F), 0x2A, 0x4D, 0x18]
        + [UInt8(size & 0xFF), UInt8((size >> 8) & 0xFF), UInt8((size >> 16) & 0xFF), UInt8(size >> 24)] + payload
}

/// What reading a path gave: what the handler saw, how the read ended, the detected format.
struct FileRead {
    var found = Collector()
    var error: InputError?
    var format: InputFormat?
}

/// Opens `path` by magic bytes and reads it to its end, as `kaudit scan` does.
func readFile(
    _ path: String, options: InputOpener.Options = InputOpener.Options(), reader: AuditStreamReader = AuditStreamReader()
) -> FileRead {
    var result = FileRead()
    do {
        var opened = try InputOpener.open(path, options: options)
        defer { opened.close() }
        result.format = opened.format
        try reader.read(from: &opened.source, name: path, into: &result.found)
    } catch {
        result.error = error
    }
    return result
}

/// The bytes a path decompresses to before its source stops (and how it stopped).
func decompress(_ path: String) -> (bytes: [UInt8], error: InputError?) {
    var out: [UInt8] = []
    do {
        var opened = try InputOpener.open(path)
        defer { opened.close() }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let n = try opened.source.read(into: chunk)
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return (out, nil)
    } catch {
        return (out, error)
    }
}
