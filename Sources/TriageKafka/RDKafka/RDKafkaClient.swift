internal import CRdKafka
import CoreMetrics
import Foundation
import Logging
import Synchronization

/// State shared between a Swift client and librdkafka's callbacks. It is installed as the
/// instance opaque (`rd_kafka_opaque`), so C callbacks find their way back into Swift without
/// globals. It outlives the `rd_kafka_t` it is attached to.
class RDKafkaCallbackContext: @unchecked Sendable {
    let logger: Logger
    /// A fatal error raised by librdkafka (idempotent producer sequence loss, fenced member...).
    let fatalError = Mutex<KafkaError?>(nil)
    /// Set with `fatalError`, for a lock-free check on hot paths.
    let hasFatalError = Atomic<Bool>(false)
    /// The instance's secret properties (``KafkaClientConfiguration/isSecret(key:)``), whose
    /// values are cut out of every line librdkafka logs (its configuration warnings quote values).
    let secretProperties = Mutex<[(String, String)]>([])
    /// Where librdkafka's statistics go (``KafkaStatistics``); set when the client asked for them.
    var metricsFactory: (any MetricsFactory)? {
        get { metrics.withLock { $0 } }
        set { metrics.withLock { $0 = newValue } }
    }
    private let metrics = Mutex<(any MetricsFactory)?>(nil)
    /// The client's configured metrics factory (`nil`: the process's `MetricsSystem`), for
    /// counters of events such as offset resets (statistics or not).
    var eventMetrics: (any MetricsFactory)? {
        get { configuredMetrics.withLock { $0 } }
        set { configuredMetrics.withLock { $0 = newValue } }
    }
    private let configuredMetrics = Mutex<(any MetricsFactory)?>(nil)
    /// Offset resets librdkafka reported (``KafkaPositionReset``) and the records they skipped.
    let offsetResets = Atomic<Int>(0)
    let recordsSkippedByOffsetResets = Atomic<Int>(0)

    /// `text` from librdkafka, without the values of this instance's secret properties.
    func redacted(_ text: String) -> String {
        let secrets = secretProperties.withLock { $0 }
        return secrets.isEmpty ? text : RDKafkaClient.redacting(secrets, in: text)
    }

    init(logger: Logger) { self.logger = logger }

    /// librdkafka moved an out-of-range position (on the thread that logged it). A group
    /// consumer commits the new position; other clients have nothing to do.
    func positionWasReset(_ reset: KafkaPositionReset) {}

    static func from(_ handle: OpaquePointer?) -> RDKafkaCallbackContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Creation of librdkafka instances from validated key/value properties.
enum RDKafkaClient {
    enum Kind { case producer, consumer }

    /// Builds an `rd_kafka_conf_t` from `properties`, failing on the first rejected key.
    static func makeConfiguration(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(cBuffer: errorText)
                switch result {
                case RD_KAFKA_CONF_UNKNOWN:
                    throw .invalidConfiguration(key: key, "unknown librdkafka property (\(reason))")
                default:
                    guard KafkaClientConfiguration.isSecret(key: key) else {
                        throw .invalidConfiguration(key: key, reason.isEmpty ? "rejected value '\(value)'" : reason)
                    }
                    let text = reason.isEmpty ? "librdkafka rejected the value (not shown: it may be a secret)" : reason
                    throw .invalidConfiguration(key: key, redacting([(key, value)], in: text))
                }
            }
        }
        return conf
    }

    /// ``merge(_:overrides:)`` for a consumer handle that never joins a group (partition reader,
    /// topic follower, lag reader). librdkafka still checks `max.poll.interval.ms >=
    /// session.timeout.ms` there, so an override lowering the poll interval below the 45 s
    /// default session timeout (meant for the worker's group consumer) would fail every such
    /// handle, long after start-up: their session timeout follows it down.
    static func mergeForGrouplessConsumer(_ typed: [(String, String)], overrides: [String: String]) -> [(String, String)] {
        var merged = merge(typed, overrides: overrides)
        if overrides["session.timeout.ms"] == nil, let interval = overrides["max.poll.interval.ms"].flatMap(Int.init), interval < 45_000 {
            merged.removeAll { $0.0 == "session.timeout.ms" }
            merged.append(("session.timeout.ms", String(max(1, interval))))
        }
        return merged
    }

    /// Checks `properties` the way client creation would, without connecting anywhere.
    static func validate(_ properties: [(String, String)]) throws(KafkaError) {
        rd_kafka_conf_destroy(try makeConfiguration(properties))
    }

    /// Merges typed properties with the raw overrides (overrides win) into one ordered list.
    static func merge(_ typed: [(String, String)], overrides: [String: String]) -> [(String, String)] {
        typed.filter { overrides[$0.0] == nil } + overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Creates an instance. `configure` installs callbacks on the configuration before creation.
    /// The context is installed as opaque; the caller must keep it alive until `rd_kafka_destroy`.
    ///
    /// With `logQueue`, librdkafka's log lines go to the instance's main queue instead of being
    /// logged from librdkafka's own threads: for clients whose driver thread serves that queue
    /// (a consumer serves it inside `consumer_poll`, a producer reads them as log events).
    /// Lines logged while the instance is being destroyed are dropped by librdkafka then.
    static func makeHandle(
        kind: Kind,
        properties: [(String, String)],
        context: RDKafkaCallbackContext,
        metrics: (any MetricsFactory)? = nil,
        logQueue: Bool = false,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> OpaquePointer {
        let conf = try makeConfiguration(properties + (logQueue ? [("log.queue", "true")] : []))
        let secrets = properties.filter { KafkaClientConfiguration.isSecret(key: $0.0) && !$0.1.isEmpty }
        context.secretProperties.withLock { $0 = secrets }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, logCallback)
        rd_kafka_conf_set_error_cb(conf, errorCallback)
        context.eventMetrics = metrics
        if properties.contains(where: { $0.0 == "statistics.interval.ms" && $0.1 != "0" }) {
            context.metricsFactory = metrics ?? MetricsSystem.factory
            rd_kafka_conf_set_stats_cb(conf, statisticsCallback)
        }
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // On success rd_kafka_new takes ownership of conf; on failure it stays ours.
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(cBuffer: errorText)
            throw KafkaError(
                code: .invalidConfiguration,
                message: "librdkafka refused the configuration: \(redacting(properties, in: reason))",
                configurationKey: configurationKey(mentionedIn: reason, among: properties.map(\.0))
            )
        }
        if logQueue { rd_kafka_set_log_queue(handle, nil) }  // nil: the main queue
        return handle
    }

    /// `text` without the values of secret properties (``KafkaClientConfiguration/isSecret(key:)``),
    /// each replaced by `(not shown)`, with a note naming their keys. Values shorter than four
    /// characters are cut out only where quoted: anywhere else they would mangle the text.
    static func redacting(_ properties: [(String, String)], in text: String) -> String {
        var result = text
        var hidden: Set<String> = []
        for (key, value) in properties where KafkaClientConfiguration.isSecret(key: key) && !value.isEmpty {
            let before = result
            for quoted in ["\"\(value)\"", "'\(value)'", "`\(value)`"] {
                result = result.replacingOccurrences(of: quoted, with: "(not shown)")
            }
            if value.count >= 4 { result = result.replacingOccurrences(of: value, with: "(not shown)") }
            if result != before { hidden.insert(key) }
        }
        guard !hidden.isEmpty else { return result }
        return result + " (the value of \(hidden.sorted().joined(separator: ", ")) is not shown: it may be a secret)"
    }

    /// librdkafka's instance-level complaints ("`acks` must be all when idempotence...") name the
    /// property in the text; surface it as the error's key.
    static func configurationKey(mentionedIn reason: String, among keys: [String]) -> String? {
        keys.sorted { $0.count > $1.count }.first { reason.contains("`\($0)`") || reason.contains($0) }
    }
}

// MARK: - C callbacks (no captures: they find their context through the instance opaque)

private let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, text in
    guard let context = RDKafkaCallbackContext.from(handle) else { return }
    RDKafkaClient.log(level: level, facility: facility, text: text, context: context)
}

extension RDKafkaClient {
    /// One of librdkafka's log lines (syslog `level`), into the client's logger.
    static func log(level: Int32, facility: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?, context: RDKafkaCallbackContext) {
        let swiftLevel: Logger.Level
        switch level {
        case ...2: swiftLevel = .critical
        case 3: swiftLevel = .error
        case 4: swiftLevel = .warning
        case 5: swiftLevel = .notice
        case 6: swiftLevel = .info
        default: swiftLevel = .debug
        }
        let facilityName = facility.map { String(cString: $0) } ?? "?"
        let message = text.map { String(cString: $0) } ?? ""
        if facilityName == "OFFSET", level <= 4, case let line = context.redacted(message),
            let reset = KafkaPositionReset(librdkafkaLine: line)
        {
            offsetWasReset(reset, line: line, context: context)
            return
        }
        context.logger.log(level: swiftLevel, "\(context.redacted(message))", metadata: ["rdkafka.facility": "\(facilityName)"])
        KafkaLibrary.diagnose(facility: facilityName, text: message, logger: context.logger)
    }
}

extension RDKafkaClient {
    /// librdkafka moved a consumer's position that was out of range (logged only as a warning):
    /// an error line saying what was skipped, the client's counters and two metrics.
    static func offsetWasReset(_ reset: KafkaPositionReset, line: String, context: RDKafkaCallbackContext) {
        let skipped = reset.skippedRecords ?? 0
        context.offsetResets.add(1, ordering: .relaxed)
        context.recordsSkippedByOffsetResets.add(Int(clamping: skipped), ordering: .relaxed)
        let factory = context.eventMetrics ?? MetricsSystem.factory
        let dimensions = [("topic", reset.topic), ("partition", "\(reset.partition)")]
        Counter(label: "triage_kafka_consumer_offset_resets_total", dimensions: dimensions, factory: factory).increment()
        if skipped > 0 {
            Counter(label: "triage_kafka_consumer_records_skipped_total", dimensions: dimensions, factory: factory).increment(by: skipped)
        }
        context.logger.error(
            "\(reset)",
            metadata: [
                "rdkafka.facility": "OFFSET", "topic": "\(reset.topic)", "partition": "\(reset.partition)",
                "skipped": "\(reset.skippedRecords.map(String.init) ?? "unknown")",
            ])
        context.logger.debug("\(line)", metadata: ["rdkafka.facility": "OFFSET"])
        context.positionWasReset(reset)
    }

    /// Creates the offset-reset counters of `partitions` at 0, so that the first reset is an
    /// increase a Prometheus `increase()` or `rate()` sees (a series born at 1 is not).
    static func createPositionResetCounters(for partitions: [TopicPartition], context: RDKafkaCallbackContext) {
        let factory = context.eventMetrics ?? MetricsSystem.factory
        for partition in partitions {
            let dimensions = [("topic", partition.topic), ("partition", "\(partition.partition)")]
            Counter(label: "triage_kafka_consumer_offset_resets_total", dimensions: dimensions, factory: factory).increment(by: 0)
            Counter(label: "triage_kafka_consumer_records_skipped_total", dimensions: dimensions, factory: factory).increment(by: 0)
        }
    }
}

private let errorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, code, reason, _ in
    guard let handle, let context = RDKafkaCallbackContext.from(handle) else { return }
    RDKafkaClient.report(
        rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "", handle: handle, context: context)
}

extension RDKafkaClient {
    /// An instance-level error (from `error_cb`, or an error event served by a driver): a fatal
    /// one is recorded in `context` for every later call to fail with; anything else is
    /// transient (librdkafka retries it) and logged.
    static func report(_ code: rd_kafka_resp_err_t, reason: String, handle: OpaquePointer, context: RDKafkaCallbackContext) {
        if code == RD_KAFKA_RESP_ERR__FATAL || rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let error = KafkaError.fatalError(of: handle)
            let first = context.fatalError.withLock { current -> Bool in
                defer { current = current ?? error }
                return current == nil
            }
            context.hasFatalError.store(true, ordering: .releasing)
            if first { context.logger.critical("librdkafka fatal error: \(error)") }
            return
        }
        context.logger.warning("librdkafka error \(String(cString: rd_kafka_err2name(code))): \(context.redacted(reason))")
    }
}

/// Serves what librdkafka queued on `handle`'s main queue (errors for `error_cb`, and anything
/// else with a callback) without blocking. Clients without a driver thread of their own (partition
/// reader, topic follower, admin, lag reader) call it on every loop or call: an unserved main
/// queue never reports broker errors and keeps every op queued on it for the handle's lifetime.
func serveMainQueue(_ handle: OpaquePointer) {
    _ = rd_kafka_poll(handle, 0)
}

extension String {
    /// Decodes a NUL-terminated C buffer filled in by librdkafka.
    init(cBuffer: [CChar]) {
        self = String(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
