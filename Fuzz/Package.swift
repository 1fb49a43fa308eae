// swift-tools-version: 6.1
import PackageDescription

// The fuzzers live in their own package so the main build never compiles them with libFuzzer.
// Run them with `make fuzz` (docs/fuzzing.md). Each executable is one libFuzzer entry point
// (`LLVMFuzzerTestOneInput`) around one function of `TriageFuzzTargets`, where the real work
// is, so the corpus replay test of the main package runs exactly the same code. Build with
// `-Xswiftc -sanitize=fuzzer,address` (one flag; see the Makefile), as `make fuzz` does.

/// Fuzzer name (after `fuzz-`), also the folder of its seed corpus under `Corpus/`.
let fuzzers = [
    "incident-event", "contract-messages", "intake-request", "sla-state", "delivery-attempts", "ledger-json",
    "sla-policy", "roster", "notification-rules", "tenants", "billing-policy",
]

let package = Package(
    name: "triage-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "triage", path: "..")
    ],
    targets: [
        // Starts libFuzzer's driver from an executable's top-level code (shared by every fuzzer).
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver")
    ]
        + fuzzers.map { name in
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: ["FuzzDriver", .product(name: "TriageFuzzTargets", package: "triage")],
                path: "Sources/fuzz-\(name)"
            )
        }
)
