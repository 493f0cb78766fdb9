import AuditTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Finds and runs the built `kaudit` executable.
///
/// The test target depends on the `kaudit` product, so SwiftPM builds it into the same
/// directory as the test bundle, whatever `--scratch-path` is. The binary is looked for
/// there first (`KAUDIT_BIN` overrides).
enum CLI {
    static var packageRoot: URL { PackagePaths.root }

    static let sampleLogs = packageRoot.appendingPathComponent("SampleLogs")

    static func sample(_ relative: String) -> URL { sampleLogs.appendingPathComponent(relative) }

    /// The directories that may hold the build products of the running test bundle.
    static var productDirectories: [URL] {
        var dirs: [URL] = []
        func add(_ url: URL?) {
            guard let url else { return }
            let resolved = url.resolvingSymlinksInPath()
            var dir = resolved.deletingLastPathComponent()
            // Up to the directory holding the .xctest bundle (macOS bundles nest Contents/MacOS).
            for _ in 0..<4 {
                dirs.append(dir)
                if dir.pathExtension == "xctest" { dirs.append(dir.deletingLastPathComponent()) }
                dir = dir.deletingLastPathComponent()
            }
        }
        add(Bundle.main.executableURL)
        add(URL(fileURLWithPath: CommandLine.arguments[0]))
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            dirs.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return dirs
    }

    static let executable: URL? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["KAUDIT_BIN"], fm.isExecutableFile(atPath: env) {
            return URL(fileURLWithPath: env)
        }
        for dir in productDirectories {
            let candidate = dir.appendingPathComponent("kaudit")
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                fm.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
        }
        return nil
    }()

    struct Result: CustomStringConvertible {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
        var stdoutData: Data

        var description: String { "exit \(status) (\(reason == .exit ? "exit" : "signal"))\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }

        /// stdout parsed as one JSON object.
        func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: stdoutData)
            return try #require(object as? [String: Any], "stdout is not a JSON object: \(stdout)",
                sourceLocation: sourceLocation)
        }
    }

    /// Runs kaudit with `arguments`; stdin comes from `stdin` (a file) or /dev/null.
    /// stdout and stderr go to temporary files, so large outputs cannot deadlock.
    static func run(_ arguments: [String], stdin: URL? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        throws -> Result
    {
        let exe = try #require(executable, "kaudit binary not found next to the test bundle (set KAUDIT_BIN)",
            sourceLocation: sourceLocation)
        let dir = try TempDir()
        let out = dir.url.appendingPathComponent("stdout")
        let err = dir.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        let inHandle = try stdin.map { try FileHandle(forReadingFrom: $0) }
            ?? FileHandle(forReadingAtPath: "/dev/null")!
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = inHandle
        try p.run()
        p.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        try inHandle.close()
        let outData = try Data(contentsOf: out)
        return Result(
            status: p.terminationStatus, reason: p.terminationReason,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self), stdoutData: outData)
    }

    /// Runs a shell command line (bash) for pipelines; returns its exit status and output.
    static func shell(_ script: String) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Whether a command-line tool is installed.
    static func hasTool(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }

    /// `[{"value": v, "count": n}]` as `[(v, n)]`.
    func table(_ key: String) -> [(String, Int)] {
        ((self[key] as? [[String: Any]]) ?? []).map { ($0["value"] as? String ?? "?", ($0["count"] as? NSNumber)?.intValue ?? -1) }
    }
}
