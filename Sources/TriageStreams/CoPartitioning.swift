public import Logging
public import TriageKafka

/// A topic a worker cannot start without, in words that say what to run.
public struct TopicSetupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A topic that must have as many partitions as a worker's input (its partition *n* holds the
/// state or the re-queued work of the input's partition *n*).
public struct CoPartitionedTopic: Sendable {
    public var name: String
    /// `--config` options for the `triage topics create` hint, e.g. `cleanup.policy=compact`.
    public var configs: [String]

    public init(_ name: String, configs: [String] = []) {
        self.name = name
        self.configs = configs
    }
}

/// Checks at start-up that each of `companions` exists with the partition count of `input`;
/// fails fast with the command that creates a missing one. Returns the input's partition count.
@discardableResult
public func checkCoPartitioned(
    input: String, companions: [CoPartitionedTopic], client: KafkaClientConfiguration, logger: Logger
) async throws -> Int {
    try await checkCoPartitioned(input: input, companions: companions, admin: KafkaAdmin(configuration: client, logger: logger))
}

/// ``checkCoPartitioned(input:companions:client:logger:)`` with an admin client the caller
/// already has (several checks share one connection).
@discardableResult
public func checkCoPartitioned(input: String, companions: [CoPartitionedTopic], admin: KafkaAdmin) async throws -> Int {
    let partitions = try await admin.describeTopic(input).partitions.count
    for companion in companions {
        let description: KafkaTopicDescription
        do {
            description = try await admin.describeTopic(companion.name)
        } catch {
            // (A `catch where` here crashes the 6.3.1 compiler in MandatoryAllocBoxToStack.)
            guard error.code == .unknownTopicOrPartition else { throw error }
            let configs = companion.configs.map { " --config \($0)" }.joined()
            throw TopicSetupError(
                "the topic '\(companion.name)' does not exist; create it with \(partitions) partitions (like '\(input)'): "
                    + "triage topics create \(companion.name):\(partitions)\(configs)"
            )
        }
        guard description.partitions.count == partitions else {
            throw TopicSetupError(
                "'\(companion.name)' has \(description.partitions.count) partitions but '\(input)' has \(partitions); they must match (co-partitioned)"
            )
        }
    }
    return partitions
}
