import AuditJSON
import AuditModel
import Glibc

/// Bounds the reader keeps, whatever the input.
public struct ReaderLimits: Sendable {
    /// Longest record (line, pretty-printed event or array element) read; longer ones are
    /// skipped in bounded memory and reported. 64 MiB is far above what an apiserver
    /// writes (its truncating backend caps events at 100 KiB and webhook batches at
    /// 10 MiB) and still keeps a hostile line from taking the machine's memory.
    public var maxRecordBytes: Int
    /// Size of each read from the input. At least 1 MiB, so framing and parsing run over
    /// large blocks and system calls stay rare.
    public var readSize: Int

    public init(maxRecordBytes: Int = 64 << 20, readSize: Int = 1 << 20) {
        self.maxRecordBytes = max(maxRecordBytes, 64)
        self.readSize = max(readSize, 64 << 10)
    }
}

/// What a reader has seen so far.
public struct ReaderStats: Sendable, Equatable {
    /// Bytes of (decompressed) input read.
    public var bytes: Int64 = 0
    /// Records handed to the decoder (lines, documents, array elements).
    public var records: Int = 0
    /// Bytes thrown away in oversized records.
    public var discardedBytes: Int64 = 0
    /// The input layout that was recognised.
    public var layout: AuditStreamReader.Layout = .ndjson
    /// Largest buffer the reader grew to for this input (0 when it never grew past its
    /// initial two reads): with the record cap, this is what bounds its memory.
    public var peakBufferBytes = 0
}

/// Reads audit events from a byte source, in any of the layouts audit logs come in.
///
/// - One event per line (the apiserver's log backend): lines are framed with `memchr`
///   over large reads, and the bytes of a line split across reads are never searched twice.
/// - An `EventList` (the webhook body), on one line or pretty-printed: its `items` are
///   yielded as events.
/// - Pretty-printed events, one after another.
/// - A JSON array of events (or of EventLists).
///
/// The layout is recognised from the first document. Bad records are reported to the
/// handler and skipped; only I/O and archive failures end the read (thrown). Memory is
/// bounded by `limits.maxRecordBytes` plus two reads.
///
/// ```swift
/// var source = try FileDescriptorSource(path: "audit.log")
/// let reader = AuditStreamReader()
/// try reader.read(from: &source, name: "audit.log", into: &myHandler)
/// ```
public final class AuditStreamReader {
    public enum Layout: String, Sendable {
        case ndjson, concatenated, array
    }

    enum Mode {
        case detect, ndjson, concatenated, array
    }

    enum ArrayState {
        case firstElementOrClose, commaOrClose, element
        /// Inside a bad element or stray bytes after one, skipped up to the next `,` or `]`
        /// (kept across reads, so resynchronising does not depend on where a read ends).
        case skippingToken
    }

    /// What became of the current document after scanning the bytes read so far.
    enum ScanOutcome {
        /// Its end is not within the bytes read so far.
        case incomplete
        /// Complete and within the limit; it ends before this offset.
        case complete(Int)
        /// Reported and skipped (over the limit, or cut off by the end of the input);
        /// reading goes on at `start`.
        case skipped
    }

    public let limits: ReaderLimits
    public private(set) var stats = ReaderStats()
    /// The event views this reader hands out, one per event of a batch
    /// (`AuditRecordHandler.batchSize`), each with its own index memory, loaded in place
    /// batch after batch: no allocation and no reference counting per event (the views do
    /// not keep their storage; `batchStorages` does, one per view made so far: views are made
    /// when a batch first needs them).
    let batchEvents: UnsafeMutablePointer<AuditEvent>
    var batchStorages: [AuditEventStorage] = []
    /// Events handed out in the current batch.
    var batched = 0
    /// The largest batch a handler may ask for.
    public static let maxBatchSize = 256

    var buffer: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var start = 0
    var end = 0
    /// Stream offset of `buffer[0]`.
    var bufferOffset: Int64 = 0
    var line = 1
    /// Buffer offset up to which newlines have been counted into `line` (non-NDJSON layouts).
    var lineCountedTo = 0
    var framer = NDJSONFramer()
    var mode = Mode.detect
    /// Inside an NDJSON line over the limit (reported), dropped up to its newline.
    var discarding = false
    /// Inside a line that cannot start a document, being skipped up to its newline
    /// (kept across reads, so skipping does not depend on where a read ends).
    var skippingGarbage = false
    var scan: ContainerScan?
    /// Inside a document (or array element) over `limits.maxRecordBytes`: it has been
    /// reported, and its bytes are dropped as `scan` passes them, up to its closing bracket.
    var discardingDocument = false
    var documentStart = 0
    var documentLine = 1
    var arrayState = ArrayState.firstElementOrClose
    var arrayIndex = 0
    var name = "-"

    /// Extra readable bytes past `capacity`, so SIMD loads never leave the allocation.
    public static let padding = 64

    public init(limits: ReaderLimits = ReaderLimits()) {
        self.limits = limits
        capacity = 2 * limits.readSize
        buffer = .allocate(capacity: capacity + Self.padding)
        batchEvents = .allocate(capacity: Self.maxBatchSize)
    }

    deinit {
        buffer.deallocate()
        batchEvents.deinitialize(count: batchStorages.count)
        batchEvents.deallocate()
    }

    /// Reads `source` to its end, handing every event and every problem to `handler`.
    /// - Throws: `InputError` when the source cannot be read or an archive is damaged;
    ///   everything before the failure has been handled by then.
    public func read<S: ByteSource, H: AuditRecordHandler>(
        from source: inout S, name: String, unterminatedLine: UnterminatedLine = .process, into handler: inout H
    ) throws(InputError) {
        begin(name: name)
        while try feed(from: &source, into: &handler) > 0 {}
        end(unterminatedLine: unterminatedLine, into: &handler)
    }

    /// What to do with a last line that has no newline when the input ends.
    public enum UnterminatedLine: Sendable {
        /// Read it like any other line (a file whose writer left off the final newline).
        case process
        /// Report it as `partial_line` and skip it (a pipe whose writer stopped mid-line).
        case report
    }

    // MARK: Incremental reading (following a file that grows)

    /// Starts a new stream. `offset` is where in its file the stream starts, so that reported
    /// offsets and `consumedOffset` are file offsets when reading resumes mid-file.
    public func begin(name: String, offset: Int64 = 0) {
        reset(name: name)
        bufferOffset = offset
    }

    /// Reads once from `source` and handles every record completed by those bytes; a record
    /// still incomplete waits in the buffer for the next call.
    /// - Returns: the bytes read; 0 when the source has nothing now (or at its end).
    @discardableResult
    public func feed<S: ByteSource, H: AuditRecordHandler>(from source: inout S, into handler: inout H) throws(InputError) -> Int {
        makeRoom()
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end))
        if n > 0 {
            end += n
            stats.bytes += Int64(n)
            process(isFinal: false, &handler)
        }
        return n
    }

    /// Ends the stream: a record still waiting is handled as the input's last (see `unterminatedLine`).
    public func end<H: AuditRecordHandler>(unterminatedLine: UnterminatedLine = .process, into handler: inout H) {
        if unterminatedLine == .report && mode == .ndjson && !discarding && start < end
            && JSONScanner.skipWhitespace(buffer, start, end) < end
        {
            report(.partialLine, at: start, line: line,
                "input ended inside a line (no newline after its last \(end - start) bytes); skipped", &handler)
            stats.discardedBytes += Int64(end - start)
            start = end
        }
        process(isFinal: true, &handler)
    }

    /// Offset (in the stream, or the file given to `begin`) of the first byte not yet handled:
    /// every record before it has reached the handler. A follower checkpoints here.
    public var consumedOffset: Int64 { bufferOffset + Int64(start) }

    /// Bytes received but not handled yet (an incomplete last record).
    public var pendingBytes: Int { end - start }

    /// Reads events from bytes already in memory (a webhook body, a mapped file, a test
    /// fixture), in place: nothing is copied.
    public func read<H: AuditRecordHandler>(bytes: UnsafeRawBufferPointer, name: String, into handler: inout H) {
        inPlace(bytes, name: name) { process(isFinal: true, &handler) }
    }

    /// Reads one block of a stream of lines split at newlines (so that blocks can be read on
    /// several threads): the layout is lines, not detected; `offset` is where the block
    /// starts in its stream (reported offsets are stream offsets); line numbers count from 1
    /// at the block's start (`linesPassed` says how many it held). In place.
    public func readLines<H: AuditRecordHandler>(
        bytes: UnsafeRawBufferPointer, name: String, offset: Int64, into handler: inout H
    ) {
        inPlace(bytes, name: name) {
            bufferOffset = offset
            mode = .ndjson
            stats.layout = .ndjson
            process(isFinal: true, &handler)
        }
    }

    /// What a `lineTooLong` problem says.
    public static func lineTooLongDetail(_ limit: Int) -> String {
        "line longer than the \(limit)-byte limit (--max-line-bytes); skipped"
    }

    /// Newlines passed in the current stream (line-per-event layout).
    public var linesPassed: Int { line - 1 }

    /// How a stream starting with `bytes` is read: its layout, and where its first record
    /// may start (past a byte-order mark). Nil when these bytes do not decide it (the first
    /// line goes on past them, or they are blank).
    public func layout(ofStreamStart bytes: UnsafeRawBufferPointer, isFinal: Bool) -> (layout: Layout, start: Int)? {
        var result: (Layout, Int)?
        inPlace(bytes, name: name) {
            if detectLayout(isFinal: isFinal) { result = (stats.layout, start) }
        }
        return result
    }

    /// Runs `body` with the reader's buffer set to `bytes` (read, never written: only
    /// makeRoom() writes, and a final pass never calls it), then gives the reader its own back.
    private func inPlace(_ bytes: UnsafeRawBufferPointer, name: String, _ body: () -> Void) {
        reset(name: name)
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let own = buffer
        let ownCapacity = capacity
        buffer = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        capacity = bytes.count
        end = bytes.count
        stats.bytes = Int64(bytes.count)
        body()
        buffer = own
        capacity = ownCapacity
        start = 0
        end = 0
    }

    func reset(name: String) {
        self.name = name
        stats = ReaderStats()
        start = 0
        end = 0
        bufferOffset = 0
        line = 1
        lineCountedTo = 0
        framer = NDJSONFramer()
        mode = .detect
        discarding = false
        skippingGarbage = false
        scan = nil
        discardingDocument = false
        arrayState = .firstElementOrClose
        arrayIndex = 0
    }

    // MARK: Buffer management

    /// Moves unconsumed bytes to the front and grows or shrinks the buffer so that at
    /// least one read fits.
    func makeRoom() {
        if start > 0 && capacity - end < limits.readSize {
            // Fix: count the newlines before `start` first, or the ones between the last
            // counted position and `start` (a pretty-printed document that ended exactly at
            // the end of a read) were dropped and later line numbers came out too small.
            if mode != .ndjson { countLines(to: start) }
            let keep = end - start
            if keep > 0 { (buffer).update(from: buffer + start, count: keep) }
            bufferOffset += Int64(start)
            framer.rebase(by: start)
            scan?.rebase(by: start)
            documentStart -= start
            lineCountedTo = max(0, lineCountedTo - start)
            end = keep
            start = 0
        }
        let base = 2 * limits.readSize
        if capacity - end < limits.readSize {
            resize(to: max(capacity * 2, end + limits.readSize))
        } else if capacity > 4 * base && end - start < base / 2 && start == 0 {
            resize(to: base)  // give back memory after an unusually large record
        }
    }

    func resize(to newCapacity: Int) {
        stats.peakBufferBytes = max(stats.peakBufferBytes, newCapacity)
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity + Self.padding)
        fresh.update(from: buffer, count: end)
        buffer.deallocate()
        buffer = fresh
        capacity = newCapacity
    }

    @inline(__always)
    func offset(_ position: Int) -> Int64 { bufferOffset + Int64(position) }

    // MARK: Processing

    /// Handles every record the buffer holds now, then ends the handler's batch: the
    /// buffer may change after this returns.
    func process<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) {
        processRecords(isFinal: isFinal, &handler)
        endBatch(&handler)
    }

    func processRecords<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) {
        while true {
            // Finish skipping a garbage line that the previous read ended inside.
            if skippingGarbage && !skipGarbageLine(isFinal: isFinal, &handler) { return }
            switch mode {
            case .detect:
                guard detectLayout(isFinal: isFinal) else { return }
            case .ndjson:
                processLines(isFinal: isFinal, &handler)
                return
            case .concatenated:
                if !processDocuments(isFinal: isFinal, &handler) { return }
            case .array:
                if !processArray(isFinal: isFinal, &handler) { return }
            }
        }
    }

    /// Chooses the layout from the first document. Returns false when more bytes are needed.
    func detectLayout(isFinal: Bool) -> Bool {
        var i = start
        // Fix (found by AuditInputsTests "read boundaries"): a byte-order mark cut by the end
        // of the first read was taken for garbage, and the first record was lost. Wait for
        // its third byte before deciding.
        if bufferOffset == 0 && i == 0 && end > 0 && end < 3 && !isFinal && buffer[0] == 0xEF
            && (end < 2 || buffer[1] == 0xBB)
        {
            return false
        }
        if bufferOffset == 0 && i == 0 && end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
            start = 3  // UTF-8 byte-order mark
            i = 3
        }
        while i < end && JSONScanner.skipWhitespace(buffer, i, i + 1) > i { i += 1 }
        guard i < end else {
            if isFinal { start = end }
            return false
        }
        // Fix: after an array or a skipped line, count the lines read so far, because
        // NDJSON mode counts lines only from `start` on (else line numbers came out too small).
        countLines(to: start)
        switch buffer[i] {
        case UInt8(ascii: "["):
            countLines(to: i)
            start = i + 1
            mode = .array
            stats.layout = .array
            arrayState = .firstElementOrClose
            arrayIndex = 0
            return true
        case UInt8(ascii: "{"):
            let nl: Int
            if let p = memchr(buffer + i, 0x0A, end - i) {
                nl = buffer.distance(to: p.assumingMemoryBound(to: UInt8.self))
            } else if isFinal || end - i > limits.maxRecordBytes {
                nl = end
            } else {
                return false
            }
            var e = nl
            while e > i && JSONScanner.skipWhitespace(buffer, e - 1, e) == e { e -= 1 }
            var oneLine = JSONScanner.skipContainer(buffer, i, e) == e
            if !oneLine && nl < end {
                // Fix (found by AuditInputsTests "a truncated first line does not swallow the
                // file"): a first line cut short (`{"kind":"Event","user":{...` then a newline)
                // made the whole file one pretty-printed document that never closed. A pretty
                // document's next line is a key, a `}` or an unfinished value, never a whole
                // one-line object: when the next non-blank line is one, these are lines.
                let j = JSONScanner.skipWhitespace(buffer, nl + 1, end)
                var next = end
                if j < end, let p = memchr(buffer + j, 0x0A, end - j) {
                    next = buffer.distance(to: p.assumingMemoryBound(to: UInt8.self))
                } else if !isFinal && end - i <= limits.maxRecordBytes {
                    return false  // wait for the whole next line
                }
                while next > j && JSONScanner.skipWhitespace(buffer, next - 1, next) == next { next -= 1 }
                oneLine = j < next && buffer[j] == UInt8(ascii: "{") && JSONScanner.skipContainer(buffer, j, next) == next
                // Fix: a cut first line followed by a line that is no whole object (garbage,
                // another cut line) still made the file one document that never closed. A
                // pretty printer breaks the first line of a document after `{`, `[` or `,`,
                // outside any string; a first line whose object stays open and that ends
                // otherwise is a damaged line of NDJSON.
                if !oneLine && JSONScanner.skipContainer(buffer, i, e) < 0 && !Self.breaksLikePrettyJSON(buffer, i, e) {
                    oneLine = true
                }
            }
            mode = oneLine || nl == end ? .ndjson : .concatenated
            stats.layout = mode == .ndjson ? .ndjson : .concatenated
            return true
        default:
            mode = .ndjson
            stats.layout = .ndjson
            return true
        }
    }

    /// Whether the line `from..<to` (trimmed) ends where a pretty printer breaks lines inside
    /// a document: after `{`, `[`, `,` or `:`, and not inside a string (a raw line break in a
    /// JSON string is invalid, so a line ending in one was cut).
    static func breaksLikePrettyJSON(_ buffer: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        guard to > from else { return false }
        var k = from
        while k < to {
            if buffer[k] == UInt8(ascii: "\"") {
                k = JSONScanner.skipString(buffer, k, to)
                if k < 0 { return false }  // the line ends inside a string
            } else {
                k += 1
            }
        }
        switch buffer[to - 1] {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ","), UInt8(ascii: ":"): return true
        default: return false
        }
    }

    /// One event (or EventList) per line.
    func processLines<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) {
        while true {
            guard let nl = framer.nextNewline(buffer, lineStart: start, end: end) else { break }
            if discarding {
                stats.discardedBytes += Int64(nl + 1 - start)
                discarding = false
            } else if nl - start > limits.maxRecordBytes {
                // Fix (found by AuditInputsTests "long lines give the same issues whatever the
                // read sizes"): a line over the limit was reported only when a read ended inside
                // it; one that arrived whole (large reads, in-place reads) was decoded like any
                // other. The limit now holds whatever the read sizes.
                report(.lineTooLong, at: start, line: line,
                    Self.lineTooLongDetail(limits.maxRecordBytes), &handler)
                stats.discardedBytes += Int64(nl + 1 - start)
            } else {
                handleDocument(start, nl, line: line, &handler)
            }
            start = nl + 1
            line += 1
        }
        if discarding {
            stats.discardedBytes += Int64(end - start)
            start = end
            return
        }
        if end - start > limits.maxRecordBytes {
            report(.lineTooLong, at: start, line: line,
                Self.lineTooLongDetail(limits.maxRecordBytes), &handler)
            discarding = true
            stats.discardedBytes += Int64(end - start)
            start = end
            return
        }
        if isFinal && start < end {
            handleDocument(start, end, line: line, &handler)  // last line without a newline
            start = end
        }
    }

    /// Pretty-printed documents one after another. Returns true when the mode changed.
    func processDocuments<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) -> Bool {
        while true {
            if scan == nil {
                start = JSONScanner.skipWhitespace(buffer, start, end)
                guard start < end else { return false }
                countLines(to: start)
                switch buffer[start] {
                case UInt8(ascii: "{"):
                    scan = ContainerScan(start: start)
                    documentStart = start
                    documentLine = line
                case UInt8(ascii: "["):
                    start += 1
                    mode = .array
                    arrayState = .firstElementOrClose
                    arrayIndex = 0
                    return true
                default:
                    if !skipGarbageLine(isFinal: isFinal, &handler) { return false }
                    continue
                }
            }
            switch finishScan(isFinal: isFinal, &handler) {
            case .incomplete:
                return false
            case .skipped:
                continue
            case .complete(let documentEnd):
                handleDocument(documentStart, documentEnd, line: documentLine, &handler)
                start = documentEnd
            }
        }
    }

    /// A JSON array of events. Returns true when the mode changed.
    func processArray<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) -> Bool {
        while true {
            if arrayState == .skippingToken {
                guard skipBadToken() else { return false }
                if mode != .array { return true }
                continue
            }
            if scan == nil {
                start = JSONScanner.skipWhitespace(buffer, start, end)
                guard start < end else { return false }
                let b = buffer[start]
                switch arrayState {
                case .firstElementOrClose, .commaOrClose:
                    if b == UInt8(ascii: "]") {
                        start += 1
                        mode = .detect
                        return true
                    }
                    if arrayState == .commaOrClose {
                        guard b == UInt8(ascii: ",") else {
                            countLines(to: start)
                            report(.unexpectedByte, at: start, line: line,
                                "expected ',' or ']' in the array of events", &handler)
                            arrayState = .skippingToken
                            continue
                        }
                        start += 1
                        arrayState = .element
                        continue
                    }
                    arrayState = .element
                case .element, .skippingToken:
                    break
                }
                countLines(to: start)
                if b == UInt8(ascii: "{") {
                    scan = ContainerScan(start: start)
                    documentStart = start
                    documentLine = line
                } else {
                    let e = JSONScanner.skipValue(buffer, start, end)
                    // Fix: a byte that cannot start a value (`[{…},]`, `[1,,2]`, `[{…}, x]`) used
                    // to be waited on like a value cut by the read, up to the end of the input,
                    // and everything after it was dropped. It is reported at once and skipped.
                    if e < 0 && !Self.mayContinue(b, available: end - start) {
                        report(.invalidListItem, at: start, line: line,
                            b == UInt8(ascii: ",") || b == UInt8(ascii: "]")
                                ? "array element \(arrayIndex) is missing"
                                : "array element \(arrayIndex) is not a JSON value", &handler)
                        arrayIndex += 1
                        arrayState = .skippingToken
                        continue
                    }
                    // Fix (found by Fuzz/ReaderFuzzer.swift): a number that reaches the end of
                    // the bytes read so far may go on in the next read; wait for it, as for an
                    // unterminated string, instead of splitting it at the read boundary.
                    if e < 0 || (e == end && !isFinal) {
                        if !isFinal && end - start <= limits.maxRecordBytes { return false }
                        if e < 0 {
                            report(.invalidListItem, at: start, line: line, "unterminated array element", &handler)
                            start = end
                            return false
                        }
                    }
                    report(.invalidListItem, at: start, line: line,
                        "array element \(arrayIndex) is not an object", &handler)
                    arrayIndex += 1
                    start = e
                    arrayState = .commaOrClose
                    continue
                }
            }
            switch finishScan(isFinal: isFinal, &handler) {
            case .incomplete:
                return false
            case .skipped:
                arrayIndex += 1
                arrayState = .commaOrClose
            case .complete(let documentEnd):
                handleDocument(documentStart, documentEnd, line: documentLine, item: arrayIndex, &handler)
                arrayIndex += 1
                start = documentEnd
                arrayState = .commaOrClose
            }
        }
    }

    /// Whether `skipValue` may have failed on a value starting with `b` only because it goes
    /// on past the `available` bytes read so far: a string or nested array, or a literal
    /// shorter than `false`. Any other failure is a byte that cannot start a value.
    static func mayContinue(_ b: UInt8, available: Int) -> Bool {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "["): return true
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): return available < 5
        default: return false
        }
    }

    /// Skips the rest of a bad array element, or stray bytes after an element (already
    /// reported). A bare token ends at the next `,` (the next element follows) or `]` (the
    /// array ends; what follows is read in whatever layout it has). A token that runs into
    /// a string, a container or the end of the line cannot be skipped safely without
    /// guessing, so the array is given up and reading goes on at the next line.
    /// Returns false when the token goes on past the bytes read so far.
    func skipBadToken() -> Bool {
        var i = start
        while i < end {
            switch buffer[i] {
            case UInt8(ascii: ","):
                start = i + 1
                arrayState = .element
                return true
            case UInt8(ascii: "]"):
                start = i + 1
                arrayState = .firstElementOrClose
                mode = .detect
                return true
            case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), 0x0A:
                start = i
                arrayState = .firstElementOrClose
                mode = .detect
                skippingGarbage = true  // reported already: skipGarbageLine only skips
                return true
            default:
                i += 1
            }
        }
        start = end
        return false
    }

    /// Advances the container scan of the current document.
    ///
    /// Fix: a document over the limit used to switch the reader to lines wherever the read
    /// that crossed the limit ended (so the rest of it came out as one issue per line, as
    /// many as the read sizes made), and one that arrived in a single read was not checked
    /// at all. Now it is reported once, at its start, the scan goes on while its bytes are
    /// dropped (memory stays within the limit plus two reads), and the layout resumes after
    /// its closing bracket. A document is over the limit when more than
    /// `limits.maxRecordBytes` bytes pass without its end, whatever the read sizes.
    func finishScan<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) -> ScanOutcome {
        guard var s = scan else { return .incomplete }
        let r = s.advance(buffer, end: end, isFinal: isFinal)
        scan = s
        // At the end of the input an unterminated scan has examined every byte (position == end).
        let scanned = r >= 0 ? r : s.position
        if !discardingDocument {
            if scanned - documentStart > limits.maxRecordBytes {
                report(.lineTooLong, at: documentStart, line: documentLine,
                    "document longer than the \(limits.maxRecordBytes)-byte limit (--max-line-bytes); skipped", &handler)
                discardingDocument = true
            } else if r >= 0 {
                scan = nil
                return .complete(r)
            } else if isFinal {
                report(.notAnObject, at: documentStart, line: documentLine, "input ends inside a JSON document", &handler)
                scan = nil
                start = end
                return .skipped
            } else {
                return .incomplete
            }
        }
        // `start` is the first byte not dropped yet (the document's start when just reported).
        stats.discardedBytes += Int64(scanned - start)
        start = scanned
        guard r >= 0 || isFinal else { return .incomplete }
        discardingDocument = false
        scan = nil
        return .skipped
    }

    /// Skips the rest of the current line after a byte that cannot start a document.
    /// Returns false when the line goes on past the bytes read so far.
    ///
    /// Fix (found by Fuzz/ReaderFuzzer.swift): this used to wait for the newline without
    /// remembering it was skipping, so when a read ended inside the line the next pass
    /// re-detected the layout from the garbage byte and the result depended on read sizes
    /// (and a long line without a newline was buffered whole). Now the state is kept in
    /// `skippingGarbage`, the record is reported once when skipping starts, and the bytes
    /// seen so far are consumed.
    func skipGarbageLine<H: AuditRecordHandler>(isFinal: Bool, _ handler: inout H) -> Bool {
        if !skippingGarbage {
            if mode != .detect {
                countLines(to: start)
                report(.notAnObject, at: start, line: line, "not a JSON object", &handler)
            }
            skippingGarbage = true
        }
        if let p = memchr(buffer + start, 0x0A, end - start) {
            start = buffer.distance(to: p.assumingMemoryBound(to: UInt8.self)) + 1
        } else {
            start = end
            if !isFinal { return false }
        }
        skippingGarbage = false
        return true
    }

    /// Advances `line` over the newlines before `position` (layouts other than NDJSON).
    func countLines(to position: Int) {
        let from = max(lineCountedTo, 0)
        if position > from {
            line += NDJSONFramer.countNewlines(buffer, from: from, to: position)
            lineCountedTo = position
        }
    }

    // MARK: Documents

    func handleDocument<H: AuditRecordHandler>(
        _ from: Int, _ to: Int, line: Int, item: Int? = nil, _ handler: inout H
    ) {
        let s = JSONScanner.skipWhitespace(buffer, from, to)
        guard s < to else { return }  // blank line
        stats.records += 1
        let base = UnsafePointer(buffer)
        let event = nextEvent()
        switch event.pointee.load(base, start: s, end: to) {
        case .event:
            handler.handle(event: event.pointee, at: RecordLocation(line: line, byteOffset: offset(s), itemIndex: item))
            handed(&handler)
        case .eventList(let items, let apiVersion):
            var index = 0
            var elements = items.elements
            while let element = elements.next() {
                defer { index += 1 }
                guard element.kind == .object else {
                    report(.invalidListItem, at: element.start, line: line,
                        "EventList item \(index) is not an object", &handler)
                    continue
                }
                let item = nextEvent()
                switch item.pointee.load(object: element, listAPIVersion: apiVersion) {
                case .event:
                    handler.handle(
                        event: item.pointee, at: RecordLocation(line: line, byteOffset: offset(element.start), itemIndex: index))
                    handed(&handler)
                case .eventList:
                    report(.invalidListItem, at: element.start, line: line,
                        "EventList item \(index) is itself an EventList", &handler)
                case .failure(let f):
                    report(.invalidListItem, at: element.start + f.offset, line: line,
                        "EventList item \(index): \(f.reason.rawValue)", &handler)
                }
            }
            if elements.failed {
                report(.malformedObject, at: items.start, line: line, "malformed EventList items array", &handler)
            }
        case .failure(let f):
            var detail = f.reason.rawValue
            if f.reason == .notAnEvent, let wrapper = ExportedRecordHint.describe(base, start: s, end: to) {
                detail += ": it is " + wrapper
            } else if f.reason == .notAnObject, let prefixed = ExportedRecordHint.describePrefixed(base, start: s, end: to) {
                detail += ": " + prefixed
            }
            report(ReadIssue.Kind(f.reason), at: s + f.offset, line: line, detail, &handler)
        }
    }

    /// The view the next event is loaded into: the batch's next one, with its own index
    /// memory while the handler holds the events before it.
    @inline(__always)
    func nextEvent() -> UnsafeMutablePointer<AuditEvent> {
        if batched == batchStorages.count {
            let storage = AuditEventStorage()
            batchStorages.append(storage)
            (batchEvents + batched).initialize(to: AuditEvent(unownedStorage: storage))
        }
        return batchEvents + batched
    }

    /// An event was handed out: ends the batch when it is full.
    @inline(__always)
    func handed<H: AuditRecordHandler>(_ handler: inout H) {
        batched += 1
        if batched >= min(handler.batchSize, Self.maxBatchSize) { endBatch(&handler) }
    }

    /// Hands the batch's events to the handler (none when the batch is empty).
    @inline(__always)
    func endBatch<H: AuditRecordHandler>(_ handler: inout H) {
        guard batched > 0 else { return }
        let events = UnsafeBufferPointer(start: UnsafePointer(batchEvents), count: batched)
        batched = 0
        handler.endBatch(events)
    }

    func report<H: AuditRecordHandler>(
        _ kind: ReadIssue.Kind, at position: Int, line: Int, _ detail: String, _ handler: inout H
    ) {
        endBatch(&handler)  // the events before the problem first, in input order
        handler.handle(issue: ReadIssue(kind: kind, source: name, line: line, byteOffset: offset(position), detail: detail))
    }
}

/// A byte source over memory that is already there.
public struct MemorySource: ByteSource {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var consumedBytes: Int64 { Int64(position) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + position, byteCount: n)  // Safe: n > 0.
            position += n
        }
        return n
    }
}
