public import TriageKafka
public import TriageSchema

/// Creating and checking the Triage topics of ``TriageTopicLayout`` on a cluster: what
/// `triage topics create --all` and `triage topics check` do, and what a worker checks at start-up.
public enum TopicSetup {
    /// Partition counts per co-partitioning group: `default` for every group, `groups` overriding.
    public struct Partitions: Sendable, Hashable {
        public var `default`: Int?
        public var groups: [TriageTopicLayout.PartitionGroup: Int]

        public init(default: Int? = nil, groups: [TriageTopicLayout.PartitionGroup: Int] = [:]) {
            self.default = `default`
            self.groups = groups
        }

        /// The count asked for `group`, if any.
        public func count(of group: TriageTopicLayout.PartitionGroup) -> Int? { groups[group] ?? `default` }
    }

    /// What the cluster holds compared with the layout.
    public struct Report: Sendable {
        /// Layout topics that exist, with their partition counts.
        public var existing: [(topic: TriageTopicLayout.Topic, partitions: Int)] = []
        /// Layout topics that do not exist.
        public var missing: [TriageTopicLayout.Topic] = []
        /// Wrong partition counts, one sentence each.
        public var problems: [String] = []

        public var isComplete: Bool { missing.isEmpty && problems.isEmpty }
    }

    /// Compares the cluster with `layout`: which topics are missing, and which partition counts
    /// are wrong (unequal within a co-partitioning group, or unlike the count asked for). Topic
    /// configs are not compared (that needs DescribeConfigs, which the binding does not have yet).
    public static func check(
        admin: KafkaAdmin, partitions: Partitions = .init(), layout: [TriageTopicLayout.Topic] = TriageTopicLayout.topics()
    ) async throws -> Report {
        let counts = Dictionary(
            try await admin.listTopics().map { ($0.name, $0.partitions.count) }, uniquingKeysWith: { first, _ in first })
        var report = Report()
        for topic in layout {
            if let count = counts[topic.name] { report.existing.append((topic, count)) } else { report.missing.append(topic) }
        }
        for group in TriageTopicLayout.PartitionGroup.allCases {
            let members = report.existing.filter { $0.topic.group == group }
            guard let first = members.first else { continue }
            if let wanted = partitions.count(of: group) {
                for member in members where member.partitions != wanted {
                    report.problems.append(
                        "\(member.topic.name) has \(member.partitions) partition(s), not \(wanted) (group \(group.rawValue))")
                }
            } else if members.contains(where: { $0.partitions != first.partitions }) {
                let listed = members.map { "\($0.topic.name) \($0.partitions)" }.joined(separator: ", ")
                report.problems.append("co-partitioned topics of group \(group.rawValue) have different partition counts: \(listed)")
            }
        }
        return report
    }

    /// Creates the layout's missing topics with their configs (plus `extraConfigs` for every
    /// topic) and leaves existing ones alone. A missing topic whose group already has topics gets
    /// their partition count (co-partitioning), otherwise the count asked for its group.
    /// Returns what was created and the report after creating.
    public static func createMissing(
        admin: KafkaAdmin, partitions: Partitions, replicationFactor: Int = -1, extraConfigs: [String: String] = [:],
        layout: [TriageTopicLayout.Topic] = TriageTopicLayout.topics()
    ) async throws -> (created: [KafkaTopicSpecification], report: Report) {
        let before = try await check(admin: admin, partitions: partitions, layout: layout)
        var specifications: [KafkaTopicSpecification] = []
        for topic in before.missing {
            let sibling = before.existing.first { $0.topic.group == topic.group }?.partitions
            guard let count = sibling ?? partitions.count(of: topic.group) else {
                throw TopicSetupError("no partition count for \(topic.name) (group \(topic.group.rawValue)): pass --partitions N")
            }
            specifications.append(
                KafkaTopicSpecification(
                    name: topic.name, partitions: count, replicationFactor: replicationFactor,
                    configs: topic.configs.merging(extraConfigs) { own, _ in own }
                )
            )
        }
        try await admin.createTopics(specifications)
        return (specifications, specifications.isEmpty ? before : try await check(admin: admin, partitions: partitions, layout: layout))
    }

    /// Fails unless every topic of `names` exists, naming all the missing ones in one error with
    /// the command that creates them (a worker's start-up check).
    public static func requireTopics(_ names: [String], of worker: String, admin: KafkaAdmin, bootstrap: String) async throws {
        let existing = Set(try await admin.listTopics().map(\.name))
        let missing = names.filter { !existing.contains($0) }
        guard !missing.isEmpty else { return }
        throw TopicSetupError(
            "\(worker) cannot start: \(missing.count) topic(s) missing: \(missing.joined(separator: ", ")). "
                + "Create every Triage topic with: triage topics create --all --partitions N --bootstrap \(bootstrap) "
                + "(N: the partition count you want, e.g. 12; `triage topics check` lists what is missing; "
                + "on the embedded `triage broker`, start it with --triage-topics N instead)"
        )
    }
}
