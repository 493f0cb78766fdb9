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
    /// Each element with its time beside it: reading the time through the optional element
    /// copied the element (retaining what it holds).
    private var items: [(time: Int64, element: Element?)] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    /// The oldest element's time, without copying the element.
    var firstTime: Int64? { head < items.count ? items[head].time : nil }
    /// The newest element's time.
    var lastTime: Int64? { head < items.count ? items[items.count - 1].time : nil }

    /// The time of the element `i` places after the oldest.
    func time(at i: Int) -> Int64 { items[head + i].time }

    /// The element `i` places after the oldest.
    subscript(i: Int) -> Element { items[head + i].element! }  // Safe: slots from head on are filled.

    /// Takes the oldest element out (its slot is emptied at once, releasing what it holds).
    @discardableResult @inline(__always)
    mutating func removeFirst() -> Element {
        let element = items[head].element.take()!  // Safe: callers take only from a queue that is not empty.
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Inserts in time order, after elements of equal time; returns the element's index.
    @discardableResult @inline(__always)
    mutating func insert(_ e: consuming Element) -> Int {
        let time = e.time
        if head == items.count || time >= items[items.count - 1].time {
            items.append((time, e))
            return items.count - 1 - head
        }
        var lo = head
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].time <= time { lo = mid + 1 } else { hi = mid }
        }
        items.insert((time, e), at: lo)
        return lo - head
    }
}
