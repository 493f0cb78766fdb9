import Glibc

/// Memory for the detector's hash tables (recent keys, event classes, and what
/// `doubledTable` grows): aligned to cache lines (a bucket or class cell is one line, or
/// several cells share one), and asked for in 2 MiB pages where the kernel allows them
/// (`madvise(MADV_HUGEPAGE)`) once a table reaches 1 MiB.
///
/// These tables are read at random at every event and are larger than the second-level
/// cache: with 4 KiB pages nearly every probe also misses the TLB, and in a virtual machine a
/// TLB miss walks two page tables. On the 1 GiB corpus the 2 MiB pages took detection from
/// 778 to 752 ns per event (medians of six alternating runs; session 18). The event-class
/// arena gained nothing from them. Freed with `deallocate()` as usual.
enum LargeTableMemory {
    static let hugePage = 2 << 20
    static let cacheLine = 64

    /// `count` values, at an address a multiple of a cache line (of 2 MiB for a table of
    /// 1 MiB or more).
    static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(count, 1) * MemoryLayout<T>.stride
        let huge = bytes >= hugePage / 2
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, huge ? hugePage : max(cacheLine, MemoryLayout<T>.alignment), bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for a detector table")
        }
        if huge { _ = madvise(raw, (bytes + hugePage - 1) & ~(hugePage - 1), Int32(MADV_HUGEPAGE)) }
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
