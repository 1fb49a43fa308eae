import Foundation
public import Logging
import Synchronization
public import TriageKafka

/// An embedded Kafka cluster plus client configurations tuned for fast tests (short session
/// timeouts so rebalances take seconds, frequent commits, earliest offsets).
///
/// ```swift
/// let cluster = try KafkaTestCluster(brokers: 3)
/// let topic = try cluster.makeTopic(partitions: 4)
/// let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
/// ```
public final class KafkaTestCluster: Sendable {
    public let embedded: EmbeddedKafka
    public let logger: Logger

    /// Log level from `TRIAGE_TEST_LOG` (`debug`, `info`, ...); default `warning`.
    public static func makeLogger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["TRIAGE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    public init(brokers: Int = 1, label: String = "triage.test") throws {
        logger = Self.makeLogger(label)
        embedded = try EmbeddedKafka(brokers: brokers, logger: logger)
    }

    public var bootstrapServers: String { embedded.bootstrapServers }

    /// Creates a topic with a unique name and returns the name.
    public func makeTopic(_ prefix: String = "test", partitions: Int = 1, replicationFactor: Int = 1) throws -> String {
        let name = uniqueName(prefix)
        try embedded.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
        return name
    }

    public func producerConfiguration() -> KafkaProducerConfiguration {
        KafkaProducerConfiguration(client: embedded.clientConfiguration, linger: .milliseconds(1), flushTimeout: .seconds(10))
    }

    public func consumerConfiguration(group: String, topics: [String]) -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            groupID: group,
            topics: topics,
            client: embedded.clientConfiguration,
            sessionTimeout: .milliseconds(3_000),
            heartbeatInterval: .milliseconds(300),
            autoCommitInterval: .milliseconds(200),
            fetchMaximumWait: .milliseconds(10),
            revocationTimeout: .seconds(20)
        )
    }
}

/// A name no other test uses, e.g. `orders-3f2a9c1e`.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Thrown by ``withDeadline(_:_:)`` when the body did not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let seconds: Double
    public var description: String { "did not finish within \(seconds) s" }
}

/// Thrown by ``eventually(_:timeout:_:)`` when the condition never held.
public struct ConditionNotMet: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for: \(what)" }
}

/// Polls `condition` every 50 ms until it holds, or throws ``ConditionNotMet`` after `timeout`.
/// For tests only: production code waits on events, never on polls.
public func eventually(
    _ what: String,
    timeout: Duration = .seconds(30),
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    // Once more after the deadline: on a busy two-core machine this task may not have run at all
    // for most of the timeout (CPU-bound tests hold the cooperative pool's threads).
    if try await condition() { return }
    throw ConditionNotMet(what: what, timeout: timeout)
}

/// Runs `body`, failing with ``DeadlineExceeded`` (and cancelling it) after `timeout`.
public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DeadlineExceeded(seconds: Double(timeout.components.seconds))
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension KafkaConsumer {
    /// Reads records until `count` arrived (storing each offset), then returns them.
    public func collect(_ count: Int, storingOffsets: Bool = true) async throws -> [KafkaMessage] {
        var result: [KafkaMessage] = []
        guard count > 0 else { return result }
        for try await batch in batches {
            result += batch
            if storingOffsets { try storeOffsets(batch) }
            if result.count >= count { break }
        }
        return result
    }
}

/// A process-wide limit on the tests that start many processes or a whole `triage dev`: on a
/// two-core CI machine, several of them at once starve everything else of CPU (servers of other
/// tests did not get to listen within 30 s; scaled-time tests saw timers fire out of order).
/// At most two run at a time; the rest wait here without holding a thread.
public enum HeavyTests {
    public static let capacity = 2
    private static let gate = HeavyGate(capacity: capacity)

    /// Runs `body` holding `weight` places (`capacity`: alone). The places are taken all at
    /// once, in arrival order: two weighted tests never each hold part of what they need.
    public static func run<T: Sendable>(weight: Int = 1, _ body: @Sendable () async throws -> T) async throws -> T {
        let places = min(max(1, weight), capacity)
        await gate.enter(places)
        do {
            let result = try await body()
            gate.leave(places)
            return result
        } catch {
            gate.leave(places)
            throw error
        }
    }
}

/// A counting gate whose entries take several places at once, first come first served.
public final class HeavyGate: Sendable {
    private struct State {
        var free: Int
        var waiting: [(places: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state: Mutex<State>

    public init(capacity: Int) { state = Mutex(State(free: capacity)) }

    /// Waits until `places` are free (and every earlier arrival got in), then takes them.
    public func enter(_ places: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                // First come, first served: nobody overtakes a waiting test (a heavy one would starve).
                if state.waiting.isEmpty && state.free >= places {
                    state.free -= places
                    return true
                }
                state.waiting.append((places, continuation))
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    /// Gives `places` back and lets in the waiting entries they make room for, in order.
    public func leave(_ places: Int) {
        let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.free += places
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiting.first, first.places <= state.free {
                state.free -= first.places
                admitted.append(first.continuation)
                state.waiting.removeFirst()
            }
            return admitted
        }
        for waiter in admitted { waiter.resume() }
    }
}
