/// Something placed in event time.
protocol EventTimed {
    /// Microseconds since the Unix epoch.
    var time: Int64 { get }
}

/// Elements sorted by time (equal times in insertion order), taken from the front: an array
/// with a moving head, compacted once the head has passed half of it, so taking the oldest
/// is O(1) amortized and the storage holds about twice what is queued at most. Inputs
/// nearly always arrive in time order, so `insert` is nearly always an append.
struct TimeOrderedQueue<Element: EventTimed> {
    /// Each element's time, beside it in a parallel array: reading the time through the
    /// optional element copied the element (retaining what it holds), and an array of
    /// (time, element) pairs was copied through the runtime's generic tuple witnesses.
    private var times: [Int64] = []
    private var elements: [Element?] = []
    private var head = 0

    var count: Int { times.count - head }
    var isEmpty: Bool { head == times.count }
    /// The oldest element's time, without copying the element.
    var firstTime: Int64? { head < times.count ? times[head] : nil }
    /// The newest element's time.
    var lastTime: Int64? { head < times.count ? times[times.count - 1] : nil }

    /// The time of the element `i` places after the oldest.
    func time(at i: Int) -> Int64 { times[head + i] }

    /// The element `i` places after the oldest.
    subscript(i: Int) -> Element { elements[head + i]! }  // Safe: slots from head on are filled.

    /// Takes the oldest element out (its slot is emptied at once, releasing what it holds).
    @discardableResult @inline(__always)
    mutating func removeFirst() -> Element {
        let element = elements[head].take()!  // Safe: callers take only from a queue that is not empty.
        head += 1
        if head == times.count {
            times.removeAll(keepingCapacity: true)
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= times.count {
            times.removeFirst(head)
            elements.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Inserts in time order, after elements of equal time; returns the element's index.
    @discardableResult @inline(__always)
    mutating func insert(_ e: consuming Element) -> Int {
        let time = e.time
        if head == times.count || time >= times[times.count - 1] {
            times.append(time)
            elements.append(consume e)
            return times.count - 1 - head
        }
        var lo = head
        var hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] <= time { lo = mid + 1 } else { hi = mid }
        }
        times.insert(time, at: lo)
        elements.insert(consume e, at: lo)
        return lo - head
    }
}
