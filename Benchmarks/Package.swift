// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the main build never compiles them.
// Run with `make bench` (release build).
let package = Package(
    name: "triage-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "triage", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The baseline: the same workloads as minimal loops over librdkafka's C API.
        .target(
            name: "CRdKafkaBaseline",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("rdkafka")]
        ),
        .executableTarget(
            name: "triage-bench",
            dependencies: [
                "CRdKafkaBaseline",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
