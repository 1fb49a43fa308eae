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
        /// Callers of ``KeyedTopicView/value(for:within:where:)`` waiting for a key, by key.
        let waiters = Mutex<[String: [Int: Waiter]]>([:])
        let nextWaiter = Atomic<Int>(0)

        struct Waiter: Sendable {
            let accepts: @Sendable (Value) -> Bool
            let continuation: CheckedContinuation<Value?, Never>
        }

        /// Stores `value` under `key` and hands it to the waiters it satisfies.
        func store(_ key: String, _ value: Value) {
            values.withLock { $0[key] = value }
            let ready: [Waiter] = waiters.withLock { waiting in
                guard let forKey = waiting[key] else { return [] }
                let ready = forKey.filter { $0.value.accepts(value) }
                guard !ready.isEmpty else { return [] }
                let rest = forKey.filter { !$0.value.accepts(value) }
                waiting[key] = rest.isEmpty ? nil : rest
                return Array(ready.values)
            }
            for waiter in ready { waiter.continuation.resume(returning: value) }
        }

        /// Removes one waiter, if it still waits.
        func take(_ key: String, _ id: Int) -> Waiter? {
            waiters.withLock { waiting in
                let waiter = waiting[key]?.removeValue(forKey: id)
                if waiting[key]?.isEmpty == true { waiting[key] = nil }
                return waiter
            }
        }

        /// Ends one wait without a value (its time is up, or its task was cancelled); a wait
        /// already answered is left alone.
        func giveUp(_ key: String, _ id: Int) { take(key, id)?.continuation.resume(returning: nil) }
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
                storage.store(id, try decode(value))
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
    public func remember(_ key: String, _ value: Value) { storage.store(key, value) }

    /// The value of `key` once the view has one that `accepts` (at once if it has), or `nil`
    /// after `timeout` or when the calling task is cancelled. Woken by the record itself (or
    /// ``remember(_:_:)``), not by polling: for a key written a moment ago elsewhere, which this
    /// view reads a few milliseconds later.
    public func value(
        for key: String, within timeout: Duration, where accepts: @escaping @Sendable (Value) -> Bool = { _ in true }
    ) async -> Value? {
        if let value = self[key], accepts(value) { return value }
        let storage = self.storage
        let id = storage.nextWaiter.add(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                // Registered under the waiters' lock, then the value looked at again: a record
                // stored in between either sees this waiter or is seen here.
                storage.waiters.withLock { $0[key, default: [:]][id] = Storage.Waiter(accepts: accepts, continuation: continuation) }
                if let value = self[key], accepts(value) {
                    storage.take(key, id)?.continuation.resume(returning: value)
                    return
                }
                if Task.isCancelled {
                    storage.giveUp(key, id)
                    return
                }
                Task {
                    try? await Task.sleep(for: timeout)
                    storage.giveUp(key, id)
                }
            }
        } onCancel: {
            storage.giveUp(key, id)
        }
    }
    /// How many ``value(for:within:where:)`` calls are waiting for `key`.
    public func waiting(for key: String) -> Int { storage.waiters.withLock { $0[key]?.count ?? 0 } }
    public var values: [Value] { storage.values.withLock { Array($0.values) } }
    public var count: Int { storage.values.withLock { $0.count } }
    public var unreadable: Int { storage.unreadable.load(ordering: .relaxed) }
}
