// Helpers every test target shares: reproducible randomness and the package's paths.
import Foundation

/// SplitMix64: tiny, seedable, good enough to generate test inputs reproducibly.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Where the package and its data are, found from this file's location.
public enum PackagePaths {
    /// The package root: the nearest directory above this file holding Package.swift.
    public static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }()

    /// `SampleLogs/` (project-written fixtures).
    public static let sampleLogs = root.appendingPathComponent("SampleLogs")

    /// `Detections/` (the rule pack).
    public static let detections = root.appendingPathComponent("Detections")
}

/// The third-party corpora in `../shared/corpora` (or `KAUDIT_CORPORA`). Tests that need them
/// are skipped with a message when they are absent, except on CI (`CI` set), where they
/// run and fail, so a CI job without them cannot pass silently.
public enum SharedCorpora {
    /// The corpora directory, when present.
    public static let root: URL? = {
        let dir: URL
        if let env = ProcessInfo.processInfo.environment["KAUDIT_CORPORA"], !env.isEmpty {
            dir = URL(fileURLWithPath: env)
        } else {
            dir = PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpora")
        }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? dir.standardizedFileURL : nil
    }()

    /// One corpus folder (e.g. `sigma-k8s-audit-rules`), when present.
    public static func directory(_ name: String) -> URL? {
        guard let dir = root?.appendingPathComponent(name) else { return nil }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? dir : nil
    }

    /// Whether `CI` is set (to anything but empty, 0 or false).
    public static var onCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }
}

/// A temporary directory, removed with everything in it when the value goes away.
public final class TempDir {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kaudit-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The directory's path, for command lines.
    public var path: String { url.path }

    /// Writes a file in the directory; returns its URL.
    public func file(_ name: String, _ contents: Data) throws -> URL {
        let u = url.appendingPathComponent(name)
        try contents.write(to: u)
        return u
    }

    public func file(_ name: String, _ text: String) throws -> URL { try file(name, Data(text.utf8)) }
}

/// Two buffers of exactly `count` bytes each (uninitialized), for code that must read no
/// byte outside the run it is given: a read past the end shows under the sanitizers.
public func withExactSizeBuffers<R>(
    _ count: Int, _ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>) throws -> R
) rethrows -> R {
    let a = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
    let b = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
    defer {
        a.deallocate()
        b.deallocate()
    }
    return try body(a, b)
}
