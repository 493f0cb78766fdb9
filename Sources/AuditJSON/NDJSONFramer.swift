import CAuditSIMD

/// Finds line ends in a buffer that fills up piece by piece.
///
/// The framer remembers how far it has already searched, so when a line is split across
/// two reads the bytes of the first part are never searched again. The caller owns the
/// buffer; when it moves unconsumed bytes to the front it calls `rebase(by:)`.
public struct NDJSONFramer: Sendable {
    /// Offset up to which the current (unfinished) line is known to contain no newline.
    public var searched: Int = 0

    public init() {}

    /// Returns the offset of the next newline in `[lineStart, end)`, or nil when the line
    /// is not complete yet.
    @inlinable
    public mutating func nextNewline(_ base: UnsafePointer<UInt8>, lineStart: Int, end: Int) -> Int? {
        let from = max(lineStart, searched)
        guard from < end else { return nil }
        if let p = kaudit_memchr(base + from, ASCII.newline, end - from) {
            let nl = p - base
            searched = nl + 1
            return nl
        }
        searched = end
        return nil
    }

    /// Shifts the search position after the caller moved its bytes `delta` bytes to the front.
    public mutating func rebase(by delta: Int) { searched = max(0, searched - delta) }

    /// Forgets the search position (for example after discarding an oversized line).
    public mutating func reset(to offset: Int = 0) { searched = offset }

    /// Counts newlines in a byte range (for line numbers of multi-line documents).
    public static func countNewlines(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int {
        var n = 0
        var i = from
        while i < to, let p = kaudit_memchr(base + i, ASCII.newline, to - i) {
            n += 1
            i = (p - base) + 1
        }
        return n
    }
}
