// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    // Zero warnings, kept that way: a new one fails the build (and so CI).
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "triage",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
        .library(name: "TriageKafka", targets: ["TriageKafka"]),
        .library(name: "TriageKafkaTesting", targets: ["TriageKafkaTesting"]),
        .library(name: "TriageChildProcess", targets: ["TriageChildProcess"]),
        .library(name: "TriageSchema", targets: ["TriageSchema"]),
        .library(name: "TriageStreams", targets: ["TriageStreams"]),
        .library(name: "TriageOps", targets: ["TriageOps"]),
        .library(name: "TriageCore", targets: ["TriageCore"]),
        .library(name: "TriageSLA", targets: ["TriageSLA"]),
        .library(name: "TriageEscalator", targets: ["TriageEscalator"]),
        .library(name: "TriageRouting", targets: ["TriageRouting"]),
        .library(name: "TriageRouterWorker", targets: ["TriageRouterWorker"]),
        .library(name: "TriageRoutingEvents", targets: ["TriageRoutingEvents"]),
        .library(name: "TriageStaffing", targets: ["TriageStaffing"]),
        .library(name: "TriageSLAEvents", targets: ["TriageSLAEvents"]),
        .library(name: "TriageNotification", targets: ["TriageNotification"]),
        .library(name: "TriageLifecycle", targets: ["TriageLifecycle"]),
        .library(name: "TriageAnalytics", targets: ["TriageAnalytics"]),
        .library(name: "TriageReports", targets: ["TriageReports"]),
        .library(name: "TriageSLABacktest", targets: ["TriageSLABacktest"]),
        .library(name: "TriageSLABacktestLog", targets: ["TriageSLABacktestLog"]),
        .library(name: "TriageNotifierWorker", targets: ["TriageNotifierWorker"]),
        .library(name: "TriageAnalyticsFeed", targets: ["TriageAnalyticsFeed"]),
        .library(name: "TriageEntitlements", targets: ["TriageEntitlements"]),
        .library(name: "TriageOnCall", targets: ["TriageOnCall"]),
        .library(name: "TriageIntake", targets: ["TriageIntake"]),
        .library(name: "TriageDashboard", targets: ["TriageDashboard"]),
        .library(name: "TriageConsole", targets: ["TriageConsole"]),
        .library(name: "TriageDevTools", targets: ["TriageDevTools"]),
        .library(name: "TriageFuzzTargets", targets: ["TriageFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // The only place librdkafka's C headers are visible; everything above speaks Swift.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "TriageKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared event contract: code generated from schemas/ (committed), plus topic and
        // header conventions and validation. No Kafka import.
        .target(
            name: "TriageSchema",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // What lifecycle workers share on top of the binding and the contract: decoding with
        // dead-lettering, publishing with header conventions.
        .target(
            name: "TriageStreams",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageOps",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every domain module shares: configuration errors and the YAML reader behind every
        // configuration file, business calendars (and their YAML), severity, the stable hash of
        // deterministic ids. Pure: no Kafka, no protobuf, no I/O beyond parsing text it is given.
        .target(
            name: "TriageCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // SLA domain: policies (YAML), clock math and escalation state. Pure: no Kafka, no I/O
        // beyond parsing text it is given.
        .target(
            name: "TriageSLA",
            dependencies: [
                "TriageCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The SLA domain spoken in the lifecycle contract: severity/coverage mapping, lifecycle
        // event → SLA input, SLA action → event and notification requests. Pure (no Kafka).
        .target(
            name: "TriageSLAEvents",
            dependencies: ["TriageSchema", "TriageCore", "TriageSLA", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // SLA policy back-testing: the lifecycle log replayed through the escalator's SLA code
        // under a baseline and a candidate policy, compared per group and per incident. Pure.
        .target(
            name: "TriageSLABacktest",
            dependencies: [
                "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The lifecycle log read from Kafka into a back-test, on a dedicated thread: shared by
        // `triage sla backtest` and the console's back-test page.
        .target(
            name: "TriageSLABacktestLog",
            dependencies: [
                "TriageSLABacktest", "TriageKafka", "TriageSchema", "TriageStreams",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Notification policy: rules (YAML), templates, webhook signatures, retry schedule,
        // circuit breaker, delivery ledger. Pure: no Kafka, no network.
        .target(
            name: "TriageNotification",
            dependencies: [
                "TriageCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // The incident lifecycle's rules: which call may follow which (the intake's front door,
        // the analytics fold). Pure: no Kafka, no protobuf.
        .target(name: "TriageLifecycle", swiftSettings: swiftSettings),
        // Analytics facts: folds lifecycle events into incident snapshots and flat analytics
        // records with derived measures. Pure: no Kafka.
        .target(
            name: "TriageAnalytics",
            dependencies: [
                "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents", "TriageLifecycle",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // Reports over the analytics records (SLA compliance per team, severity, customer, month). Pure.
        .target(
            name: "TriageReports",
            dependencies: ["TriageSchema", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // The notifier worker: notification requests in; webhook, chat and e-mail deliveries out,
        // with retries on a delay topic, circuit breakers, a delivery ledger and dead-letters.
        .target(
            name: "TriageNotifierWorker",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageOps", "TriageNotification", "TriageSLA", "TriageCore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The analytics worker: lifecycle events in; flat analytics records and incident
        // snapshots (compacted) out.
        .target(
            name: "TriageAnalyticsFeed",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageOps", "TriageSLA", "TriageAnalytics",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Entitlements: 5-packs and support contracts, credits, expiry, transfer, billing decisions
        // for unresolved closes; intake tenants and tokens. Pure: no Kafka, no network.
        .target(
            name: "TriageEntitlements",
            dependencies: [
                "TriageCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // On-call rotations: who of a team is on call at an instant (weekly hand-offs in a time zone,
        // overrides). Pure: no Kafka.
        .target(
            name: "TriageOnCall",
            dependencies: ["TriageCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The intake worker: the gRPC front door (generated service code from schemas/, committed)
        // and the entitlement ledger (single writer per entitlement, compacted state topic).
        .target(
            name: "TriageIntake",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageOps", "TriageEntitlements", "TriageAnalytics",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The escalator worker: SLA clocks from the lifecycle topic, warnings and escalations out.
        .target(
            name: "TriageEscalator",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageOps", "TriageSLA", "TriageSLAEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Routing policy for one team's desk: eligibility, choice, queue, reassignment. Pure.
        .target(
            name: "TriageRouting",
            dependencies: ["TriageCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Staffing what-ifs: the routing of a window replayed under a baseline and a candidate
        // roster through the router's desks, first responses by the escalator's SLA code. Pure.
        .target(
            name: "TriageStaffing",
            dependencies: ["TriageCore", "TriageRouting", "TriageSLA", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        // Routing's contract <-> domain translation: roster records, lifecycle inputs, decisions as
        // events, lifecycle events as staffing-replay facts.
        .target(
            name: "TriageRoutingEvents",
            dependencies: [
                "TriageSchema", "TriageCore", "TriageSLAEvents", "TriageRouting", "TriageSLA", "TriageStaffing",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // The router worker: dispatcher (re-key by team) and desks (single writer per team).
        .target(
            name: "TriageRouterWorker",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageOps", "TriageCore", "TriageSLA", "TriageSLAEvents", "TriageRouting",
                "TriageRoutingEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The live dashboard of `triage dev`: a view of the topics (open incidents with SLA
        // countdowns, agents, SLA events over time, consumer lag) served over HTTP.
        .target(
            name: "TriageDashboard",
            dependencies: [
                "TriageRoutingEvents",
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageCore", "TriageSLA", "TriageSLAEvents", "TriageAnalytics",
                "TriageRouting", "TriageOps",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The tooling of `triage dev`, `triage chaos` and `triage interop`: simulators, the process
        // cluster, the webhook receiver, the demo portal, the chaos monkey and the auditors.
        .target(
            name: "TriageDevTools",
            dependencies: [
                "TriageKafka", "TriageSchema", "TriageStreams", "TriageSLA", "TriageSLAEvents", "TriageRouting", "TriageRouterWorker",
                "TriageEscalator", "TriageNotifierWorker", "TriageNotification", "TriageAnalyticsFeed", "TriageEntitlements",
                "TriageIntake",
                "TriageDashboard",
                "TriageChildProcess",
                "TriageOnCall",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The staff console (`triage console`): sign-in with roles, queues, incidents with their
        // timelines and SLA clocks, agents; read from the topics through the dashboard's collector,
        // acting only through the intake's gRPC API.
        .target(
            name: "TriageConsole",
            dependencies: [
                "TriageDashboard", "TriageIntake", "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents", "TriageRouting",
                "TriageAnalytics", "TriageAnalyticsFeed", "TriageReports", "TriageKafka", "TriageOps", "TriageSLABacktest",
                "TriageSLABacktestLog",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every worker process has besides its work: health, metrics and consumer lag, and
        // the endpoint that serves them over HTTP (health and readiness, Prometheus metrics).
        .target(
            name: "TriageOps",
            dependencies: [
                "TriageKafka",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Child processes that die with their parent (PR_SET_PDEATHSIG, set between fork and exec
        // by a small C shim): the test helpers' brokers and workers, and `triage dev --processes`.
        .target(name: "CChildProcess"),
        .target(name: "TriageChildProcess", dependencies: ["CChildProcess"], swiftSettings: swiftSettings),
        .target(
            name: "TriageKafkaTesting",
            dependencies: [
                "TriageKafka", "TriageChildProcess",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "triage",
            dependencies: [
                "TriageRoutingEvents",
                "TriageKafka",
                "TriageSchema",
                "TriageStreams",
                "TriageCore",
                "TriageSLA",
                "TriageSLAEvents",
                "TriageEscalator",
                "TriageRouterWorker",
                "TriageNotifierWorker",
                "TriageNotification",
                "TriageAnalyticsFeed",
                "TriageReports",
                "TriageSLABacktest",
                "TriageSLABacktestLog",
                "TriageStaffing",
                "TriageEntitlements",
                "TriageOnCall",
                "TriageIntake",
                "TriageDashboard",
                "TriageConsole",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                "TriageRouting",
                "TriageOps",
                "TriageChildProcess",
                "TriageDevTools",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `make fuzz` feeds libFuzzer's inputs to (Fuzz/ wraps each entry point in a fuzzer
        // executable); the corpus test replays the committed corpus through the same entry points.
        .target(
            name: "TriageFuzzTargets",
            dependencies: [
                "TriageSchema", "TriageCore", "TriageSLA", "TriageRouting", "TriageNotification", "TriageEntitlements",
                "TriageStreams", "TriageKafka", "TriageIntake",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TriageFuzzTargetsTests", dependencies: ["TriageFuzzTargets"], swiftSettings: swiftSettings),
        .testTarget(name: "TriageCoreTests", dependencies: ["TriageCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TriageSLATests", dependencies: ["TriageCore", "TriageSLA"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageNotifierWorkerTests",
            dependencies: [
                "TriageNotifierWorker", "TriageNotification", "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageStreams",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageAnalyticsFeedTests",
            dependencies: [
                "TriageAnalyticsFeed", "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageStreams", "TriageSLA",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageNotificationTests",
            dependencies: [
                "TriageNotification", "TriageCore", "TriageSLA", "TriageChildProcess",
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageAnalyticsTests",
            dependencies: [
                "TriageAnalytics", "TriageLifecycle", "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageSLABacktestTests",
            dependencies: [
                "TriageSLABacktest", "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageReportsTests",
            dependencies: [
                "TriageReports", "TriageAnalytics", "TriageSchema", "TriageCore", "TriageSLA", "TriageSLAEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Helm chart and the Dockerfile: rendered, linted and schema-validated with real tools.
        .testTarget(name: "TriageDeployTests", dependencies: ["TriageKafkaTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageDashboardTests",
            dependencies: [
                "TriageDashboard", "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageStreams", "TriageRouting",
                "TriageRouterWorker",
                "TriageSLA",
                "TriageAnalytics",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageConsoleTests",
            dependencies: [
                "TriageConsole", "TriageDashboard", "TriageIntake", "TriageEntitlements", "TriageKafka", "TriageKafkaTesting",
                "TriageSchema",
                "TriageStreams", "TriageAnalyticsFeed", "TriageSLA", "TriageSLAEvents", "TriageRouterWorker", "TriageRouting",
                "TriageRoutingEvents", "TriageSLABacktest", "TriageSLABacktestLog",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TriageEntitlementsTests", dependencies: ["TriageEntitlements", "TriageCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TriageOnCallTests", dependencies: ["TriageOnCall", "TriageCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageIntakeTests",
            dependencies: [
                "TriageIntake", "TriageEntitlements", "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageStreams",
                "TriageAnalytics", "TriageAnalyticsFeed",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TriageRoutingTests", dependencies: ["TriageRouting", "TriageCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageStaffingTests", dependencies: ["TriageStaffing", "TriageRouting", "TriageSLA", "TriageCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TriageRouterWorkerTests",
            dependencies: [
                "TriageRouterWorker", "TriageRouting", "TriageRoutingEvents", "TriageKafka", "TriageKafkaTesting", "TriageSchema",
                "TriageStreams", "TriageCore", "TriageSLA", "TriageSLAEvents",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageEscalatorTests",
            dependencies: [
                "TriageEscalator", "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageSLA", "TriageSLAEvents", "TriageStreams",
                "TriageDevTools", "TriageOnCall", "TriageRouting", "TriageSLABacktest",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `triage` executable run as a process (its --help, errors, and commands against a
        // broker), and the text formats its commands share (TriageStreams).
        .testTarget(
            name: "TriageCLITests",
            dependencies: [
                "TriageKafka", "TriageKafkaTesting", "TriageSchema", "TriageStreams",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageSchemaTests",
            dependencies: ["TriageSchema", "TriageChildProcess", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TriageKafkaTests",
            dependencies: [
                "TriageKafka",
                "TriageSchema",
                "TriageStreams",
                "TriageOps",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "TriageKafkaTesting",
                "TriageChildProcess",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
