import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import TriageKafka
import TriageRouting
import TriageSchema

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
