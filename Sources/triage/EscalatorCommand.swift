import ArgumentParser
import Foundation
import Logging
import TriageEscalator
import TriageKafka
import TriageOps
import TriageSLA
import TriageSchema

/// `--policy`, `--time-scale`, `--time-origin`: what the escalator and `triage sla` share.
struct SlaOptions: ParsableArguments {
    @Option(help: "SLA policy YAML (targets, warnings, escalation levels, calendars; see docs/sla.md). Default: built-in defaults.")
    var policy: String?

    func loadPolicy() throws -> SlaPolicy {
        guard let policy else { return SlaPolicy() }
        return try Self.loadPolicy(policy, option: "--policy")
    }

    /// The policy in the file at `path` (given with `option`); errors name the file, line and key.
    /// An empty file is the built-in defaults, as for the loader, unless `refusingEmpty` (a
    /// back-test's policies, where an empty file is a mistake more likely than a choice: it
    /// compares something with the defaults without saying so).
    static func loadPolicy(_ path: String, option: String, refusingEmpty: Bool = false) throws -> SlaPolicy {
        let text = try InputFile.text(path, option: option)
        if refusingEmpty, text.split(separator: "\n").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.hasPrefix("#") }) {
            let defaults = option == "--baseline" ? "; to compare with the built-in defaults, leave --baseline out" : ""
            throw CommandFailure("\(option) \(path): the file is empty (no targets, warnings, escalation or calendars)\(defaults)")
        }
        do {
            return try SlaPolicy.load(yaml: text, file: path)
        } catch {
            throw ValidationError("invalid SLA policy: \(error)")
        }
    }
}

struct EscalatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalator",
        abstract: "Run the SLA escalator: warnings and escalations when targets fall due.",
        discussion: """
            Consumes the lifecycle topic (\(TriageTopic.incidentEvents)) in the consumer group --group, \
            keeps every open incident's first-response and resolution clocks (paused while waiting on \
            the customer, in the contract's business calendar), and publishes SlaWarning and Escalated \
            events (same topic, same partition as the incident) plus notification requests \
            (\(TriageTopic.notificationRequests)) within about a second of each deadline.

            State per partition is kept in the compacted changelog \(TriageTopic.slaState) (same \
            partition count as the lifecycle topic) and restored when a partition is assigned; /readyz \
            answers 503 until then. Emitted events have deterministic ids, so a re-emission after a \
            crash is recognisable downstream.

            --time-scale speeds SLA time up for demos and tests: 360 makes an hour pass in ten seconds. \
            Processes given the same --time-origin agree on SLA time.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var sla: SlaOptions

    @OptionGroup var worker: WorkerOptions<EscalatorDefaults>

    @Option(help: "SLA time runs this many times as fast as real time (demos, tests).")
    var timeScale: Double = 1

    @Option(help: "With --time-scale: the real instant (RFC 3339) from which SLA time is sped up. Default: now.")
    var timeOrigin: String?

    @Option(help: "Write the ops endpoint's bound port to this file.")
    var opsPortFile: String?

    @Option(help: "On-call rotations YAML (docs/roster.md): who an escalation level's `oncall:<team>` pages when it falls due.")
    var oncall: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard timeScale > 0, timeScale <= 1_000_000 else { throw ValidationError("--time-scale must be in (0, 1000000]") }
        if let timeOrigin, parseInstant(timeOrigin) == nil {
            throw ValidationError("--time-origin '\(timeOrigin)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00Z)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.escalator")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let policy = try sla.loadPolicy()
        let client = try connection.clientConfiguration()
        let clock = ScaledClock(scale: timeScale, origin: timeOrigin.flatMap(parseInstant) ?? Date())
        let recipients = try OnCallRecipients.resolver(file: oncall, policy: policy, logger: logger)
        try await requireTopics(of: .escalator, client: client, logger: logger)
        let instance = try await EscalatorInstance(
            client: client, policy: policy, clock: clock, group: worker.group,
            sessionTimeout: worker.sessionTimeoutDuration, logger: logger, recipients: recipients
        )
        let portFile = opsPortFile
        let ops = OpsServer(host: worker.opsHost, port: worker.opsPort, health: instance.health, logger: logger) { port in
            if let portFile { try? Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic) }
        }
        logger.info(
            "escalator starting",
            metadata: [
                "bootstrap": "\(client.bootstrapServers.joined(separator: ","))", "group": "\(worker.group)", "time_scale": "\(timeScale)",
            ]
        )
        var serviceGroup = WorkerServiceGroup(logger: logger)
        serviceGroup.add(instance.services)
        serviceGroup.addListener(ops, at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port"))
        try await serviceGroup.run()
        let figures = instance.escalator.statistics
        logger.info(
            "escalator stopped",
            metadata: ["warnings": "\(figures.warnings)", "escalations": "\(figures.escalations)", "events": "\(figures.eventsApplied)"]
        )
    }
}

/// RFC 3339 with or without fractional seconds.
func parseInstant(_ text: String) -> Date? {
    if let date = try? Date(text, strategy: .iso8601) { return date }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
