import Glibc

/// Reads another source on a thread of its own, a few blocks ahead of the consumer, so that
/// decompressing an archive runs on one core while the events are parsed and judged on
/// another.
///
/// Bounded: `depth` blocks of `blockSize` bytes (4 × 1 MiB by default) are all the memory
/// it adds. Order and failures are kept: the consumer gets every byte the inner source
/// produced, in order, and then the inner source's error (a damaged archive), exactly as if
/// it had read the inner source itself. `consumedBytes` is the inner source's count as of
/// the last block handed out, so error reports and progress describe what was consumed.
///
/// `stop()` (also run on deinit) tells the reading thread to finish and waits for it; call
/// it before closing the file under the inner source.
public final class ReadAheadSource: ByteSource {
    public static let defaultBlockSize = 1 << 20
    public static let defaultDepth = 4

    private let shared: Shared
    private var thread: pthread_t?
    /// The block being handed out, and how much of it has been.
    private var current = -1
    private var currentLength = 0
    private var position = 0
    private var consumed: Int64 = 0

    public var consumedBytes: Int64 { shared.inline ? shared.inner.consumedBytes : consumed }

    public init(_ inner: any ByteSource, blockSize: Int = ReadAheadSource.defaultBlockSize, depth: Int = ReadAheadSource.defaultDepth) {
        shared = Shared(inner: inner, blockSize: max(blockSize, 1), depth: max(depth, 2))
        var handle = pthread_t()
        let context = Unmanaged.passRetained(shared).toOpaque()
        if pthread_create(&handle, nil, { raw in
            let shared = Unmanaged<Shared>.fromOpaque(raw!).takeRetainedValue()
            shared.produce()
            return nil
        }, context) == 0 {
            thread = handle
        } else {
            // No thread: read in the caller's thread instead (still correct, not parallel).
            Unmanaged<Shared>.fromOpaque(context).release()
            shared.inline = true
        }
    }

    deinit { stop() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        guard buffer.count > 0 else { return 0 }
        if shared.inline { return try shared.readInline(into: buffer) }
        while true {
            if current < 0 {
                guard let next = shared.take() else {
                    // The end: every block was handed out.
                    if let error = shared.failure() { throw error }
                    return 0
                }
                current = next.block
                currentLength = next.length
                consumed = next.consumed
                position = 0
            }
            let available = currentLength - position
            if available > 0 {
                let n = min(available, buffer.count)
                buffer.baseAddress!.copyMemory(from: shared.blocks[current] + position, byteCount: n)
                position += n
                if position == currentLength {
                    shared.give(back: current)
                    current = -1
                }
                return n
            }
            shared.give(back: current)
            current = -1
        }
    }

    /// Stops the reading thread and waits for it. Reading afterwards returns the end.
    public func stop() {
        guard let thread else { return }
        shared.cancel()
        pthread_join(thread, nil)
        self.thread = nil
    }

    /// What the two threads share, guarded by `lock`: a ring of blocks, filled by the reading
    /// thread in order and handed out in the same order.
    private final class Shared: @unchecked Sendable {
        var inner: any ByteSource
        let blocks: [UnsafeMutableRawPointer]
        let blockSize: Int
        /// Per block: bytes in it, and the inner source's consumed count after filling it
        /// (read and written under `lock` only).
        var lengths: [Int]
        var consumed: [Int64]
        var lock = pthread_mutex_t()
        var changed = pthread_cond_t()
        /// Filled blocks waiting, from `head`; `filledCount` of them.
        var head = 0
        var filledCount = 0
        var finished = false
        var cancelled = false
        var error: InputError?
        var inline = false

        init(inner: any ByteSource, blockSize: Int, depth: Int) {
            self.inner = inner
            self.blockSize = blockSize
            blocks = (0..<depth).map { _ in UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 64) }
            lengths = Array(repeating: 0, count: depth)
            consumed = Array(repeating: 0, count: depth)
            pthread_mutex_init(&lock, nil)
            pthread_cond_init(&changed, nil)
        }

        deinit {
            for b in blocks { b.deallocate() }
            pthread_mutex_destroy(&lock)
            pthread_cond_destroy(&changed)
        }

        /// The reading thread: fills free blocks until the end, an error or cancellation.
        /// Filled blocks are `head ..< head + filledCount` (the consumer's current block is
        /// the head until given back), so the block after them is free to fill.
        func produce() {
            var next = 0
            while true {
                pthread_mutex_lock(&lock)
                while filledCount == blocks.count && !cancelled { pthread_cond_wait(&changed, &lock) }
                let stop = cancelled
                pthread_mutex_unlock(&lock)
                if stop { break }
                var n = 0
                var failure: InputError?
                do {
                    n = try inner.read(into: UnsafeMutableRawBufferPointer(start: blocks[next], count: blockSize))
                } catch {
                    failure = error
                }
                pthread_mutex_lock(&lock)
                if n > 0 {
                    lengths[next] = n
                    consumed[next] = inner.consumedBytes
                    filledCount += 1
                    next = (next + 1) % blocks.count
                }
                if n == 0 || failure != nil {
                    error = failure
                    finished = true
                }
                pthread_cond_broadcast(&changed)
                let done = finished
                pthread_mutex_unlock(&lock)
                if done { break }
            }
            pthread_mutex_lock(&lock)
            finished = true
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&lock)
        }

        /// The next filled block, its length and the consumed count (waiting for it), nil at
        /// the end.
        func take() -> (block: Int, length: Int, consumed: Int64)? {
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            while filledCount == 0 && !finished { pthread_cond_wait(&changed, &lock) }
            guard filledCount > 0 else { return nil }
            return (head, lengths[head], consumed[head])
        }

        /// The inner source's error, once the end was reached.
        func failure() -> InputError? {
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            return error
        }

        /// The consumer is done with block `i` (the head): it may be filled again.
        func give(back i: Int) {
            pthread_mutex_lock(&lock)
            head = (i + 1) % blocks.count
            filledCount -= 1
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&lock)
        }

        func cancel() {
            pthread_mutex_lock(&lock)
            cancelled = true
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&lock)
        }

        func readInline(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
            try inner.read(into: buffer)
        }
    }
}
