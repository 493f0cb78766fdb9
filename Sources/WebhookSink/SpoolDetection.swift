import AnalyzerKit
import AuditInputs
import AuditSpool
import DetectionEngine
import Dispatch
import Glibc
import Synchronization

/// Runs the rules over the spool on a thread of its own, so a slow rule never delays an
/// acknowledgement: the server only appends; this reads what was committed, in order, and
/// saves its position (`detection.checkpoint`) at most every second and on stop. After a
/// restart it resumes at that position; events after it are judged (again, if the process
/// died between judging them and saving).
public final class SpoolDetection: @unchecked Sendable {
    // @unchecked: `handler`, `reader` and `streamReader` are used only on the detection
    // thread (and by `summary` after `stop` has joined it).
    let spool: Spool
    let reader: SpoolReader
    let streamReader = AuditStreamReader()
    var handler: DetectingHandler
    let metrics: SinkMetrics
    let stopping = Atomic<Bool>(false)
    let finished = DispatchSemaphore(value: 0)
    let checkpointInterval: Double
    public private(set) var lastError: String?
    var events = 0

    /// - Parameters:
    ///   - detector: owned by this object from now on (it is not thread-safe).
    ///   - afterEvent: runs on the detection thread after each event (event-time clocks, such
    ///     as alert suppression windows, move on with it).
    public init(
        spool: Spool, detector: Detector, summary: ScanSummary, metrics: SinkMetrics, checkpointInterval: Double = 1,
        afterEvent: (() -> Void)? = nil
    ) throws(SpoolError) {
        self.spool = spool
        self.metrics = metrics
        self.checkpointInterval = checkpointInterval
        let saved: SpoolPosition?
        switch SpoolPosition.load(from: spool.directory) {
        case .success(let p): saved = p
        case .failure(let e):
            SinkLog.error("\(e); detection starts at the oldest segment")
            saved = nil
        }
        reader = SpoolReader(spool: spool, from: saved)
        handler = DetectingHandler(summary: summary, detector: detector)
        handler.afterEvent = afterEvent
    }

    /// Where detection stands in the spool.
    public var position: SpoolPosition { reader.position }

    public func start() {
        Thread.detach { self.run() }
    }

    func run() {
        var lastSave = SinkClock.millis()
        var dirty = false
        while true {
            let stop = stopping.load(ordering: .acquiring)
            var frames = 0
            do {
                frames = try reader.read { bytes in
                    let before = handler.summary.events
                    streamReader.read(bytes: bytes, name: reader.position.segment, into: &handler)
                    events += handler.summary.events - before
                }
            } catch {
                lastError = error.description
                SinkLog.error("detection: \(error)")
            }
            if frames > 0 { dirty = true }
            let now = SinkClock.millis()
            if dirty && (frames == 0 || Double(now - lastSave) >= checkpointInterval * 1000) {
                save()
                dirty = false
                lastSave = now
            }
            publish()
            if frames == 0 {
                if stop { break }
                _ = spool.committed.wait(timeout: .now() + .milliseconds(200))
            }
        }
        handler.detector?.finish()
        save()
        publish()
        finished.signal()
    }

    func save() {
        do {
            try reader.position.save(to: spool.directory)
        } catch {
            SinkLog.error("detection checkpoint: \(error)")
        }
        spool.readProgress(before: reader.position.segment)
    }

    func publish() {
        var p = DetectionProgress()
        p.events = events
        let pos = reader.position
        for seg in spool.segments() where seg.name >= pos.segment {
            p.backlogBytes += seg.committedBytes - (seg.name == pos.segment ? pos.offset : 0)
        }
        metrics.detection(p)
    }

    /// After the spool was closed: reads what is left, finishes the detector (pending
    /// correlations are released), saves the position and returns the summary.
    public func stop() -> DetectingHandler {
        stopping.store(true, ordering: .releasing)
        spool.committed.signal()
        finished.wait()
        return handler
    }
}

/// A plain POSIX thread for a long-running loop (a Dispatch worker would be held forever).
enum Thread {
    static func detach(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let box = Unmanaged<AnyObject>.fromOpaque(arg!).takeRetainedValue() as! Box  // Safe: passed above.
            box.body()
            return nil
        }, box)
        pthread_detach(thread)
    }
}
