import ArgumentParser
import Foundation
import Logging
import TriageKafka

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, describe or create topics on a Kafka cluster.",
        subcommands: [List.self, Describe.self, Create.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partition counts.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let admin = try KafkaAdmin(configuration: connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            for topic in try await admin.listTopics() {
                print("\(topic.name)\t\(topic.partitions.count) partition(s)")
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic's partitions, leaders and replicas.")
        @Argument(help: "The topic.") var topic: String
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let admin = try KafkaAdmin(configuration: connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            let description = try await admin.describeTopic(topic)
            print("topic \(description.name): \(description.partitions.count) partition(s)")
            for partition in description.partitions {
                print("  partition \(partition.id)\tleader \(partition.leader)\treplicas \(partition.replicas)\tisr \(partition.inSyncReplicas)")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create topics through the admin API (real brokers; the embedded one needs `triage broker --topic`)."
        )
        @Argument(help: "Topics as NAME[:PARTITIONS[:REPLICATION]].") var topics: [TopicArgument]
        @Option(name: .customLong("config"), help: "Topic config KEY=VALUE for every topic, e.g. cleanup.policy=compact. Repeatable.")
        var configs: [String] = []
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let topicConfigs = try keyValuePairs(configs, option: "--config")
            let admin = try KafkaAdmin(configuration: connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            try await admin.createTopics(
                topics.map {
                    KafkaTopicSpecification(name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor, configs: topicConfigs)
                }
            )
            for topic in topics { print("created \(topic.name) (\(topic.partitions) partition(s))") }
        }
    }
}
