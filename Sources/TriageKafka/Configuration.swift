public import CoreMetrics

/// Settings every Kafka client shares: where the cluster is, who we are, and the raw librdkafka
/// pass-through for everything this type does not model (TLS, SASL, tuning).
///
/// Defaults: `bootstrapServers` `["localhost:9092"]`, `clientID` `"triage"`, no debug contexts,
/// no overrides, Nagle's algorithm off (`socket.nagle.disable=true`, as the Java client does:
/// with it on, a second small request written before the first is acknowledged waits for the
/// peer's delayed ACK, ~40 ms on Linux, which a worker that waits for acknowledgements pays on
/// every step).
public struct KafkaClientConfiguration: Sendable {
    /// `bootstrap.servers`: `host:port` pairs of any brokers of the cluster. Default `["localhost:9092"]`.
    public var bootstrapServers: [String]
    /// `client.id`: shows up in broker logs and quotas. Default `"triage"`.
    public var clientID: String
    /// `debug`: librdkafka debug contexts (for example `["broker", "cgrp"]`). Default: none.
    public var debugContexts: [String]
    /// Escape hatch: raw librdkafka properties applied last, overriding anything above.
    ///
    /// This is how TLS and SASL are configured, for example
    /// `["security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
    ///   "sasl.username": "...", "sasl.password": "...", "ssl.ca.location": "/etc/ssl/ca.pem"]`.
    /// Keys and values are checked by librdkafka when the client is created; a bad one fails
    /// creation with a ``KafkaError`` naming the key. Default: empty.
    public var librdkafkaOverrides: [String: String]
    /// `fetch.wait.max.ms` of every consumer and reader made from this configuration that does
    /// not set its own: how long the broker may hold a Fetch that has no records. Default `nil`:
    /// Kafka's 500 ms. A real broker answers as soon as records arrive, so this only bounds how
    /// often an idle consumer asks; shorter is a busy poll. The embedded broker (librdkafka's mock
    /// cluster) answers an empty Fetch only after the full wait, adding it to every hop, so
    /// ``EmbeddedKafka/clientConfiguration`` sets 10 ms: tune for the mock there, never here.
    public var fetchWait: Duration?
    /// `statistics.interval.ms`: how often librdkafka reports its statistics, which the binding
    /// turns into swift-metrics gauges (``KafkaStatistics``): consumer lag per partition, broker
    /// round-trip time, queue depths. Default `nil`: off.
    public var statisticsInterval: Duration?
    /// Where the statistics gauges go. Default `nil`: the process's `MetricsSystem.factory`
    /// (what the executable bootstrapped).
    public var metricsFactory: (any MetricsFactory)?

    /// Kafka's default `fetch.wait.max.ms`, used where neither the client nor the consumer sets one.
    public static let defaultFetchWait: Duration = .milliseconds(500)

    public init(
        bootstrapServers: [String] = ["localhost:9092"],
        clientID: String = "triage",
        debugContexts: [String] = [],
        librdkafkaOverrides: [String: String] = [:],
        fetchWait: Duration? = nil
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.debugContexts = debugContexts
        self.librdkafkaOverrides = librdkafkaOverrides
        self.fetchWait = fetchWait
    }

    /// The `fetch.wait.max.ms` a reader made from this configuration uses.
    var effectiveFetchWait: Duration { fetchWait ?? Self.defaultFetchWait }

    /// Whether the value of librdkafka property `key` may be a secret, so that no error, log line
    /// or help text prints it: `*password*`, `*secret*`, `*token*`, `sasl.*`, `ssl.key*` and
    /// `*.jaas.config` (case-insensitive).
    public static func isSecret(key: String) -> Bool {
        let key = key.lowercased()
        return ["password", "secret", "token"].contains { key.contains($0) } || key.hasPrefix("sasl.") || key.hasPrefix("ssl.key")
            || key.hasSuffix(".jaas.config")
    }

    /// Parses a comma separated `host:port,host:port` list.
    public init(bootstrap: String, fetchWait: Duration? = nil) {
        self.init(bootstrapServers: bootstrap.split(separator: ",").map { String($0).trimmed }, fetchWait: fetchWait)
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        var result = try connectionProperties()
        if let statisticsInterval {
            guard statisticsInterval >= .milliseconds(10) else {
                throw .invalidConfiguration(
                    key: "statistics.interval.ms", "must be at least 10 ms, got \(statisticsInterval.milliseconds) ms")
            }
            result.append(("statistics.interval.ms", String(statisticsInterval.milliseconds)))
        }
        return result
    }

    private func connectionProperties() throws(KafkaError) -> [(String, String)] {
        let servers = bootstrapServers.map(\.trimmed).filter { !$0.isEmpty }
        guard !servers.isEmpty else {
            throw .invalidConfiguration(key: "bootstrap.servers", "no broker address given; set at least one host:port")
        }
        for server in servers where !server.contains(":") {
            throw .invalidConfiguration(key: "bootstrap.servers", "'\(server)' has no port; write it as host:port")
        }
        var result: [(String, String)] = [
            ("bootstrap.servers", servers.joined(separator: ",")),
            ("client.id", clientID),
            ("socket.nagle.disable", "true"),
        ]
        if !debugContexts.isEmpty { result.append(("debug", debugContexts.joined(separator: ","))) }
        return result
    }
}

/// How many broker acknowledgements a produce request waits for (`acks`).
public enum KafkaAcks: String, Sendable {
    /// `acks=0`: do not wait. Incompatible with idempotence.
    case none = "0"
    /// `acks=1`: the partition leader only.
    case leader = "1"
    /// `acks=all`: every in-sync replica. Required by idempotence.
    case all = "all"
}

/// Batch compression codec (`compression.codec`).
public enum KafkaCompression: String, Sendable {
    case none, gzip, snappy, lz4, zstd
}

/// Producer settings. Every field has a default suited to Triage's workers.
///
/// Defaults: idempotence on, `acks=all`, linger 5 ms, at most 100,000 messages / 1 GiB queued in
/// librdkafka, message timeout 5 minutes, no compression, flush budget on shutdown 30 s.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// `enable.idempotence`: no duplicates or reordering from producer retries. Default `true`.
    public var idempotent: Bool
    /// `acks`. Default ``KafkaAcks/all`` (idempotence requires it).
    public var acks: KafkaAcks
    /// `linger.ms`: how long to wait to fill a batch. Default 5 ms.
    public var linger: Duration
    /// `queue.buffering.max.messages`: messages waiting for delivery before ``KafkaProducer/send(_:)``
    /// and ``KafkaProducer/enqueue(_:)`` wait for room. Default 100,000.
    public var maximumQueuedMessages: Int
    /// `queue.buffering.max.kbytes`. Default 1,048,576 (1 GiB).
    public var maximumQueuedKilobytes: Int
    /// `message.timeout.ms`: how long librdkafka keeps retrying one message. Default 5 minutes.
    public var messageTimeout: Duration
    /// `compression.codec`. Default ``KafkaCompression/none``.
    public var compression: KafkaCompression
    /// How long ``KafkaProducer/close()`` (and graceful shutdown) waits for outstanding deliveries.
    /// Default 30 s. What is still undelivered after that fails with ``KafkaError/Code/purged``.
    public var flushTimeout: Duration

    public init(
        client: KafkaClientConfiguration = .init(),
        idempotent: Bool = true,
        acks: KafkaAcks = .all,
        linger: Duration = .milliseconds(5),
        maximumQueuedMessages: Int = 100_000,
        maximumQueuedKilobytes: Int = 1_048_576,
        messageTimeout: Duration = .seconds(300),
        compression: KafkaCompression = .none,
        flushTimeout: Duration = .seconds(30)
    ) {
        self.client = client
        self.idempotent = idempotent
        self.acks = acks
        self.linger = linger
        self.maximumQueuedMessages = maximumQueuedMessages
        self.maximumQueuedKilobytes = maximumQueuedKilobytes
        self.messageTimeout = messageTimeout
        self.compression = compression
        self.flushTimeout = flushTimeout
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        if idempotent && acks != .all {
            throw .invalidConfiguration(key: "acks", "idempotence requires acks=all; set acks to .all or idempotent to false")
        }
        guard maximumQueuedMessages > 0 else {
            throw .invalidConfiguration(key: "queue.buffering.max.messages", "must be positive, got \(maximumQueuedMessages)")
        }
        var result = try client.properties()
        result += [
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("acks", acks.rawValue),
            ("linger.ms", String(linger.milliseconds)),
            ("queue.buffering.max.messages", String(maximumQueuedMessages)),
            ("queue.buffering.max.kbytes", String(maximumQueuedKilobytes)),
            ("message.timeout.ms", String(messageTimeout.milliseconds)),
            ("compression.codec", compression.rawValue),
        ]
        return result
    }
}

/// Where a consumer group starts reading a partition that has no committed offset.
public enum KafkaOffsetReset: String, Sendable {
    /// From the oldest retained message. Triage's default: a new worker group misses nothing.
    case earliest
    /// Only messages produced after the consumer joined.
    case latest
    /// Fail with an error.
    case error
}

/// Which messages of transactional producers a consumer sees (`isolation.level`).
public enum KafkaIsolationLevel: String, Sendable {
    case readCommitted = "read_committed"
    case readUncommitted = "read_uncommitted"
}

/// Consumer-group settings. Every field but the group and topics has a default.
///
/// Offsets are stored manually (only after the application processed a message, through
/// ``KafkaConsumer/storeOffset(_:)``) and committed in the background every `autoCommitInterval`,
/// on every partition revocation and on close: at-least-once delivery.
///
/// Defaults: cooperative-sticky assignment, `auto.offset.reset=earliest`, session timeout 45 s,
/// heartbeat 3 s, max poll interval 5 min, auto-commit of stored offsets every 5 s,
/// `read_committed`, fetch wait 500 ms, batches of up to 1,000 messages, 4 batches buffered, revocations wait up to
/// 60 s for the application.
public struct KafkaConsumerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// `group.id`: the consumer group.
    public var groupID: String
    /// Topics to subscribe to (a name starting with `^` is a regular expression).
    public var topics: [String]
    /// `auto.offset.reset`. Default ``KafkaOffsetReset/earliest``.
    public var autoOffsetReset: KafkaOffsetReset
    /// `session.timeout.ms`. Default 45 s. Lower it in tests: the embedded broker waits this long on rebalances.
    public var sessionTimeout: Duration
    /// `heartbeat.interval.ms`. Default 3 s; must be below `sessionTimeout`.
    public var heartbeatInterval: Duration
    /// `max.poll.interval.ms`. Default 5 minutes.
    public var maximumPollInterval: Duration
    /// `auto.commit.interval.ms`: stored offsets are committed this often in the background.
    /// `nil` disables background commits (then only ``KafkaConsumer/commit()``, revocations and
    /// close commit). Default 5 s.
    public var autoCommitInterval: Duration?
    /// `isolation.level`. Default ``KafkaIsolationLevel/readCommitted``.
    public var isolationLevel: KafkaIsolationLevel
    /// `fetch.wait.max.ms`: how long the broker may hold a Fetch with no data. Default `nil`:
    /// the client's ``KafkaClientConfiguration/fetchWait``, else Kafka's 500 ms. A real broker
    /// answers as soon as data arrives; the embedded broker always waits the full time (its client
    /// configuration says 10 ms).
    public var fetchMaximumWait: Duration?
    /// `partition.assignment.strategy`. Default `cooperative-sticky` (incremental rebalances).
    public var assignmentStrategy: String
    /// `group.instance.id` for static membership. Default: none.
    public var groupInstanceID: String?
    /// Largest batch handed to the application at once. Default 1,000.
    public var maximumBatchSize: Int
    /// How many batches wait in memory for the application before fetching pauses. Default 4.
    public var bufferedBatches: Int
    /// How long a partition revocation waits for the application to finish with what it was
    /// given before the partitions are handed over anyway. Default 60 s.
    public var revocationTimeout: Duration
    /// Where to read a partition from the first time it is assigned to this member, instead of
    /// the group's committed offset (or `autoOffsetReset`). Default: none. `triage tail` starts
    /// at the ends as of its start this way: `latest` is the end as of the first fetch, after
    /// the group's assignment, and records written meanwhile would be skipped.
    public var startOffsets: [TopicPartition: Int64] = [:]

    public init(
        groupID: String,
        topics: [String],
        client: KafkaClientConfiguration = .init(),
        autoOffsetReset: KafkaOffsetReset = .earliest,
        sessionTimeout: Duration = .seconds(45),
        heartbeatInterval: Duration = .seconds(3),
        maximumPollInterval: Duration = .seconds(300),
        autoCommitInterval: Duration? = .seconds(5),
        isolationLevel: KafkaIsolationLevel = .readCommitted,
        fetchMaximumWait: Duration? = nil,
        assignmentStrategy: String = "cooperative-sticky",
        groupInstanceID: String? = nil,
        maximumBatchSize: Int = 1_000,
        bufferedBatches: Int = 4,
        revocationTimeout: Duration = .seconds(60)
    ) {
        self.groupID = groupID
        self.topics = topics
        self.client = client
        self.autoOffsetReset = autoOffsetReset
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.maximumPollInterval = maximumPollInterval
        self.autoCommitInterval = autoCommitInterval
        self.isolationLevel = isolationLevel
        self.fetchMaximumWait = fetchMaximumWait
        self.assignmentStrategy = assignmentStrategy
        self.groupInstanceID = groupInstanceID
        self.maximumBatchSize = maximumBatchSize
        self.bufferedBatches = bufferedBatches
        self.revocationTimeout = revocationTimeout
    }

    func properties() throws(KafkaError) -> [(String, String)] {
        guard !groupID.trimmed.isEmpty else {
            throw .invalidConfiguration(key: "group.id", "a consumer group id is required")
        }
        guard !topics.isEmpty, topics.allSatisfy({ !$0.trimmed.isEmpty }) else {
            throw .invalidConfiguration(key: "topics", "subscribe to at least one non-empty topic name")
        }
        guard heartbeatInterval < sessionTimeout else {
            throw .invalidConfiguration(
                key: "heartbeat.interval.ms",
                "must be lower than session.timeout.ms (\(heartbeatInterval.milliseconds) >= \(sessionTimeout.milliseconds))"
            )
        }
        guard maximumBatchSize > 0 else {
            throw .invalidConfiguration(key: "maximumBatchSize", "must be positive, got \(maximumBatchSize)")
        }
        guard bufferedBatches > 0 else {
            throw .invalidConfiguration(key: "bufferedBatches", "must be positive, got \(bufferedBatches)")
        }
        var result = try client.properties()
        result += [
            ("group.id", groupID),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("heartbeat.interval.ms", String(heartbeatInterval.milliseconds)),
            ("max.poll.interval.ms", String(maximumPollInterval.milliseconds)),
            ("enable.auto.offset.store", "false"),
            ("enable.auto.commit", autoCommitInterval == nil ? "false" : "true"),
            ("isolation.level", isolationLevel.rawValue),
            ("partition.assignment.strategy", assignmentStrategy),
            ("fetch.wait.max.ms", String((fetchMaximumWait ?? client.effectiveFetchWait).milliseconds)),
            ("enable.partition.eof", "false"),
        ]
        if let autoCommitInterval {
            result.append(("auto.commit.interval.ms", String(autoCommitInterval.milliseconds)))
        }
        if let groupInstanceID { result.append(("group.instance.id", groupInstanceID)) }
        return result
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, as librdkafka's `*.ms` properties want them.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    var trimmed: String {
        var view = Substring(self)
        while view.first?.isWhitespace == true { view = view.dropFirst() }
        while view.last?.isWhitespace == true { view = view.dropLast() }
        return String(view)
    }
}
