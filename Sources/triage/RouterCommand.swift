import ArgumentParser
import Logging
import TriageEscalator
import TriageOps
import TriageRouterWorker
import TriageRouting
import TriageSchema

struct RouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Run the router: assigns incidents to agents by skills, capacity, presence and shifts.",
        discussion: """
            Two stages run in every instance. The dispatcher re-keys routing-relevant lifecycle events \
            by team (\(TriageTopic.incidentEvents) → \(TriageTopic.routing)); the desks (one single \
            writer per team, by partition of \(TriageTopic.routing)) choose agents and publish Assigned \
            and Reassigned events with their reasons; they also move incidents to other teams (overflow, \
            follow-the-sun: TeamChanged) and ask for notices on \(TriageTopic.notificationRequests) (agents on \
            assignment, customers on acknowledgement, solution and close, leads on queue alerts). Agents come from \(TriageTopic.agentEvents) \
            (publish a roster with `triage agents apply`). Run several instances with the same --group \
            to scale out; see docs/architecture.md for why no agent is ever over capacity.

            The roster file (every key, shifts, presence, weights) is described in docs/roster.md; \
            config/roster.example.yaml is a complete example:
              triage agents apply config/roster.example.yaml
              triage router --roster config/roster.example.yaml
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var rosterOptions: RosterOptions

    @OptionGroup var worker: WorkerOptions<RouterDefaults>

    @Option(help: "Team of incidents opened without one.")
    var defaultTeam: String = "general"

    @Option(help: "Days a closed incident can still be reopened and routed again; older entries leave the routing index.")
    var closedRetentionDays: Double = 30

    @OptionGroup(title: "Sped-up time (demos, tests): queue waits, overflows and shift ends on SLA time") var time: SlaTimeOptions

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard closedRetentionDays >= 0 else {
            throw ValidationError("--closed-retention-days must not be negative, got \(closedRetentionDays)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.router")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let roster = try rosterOptions.load()
        let policy = roster?.policy ?? RoutingPolicy()
        if let roster {
            // Agents may come from another roster file, so this is a warning, not a refusal.
            let staffed = Set(roster.agents.map(\.team))
            for (team, settings) in roster.policy.teams.sorted(by: { $0.key < $1.key }) {
                for (key, target) in [("overflow.to", settings.overflow?.to), ("follow_the_sun.to", settings.followTheSun?.to)] {
                    guard let target, !staffed.contains(target) else { continue }
                    logger.warning(
                        "teams.\(team).\(key): team '\(target)' has no agents in this roster; incidents moved there wait until agents of that team are published"
                    )
                }
            }
        }
        let client = try connection.clientConfiguration()
        let clock = time.clock
        try await requireTopics(of: .router, client: client, logger: logger)
        let services = try await RouterInstance(
            client: client, policy: policy, group: worker.group, defaultTeam: defaultTeam,
            sessionTimeout: worker.sessionTimeoutDuration, logger: logger,
            closedRetention: .seconds(closedRetentionDays * 86_400), notices: roster?.notices ?? NoticeSettings(),
            time: time.timeScale == 1 && time.timeOrigin == nil
                ? .system : RouterTime(now: { clock.now() }, realDelay: { clock.realDelay(until: $0) })
        )
        var serviceGroup = WorkerServiceGroup(logger: logger)
        serviceGroup.add(services.services)
        serviceGroup.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: services.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        try await serviceGroup.run()
        let figures = services.router.statistics
        logger.info("router stopped", metadata: ["assigned": "\(figures.assigned)", "reassigned": "\(figures.reassigned)"])
    }
}
