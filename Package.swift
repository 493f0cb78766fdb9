// swift-tools-version: 6.1
// kaudit: a Kubernetes audit-log stream analyzer.
//
// Targets, from the bottom up (imports point down only):
//   CAuditSIMD  SSE2 movemask helpers (inlined into the scanner), a prefetch hint, and AVX2 code
//               chosen at run time: skipping a JSON body, finding keyword anchors
//   AuditJSON   zero-copy JSON scanning and NDJSON framing, stdlib only
//   AuditModel  the lazy audit-event view and its derived views (exec, pod spec)
//   DetectionEngine  Sigma rules and correlations over event views: matchers, index, Detector
//   CZstd/CZlib system libraries, imported by AuditInputs only
//   CLibYAML    libyaml (system library), imported by RuleLoader only
//   RuleLoader  Sigma YAML files -> the engine's rules, correlations and filters, with diagnostics
//   AuditInputs byte sources (files, stdin, gzip, zstd) and the document stream
//   AnalyzerKit glue: runs inputs through the reader and aggregates results; alert formats
//               (NDJSON, text, Falco), suppression, reports (text, JSON, HTML)
//   AlertDelivery  POSTs batches of JSON documents over HTTP(S) from its own thread (SwiftNIO,
//               NIOSSL); knows nothing of audit events or alerts
//   kaudit      the command-line tool
//   AuditSynth  deterministic synthetic audit logs for tests and benchmarks (uses AuditModel's dates)
//   AuditSpool  the webhook sink's durable store: rotating zstd NDJSON segments, group commit, dedup,
//               quarantine, the detection checkpoint (imports CZstd to write frames, AuditModel/AuditJSON)
//   WebhookSink `kaudit serve`'s server: SwiftNIO HTTP/1.1 + NIOSSL, authentication, request bounds,
//               batch parsing, Prometheus text, detection from the spool (AuditSpool, DetectionEngine, AuditInputs)
//   WebhookClient a minimal HTTP/1.1 (+TLS) client for the load generator and the sink's tests
//   webhook-load the load generator for `kaudit serve` (AuditSynth, NIO); a non-default product
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// SwiftNIO's HTTP/1.1 over TCP and TLS: the webhook sink, its client and alert delivery.
let nioHTTP: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

/// The scanner, the event view and the detection engine drop overflow and exclusivity
/// checks in release builds:
/// +5-9% on the reader benchmark (2.19 -> 2.38 GB/s, three interleaved runs). Their offset
/// arithmetic is bounded by buffer sizes and every read is range-checked explicitly; debug
/// builds (the tests) and the fuzzer (Fuzz/build.sh) keep all checks. AuditInputs gained
/// nothing measurable, so it keeps them.
let hotPath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

/// AnalyzerKit runs per event too (the scan summary, alert suppression's clock, the parallel
/// replay's bookkeeping), through class properties whose exclusivity checks are runtime
/// calls: dropping them in release builds takes `kaudit scan` 1% fewer instructions (the
/// suppression tick after each event 311 -> 105). Overflow checks stay.
let exclusivityUnchecked: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "kaudit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kaudit", targets: ["kaudit"]),
        .library(name: "AuditJSON", targets: ["AuditJSON"]),
        .library(name: "AuditModel", targets: ["AuditModel"]),
        .library(name: "AuditInputs", targets: ["AuditInputs"]),
        .library(name: "AnalyzerKit", targets: ["AnalyzerKit"]),
        .library(name: "AuditSynth", targets: ["AuditSynth"]),
        .library(name: "DetectionEngine", targets: ["DetectionEngine"]),
        .library(name: "RuleLoader", targets: ["RuleLoader"]),
        .library(name: "AuditSpool", targets: ["AuditSpool"]),
        .library(name: "WebhookSink", targets: ["WebhookSink"]),
        .executable(name: "webhook-load", targets: ["webhook-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(name: "CAuditSIMD"),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(name: "AuditJSON", dependencies: ["CAuditSIMD"], swiftSettings: strict + hotPath),
        .target(name: "AuditModel", dependencies: ["AuditJSON"], swiftSettings: strict + hotPath),
        .target(name: "AuditInputs", dependencies: ["AuditJSON", "AuditModel", "CZstd", "CZlib"], swiftSettings: strict),
        .target(name: "DetectionEngine", dependencies: ["AuditModel", "AuditJSON", "CAuditSIMD"], swiftSettings: strict + hotPath),
        .target(
            name: "RuleLoader", dependencies: ["DetectionEngine", "CLibYAML"],
            swiftSettings: strict),
        .target(
            name: "AnalyzerKit", dependencies: ["AuditInputs", "AuditModel", "AuditJSON", "DetectionEngine"],
            swiftSettings: strict + exclusivityUnchecked),
        .target(name: "AuditSynth", dependencies: ["AuditModel"], swiftSettings: strict),
        .target(name: "AlertDelivery", dependencies: nioHTTP, swiftSettings: strict),
        .target(name: "AuditSpool", dependencies: ["AuditModel", "AuditJSON", "AuditInputs", "CZstd"], swiftSettings: strict),
        .target(
            name: "WebhookSink",
            dependencies: [
                "AuditSpool", "AuditModel", "AuditJSON", "AuditInputs", "DetectionEngine", "AnalyzerKit",
            ] + nioHTTP,
            swiftSettings: strict),
        .target(name: "WebhookClient", dependencies: nioHTTP, swiftSettings: strict),
        .executableTarget(
            name: "webhook-load",
            dependencies: [
                "AuditSynth", "WebhookClient", "AuditInputs", "AuditModel", "AuditJSON",
            ] + nioHTTP,
            path: "Benchmarks/webhook-load", swiftSettings: strict),
        .executableTarget(
            name: "kaudit",
            dependencies: [
                "AnalyzerKit", "AlertDelivery", "RuleLoader", "DetectionEngine", "AuditInputs", "AuditModel", "AuditSpool",
                "WebhookSink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),
        // Test-only helpers shared by the test targets (never linked into the product).
        .target(name: "AuditTestSupport", path: "Tests/AuditTestSupport", swiftSettings: strict),
        .testTarget(name: "AuditJSONTests", dependencies: ["AuditJSON", "AuditTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AuditModelTests", dependencies: ["AuditModel", "AuditJSON", "AuditTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AuditInputsTests", dependencies: ["AuditInputs", "AuditModel", "AuditTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "CorpusTests",
            dependencies: [
                "AuditInputs", "AuditModel", "AnalyzerKit", "DetectionEngine", "RuleLoader", "AuditTestSupport",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "DetectionEngineTests", dependencies: ["DetectionEngine", "AuditModel", "AuditJSON", "AuditTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "RuleLoaderTests",
            dependencies: ["RuleLoader", "DetectionEngine", "AuditModel", "AuditJSON", "AuditSynth", "AuditTestSupport"],
            swiftSettings: strict),
        .testTarget(name: "AuditSynthTests", dependencies: ["AuditSynth", "AuditInputs", "AuditModel"], swiftSettings: strict),
        // CZlib: the report test decodes Chromium's PNG screenshot.
        .testTarget(
            name: "KauditCLITests",
            dependencies: [
                "kaudit", "AuditTestSupport", "WebhookClient", "AuditInputs", "AuditModel", "AuditJSON", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "WebhookSinkTests",
            dependencies: [
                "WebhookSink", "AuditSpool", "AuditInputs", "AuditModel", "AuditJSON", "AuditSynth", "DetectionEngine",
                "AuditTestSupport", "WebhookClient",
            ] + nioHTTP,
            swiftSettings: strict),
        .testTarget(
            name: "AlertDeliveryTests",
            dependencies: [
                "AlertDelivery", "AuditTestSupport",
            ] + nioHTTP,
            swiftSettings: strict),
        .testTarget(
            name: "AnalyzerKitTests",
            dependencies: [
                "AnalyzerKit", "DetectionEngine", "AuditModel", "AuditJSON", "AuditInputs", "AuditSynth", "RuleLoader",
                "AuditTestSupport",
            ],
            swiftSettings: strict),
    ]
)
