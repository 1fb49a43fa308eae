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

    struct Connection: ParsableArguments {
        @Option(help: "Bootstrap servers, host:port[,host:port...]. Default: $TRIAGE_BOOTSTRAP or localhost:9092.")
        var bootstrap: String?

        @Option(name: .customLong("kafka-property"), help: "Raw librdkafka property KEY=VALUE (TLS, SASL...). Repeatable.")
        var properties: [String] = []

        func clientConfiguration() throws -> KafkaClientConfiguration {
            try Self.client(bootstrap: bootstrap, properties: properties)
        }

        /// The client configuration every command builds from `--bootstrap` and `--kafka-property`.
        static func client(bootstrap: String?, properties: [String]) throws -> KafkaClientConfiguration {
            var configuration = KafkaClientConfiguration(
                bootstrap: bootstrap ?? ProcessInfoEnvironment.value("TRIAGE_BOOTSTRAP") ?? "localhost:9092"
            )
            for property in properties {
                guard let equals = property.firstIndex(of: "=") else {
                    throw ValidationError("--kafka-property '\(property)' is not KEY=VALUE")
                }
                configuration.librdkafkaOverrides[String(property[..<equals])] = String(property[property.index(after: equals)...])
            }
            return configuration
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partition counts.")
        @OptionGroup var connection: Connection
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
        @OptionGroup var connection: Connection
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
        @OptionGroup var connection: Connection
        @OptionGroup var common: CommonOptions

        func run() async throws {
            var topicConfigs: [String: String] = [:]
            for config in configs {
                guard let equals = config.firstIndex(of: "=") else { throw ValidationError("--config '\(config)' is not KEY=VALUE") }
                topicConfigs[String(config[..<equals])] = String(config[config.index(after: equals)...])
            }
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

enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}
