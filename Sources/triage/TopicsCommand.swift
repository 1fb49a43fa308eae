import ArgumentParser
import Foundation
import Logging
import TriageKafka
import TriageSchema
import TriageStreams

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, describe, create or check topics on a Kafka cluster.",
        discussion: """
            Set up a cluster for Triage with one command, e.g. \
            `triage topics create --all --partitions 12 --replication-factor 3 --bootstrap kafka:9092`: it \
            creates every Triage topic that is missing with its configs (compacted state topics, the \
            notification ledger's retention) and equal partition counts within each co-partitioned \
            group, and reports the ones that exist; run it again at any time. `triage topics check` \
            exits 1 listing what is missing or wrong.
            """,
        subcommands: [List.self, Describe.self, Create.self, Check.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partition counts.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let admin = try await connection.reachableAdmin(
                connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
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
            let admin = try await connection.reachableAdmin(
                connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            let description = try await admin.describeTopic(topic)
            print("topic \(description.name): \(description.partitions.count) partition(s)")
            for partition in description.partitions {
                print(
                    "  partition \(partition.id)\tleader \(partition.leader)\treplicas \(partition.replicas)\tisr \(partition.inSyncReplicas)"
                )
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create topics through the admin API (real brokers; the embedded one needs `triage broker --topic`).",
            discussion: """
                With --all: every Triage topic that is missing, with the configs it needs, and a report \
                of those that exist (left alone: a partition count is never changed). Then the same \
                check as `triage topics check`: exit 1 if a topic is still missing or has the wrong \
                partition count. Co-partitioned groups (see `triage topics check --help`) share one \
                count; a group that already has topics gets their count for its missing ones.

                Examples:
                  triage topics create --all --partitions 12 --replication-factor 3 --bootstrap kafka:9092
                  triage topics create --all --partitions 12 --partitions notifications=6 --config min.insync.replicas=2
                  triage topics create orders:6:3 --config cleanup.policy=compact
                """
        )
        @Flag(help: "Every Triage topic (instead of TOPICS).") var all = false
        @Argument(help: "Topics as NAME[:PARTITIONS[:REPLICATION]] (without --all).") var topics: [TopicArgument] = []
        @OptionGroup var layout: LayoutOptions
        @Option(
            name: .customLong("config"), help: "Topic config KEY=VALUE for every topic created, e.g. min.insync.replicas=2. Repeatable.")
        var configs: [String] = []
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func validate() throws {
            if all {
                guard topics.isEmpty else { throw ValidationError("give either --all or TOPICS, not both") }
                try layout.validate(requirePartitions: true)
            } else {
                guard !topics.isEmpty else { throw ValidationError("name the topics to create, or pass --all") }
                guard layout.partitions.isEmpty else { throw ValidationError("--partitions goes with --all (otherwise NAME:PARTITIONS)") }
            }
        }

        func run() async throws {
            let topicConfigs = try keyValuePairs(configs, option: "--config")
            let admin = try await connection.reachableAdmin(
                connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            guard all else {
                try await admin.createTopics(
                    topics.map {
                        KafkaTopicSpecification(
                            name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor, configs: topicConfigs)
                    }
                )
                for topic in topics { print("created \(topic.name) (\(topic.partitions) partition(s))") }
                return
            }
            let (created, report) = try await TopicSetup.createMissing(
                admin: admin, partitions: try layout.partitionCounts(), replicationFactor: layout.replicationFactor,
                extraConfigs: topicConfigs,
                layout: layout.topics
            )
            let createdNames = Set(created.map(\.name))
            for topic in created {
                let configs = topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                print("created \(topic.name) (\(topic.partitions) partition(s)\(configs.isEmpty ? "" : ", \(configs)"))")
            }
            for existing in report.existing where !createdNames.contains(existing.topic.name) {
                print("exists  \(existing.topic.name) (\(existing.partitions) partition(s))")
            }
            print("\(created.count) created, \(report.existing.count - created.count) existed")
            try finish(report, bootstrap: try connection.clientConfiguration().bootstrapServers.joined(separator: ","))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every Triage topic exists with consistent partition counts; exit 1 listing what is missing or wrong.",
            discussion: """
                Co-partitioned groups (topics joined on the same key; equal partition counts): \
                \(TriageTopicLayout.PartitionGroup.allCases.map { group in
                    "\(group.rawValue): " + TriageTopicLayout.topics().filter { $0.group == group }.map(\.name).joined(separator: ", ")
                }.joined(separator: "; ")).

                Without --partitions, only equality within each group is checked. Topic configs \
                (cleanup.policy, retention.ms) are not checked yet.

                Example: triage topics check --partitions 12 --partitions notifications=6 --bootstrap kafka:9092
                """
        )
        @OptionGroup var layout: LayoutOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var common: CommonOptions

        func validate() throws { try layout.validate(requirePartitions: false) }

        func run() async throws {
            let admin = try await connection.reachableAdmin(
                connection.clientConfiguration(), logger: common.bootstrapLogging(label: "triage.topics"))
            let report = try await TopicSetup.check(admin: admin, partitions: try layout.partitionCounts(), layout: layout.topics)
            for existing in report.existing { print("ok      \(existing.topic.name) (\(existing.partitions) partition(s))") }
            try finish(report, bootstrap: try connection.clientConfiguration().bootstrapServers.joined(separator: ","))
        }
    }
}

/// Prints what is missing or wrong and exits 1 if anything is.
private func finish(_ report: TopicSetup.Report, bootstrap: String) throws {
    for topic in report.missing { print("missing \(topic.name)") }
    for problem in report.problems { print("wrong   \(problem)") }
    guard report.isComplete else {
        let missing =
            report.missing.isEmpty
            ? ""
            : "\(report.missing.count) topic(s) missing (create them: triage topics create --all --partitions N --bootstrap \(bootstrap))"
        let wrong = report.problems.isEmpty ? "" : "\(report.problems.count) wrong partition count(s)"
        FileHandle.standardError.write(Data("triage topics: \([missing, wrong].filter { !$0.isEmpty }.joined(separator: "; "))\n".utf8))
        throw ExitCode.failure
    }
}

/// `--partitions`, `--replication-factor`, `--notification-ledger-retention-ms` of `create --all` and `check`.
struct LayoutOptions: ParsableArguments {
    @Option(
        help: """
            Partition count: N for every co-partitioned group, GROUP=N for one group (groups: \
            \(TriageTopicLayout.PartitionGroup.allCases.map(\.rawValue).joined(separator: ", "))). Repeatable.
            """
    )
    var partitions: [String] = []

    @Option(help: "Replication factor of the topics created (at most the number of brokers). Default: the broker's default.")
    var replicationFactor: Int = -1

    @Option(help: "retention.ms of triage.notification-ledger: keep it above the notifier's dedupe_window. Default: 7 days.")
    var notificationLedgerRetentionMs: Int64 = TriageTopicLayout.notificationLedgerRetentionMs

    func validate(requirePartitions: Bool) throws {
        let counts = try partitionCounts()
        if requirePartitions, counts.default == nil, Set(counts.groups.keys) != Set(TriageTopicLayout.PartitionGroup.allCases) {
            throw ValidationError("--partitions N is required (a count for every group, or N for all)")
        }
        guard replicationFactor == -1 || replicationFactor > 0 else { throw ValidationError("--replication-factor must be positive") }
        guard notificationLedgerRetentionMs > 0 else { throw ValidationError("--notification-ledger-retention-ms must be positive") }
    }

    func partitionCounts() throws -> TopicSetup.Partitions {
        var result = TopicSetup.Partitions()
        for value in partitions {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard let count = Int(parts.last ?? ""), count > 0 else {
                throw ValidationError("--partitions '\(value)' is not N or GROUP=N with N > 0")
            }
            if parts.count == 1 {
                result.default = count
            } else {
                guard let group = TriageTopicLayout.PartitionGroup(rawValue: parts[0]) else {
                    throw ValidationError(
                        "--partitions: unknown group '\(parts[0])'; groups: \(TriageTopicLayout.PartitionGroup.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                result.groups[group] = count
            }
        }
        return result
    }

    var topics: [TriageTopicLayout.Topic] { TriageTopicLayout.topics(notificationLedgerRetentionMs: notificationLedgerRetentionMs) }
}

/// A worker's start-up check: every topic it uses exists, or one error names all the missing ones
/// and the command that creates them.
func requireTopics(of worker: TriageTopicLayout.Worker, client: KafkaClientConfiguration, logger: Logger) async throws {
    try await TopicSetup.requireTopics(
        TriageTopicLayout.topics(usedBy: worker), of: "triage \(worker.rawValue)", admin: KafkaAdmin(configuration: client, logger: logger),
        bootstrap: client.bootstrapServers.joined(separator: ",")
    )
}
