internal import CRdKafka

/// Every failure the Kafka binding reports.
///
/// A `KafkaError` carries librdkafka's error code (``Code``), the code's symbolic name
/// (`"_QUEUE_FULL"`, `"UNKNOWN_TOPIC_OR_PART"`), a human message that says what happened and,
/// where it helps, what to do about it, and two classifications taken from librdkafka:
/// ``isFatal`` (the client instance is unusable and must be recreated) and ``isRetriable``
/// (the same call may succeed if repeated).
///
/// Configuration problems carry the offending key in ``configurationKey``.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// An extensible error code: librdkafka's `rd_kafka_resp_err_t` value.
    ///
    /// Negative values are librdkafka-internal ("_" prefixed names), non-negative ones are broker
    /// protocol errors. Compare against the `static let` cases; new cases never break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// librdkafka's symbolic name of the code, such as `_QUEUE_FULL`.
        public var name: String {
            String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue)))
        }
        public var description: String { name }

        public static let noError = Code(rawValue: RD_KAFKA_RESP_ERR_NO_ERROR.rawValue)
        public static let invalidArgument = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let invalidConfiguration = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        public static let shuttingDown = Code(rawValue: RD_KAFKA_RESP_ERR__DESTROY.rawValue)
        public static let state = Code(rawValue: RD_KAFKA_RESP_ERR__STATE.rawValue)
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
        public static let purged = Code(rawValue: RD_KAFKA_RESP_ERR__PURGE_QUEUE.rawValue)
        public static let unknownTopicOrPartition = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        public static let unknownPartition = Code(rawValue: RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue)
        public static let unknownTopic = Code(rawValue: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue)
        public static let messageSizeTooLarge = Code(rawValue: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue)
        public static let noOffset = Code(rawValue: RD_KAFKA_RESP_ERR__NO_OFFSET.rawValue)
        public static let partitionEOF = Code(rawValue: RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue)
        public static let unsupportedFeature = Code(rawValue: RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue)
        public static let invalidRequest = Code(rawValue: RD_KAFKA_RESP_ERR_INVALID_REQUEST.rawValue)
        public static let notLeaderForPartition = Code(rawValue: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue)
        public static let leaderNotAvailable = Code(rawValue: RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue)
        public static let requestTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)
        public static let notCoordinator = Code(rawValue: RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue)
        public static let rebalanceInProgress = Code(rawValue: RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue)
        public static let topicAlreadyExists = Code(rawValue: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue)
        public static let allBrokersDown = Code(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        /// Another member with the same `group.instance.id` took this one's place (static membership).
        public static let fencedInstanceID = Code(rawValue: RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID.rawValue)
        /// `auto.offset.reset=error` met an offset out of range (or no committed offset).
        public static let autoOffsetReset = Code(rawValue: RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET.rawValue)
    }

    /// The librdkafka error code.
    public let code: Code
    /// What happened, in words.
    public let message: String
    /// The client instance cannot be used any more and must be recreated.
    public let isFatal: Bool
    /// Repeating the operation may succeed (a transient broker or network condition).
    public let isRetriable: Bool
    /// For configuration errors: the librdkafka property that was rejected.
    public let configurationKey: String?

    /// librdkafka's symbolic name of ``code`` (for example `_QUEUE_FULL`).
    public var codeName: String { code.name }

    public init(
        code: Code,
        message: String,
        isFatal: Bool = false,
        isRetriable: Bool = false,
        configurationKey: String? = nil
    ) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.configurationKey = configurationKey
    }

    public var description: String {
        var text = "Kafka error \(codeName)"
        if let configurationKey { text += " (configuration key '\(configurationKey)')" }
        text += ": \(message)"
        if isFatal { text += " [fatal]" }
        if isRetriable { text += " [retriable]" }
        return text
    }

    // MARK: Builders

    /// An invalid configuration property; the message names the key and what to do.
    public static func invalidConfiguration(key: String, _ reason: String) -> KafkaError {
        KafkaError(
            code: .invalidConfiguration,
            message: "invalid value for '\(key)': \(reason)",
            configurationKey: key
        )
    }

    static func clientClosed(_ what: String) -> KafkaError {
        KafkaError(code: .shuttingDown, message: "the \(what) is closed; create a new one")
    }

    /// Wraps a plain response code (no `rd_kafka_error_t` available).
    init(responseCode: rd_kafka_resp_err_t, context: String? = nil) {
        let text = String(cString: rd_kafka_err2str(responseCode))
        let retriable: Bool
        switch responseCode {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__WAIT_COORD:
            retriable = true
        default:
            retriable = false
        }
        self.init(
            code: Code(rawValue: responseCode.rawValue),
            message: context.map { "\($0): \(text)" } ?? text,
            isFatal: responseCode == RD_KAFKA_RESP_ERR__FATAL,
            isRetriable: retriable
        )
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it: every error object that crosses
    /// into Swift goes through here, so none leaks.
    init(consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code: Code(rawValue: rd_kafka_error_code(error).rawValue),
            message: context.map { "\($0): \(text)" } ?? text,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0
        )
    }

    /// The fatal error of a client instance after librdkafka raised `_FATAL`.
    static func fatalError(of handle: OpaquePointer) -> KafkaError {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        let text = String(cBuffer: buffer)
        return KafkaError(
            code: Code(rawValue: code.rawValue),
            message: text.isEmpty ? "fatal client error" : text,
            isFatal: true
        )
    }
}

/// Throws when `error` is non-nil, destroying it.
@inline(__always)
func throwIfError(_ error: OpaquePointer?, context: String? = nil) throws(KafkaError) {
    if let error { throw KafkaError(consuming: error, context: context) }
}

/// Throws when `code` is not `NO_ERROR`.
@inline(__always)
func throwIfError(_ code: rd_kafka_resp_err_t, context: String? = nil) throws(KafkaError) {
    if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(responseCode: code, context: context) }
}
