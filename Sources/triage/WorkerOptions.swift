import ArgumentParser
import TriageSchema

/// What differs between the workers' shared options: their defaults.
protocol WorkerDefaults {
    /// The default `--group`.
    static var group: String { get }
    /// What `--group` means for this worker.
    static var groupHelp: String { get }
    /// The default `--ops-port` (each worker its own, so they run side by side on one machine).
    static var opsPort: Int { get }
}

/// The options every worker command shares: its consumer group, its ops endpoint and its
/// consumer session timeout — declared, documented and validated once.
struct WorkerOptions<Defaults: WorkerDefaults>: ParsableArguments {
    @Option(help: ArgumentHelp(Defaults.groupHelp))
    var group: String = Defaults.group

    @Option(help: "Port of the ops endpoint: /healthz, /readyz, /metrics (0 = any free port).")
    var opsPort: Int = Defaults.opsPort

    @Option(
        help:
            "Address the ops endpoint (/healthz, /readyz, /metrics) listens on: 127.0.0.1 (the default) keeps it on this machine; 0.0.0.0 (all interfaces) for probes and scraping from elsewhere, as the Helm chart sets it."
    )
    var opsHost: String = "127.0.0.1"

    @Option(help: "Consumer session timeout in seconds (how fast a dead instance's partitions move to the others).")
    var sessionTimeout: Double = 10

    @Option(
        help:
            "Seconds a graceful shutdown (SIGTERM) may take: commit, leave the group, flush. Past it the process exits 1 without them (a broker that cannot be reached); records after the last commit are read again."
    )
    var shutdownTimeout: Double = 60

    func validate() throws {
        guard !group.isEmpty else { throw ValidationError("--group must not be empty") }
        guard (0...65_535).contains(opsPort) else { throw ValidationError("--ops-port must be 0...65535, got \(opsPort)") }
        guard sessionTimeout >= 1, sessionTimeout <= 3_600 else {
            throw ValidationError("--session-timeout must be 1...3600 seconds, got \(sessionTimeout)")
        }
        guard shutdownTimeout >= 1, shutdownTimeout <= 86_400 else {
            throw ValidationError("--shutdown-timeout must be 1...86400 seconds, got \(shutdownTimeout)")
        }
    }

    var sessionTimeoutDuration: Duration { .milliseconds(Int64(sessionTimeout * 1000)) }
    var shutdownTimeoutDuration: Duration { .milliseconds(Int64(shutdownTimeout * 1000)) }
}

enum EscalatorDefaults: WorkerDefaults {
    static let group = TriageGroup.escalator
    static let groupHelp = "Consumer group; instances in one group split the partitions."
    static let opsPort = 8081
}

enum RouterDefaults: WorkerDefaults {
    static let group = TriageGroup.router
    static let groupHelp =
        "Consumer group; instances with the same one split the work (the dispatcher runs in this group plus '\(TriageGroup.routerDispatchSuffix)')."
    static let opsPort = 8082
}

enum NotifierDefaults: WorkerDefaults {
    static let group = TriageGroup.notifier
    static let groupHelp = "Consumer group; instances in one group split the partitions."
    static let opsPort = 8083
}

enum AnalyticsDefaults: WorkerDefaults {
    static let group = TriageGroup.analytics
    static let groupHelp = "Consumer group; instances in one group split the partitions."
    static let opsPort = 8084
}

enum IntakeDefaults: WorkerDefaults {
    static let group = TriageGroup.ledger
    static let groupHelp = "Consumer group of the entitlement ledger; intakes in one group split the entitlements."
    static let opsPort = 8085
}
