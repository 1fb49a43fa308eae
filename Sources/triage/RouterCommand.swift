import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageKafka
import TriageOps
import TriageRouterWorker
import TriageRouting
import TriageRoutingEvents
import TriageSchema
import TriageStreams

/// `--roster`: the routing policy part of a roster file (severity weights, shift calendars).
struct RosterOptions: ParsableArguments {
    @Option(help: "Roster YAML: severity weights and shift calendars (docs/roster.md; example: config/roster.example.yaml).")
    var roster: String?

    func load() throws -> Roster? {
        try roster.map(loadRoster)
    }
}

/// Reads and validates a roster file; errors name the file, line and key.
func loadRoster(_ path: String) throws -> Roster {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ValidationError("cannot read roster \(path): \(error.localizedDescription)")
    }
    do { return try Roster.load(yaml: text, file: path) } catch { throw ValidationError("invalid roster: \(error)") }
}

struct RouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Run the router: assigns incidents to agents by skills, capacity, presence and shifts.",
        discussion: """
            Two stages run in every instance. The dispatcher re-keys routing-relevant lifecycle events \
            by team (\(TriageTopic.incidentEvents) → \(TriageTopic.routing)); the desks (one single \
            writer per team, by partition of \(TriageTopic.routing)) choose agents and publish Assigned \
            and Reassigned events with their reasons. Agents come from \(TriageTopic.agentEvents) \
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
        let policy = try rosterOptions.load()?.policy ?? RoutingPolicy()
        let client = try connection.clientConfiguration()
        try await requireTopics(of: .router, client: client, logger: logger)
        let services = try await RouterInstance(
            client: client, policy: policy, group: worker.group, defaultTeam: defaultTeam,
            sessionTimeout: worker.sessionTimeoutDuration, logger: logger,
            closedRetention: .seconds(closedRetentionDays * 86_400)
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

struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Publish a roster, or show agents with their presence and load.",
        discussion: """
            The roster file is described in docs/roster.md (every key, shifts, presence, weights); \
            config/roster.example.yaml is a complete example:
              triage agents apply config/roster.example.yaml
              triage agents
            """,
        subcommands: [List.self, Apply.self],
        defaultSubcommand: List.self
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish every agent of a roster YAML (profile, and presence when given) to \(TriageTopic.agentEvents).",
            discussion: "The file's keys are described in docs/roster.md. Example: triage agents apply config/roster.example.yaml"
        )
        @Argument(help: "The roster file (docs/roster.md).") var file: String
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.agents")
            let roster = try loadRoster(file)
            let client = try connection.clientConfiguration()
            // A cluster that does not answer fails in seconds, naming it (the producer alone would
            // wait for its records' delivery timeout, minutes).
            _ = try await connection.reachableAdmin(client, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
            let published = try await publishRoster(roster, producer: producer, source: "triage agents apply")
            print("published \(published) agent event(s) for \(roster.agents.count) agent(s) to \(TriageTopic.agentEvents)")
            await producer.close()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show agents with team, presence and load (from the topics).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.agents")
            let client = try connection.clientConfiguration()
            let admin = try await connection.reachableAdmin(client, logger: logger)
            let agents = AgentTable()
            guard
                let agentPartitions = try await connection.describe(TriageTopic.agentEvents, admin: admin, client: client)?.partitions.map(
                    \.id)
            else {
                throw CommandFailure(
                    "topic \(TriageTopic.agentEvents) does not exist: no roster was published on this cluster (triage agents apply roster.yaml)"
                )
            }
            _ = try await KafkaPartitionReader.readToEnd(
                topic: TriageTopic.agentEvents, partitions: agentPartitions, client: client, logger: logger
            ) {
                record in
                guard let value = record.value, let event = try? AgentEvent(serializedBytes: Array(value)) else { return }
                agents.apply(event)
            }
            // No desk state yet (no router ever ran): every load is 0.
            let deskPartitions =
                try await connection.describe(TriageTopic.routerState, admin: admin, client: client)?.partitions.map(\.id) ?? []
            _ = try await KafkaPartitionReader.readToEnd(
                topic: TriageTopic.routerState, partitions: deskPartitions, client: client, logger: logger
            ) {
                record in
                guard let key = record.key, DeskRecords.parse(key: key).incident == nil,  // queue entries carry no load
                    let value = record.value, let snapshot = try? JSONDecoder().decode(DeskSnapshot.self, from: Data(value))
                else { return }
                agents.apply(snapshot.desk)
            }
            print("AGENT                TEAM             PRESENCE  LOAD/CAPACITY  ASSIGNED")
            for row in agents.rows() {
                print(
                    row.id.padding(toLength: 20, withPad: " ", startingAt: 0) + " "
                        + row.team.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                        + row.presence.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                        + "\(row.load)/\(row.capacity)".padding(toLength: 14, withPad: " ", startingAt: 0)
                        + " \(row.assigned)"
                )
            }
        }
    }
}

/// Publishes every agent of `roster` to the agent topic: the profile, then the presence when
/// the roster gives one, stamped `at` (now; a dev run's SLA time). Returns the number of events.
func publishRoster(_ roster: Roster, producer: KafkaProducer, source: String, at now: Date = Date()) async throws -> Int {
    let events = roster.agentEvents(source: source, at: now)
    for event in events {
        _ = try await producer.send(
            KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(event.agentID.utf8), value: try event.serializedBytes())
        )
    }
    return events.count
}

/// Agents as read back from the topics, for `triage agents`.
final class AgentTable: Sendable {
    struct Row { var id: String; var team = "-"; var presence = "offline"; var capacity = 0; var load = 0; var assigned = 0 }
    private let state = Mutex<[String: Row]>([:])

    func apply(_ event: AgentEvent) {
        state.withLock { rows in
            var row = rows[event.agentID] ?? Row(id: event.agentID)
            switch event.event {
            case .profile(let profile):
                row.team = profile.team
                row.capacity = Int(profile.capacity)
            case .presenceChanged(let change):
                row.presence = Presence(change.presence).rawValue
            case nil: break
            }
            rows[event.agentID] = row
        }
    }

    func apply(_ desk: TeamDesk) {
        state.withLock { rows in
            for (id, row) in rows where row.team == desk.team {
                var updated = row
                updated.load = desk.load(of: id)
                updated.assigned = desk.assignments.values.filter { $0 == id }.count
                rows[id] = updated
            }
        }
    }

    func rows() -> [Row] { state.withLock { $0.values.sorted { ($0.team, $0.id) < ($1.team, $1.id) } } }
}
