// container-skip: what skipping JSON containers costs, token by token (`skimContainer`, no
// block scan) against 64 bytes per step (`skipContainer`), by container size, over every
// object and array in a file of audit events. It chose where the two hand over
// (`JSONScanner.skimLimit` for the envelope, `bodySkimLimit` inside bodies).
//
//   container-skip FILE [--reps N]
//
// Each line of FILE is read into memory; every `{` and `[` outside strings starts a
// container. Output: one JSON object per size class on stdout (ns per container and per
// byte for each way, medians of N passes), a table on stderr.
import AuditJSON
import BenchSupport
import Foundation

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: container-skip FILE [--reps N]\n".utf8))
    exit(2)
}
let reps = args.firstIndex(of: "--reps").flatMap { $0 + 1 < args.count ? Int(args[$0 + 1]) : nil } ?? 5
guard let text = FileManager.default.contents(atPath: args[1]) else {
    FileHandle.standardError.write(Data("cannot read \(args[1])\n".utf8))
    exit(1)
}
let lines = text.split(separator: UInt8(ascii: "\n")).map { Array($0) }

/// (line, start, size) of every container outside strings.
var containers: [(line: Int, start: Int, size: Int)] = []
for (n, line) in lines.enumerated() {
    var inString = false
    var escaped = false
    for (i, b) in line.enumerated() {
        if inString {
            if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            continue
        }
        if b == UInt8(ascii: "\"") {
            inString = true
        } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
            let end = line.withUnsafeBufferPointer { JSONScanner.skipContainer($0.baseAddress!, i, $0.count) }
            if end > i { containers.append((n, i, end - i)) }
        }
    }
}

/// Seconds to skip `selected` containers once, token by token or by blocks.
func pass(_ selected: [(line: Int, start: Int, size: Int)], blocks: Bool) -> Double {
    var sink = 0
    let t = now()
    for c in selected {
        lines[c.line].withUnsafeBufferPointer { b in
            sink &+= blocks
                ? JSONScanner.skipContainer(b.baseAddress!, c.start, b.count)
                : JSONScanner.skimContainer(b.baseAddress!, c.start, b.count, skimLimit: .max)
        }
    }
    let elapsed = now() - t
    if sink == 42 { print("") }  // keeps the work
    return elapsed
}

for (low, high) in [(0, 64), (64, 256), (256, 1024), (1024, Int.max)] {
    let selected = containers.filter { $0.size >= low && $0.size < high }
    guard !selected.isEmpty else { continue }
    let bytes = Double(selected.reduce(0) { $0 + $1.size })
    let count = Double(selected.count)
    var tokens: [Double] = []
    var blocks: [Double] = []
    for _ in 0..<reps {
        tokens.append(pass(selected, blocks: false))
        blocks.append(pass(selected, blocks: true))
    }
    let t = median(tokens)
    let b = median(blocks)
    let range = high == Int.max ? "\(low)+" : "\(low)-\(high - 1)"
    print(
        "{\"bench\":\"container_skip\",\"bytes\":\"\(range)\",\"containers\":\(selected.count),"
            + "\"tokens_ns\":\(fixed(t * 1e9 / count, 1)),\"blocks_ns\":\(fixed(b * 1e9 / count, 1)),"
            + "\"tokens_ns_per_byte\":\(fixed(t * 1e9 / bytes, 3)),\"blocks_ns_per_byte\":\(fixed(b * 1e9 / bytes, 3))}")
    FileHandle.standardError.write(
        Data("\(range) bytes: \(selected.count) containers, token by token \(fixed(t * 1e9 / count, 1)) ns, 64 bytes per step \(fixed(b * 1e9 / count, 1)) ns\n".utf8))
}
