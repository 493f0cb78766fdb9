import AuditInputs
import AuditJSON
import AuditModel
import DetectionEngine
import Glibc

/// Reads inputs of lines on several threads and gives exactly what a one-thread read gives.
///
/// The calling thread reads each input in blocks of whole lines (split after the last newline
/// of each block) and queues them; worker threads parse, summarize and judge them (one
/// `EventJudge` each). The calling thread takes the blocks back in input order and applies
/// them: summary counts are merged, record problems reported with their line numbers in the
/// input, and every verdict applied to the one `Detector` (duplicates, the stage gate,
/// correlations), so the alerts are those of a one-thread run, in the same order. While the
/// oldest block is not parsed yet, the calling thread parses queued blocks itself: `jobs`
/// threads in all (the caller and `jobs - 1` workers) keep `jobs` cores busy without
/// oversubscribing them, and the caller, whose work no one else can do, never waits behind
/// a worker for a core. An input whose layout is not lines (pretty-printed events, a JSON
/// array) is read on the calling thread alone.
///
/// Memory: `2 × jobs + 2` blocks (`blockSize` each; a block grows only to hold a line longer
/// than itself, up to the record cap, and is given back afterwards), plus each thread's judge.
final class ParallelReplay {
    let limits: ReaderLimits
    let blockSize: Int
    /// Threads that parse (the caller and its workers).
    let jobs: Int
    let detector: Detector?
    private let shared: Shared
    private var threads: [pthread_t] = []
    private var workers: [Worker] = []
    /// Parses blocks on the calling thread while it would otherwise wait.
    private let callerWorker: Worker
    /// Blocks ready to be filled, and blocks handed out (in input order) not yet applied.
    private var free: [Block] = []
    private var inFlight: [Block] = []
    private var inFlightHead = 0
    /// The index memory of events read back for `Detector.apply`.
    private let reloadStorage = AuditEventStorage()
    /// The reader that recognises each input's layout.
    let reader: AuditStreamReader

    init(jobs: Int, limits: ReaderLimits, detector: Detector?, blockSize: Int = 1 << 20) {
        self.limits = limits
        self.jobs = max(jobs, 2)
        let blockSize = max(blockSize, 4096)
        self.blockSize = blockSize
        self.detector = detector
        reader = AuditStreamReader(limits: limits)
        shared = Shared()
        free = (0..<(2 * jobs + 2)).map { _ in Block(capacity: blockSize) }
        callerWorker = Worker(reader: AuditStreamReader(limits: limits), judge: detector?.makeJudge(), shared: shared)
        for _ in 1..<max(jobs, 2) {
            let worker = Worker(reader: AuditStreamReader(limits: limits), judge: detector?.makeJudge(), shared: shared)
            var handle = pthread_t()
            let context = Unmanaged.passRetained(worker).toOpaque()
            let started = pthread_create(&handle, nil, { raw in
                Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context)
            if started == 0 {
                threads.append(handle)
                workers.append(worker)
            } else {
                Unmanaged<Worker>.fromOpaque(context).release()
            }
        }
    }

    /// Whether worker threads could be started (without them, inputs are read as on one thread).
    var isParallel: Bool { !workers.isEmpty }

    /// Whether an archive of `format` is best decompressed by the calling thread as it fills
    /// the blocks, rather than on a read-ahead thread of its own (which costs a third thread
    /// on the cores and a copy of every byte). The caller's own share of the work is
    /// decompression plus applying verdicts; doing it inline pays while that share stays
    /// under what each of the `jobs` threads gets. zstd inflates at ~2.5 GB/s, faster than
    /// events are parsed and judged: per GiB, decompression ~0.4 CPU-s and applying ~0.2 of
    /// ~1.65 in all, so inline wins up to two jobs (a 1 GiB replay on two cores, medians of
    /// 8 alternating runs: 0.80 s against 0.92 s with the read-ahead thread). gzip inflates
    /// at ~0.75 GB/s, the slowest step: it keeps a thread of its own.
    func decompressesInline(_ format: InputFormat) -> Bool {
        format == .zstd && jobs <= 2
    }

    /// Stops the workers and adds their judges' figures to the detector's counters.
    func stop() {
        guard !stopped else { return }
        stopped = true
        shared.stop()
        for t in threads { pthread_join(t, nil) }
        threads = []
        for w in workers + [callerWorker] { if let judge = w.judge { detector?.absorbCounters(of: judge) } }
        workers = []
    }

    private var stopped = false

    deinit { stop() }

    /// Lines of the current input before the block being applied.
    private var lineBase = 0
    /// Events applied from the current input.
    private var events = 0

    /// What `read` did with an input.
    enum Outcome {
        /// Read through the workers: the bytes and records read, and the failure it ended with.
        case read(bytes: Int64, records: Int, error: InputError?)
        /// Not lines (pretty-printed events, a JSON array, a first line longer than a block):
        /// the input again from its first byte, for the caller to read on one thread.
        case notLines(any ByteSource)
    }

    /// Reads one input to its end through the workers, as `ScanRunner.scan` does on one
    /// thread: every complete record before a failure is handled, and the failure returned.
    func read(
        _ source: inout some ByteSource, name: String, progress: ProgressMeter?, into handler: inout DetectingHandler
    ) -> Outcome {
        lineBase = 0
        events = 0
        var bytes: Int64 = 0
        var block = takeFree(into: &handler)
        block.reset(name: name, offset: 0)
        var eof = false
        var failure: InputError?
        func fill(_ block: Block) {
            while block.length < block.capacity && !eof && failure == nil {
                do throws(InputError) {
                    let n = try source.read(
                        into: UnsafeMutableRawBufferPointer(start: block.memory + block.length, count: block.capacity - block.length))
                    if n == 0 { eof = true }
                    block.length += n
                    bytes += Int64(n)
                } catch {
                    failure = error
                }
                progress?.update(inputBytes: source.consumedBytes, inputEvents: events)
            }
        }
        fill(block)
        guard
            let (layout, start) = reader.layout(
                ofStreamStart: UnsafeRawBufferPointer(start: block.memory, count: block.length), isFinal: eof || failure != nil),
            layout == .ndjson
        else {
            // Not lines (or a first line longer than a block): the whole input, for one thread.
            let prefix = Array(UnsafeBufferPointer(start: block.memory, count: block.length))
            free.append(block)
            if let failure {
                return .notLines(PrefixedSource(prefix: prefix, inner: FailedSource(failure: failure, consumedBytes: source.consumedBytes), prefixIsConsumedBytes: false))
            }
            return .notLines(PrefixedSource(prefix: prefix, inner: source, prefixIsConsumedBytes: false))
        }
        block.start = start
        while true {
            if eof || failure != nil {
                // The last block: every line, and after a failure, none cut short by it.
                if failure != nil { block.length = block.lastNewline().map { $0 + 1 } ?? block.start }
                dispatch(block)
                break
            }
            if let nl = block.lastNewline() {
                let next = takeFree(into: &handler)
                next.reset(name: name, offset: block.offset + Int64(nl + 1))
                next.append(block.memory + nl + 1, count: block.length - nl - 1)
                block.length = nl + 1
                dispatch(block)
                block = next
            } else if block.length - block.start > limits.maxRecordBytes {
                // A line over the record cap: reported as the one-thread reader reports it,
                // and skipped up to its newline without being kept.
                skipOverlongLine(block, fill: fill, atEnd: { eof || failure != nil })
            } else if block.length == block.capacity {
                block.grow(to: min(2 * block.capacity, limits.maxRecordBytes + blockSize))
            }
            fill(block)
        }
        while inFlightHead < inFlight.count { applyOldest(into: &handler) }
        return .read(bytes: bytes, records: events, error: failure)
    }

    /// Reports the line starting at `block.start` as too long and drops it up to its newline
    /// (reading on as needed); the block is left holding what follows the newline.
    private func skipOverlongLine(_ block: Block, fill: (Block) -> Void, atEnd: () -> Bool) {
        let report = Block(capacity: 0)
        report.reset(name: block.name, offset: block.offset)
        report.issues.append(
            (0,
                ReadIssue(
                    kind: .lineTooLong, source: block.name, line: 1, byteOffset: block.offset + Int64(block.start),
                    detail: AuditStreamReader.lineTooLongDetail(limits.maxRecordBytes))))
        report.parsed = true
        inFlight.append(report)
        var from = block.start
        while true {
            if let p = memchr(block.memory + from, 0x0A, block.length - from) {
                let nl = block.memory.distance(to: p.assumingMemoryBound(to: UInt8.self))
                report.linesPassed = 1
                let rest = block.length - nl - 1
                let restOffset = block.offset + Int64(nl + 1)
                block.memory.update(from: block.memory + nl + 1, count: rest)
                block.reset(name: block.name, offset: restOffset)
                block.length = rest
                block.shrink(to: blockSize)
                return
            }
            block.reset(name: block.name, offset: block.offset + Int64(block.length))
            from = 0
            if atEnd() { return }
            fill(block)
            if block.length == 0 { return }
        }
    }

    private func dispatch(_ block: Block) {
        inFlight.append(block)
        shared.push(block)
    }

    /// A block to fill: a free one, or the oldest in flight once it is parsed and applied.
    private func takeFree(into handler: inout DetectingHandler) -> Block {
        while free.isEmpty { applyOldest(into: &handler) }
        return free.removeLast()
    }

    /// Waits for the oldest block in flight and applies it: summary, problems, verdicts.
    private func applyOldest(into handler: inout DetectingHandler) {
        let block = inFlight[inFlightHead]
        inFlightHead += 1
        if inFlightHead == inFlight.count {
            inFlight.removeAll(keepingCapacity: true)
            inFlightHead = 0
        }
        shared.waitParsed(block, helping: callerWorker)
        handler.summary.merge(block.summary)
        var issue = 0
        var match = 0
        let base = UnsafePointer(block.memory + block.start)
        for k in 0..<block.events {
            while issue < block.issues.count && block.issues[issue].before == k {
                deliver(block.issues[issue].issue, &handler)
                issue += 1
            }
            if let detector, k < block.verdicts.count {
                if k + Self.prefetchDistance < block.verdicts.count { detector.prefetch(block.verdicts[k + Self.prefetchDistance]) }
                let verdict = block.verdicts[k]
                let record = block.records[k]
                block.matches.withUnsafeBufferPointer { all in
                    let mine = UnsafeBufferPointer(rebasing: all[match..<match + verdict.matchCount])
                    detector.apply(verdict, matches: mine) { self.reload(record, from: block, base: base) }
                }
                match += verdict.matchCount
            }
            events += 1
            handler.afterEvent?()
        }
        while issue < block.issues.count {
            deliver(block.issues[issue].issue, &handler)
            issue += 1
        }
        lineBase += block.linesPassed
        if block.capacity > 0 {
            block.shrink(to: blockSize)
            free.append(block)
        }
    }

    /// How many verdicts ahead of the one applied the duplicate table is prefetched.
    static let prefetchDistance = 4

    /// The judged event again, for a match or finding that needs it: from the index its
    /// worker saved when it matched, else read anew from its bytes.
    private func reload(_ record: Record, from block: Block, base: UnsafePointer<UInt8>) -> AuditEvent {
        var event = AuditEvent(reusing: reloadStorage)
        let object = JSONValue(base: base, start: record.start, end: record.end)
        let list = record.listStart < 0 ? nil : JSONValue(base: base, start: record.listStart, end: record.listEnd)
        if record.savedIndex >= 0 {
            block.savedIndexes.withUnsafeBufferPointer { saved in
                event.load(
                    object: object, savedIndex: saved.baseAddress! + record.savedIndex, listAPIVersion: list,  // Safe: saved by the worker.
                    hasDuplicateKeys: record.hasDuplicateKeys)
            }
        } else {
            _ = event.load(object: object, listAPIVersion: list)
        }
        return event
    }

    private func deliver(_ issue: ReadIssue, _ handler: inout DetectingHandler) {
        var issue = issue
        issue.line += lineBase
        handler.handle(issue: issue)
    }

    // MARK: - Blocks and workers

    /// Where a judged event lies in its block, to read it back when a match needs it.
    struct Record {
        var start: Int
        var end: Int
        /// The apiVersion of the EventList the event is an item of (-1: none).
        var listStart: Int
        var listEnd: Int
        /// Where in `Block.savedIndexes` the event's index is (-1: not saved, no match).
        var savedIndex: Int
        var hasDuplicateKeys: Bool
    }

    /// A block of whole lines and, once parsed, what the worker found in it.
    final class Block: @unchecked Sendable {
        private(set) var memory: UnsafeMutablePointer<UInt8>
        private(set) var capacity: Int
        var length = 0
        /// The first byte to read (past a byte-order mark).
        var start = 0
        /// Stream offset of `memory[0]`.
        var offset: Int64 = 0
        var name = ""
        /// Set by the worker under the shared lock.
        var parsed = false

        var summary = ScanSummary.partial()
        var events = 0
        var verdicts: [EventVerdict] = []
        var records: [Record] = []
        var matches: [Int32] = []
        /// Indexes of the events that matched (`AuditEvent.saveIndex`), so that applying them
        /// needs no second parse.
        var savedIndexes: [FieldSlot] = []
        /// Problems, each with the number of events before it in the block.
        var issues: [(before: Int, issue: ReadIssue)] = []
        var linesPassed = 0

        init(capacity: Int) {
            self.capacity = capacity
            memory = .allocate(capacity: capacity + AuditStreamReader.padding)
        }

        deinit { memory.deallocate() }

        func reset(name: String, offset: Int64) {
            self.name = name
            self.offset = offset
            length = 0
            start = 0
            parsed = false
            summary.resetPartial()
            events = 0
            verdicts.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
            matches.removeAll(keepingCapacity: true)
            savedIndexes.removeAll(keepingCapacity: true)
            issues.removeAll(keepingCapacity: true)
            linesPassed = 0
        }

        func append(_ bytes: UnsafePointer<UInt8>, count: Int) {
            if length + count > capacity { grow(to: length + count) }
            (memory + length).update(from: bytes, count: count)
            length += count
        }

        /// Position of the last newline after `start`, nil without one. Searched from the end:
        /// a block's last line is cut short only by a line's length.
        func lastNewline() -> Int? {
            var i = length - 1
            while i >= start {
                if memory[i] == 0x0A { return i }
                i -= 1
            }
            return nil
        }

        func grow(to newCapacity: Int) {
            guard newCapacity > capacity else { return }
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity + AuditStreamReader.padding)
            fresh.update(from: memory, count: length)
            memory.deallocate()
            memory = fresh
            capacity = newCapacity
        }

        /// Gives back memory grown for a long line.
        func shrink(to size: Int) {
            guard capacity > size, length <= size else { return }
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: size + AuditStreamReader.padding)
            fresh.update(from: memory, count: length)
            memory.deallocate()
            memory = fresh
            capacity = size
        }
    }

    /// A worker thread: parses, summarizes and judges blocks.
    final class Worker: @unchecked Sendable {
        let reader: AuditStreamReader
        let judge: EventJudge?
        let shared: Shared

        init(reader: AuditStreamReader, judge: EventJudge?, shared: Shared) {
            self.reader = reader
            self.judge = judge
            self.shared = shared
        }

        func run() {
            while let block = shared.next() {
                parse(block)
                shared.markParsed(block)
            }
        }

        func parse(_ block: Block) {
            var handler = BlockHandler(block: block, judge: judge)
            reader.readLines(
                bytes: UnsafeRawBufferPointer(start: block.memory + block.start, count: block.length - block.start),
                name: block.name, offset: block.offset + Int64(block.start), into: &handler)
            block.linesPassed = block.length > block.start ? reader.linesPassed : 0
        }
    }

    /// Summarizes a block's records as they are read and judges its events in batches (as
    /// `DetectingHandler` does on one thread: parsing and judging do not take turns in the
    /// instruction cache event by event).
    struct BlockHandler: AuditRecordHandler {
        let block: Block
        let judge: EventJudge?

        var batchSize: Int { judge == nil ? 1 : DetectingHandler.detectionBatchSize }

        mutating func handle(event: AuditEvent, at location: RecordLocation) {
            block.summary.handle(event: event, at: location)
            block.events += 1
            let list = event.listAPIVersion
            block.records.append(
                Record(
                    start: event.object.start, end: event.object.end, listStart: list?.start ?? -1, listEnd: list?.end ?? -1,
                    savedIndex: -1, hasDuplicateKeys: event.hasDuplicateKeys))
        }

        mutating func handle(issue: ReadIssue) { block.issues.append((block.events, issue)) }

        /// Judges the batch's events (the last records filed); an event that matched keeps
        /// its index, so applying it needs no second parse.
        mutating func endBatch(_ events: UnsafeBufferPointer<AuditEvent>) {
            guard let judge else { return }
            let first = block.records.count - events.count
            for (j, event) in events.enumerated() {
                let verdict = judge.judge(event, into: &block.matches)
                block.verdicts.append(verdict)
                guard verdict.matchCount > 0 else { continue }
                let saved = block.savedIndexes.count
                block.savedIndexes.append(contentsOf: repeatElement(FieldSlot(), count: AuditEvent.savedIndexCount))
                block.savedIndexes.withUnsafeMutableBufferPointer { event.saveIndex(to: $0.baseAddress! + saved) }  // Safe: just appended.
                block.records[first + j].savedIndex = saved
            }
        }
    }

    /// The queue of blocks waiting for a worker, and who is done, under one lock.
    final class Shared: @unchecked Sendable {
        private var lock = pthread_mutex_t()
        private var workAvailable = pthread_cond_t()
        private var blockParsed = pthread_cond_t()
        private var waiting: [Block] = []
        private var head = 0
        private var stopping = false

        init() {
            pthread_mutex_init(&lock, nil)
            pthread_cond_init(&workAvailable, nil)
            pthread_cond_init(&blockParsed, nil)
        }

        deinit {
            pthread_mutex_destroy(&lock)
            pthread_cond_destroy(&workAvailable)
            pthread_cond_destroy(&blockParsed)
        }

        func push(_ block: Block) {
            pthread_mutex_lock(&lock)
            waiting.append(block)
            pthread_cond_signal(&workAvailable)
            pthread_mutex_unlock(&lock)
        }

        /// The next block to parse (waiting for one); nil once stopped.
        func next() -> Block? {
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            while head == waiting.count && !stopping { pthread_cond_wait(&workAvailable, &lock) }
            return pop()
        }

        /// The first waiting block, taken off the queue (under `lock`).
        private func pop() -> Block? {
            guard head < waiting.count else { return nil }
            let block = waiting[head]
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            }
            return block
        }

        func markParsed(_ block: Block) {
            pthread_mutex_lock(&lock)
            block.parsed = true
            pthread_cond_broadcast(&blockParsed)
            pthread_mutex_unlock(&lock)
        }

        /// Waits until `block` is parsed, parsing queued blocks with `helper` meanwhile.
        func waitParsed(_ block: Block, helping helper: Worker) {
            pthread_mutex_lock(&lock)
            while !block.parsed {
                if let queued = pop() {
                    pthread_mutex_unlock(&lock)
                    helper.parse(queued)
                    pthread_mutex_lock(&lock)
                    queued.parsed = true
                    pthread_cond_broadcast(&blockParsed)
                } else {
                    pthread_cond_wait(&blockParsed, &lock)
                }
            }
            pthread_mutex_unlock(&lock)
        }

        func stop() {
            pthread_mutex_lock(&lock)
            stopping = true
            pthread_cond_broadcast(&workAvailable)
            pthread_mutex_unlock(&lock)
        }
    }
}

/// A source that has already failed: reading it gives the failure again.
private struct FailedSource: ByteSource {
    let failure: InputError
    let consumedBytes: Int64

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int { throw failure }
}

