internal import CRdKafka
public import Logging
import Synchronization

/// A Kafka protocol request type, for fault injection on the embedded broker.
public struct KafkaAPIKey: Hashable, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaAPIKey(rawValue: 0)
    public static let fetch = KafkaAPIKey(rawValue: 1)
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    public static let metadata = KafkaAPIKey(rawValue: 3)
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    public static let joinGroup = KafkaAPIKey(rawValue: 11)
    public static let heartbeat = KafkaAPIKey(rawValue: 12)
    public static let leaveGroup = KafkaAPIKey(rawValue: 13)
    public static let syncGroup = KafkaAPIKey(rawValue: 14)
    public static let initProducerID = KafkaAPIKey(rawValue: 22)
}

/// An in-process Kafka cluster: librdkafka's mock cluster, speaking the real Kafka protocol on
/// loopback TCP ports. Any Kafka client (ours, `kcat`, another process) can connect to
/// ``bootstrapServers``.
///
/// Limits, inherited from librdkafka's mock: data is in memory only; roughly 5 MB is retained per
/// partition (older segments are dropped); transaction markers and `read_committed` are not
/// simulated; topic configs such as `cleanup.policy` are accepted nowhere (no CreateTopics
/// support: create topics here, with ``createTopic(_:partitions:replicationFactor:)``, or let
/// clients auto-create them with 4 partitions); the first group join waits about 3 s and later
/// rebalances wait for the members' `session.timeout.ms`; a Fetch that finds no data is held for
/// the full `fetch.wait.max.ms` even when data arrives meanwhile (set
/// ``KafkaConsumerConfiguration/fetchMaximumWait`` to about 10 ms against it).
public final class EmbeddedKafka: Sendable {
    /// `host:port,host:port` of every broker, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// Number of brokers (ids 1...brokerCount).
    public let brokerCount: Int
    private let state: Mutex<ClusterHandles?>
    private let context: RDKafkaCallbackContext

    private struct ClusterHandles: @unchecked Sendable {
        let host: OpaquePointer
        let cluster: OpaquePointer
    }

    /// Starts a cluster of `brokers` brokers on ephemeral loopback ports.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "triage.embedded-kafka")) throws(KafkaError) {
        guard (1...32).contains(brokers) else {
            throw .invalidConfiguration(key: "brokers", "must be between 1 and 32, got \(brokers)")
        }
        let context = RDKafkaCallbackContext(logger: logger)
        // The mock cluster lives inside a librdkafka instance that serves only as its host.
        let host = try RDKafkaClient.makeHandle(
            kind: .producer,
            properties: [
                ("client.id", "triage-embedded-kafka"), ("log_level", "4"),
                // The mock brokers' sockets take this handle's setting: without it their responses
                // to pipelined requests wait for the client's delayed ACK (~40 ms).
                ("socket.nagle.disable", "true"),
            ],
            context: context
        )
        guard let cluster = rd_kafka_mock_cluster_new(host, Int32(brokers)) else {
            rd_kafka_destroy(host)
            throw KafkaError(code: .state, message: "librdkafka could not start its mock cluster")
        }
        self.context = context
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.state = Mutex(ClusterHandles(host: host, cluster: cluster))
        logger.info("embedded Kafka started", metadata: ["bootstrap": "\(bootstrapServers)", "brokers": "\(brokers)"])
    }

    deinit {
        shutdown()
    }

    /// A client configuration pointing at this cluster, with the mock's fetch tuning
    /// (``mockFetchWait``).
    public var clientConfiguration: KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), fetchWait: Self.mockFetchWait)
    }

    /// `fetch.wait.max.ms` for clients of the embedded broker: it holds an empty Fetch for the
    /// full wait even when records arrive meanwhile, so every hop would cost Kafka's 500 ms.
    public static let mockFetchWait: Duration = .milliseconds(10)

    /// Creates `name` (no-op if it exists with any partition count: the mock keeps the first).
    public func createTopic(_ name: String, partitions: Int = 1, replicationFactor: Int = 1) throws(KafkaError) {
        guard !name.isEmpty else { throw .invalidConfiguration(key: "topic", "topic name is empty") }
        guard partitions > 0 else { throw .invalidConfiguration(key: "partitions", "must be positive, got \(partitions)") }
        guard (1...brokerCount).contains(replicationFactor) else {
            throw .invalidConfiguration(
                key: "replication.factor",
                "must be between 1 and the broker count \(brokerCount), got \(replicationFactor)"
            )
        }
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(
                rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
                context: "create topic '\(name)'"
            )
        }
    }

    /// Takes broker `id` off the network (connections are closed and refused) until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(rd_kafka_mock_broker_set_down(cluster, id), context: "broker \(id) down")
        }
    }

    /// Brings broker `id` back.
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(rd_kafka_mock_broker_set_up(cluster, id), context: "broker \(id) up")
        }
    }

    /// Delays every response of broker `id` by `roundTripTime` (zero removes the delay).
    public func setRoundTripTime(_ roundTripTime: Duration, broker id: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(
                rd_kafka_mock_broker_set_rtt(cluster, id, Int32(clamping: roundTripTime.milliseconds)),
                context: "broker \(id) round-trip time"
            )
        }
    }

    /// Makes the next `errors.count` requests of type `apiKey` (to any broker) fail with `errors`, in order.
    public func failNextRequests(_ apiKey: KafkaAPIKey, with errors: [KafkaError.Code]) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
            rd_kafka_mock_push_request_errors_array(cluster, apiKey.rawValue, codes.count, &codes)
        }
    }

    /// Moves the leadership of one partition to broker `id`.
    public func setPartitionLeader(topic: String, partition: Int32, broker id: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(
                rd_kafka_mock_partition_set_leader(cluster, topic, partition, id),
                context: "leader of \(topic)[\(partition)]"
            )
        }
    }

    /// Makes broker `id` the coordinator of consumer group `group`.
    public func setGroupCoordinator(_ group: String, broker id: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try throwIfError(rd_kafka_mock_coordinator_set(cluster, "group", group, id), context: "coordinator of group \(group)")
        }
    }

    /// Stops every broker and frees the cluster. Clients still connected see the brokers go away.
    public func shutdown() {
        guard
            let handles = state.withLock({ state -> ClusterHandles? in
                defer { state = nil }
                return state
            })
        else { return }
        rd_kafka_mock_cluster_destroy(handles.cluster)
        rd_kafka_destroy(handles.host)
        context.logger.debug("embedded Kafka stopped")
    }

    private func withCluster<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = state.withLock { state in
            guard let state else { return .failure(.clientClosed("embedded Kafka cluster")) }
            do throws(KafkaError) { return .success(try body(state.cluster)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
