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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
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
                "BenchSupport",
                "CRdKafkaBaseline",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The escalator at scale: memory per tracked incident, restore time, breach lag.
        .executableTarget(
            name: "escalator-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageCore", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageSLAEvents", package: "triage"),
                .product(name: "TriageEscalator", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // `triage sla backtest` at scale: a month of lifecycle events replayed under two policies.
        .executableTarget(
            name: "backtest-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageSLABacktest", package: "triage"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The intake: OpenIncident through gRPC and the ledger vs publishing straight to Kafka.
        .executableTarget(
            name: "intake-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageEntitlements", package: "triage"),
                .product(name: "TriageIntake", package: "triage"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // What every benchmark shares: the broker child process, options, percentiles.
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // The notifier: webhook deliveries per second, breach → webhook latency.
        .executableTarget(
            name: "notifier-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageEscalator", package: "triage"),
                .product(name: "TriageNotification", package: "triage"),
                .product(name: "TriageNotifierWorker", package: "triage"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // End-to-end events/s of every worker kind against the binding's raw consume of the same records.
        .executableTarget(
            name: "worker-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageEscalator", package: "triage"),
                .product(name: "TriageAnalyticsFeed", package: "triage"),
                .product(name: "TriageRouting", package: "triage"),
                .product(name: "TriageRouterWorker", package: "triage"),
                .product(name: "TriageEntitlements", package: "triage"),
                .product(name: "TriageIntake", package: "triage"),
                .product(name: "TriageNotification", package: "triage"),
                .product(name: "TriageNotifierWorker", package: "triage"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // `triage publish --file`: lines per second against producing the same records encoded.
        .executableTarget(
            name: "publish-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Scale-out: router and escalator throughput with 1, 2 and 4 worker processes in one group.
        .executableTarget(
            name: "scale-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageEscalator", package: "triage"),
                .product(name: "TriageRouting", package: "triage"),
                .product(name: "TriageRouterWorker", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Assembles docs/benchmarks.md from the figures every benchmark wrote (BENCH_REPORT_DIR).
        .executableTarget(
            name: "bench-report",
            dependencies: ["BenchSupport", .product(name: "TriageKafka", package: "triage")]
        ),
        // The router: desk throughput and Opened → Assigned latency at a fixed offered rate.
        .executableTarget(
            name: "router-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "TriageKafka", package: "triage"),
                .product(name: "TriageSchema", package: "triage"),
                .product(name: "TriageStreams", package: "triage"),
                .product(name: "TriageSLA", package: "triage"),
                .product(name: "TriageRouting", package: "triage"),
                .product(name: "TriageRouterWorker", package: "triage"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ]
)
