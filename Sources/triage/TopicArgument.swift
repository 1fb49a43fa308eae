import ArgumentParser

/// `NAME[:PARTITIONS[:REPLICATION]]`, as accepted by `--topic`.
struct TopicArgument: ExpressibleByArgument, Sendable {
    var name: String
    var partitions: Int
    var replicationFactor: Int

    init(name: String, partitions: Int, replicationFactor: Int) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts[0].isEmpty else { return nil }
        name = parts[0]
        guard let partitions = parts.count > 1 ? Int(parts[1]) : 1, partitions > 0 else { return nil }
        guard let replicationFactor = parts.count > 2 ? Int(parts[2]) : 1, replicationFactor > 0 else { return nil }
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}
