import ArgumentParser
import TriageDevTools

struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract:
            "Run every worker several times over on `triage broker`, kill them at random and inject broker faults under load; then audit every topic.",
        discussion: """
            Starts `triage broker` (three brokers by default) and --instances processes of each worker \
            (escalator, router, notifier, analytics, intake), the incident simulator at --incident-rate \
            incidents per second of scaled SLA time, agents changing presence, and a webhook receiver. \
            While the load runs, a worker process is SIGKILLed every ~--kill-interval seconds and \
            started again 1–3 s later, and (unless --no-faults) the broker takes faults: a broker down \
            and up, failed requests (produce, fetch, commit, heartbeat), round-trip spikes.

            When the load stops, every worker is brought back, the faults are cleared, and the run \
            waits (up to --settle seconds) for the output to complete. An auditor then reads every \
            topic and prints a table: events published vs accounted for in the analytics feed, \
            assignments above an agent's capacity, incidents held by two agents, escalation levels \
            fired other than exactly once per breach, notifications neither delivered nor \
            dead-lettered, and repeated deliveries (each must repeat its Idempotency-Key). Finally \
            every worker gets SIGTERM and must exit 0. Exit status 1 if any check fails.

            `make chaos` runs the full run (10 minutes of load); the test suite runs a short one.
            """
    )

    @Option(help: "Seconds of load (simulator, kills, faults).")
    var duration: Double = 120

    @Option(help: "Simulated incidents opened per second.")
    var incidentRate: Double = 40

    @Option(help: "Processes of each worker kind.")
    var instances: Int = 3

    @Option(help: "Mean seconds between worker kills (0: no kills).")
    var killInterval: Double = 4

    @Flag(help: "No broker faults (kills only).")
    var noFaults = false

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(
        help: """
            Partitions of every topic. The embedded broker keeps only ~5 MB per partition and drops \
            older records silently, which the auditor would count as lost: a long run needs more partitions.
            """
    )
    var partitions: Int = 6

    @Option(help: "SLA time runs this many times as fast as real time (720: an hour per five seconds).")
    var timeScale: Double = 720

    @Option(help: "Longest wait, in seconds, for the output to complete after the load stops.")
    var settle: Double = 120

    @Option(help: "Seed of the kill and fault schedule (default: random; printed).")
    var seed: UInt64?

    @Option(help: "Append the result table (markdown) to this file.")
    var report: String?

    @Option(help: "Write the audit's figures as JSON to this file (what a test or a script checks; the table is for people).")
    var resultJson: String?

    @OptionGroup var sla: SlaOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard incidentRate > 0 else { throw ValidationError("--incident-rate must be positive") }
        guard (1...8).contains(instances) else { throw ValidationError("--instances must be between 1 and 8") }
        guard killInterval >= 0 else { throw ValidationError("--kill-interval must not be negative") }
        guard (1...5).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 5") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 64") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        guard settle > 0 else { throw ValidationError("--settle must be positive") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.chaos")
        var configuration = ChaosRun.Configuration()
        configuration.duration = duration
        configuration.incidentRate = incidentRate
        configuration.instances = instances
        configuration.killInterval = killInterval
        configuration.faults = !noFaults
        configuration.brokers = brokers
        configuration.partitions = partitions
        configuration.timeScale = timeScale
        configuration.settle = settle
        configuration.seed = seed
        configuration.report = report
        configuration.resultJSON = resultJson
        let run = ChaosRun(
            configuration: configuration, policy: try sla.loadPolicy(), policyFile: sla.policy,
            publishRoster: { roster, producer, now in _ = try await publishRoster(roster, producer: producer, source: "triage dev", at: now)
            },
            logger: logger
        )
        let result = try await run.run()
        if !result.passed { throw ExitCode(1) }
    }
}
