// What every benchmark executable needs: a monotonic clock, medians, and a whole file in memory.
import Glibc

/// Monotonic seconds.
public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The median (the mean of the two middle values for an even count).
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Reads a whole file into 64-byte-aligned memory (with 64 bytes of slack), kept for the
/// life of the process; exits with status 2 when it cannot.
public func loadFile(_ path: String) -> UnsafeRawBufferPointer {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { fputs("cannot open \(path)\n", stderr); exit(2) }
    var st = stat()
    fstat(fd, &st)
    let size = Int(st.st_size)
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 64, alignment: 64)
    var off = 0
    while off < size {
        let n = read(fd, buf.baseAddress! + off, size - off)
        guard n > 0 else { fputs("read failed\n", stderr); exit(2) }
        off += n
    }
    close(fd)
    return UnsafeRawBufferPointer(rebasing: buf[0..<size])
}

/// `x` with `digits` decimals (printf's `%.Nf`), right-aligned to `width` characters.
public func fixed(_ x: Double, _ digits: Int, width: Int = 0) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBufferPointer { b in
        withVaList([x]) { vsnprintf(b.baseAddress, b.count, "%.\(digits)f", $0) }
    }
    let s = String(decoding: buffer.prefix(Int(max(0, min(n, 63)))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

/// Heap allocations so far, when the process runs under `malloc-counter`'s LD_PRELOAD shim
/// (nil otherwise).
public func mallocCalls() -> UInt64? { mallocCounter?() }

private typealias CounterFn = @convention(c) () -> UInt64
private let mallocCounter: CounterFn? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "kaudit_malloc_calls")
    .map { unsafeBitCast($0, to: CounterFn.self) }
