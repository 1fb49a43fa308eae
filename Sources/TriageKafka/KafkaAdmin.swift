internal import CRdKafka
public import Logging

/// A topic to create.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    /// Default 1.
    public var partitions: Int
    /// Default -1: the broker's `default.replication.factor`.
    public var replicationFactor: Int
    /// Topic configs such as `["cleanup.policy": "compact"]`. Default: none.
    public var configs: [String: String]

    public init(name: String, partitions: Int = 1, replicationFactor: Int = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster says about a topic.
public struct KafkaTopicDescription: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
    }

    public var name: String
    public var partitions: [Partition]
}

/// Cluster administration: topic creation and metadata, over librdkafka's admin API.
///
/// Against the embedded broker (librdkafka's mock cluster, which has no controller and no
/// CreateTopics), creating topics fails after the timeout with a message pointing at
/// ``EmbeddedKafka/createTopic(_:partitions:replicationFactor:)`` and `triage broker --topic`.
public final class KafkaAdmin: Sendable {
    private let handle: LeasedHandle
    private let context: RDKafkaCallbackContext

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        let properties = RDKafkaClient.merge(
            try configuration.properties() + [("allow.auto.create.topics", "false")],
            overrides: configuration.librdkafkaOverrides
        )
        context = RDKafkaCallbackContext(logger: logger)
        handle = LeasedHandle(
            try RDKafkaClient.makeHandle(kind: .producer, properties: properties, context: context, metrics: configuration.metricsFactory),
            what: "admin client"
        )
    }

    deinit {
        if handle.closeAndWaitForLeases() { rd_kafka_destroy(handle.pointer) }
    }

    /// Creates `topics`. Topics that already exist are fine when `ifNotExists` (the default).
    public func createTopics(
        _ topics: [KafkaTopicSpecification],
        ifNotExists: Bool = true,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        let handle = self.handle
        try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                serveMainQueue(pointer)
                try Self.createTopics(topics, ifNotExists: ifNotExists, timeout: timeout, on: pointer)
            }
        }
    }

    private static func createTopics(
        _ topics: [KafkaTopicSpecification],
        ifNotExists: Bool,
        timeout: Duration,
        on pointer: OpaquePointer
    ) throws(KafkaError) {
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
        var errorText = [CChar](repeating: 0, count: 512)
        for topic in topics {
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorText, errorText.count
                )
            else {
                throw .invalidConfiguration(key: "topic \(topic.name)", String(cBuffer: errorText))
            }
            newTopics.append(newTopic)
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                try throwIfError(rd_kafka_NewTopic_set_config(newTopic, key, value), context: "topic config '\(key)'")
            }
        }
        let options = rd_kafka_AdminOptions_new(pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        let milliseconds = Int32(clamping: timeout.milliseconds)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
        let queue = rd_kafka_queue_new(pointer)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer {
            rd_kafka_CreateTopics(pointer, $0.baseAddress, $0.count, options, queue)
        }
        // Blocking wait on a private queue; we are on the blocking-call queue, not the cooperative pool.
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 5_000) else {
            throw KafkaError(code: .timedOut, message: "CreateTopics got no answer within \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let reason = String(cString: rd_kafka_event_error_string(event))
            let hint =
                "The embedded broker (librdkafka's mock cluster) has no controller and cannot create "
                + "topics over the protocol: start `triage broker` with --triage-topics N (every Triage topic) "
                + "or --topic NAME:PARTITIONS"
            if code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE {
                throw KafkaError(code: .unsupportedFeature, message: "the broker does not support CreateTopics (\(reason)). \(hint)")
            }
            if code == RD_KAFKA_RESP_ERR__TIMED_OUT && reason.contains("controller") {
                throw KafkaError(
                    code: .timedOut, message: "CreateTopics found no controller broker in time (\(reason)). \(hint)", isRetriable: true)
            }
            throw KafkaError(responseCode: code, context: "CreateTopics: \(reason)")
        }
        var count = 0
        let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
        for index in 0..<count {
            guard let result = results?[index] else { continue }
            let resultCode = rd_kafka_topic_result_error(result)
            if resultCode == RD_KAFKA_RESP_ERR_NO_ERROR { continue }
            if resultCode == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && ifNotExists { continue }
            let name = String(cString: rd_kafka_topic_result_name(result))
            let reason = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? ""
            throw KafkaError(responseCode: resultCode, context: "create topic '\(name)': \(reason)")
        }
    }

    /// Every topic of the cluster except internal ones (`__consumer_offsets`, ...), sorted by name.
    public func listTopics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicDescription] {
        try await metadata(topic: nil, timeout: timeout).filter { !$0.name.hasPrefix("__") }.sorted { $0.name < $1.name }
    }

    /// Describes one topic; fails with ``KafkaError/Code/unknownTopicOrPartition`` if it does not exist.
    /// Asks for the whole cluster's metadata: a request naming the topic can auto-create it on
    /// brokers (and the embedded one) that do so, which would hide the missing topic.
    public func describeTopic(_ name: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaTopicDescription {
        guard let description = try await metadata(topic: nil, timeout: timeout).first(where: { $0.name == name }) else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist")
        }
        return description
    }

    /// The members of consumer group `group` now (client ids, one per member; empty when the group
    /// has none or does not exist), from its coordinator (ListGroups/DescribeGroups).
    public func groupMembers(_ group: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [String] {
        let handle = self.handle
        return try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                serveMainQueue(pointer)
                var list: UnsafePointer<rd_kafka_group_list>?
                try throwIfError(
                    rd_kafka_list_groups(pointer, group, &list, Int32(clamping: timeout.milliseconds)), context: "describe group '\(group)'"
                )
                defer { if let list { rd_kafka_group_list_destroy(list) } }
                guard let list else { return [] }
                var members: [String] = []
                for index in 0..<Int(list.pointee.group_cnt) {
                    let info = list.pointee.groups[index]
                    guard String(cString: info.group) == group else { continue }
                    if info.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        throw KafkaError(responseCode: info.err, context: "describe group '\(group)'")
                    }
                    for member in 0..<Int(info.member_cnt) {
                        members.append(info.members[member].client_id.map { String(cString: $0) } ?? "?")
                    }
                }
                return members
            }
        }
    }

    private func metadata(topic: String?, timeout: Duration) async throws(KafkaError) -> [KafkaTopicDescription] {
        let handle = self.handle
        return try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                serveMainQueue(pointer)
                var topicHandle: OpaquePointer? = nil
                if let topic { topicHandle = rd_kafka_topic_new(pointer, topic, nil) }
                defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
                var metadata: UnsafePointer<rd_kafka_metadata>?
                try throwIfError(
                    rd_kafka_metadata(pointer, topic == nil ? 1 : 0, topicHandle, &metadata, Int32(clamping: timeout.milliseconds)),
                    context: "metadata"
                )
                defer { rd_kafka_metadata_destroy(metadata) }
                guard let metadata else { return [] }
                var result: [KafkaTopicDescription] = []
                for index in 0..<Int(metadata.pointee.topic_cnt) {
                    let entry = metadata.pointee.topics[index]
                    let name = String(cString: entry.topic)
                    if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        if topic != nil { throw KafkaError(responseCode: entry.err, context: "topic '\(name)'") }
                        continue
                    }
                    let partitions = (0..<Int(entry.partition_cnt)).map { partitionIndex in
                        let partition = entry.partitions[partitionIndex]
                        return KafkaTopicDescription.Partition(
                            id: partition.id,
                            leader: partition.leader,
                            replicas: (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] },
                            inSyncReplicas: (0..<Int(partition.isr_cnt)).map { partition.isrs[$0] }
                        )
                    }.sorted { $0.id < $1.id }
                    result.append(KafkaTopicDescription(name: name, partitions: partitions))
                }
                return result
            }
        }
    }
}
