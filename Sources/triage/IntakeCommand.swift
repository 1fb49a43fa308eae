import ArgumentParser
import Foundation
import Logging
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageOps
import TriageSchema

struct IntakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Run the gRPC front door (triage.v1.IncidentIntake) and the entitlement ledger.",
        discussion: """
            Serves triage.v1.IncidentIntake (schemas/triage/v1/intake.proto) on --port. Every call \
            needs 'authorization: Bearer <token>' metadata; --tenants maps tokens to tenants and their \
            customer accounts (config/tenants.example.yaml). Calls on existing incidents publish their \
            lifecycle event to \(TriageTopic.incidentEvents) directly; opening, splitting, closing \
            unresolved and reopening go through the entitlement ledger.

            The ledger runs inside every intake: instances in one --group split the partitions of \
            \(TriageTopic.entitlementRequests), so each entitlement has exactly one writer at a time, \
            and state lives in the compacted \(TriageTopic.entitlements). A 5-pack holds 5 credits and \
            expires one year after purchase (docs/intake.md defines the boundary). Unresolved closes \
            get a billing decision from --billing (config/billing-policy.example.yaml; default: \
            refund unless the customer withdrew).

            Topics it needs: \(TriageTopic.entitlementRequests) and \(TriageTopic.entitlements) \
            (same partition count, the latter compacted), \(TriageTopic.entitlementReplies), \
            \(TriageTopic.incidentDirectory) (compacted), \(TriageTopic.incidentEvents), \
            \(TriageTopic.incidentState). A missing one stops start-up with the command that creates it.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Tenants file (YAML): bearer tokens (SHA-256, environment variable or plain), accounts, admin flag.")
    var tenants: String

    @Option(help: "Billing policy for unresolved closes (YAML). Default: refund unless the customer withdrew.")
    var billing: String?

    @Option(help: "Address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "gRPC port (0 = any free port; the bound port is logged).")
    var port: Int = 50051

    @Option(help: "PEM certificate chain: serve TLS instead of plaintext (with --tls-key).")
    var tlsCertificate: String?

    @Option(help: "PEM private key of --tls-certificate.")
    var tlsKey: String?

    @OptionGroup var worker: WorkerOptions<IntakeDefaults>

    @Option(help: "Seconds a call waits for the ledger's answer before failing with UNAVAILABLE.")
    var ledgerTimeout: Double = 15

    @Option(help: "Write the bound gRPC port to this file once listening (for scripts and tests).")
    var portFile: String?

    @Option(help: "Demos and tests: the intake's clock runs this many times as fast as real time (as the escalator's --time-scale).")
    var timeScale: Double = 1

    @Option(help: "Demos and tests: the instant the scaled clock starts from (RFC 3339; processes given the same origin agree).")
    var timeOrigin: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard ledgerTimeout > 0 else { throw ValidationError("--ledger-timeout must be positive") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-certificate and --tls-key go together") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        if let timeOrigin, parseInstant(timeOrigin) == nil {
            throw ValidationError("--time-origin '\(timeOrigin)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00Z)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.intake")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let directory = try TenantDirectory.load(
            contentsOf: URL(fileURLWithPath: tenants), environment: ProcessInfo.processInfo.environment)
        let policy = try billing.map { try BillingPolicy.load(contentsOf: URL(fileURLWithPath: $0)) } ?? .standard
        for path in [tlsCertificate, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read TLS file \(path)")
        }
        try await requireTopics(of: .intake, client: try connection.clientConfiguration(), logger: logger)
        let instance = try await IntakeInstance(
            client: try connection.clientConfiguration(), tenants: directory, billing: policy, host: host, port: port,
            tls: tlsCertificate.map { IntakeTLS(certificateChainPath: $0, privateKeyPath: tlsKey!) }, group: worker.group,
            sessionTimeout: worker.sessionTimeoutDuration, ledgerTimeout: .milliseconds(Int64(ledgerTimeout * 1000)),
            logger: logger,
            now: { [clock = ScaledClock(scale: timeScale, origin: timeOrigin.flatMap(parseInstant) ?? Date())] in
                timeScale == 1 && timeOrigin == nil ? Date() : clock.now()
            }
        )
        var serviceGroup = WorkerServiceGroup(logger: logger)
        serviceGroup.addIntake(instance, at: ListenAddress(host: host, port: port, option: "--port"))
        serviceGroup.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: instance.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        serviceGroup.add([PortAnnouncer(server: instance.server, file: portFile, tenants: directory.tenants.count)])
        try await serviceGroup.run()
        let calls = instance.service.statistics
        let ledger = instance.ledger.statistics
        logger.info(
            "intake stopped",
            metadata: [
                "calls": "\(calls.calls)", "denied": "\(calls.denied)", "ledger-commands": "\(ledger.commands)",
                "ledger-rejected": "\(ledger.rejected)",
            ]
        )
    }
}
