public import Logging
import Synchronization
public import TriageKafka

/// A local, always-following copy of a compacted topic: key → latest decoded value (a tombstone
/// removes the key). Records that cannot be decoded are counted and skipped.
public final class KeyedTopicView<Value: Sendable>: Sendable {
    private let follower: KafkaTopicFollower
    private let storage: Storage

    private final class Storage: Sendable {
        let values = Mutex<[String: Value]>([:])
        let unreadable = Atomic<Int>(0)
    }

    public init(
        topic: String, partitions: [Int32], client: KafkaClientConfiguration, logger: Logger,
        decode: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Value
    ) {
        let storage = Storage()
        self.storage = storage
        self.follower = KafkaTopicFollower(topic: topic, partitions: partitions, start: .beginning, client: client, logger: logger) {
            record in
            guard let key = record.key else { return }
            let id = String(decoding: key, as: UTF8.self)
            guard let value = record.value else {
                storage.values.withLock { _ = $0.removeValue(forKey: id) }
                return
            }
            do {
                let decoded = try decode(value)
                storage.values.withLock { $0[id] = decoded }
            } catch {
                storage.unreadable.add(1, ordering: .relaxed)
            }
        }
    }

    public func run() async throws { try await follower.run() }
    public func stop() { follower.stop() }
    /// Returns once everything written before the view started is in it.
    public func ready() async throws { try await follower.waitUntilCaughtUp() }
    public var isReady: Bool { follower.isCaughtUp }

    public subscript(key: String) -> Value? { storage.values.withLock { $0[key] } }
    /// Puts a value this process just wrote to the topic into the view at once (the follower
    /// reads the same record moments later), so this process reads its own write.
    public func remember(_ key: String, _ value: Value) { storage.values.withLock { $0[key] = value } }
    public var values: [Value] { storage.values.withLock { Array($0.values) } }
    public var count: Int { storage.values.withLock { $0.count } }
    public var unreadable: Int { storage.unreadable.load(ordering: .relaxed) }
}
