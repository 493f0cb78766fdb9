import CZlib
import Foundation

/// Just enough of PNG to look at a browser's screenshot: 8-bit RGB or RGBA, not interlaced.
/// The pixels are inflated with zlib and unfiltered row by row (PNG's five filters).
struct PNGImage {
    let width: Int
    let height: Int
    /// RGBA, 4 bytes a pixel, row after row.
    let pixels: [UInt8]

    struct Unsupported: Error, CustomStringConvertible { let description: String }

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Unsupported(description: "not a PNG")
        }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var i = 8
        var w = 0, h = 0, colorType = 0
        var compressed: [UInt8] = []
        while i + 8 <= bytes.count {
            let length = be32(i)
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = (i + 8)..<min(bytes.count, i + 8 + length)
            switch type {
            case "IHDR":
                w = be32(body.lowerBound)
                h = be32(body.lowerBound + 4)
                let depth = bytes[body.lowerBound + 8]
                colorType = Int(bytes[body.lowerBound + 9])
                guard depth == 8, colorType == 2 || colorType == 6, bytes[body.lowerBound + 12] == 0 else {
                    throw Unsupported(description: "depth \(depth), colour type \(colorType)")
                }
            case "IDAT": compressed += bytes[body]
            default: break
            }
            i += 12 + length
        }
        let channels = colorType == 6 ? 4 : 3
        let stride = w * channels
        var raw = [UInt8](repeating: 0, count: h * (stride + 1))
        var stream = z_stream()
        guard kaudit_inflateInit2(&stream, 15) == Z_OK else { throw Unsupported(description: "inflateInit failed") }
        defer { inflateEnd(&stream) }
        let status = compressed.withUnsafeMutableBufferPointer { input in
            raw.withUnsafeMutableBufferPointer { output in
                stream.next_in = input.baseAddress
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(output.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Unsupported(description: "inflate: \(status)") }

        var out = [UInt8](repeating: 255, count: w * h * 4)
        var previous = [UInt8](repeating: 0, count: stride)
        var row = [UInt8](repeating: 0, count: stride)
        for y in 0..<h {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let v = raw[y * (stride + 1) + 1 + x]
                let a = x >= channels ? Int(row[x - channels]) : 0
                let b = Int(previous[x])
                let c = x >= channels ? Int(previous[x - channels]) : 0
                let predictor: Int
                switch filter {
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: predictor = 0
                }
                row[x] = v &+ UInt8(truncatingIfNeeded: predictor)
            }
            for x in 0..<w {
                for ch in 0..<channels { out[(y * w + x) * 4 + ch] = row[x * channels + ch] }
            }
            swap(&previous, &row)
        }
        width = w
        height = h
        pixels = out
    }

    /// Distinct colours (RGB) among the pixels.
    var distinctColors: Int {
        var seen = Set<UInt32>()
        for p in Swift.stride(from: 0, to: pixels.count, by: 4) {
            seen.insert(UInt32(pixels[p]) << 16 | UInt32(pixels[p + 1]) << 8 | UInt32(pixels[p + 2]))
        }
        return seen.count
    }

    /// The share of pixels that differ from the most common colour (the background).
    var inkFraction: Double {
        var counts: [UInt32: Int] = [:]
        for p in Swift.stride(from: 0, to: pixels.count, by: 4) {
            counts[UInt32(pixels[p]) << 16 | UInt32(pixels[p + 1]) << 8 | UInt32(pixels[p + 2]), default: 0] += 1
        }
        let background = counts.values.max() ?? 0
        return 1 - Double(background) / Double(max(1, width * height))
    }
}
