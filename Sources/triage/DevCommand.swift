import ArgumentParser
import Logging
import ServiceLifecycle
import TriageDashboard
import TriageDevTools
import TriageSchema

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Triage locally on an embedded Kafka broker (the README's first command).",
        discussion: """
            Starts the embedded broker (librdkafka's mock cluster) and creates the topics, then runs \
            every part of Triage that exists so far:
              • the Kafka layer's self-check: records at --rate and a consumer group reading them back \
            (throughput, lag, end-to-end latency);
              • the escalator, on SLA time sped up by --time-scale (360: an hour per ten seconds), with \
            /healthz and /readyz on --ops-port;
              • the router (dispatcher + team desks), with the agents of --roster published to \
            triage.agent-events at start. Default: a demo roster — tier-1 (twelve agents, four on a day \
            shift handing acknowledged work to tier-2 at its end, follow-the-sun), with a queue alert after \
            20 minutes and overflow to tier-2; tier-2 (four agents speaking every language) routed round \
            robin. The router's notices (agents on assignment, customers on acknowledgement, solution and \
            close, the lead on a queue alert) go to the notifier;
              • without --policy a demo SLA policy: update targets for severities A and B (a public note \
            starts the clock over), severity A resolution targets, and a third level paging the on-call \
            of tier-2 (a weekly rotation of its four agents; triage oncall show explains it);
              • the notifier, delivering the escalator's notification requests (and the router's) as \
            signed webhooks to a local receiver that checks every signature; customers' texts in their \
            language (en, de, fr, es) and time zone; two maintenance windows: acct-1's notifications wait \
            two minutes, acct-2's are suppressed;
              • the analytics feed: a flat JSON record per lifecycle event on triage.analytics and the \
            latest snapshot per incident on triage.incident-state;
              • a workload simulator: customers opening --incident-rate incidents per second (severity \
            A 10 %, B 35 %, C 55 %; English, German, French and Spanish customers), agents answering after \
            20–130 % of the target (a tenth never), public notes now and then, a fifth paused for a while \
            (waiting on the customer, a vendor or engineering, or a scheduled follow-up that resumes by \
            itself), most resolved hours later (SLA time), a few closed unresolved; every \
            --presence-interval seconds (3) an agent steps away or comes back.
              • the intake (gRPC on --intake-port) with its entitlement ledger, and a demo portal that \
            grants a 24x7 contract and a 5-pack and opens an incident through gRPC every few seconds, \
            alternating between them (the pack runs out after five: FAILED_PRECONDITION). The dev \
            tenant's bearer token is printed at start.
              • the staff console on http://127.0.0.1:--console-port (8090): sign in (demo accounts and their \
            password are printed at start), queues with "take next", incidents with their timelines, SLA \
            clocks and actions (through the intake's gRPC API, as an admin tenant), agents with presence;
              • a live dashboard on http://127.0.0.1:--dashboard-port (8080): open incidents with their SLA \
            clocks (countdown, paused while waiting on the customer, or how long the first response took), \
            queue depth and oldest queued incident per team, agents with presence and load (load units by \
            severity, and incidents held), warnings/breaches/escalations over time, consumer lag per \
            worker — read from the topics, so it shows the same with --processes.
            A live line every --report-interval seconds shows all of it.

            With --processes the broker and every worker run as separate processes instead (two \
            escalators and two routers splitting the partitions, the notifier, the analytics feed and the \
            intake), with the configuration files they need written to a temporary folder; the live lines \
            then come from each worker's /metrics, and at the end every worker gets SIGTERM.

            The broker's address is printed at start; other processes (kcat, triage topics) can use it. \
            Stop with Ctrl-C: everything shuts down gracefully (consumers commit and leave the group, \
            producers flush).
            """
    )

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(help: "Self-check records published per second.")
    var rate: Int = 200

    @Option(help: "Seconds between live summary lines.")
    var reportInterval: Double = 2

    @Option(help: "Stop by itself after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: "Write the embedded broker's bootstrap address to this file.")
    var portFile: String?

    @Option(help: "SLA time runs this many times as fast as real time (360: an hour per ten seconds).")
    var timeScale: Double = 360

    @Option(help: "Simulated incidents opened per second (0: none).")
    var incidentRate: Double = 2

    @Option(help: "Port of the escalator's /healthz and /readyz (0: any free port).")
    var opsPort: Int = 8081

    @OptionGroup var sla: SlaOptions

    @Option(help: "Port of the live dashboard on 127.0.0.1 (0: any free port).")
    var dashboardPort: Int = 8080

    @Option(help: "Port of the staff console on 127.0.0.1 (0: any free port).")
    var consolePort: Int = 8090

    @Option(help: "gRPC port of the intake (0: any free port).")
    var intakePort: Int = 50051

    @Option(help: "Seconds between the demo portal's gRPC opens (0: no portal).")
    var portalInterval: Double = 3

    @Option(help: "Seconds between simulated presence changes of the agents (0: none).")
    var presenceInterval: Double = 3

    @Flag(help: "Run the broker and every worker as separate processes (two escalators, two routers) instead of in this one.")
    var processes = false

    @Option(help: "Roster YAML published at start (agents, severity weights, shift calendars). Default: a demo team.")
    var roster: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 32") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard reportInterval > 0 else { throw ValidationError("--report-interval must be positive") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        guard incidentRate >= 0 else { throw ValidationError("--incident-rate must not be negative") }
        guard (0...65_535).contains(intakePort) else { throw ValidationError("--intake-port must be 0...65535") }
        guard (0...65_535).contains(dashboardPort) else { throw ValidationError("--dashboard-port must be 0...65535") }
        guard (0...65_535).contains(consolePort) else { throw ValidationError("--console-port must be 0...65535") }
        guard (0...65_535).contains(opsPort) else { throw ValidationError("--ops-port must be 0...65535") }
        guard portalInterval >= 0 else { throw ValidationError("--portal-interval must not be negative") }
        guard presenceInterval >= 0 else { throw ValidationError("--presence-interval must not be negative") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.dev")
        if processes { return try await runProcesses(logger: logger) }
        try await runInProcess(logger: logger)
    }
}

extension DevCommand {
    /// The workers' consumer groups and their input topics: the dashboard's lag table.
    static let workerGroups = TriageGroup.inputs

    /// The dashboard, kept from ending `triage dev` if it fails (except when its port is taken:
    /// that is the user's to fix, and ends the run naming --dashboard-port), and a line with its address.
    static func dashboardServices(_ dashboard: Dashboard, port: Int, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let listening = ListeningService(
            service: dashboard, address: ListenAddress(host: "127.0.0.1", port: port, option: "--dashboard-port"))
        return [
            .init(
                service: OptionalService(name: "dashboard", service: listening, isFatal: { $0 is AddressInUse }, logger: logger),
                failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: DashboardAnnouncer(dashboard: dashboard)),
        ]
    }
}
