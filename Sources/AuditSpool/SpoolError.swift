import Glibc

/// A spool file could not be created, written, synced or read.
public struct SpoolError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// "cannot VERB PATH: strerror(errno)".
    static func errno(_ verb: String, _ path: String) -> SpoolError {
        SpoolError("cannot \(verb) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}
