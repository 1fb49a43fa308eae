import Foundation
import Testing
import TriageKafkaTesting

/// One run of `scripts/check-chart.sh` (helm lint --strict, helm template, kubernetes-validate
/// --strict): its exit status, its output and the rendered manifests.
struct ChartCheck: Sendable {
    var status: Int32
    var output: String
    var errors: String
    /// The rendered manifests as a JSON array (empty when rendering failed).
    var json: Data

    func manifests() throws -> [Manifest] {
        let array = try #require(try JSONSerialization.jsonObject(with: json) as? [[String: Any]], "no manifests: \(errors)")
        return array.map(Manifest.init)
    }
}

/// Runs the chart check with `valuesFiles` (none: the chart's defaults).
func checkChart(_ valuesFiles: [String]) async throws -> ChartCheck {
    let json = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rendered") + ".json").path
    defer { try? FileManager.default.removeItem(atPath: json) }
    let (status, output, errors) = try await runProcess(
        "/bin/bash", [repositoryRoot + "/scripts/check-chart.sh", "--json", json] + valuesFiles, timeout: .seconds(300)
    )
    return ChartCheck(status: status, output: output, errors: errors, json: (try? Data(contentsOf: URL(fileURLWithPath: json))) ?? Data())
}

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryFile(_ text: String, suffix: String = ".yaml") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chart") + suffix).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The values files the chart is checked with; each is rendered once and shared by the tests.
enum ValuesSet: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case defaults
    case production

    var testDescription: String { rawValue }

    private static let defaultsRun = Task { try await checkChart([]) }
    private static let productionRun = Task { try await checkChart([repositoryRoot + "/helm/ci/production.yaml"]) }

    func check() async throws -> ChartCheck {
        switch self {
        case .defaults: try await Self.defaultsRun.value
        case .production: try await Self.productionRun.value
        }
    }

    /// Partition counts of the co-partitioned topic groups (helm/triage/values.yaml, helm/ci/production.yaml).
    var partitions: (incidents: Int, routing: Int, notifications: Int, entitlements: Int) {
        switch self {
        case .defaults: (12, 12, 6, 6)
        case .production: (24, 24, 12, 12)
        }
    }

    /// The session timeout the values set gives every worker (seconds).
    var sessionTimeout: Double {
        switch self {
        case .defaults: 10
        case .production: 20
        }
    }
}

/// What the chart must know about each worker kind: its consumer group, ops port and the
/// (group, topic) pairs whose lag KEDA scales on.
struct WorkerKind: Sendable, CustomTestStringConvertible {
    var kind: String
    var group: String
    var opsPort: Int
    var lagSources: [LagSource]
    /// The `--...` options naming configuration files, and the file each must be.
    var configFiles: [String: String]

    var testDescription: String { kind }

    struct LagSource: Hashable, Sendable {
        var group: String
        var topic: String
    }

    static let all: [WorkerKind] = [
        WorkerKind(
            kind: "escalator", group: "triage-escalator", opsPort: 8081,
            lagSources: [LagSource(group: "triage-escalator", topic: "triage.incident-events")],
            configFiles: ["--policy": "sla-policy.yaml"]),
        WorkerKind(
            kind: "router", group: "triage-router", opsPort: 8082,
            lagSources: [
                LagSource(group: "triage-router", topic: "triage.routing"),
                LagSource(group: "triage-router-dispatch", topic: "triage.incident-events"),
            ], configFiles: ["--roster": "roster.yaml"]),
        WorkerKind(
            kind: "notifier", group: "triage-notifier", opsPort: 8083,
            lagSources: [
                LagSource(group: "triage-notifier", topic: "triage.notification-requests"),
                LagSource(group: "triage-notifier", topic: "triage.notification-retry"),
            ], configFiles: ["--rules": "notification-rules.yaml"]),
        WorkerKind(
            kind: "analytics", group: "triage-analytics", opsPort: 8084,
            lagSources: [LagSource(group: "triage-analytics", topic: "triage.incident-events")],
            configFiles: ["--policy": "sla-policy.yaml"]),
        WorkerKind(
            kind: "intake", group: "triage-ledger", opsPort: 8085,
            lagSources: [LagSource(group: "triage-ledger", topic: "triage.entitlement-requests")],
            configFiles: ["--tenants": "tenants.yaml", "--billing": "billing-policy.yaml"]),
    ]

    /// The partition count of the topic the worker consumes: the most pods that get work.
    func partitions(in values: ValuesSet) -> Int {
        let p = values.partitions
        switch kind {
        case "router": return p.routing
        case "notifier": return p.notifications
        case "intake": return p.entitlements
        default: return p.incidents
        }
    }
}

/// One rendered Kubernetes object, with path access into its JSON.
struct Manifest {
    var object: [String: Any]

    init(_ object: [String: Any]) { self.object = object }

    var kind: String { object["kind"] as? String ?? "" }
    var name: String { self["metadata", "name"] as? String ?? "" }

    /// The value at a path of keys (String) and array indexes (Int), or nil.
    subscript(_ path: Any...) -> Any? { Self.value(object, path) }

    static func value(_ root: Any?, _ path: [Any]) -> Any? {
        var current = root
        for step in path {
            if let key = step as? String {
                current = (current as? [String: Any])?[key]
            } else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }

    /// Every container of a pod template (init containers first).
    var containers: [[String: Any]] {
        let spec = self["spec", "template", "spec"] as? [String: Any] ?? [:]
        return (spec["initContainers"] as? [[String: Any]] ?? []) + (spec["containers"] as? [[String: Any]] ?? [])
    }
}

extension [Manifest] {
    func all(_ kind: String) -> [Manifest] { filter { $0.kind == kind } }
    func named(_ kind: String, _ name: String) -> Manifest? { first { $0.kind == kind && $0.name == name } }
}

/// The value following `option` in an argument list (`--ops-port 8081`).
func argument(_ option: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: option), arguments.indices.contains(index + 1) else { return nil }
    return arguments[index + 1]
}

/// Every value of a repeated option (`--config a --config b`).
func arguments(_ option: String, in arguments: [String]) -> [String] {
    arguments.indices.dropLast().filter { arguments[$0] == option }.map { arguments[$0 + 1] }
}
