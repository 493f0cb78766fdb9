// swift-tools-version: 6.1
// kaudit benchmarks: a separate package so the root's `swift test` never builds them.
// Run everything with `Benchmarks/run.sh` (see Benchmarks/README.md).
import PackageDescription

let package = Package(
    name: "kaudit-benchmarks",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .target(name: "BenchSupport"),
        .executableTarget(
            name: "audit-gen",
            dependencies: [.product(name: "AuditSynth", package: "main")]),
        .executableTarget(
            name: "reader-throughput",
            dependencies: [
                "BenchSupport",
                .product(name: "AuditJSON", package: "main"),
                .product(name: "AuditModel", package: "main"),
                .product(name: "AuditInputs", package: "main"),
            ]),
        .executableTarget(
            name: "engine-throughput",
            dependencies: [
                "BenchSupport",
                .product(name: "AuditJSON", package: "main"),
                .product(name: "AuditModel", package: "main"),
                .product(name: "AuditInputs", package: "main"),
                .product(name: "DetectionEngine", package: "main"),
                .product(name: "RuleLoader", package: "main"),
                .product(name: "AnalyzerKit", package: "main"),
            ]),
        .executableTarget(
            name: "container-skip",
            dependencies: ["BenchSupport", .product(name: "AuditJSON", package: "main")]),
    ],
    swiftLanguageModes: [.v5]
)
