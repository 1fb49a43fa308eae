public import Foundation
public import Logging
import SwiftProtobuf
import Synchronization
public import TriageAnalytics
public import TriageEntitlements
public import TriageKafka
public import TriageSchema

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
    func remember(_ key: String, _ value: Value) { storage.values.withLock { $0[key] = value } }
    public var values: [Value] { storage.values.withLock { Array($0.values) } }
    public var count: Int { storage.values.withLock { $0.count } }
    public var unreadable: Int { storage.unreadable.load(ordering: .relaxed) }
}

/// What the intake knows about one incident it may be asked to act on.
public struct DirectoryEntry: Sendable, Hashable {
    public var incidentID: String
    public var account: String
    public var entitlementID: String
    public var severity: Severity
    public var opened: Opened
    public var openedAt: Date

    init(_ event: IncidentEvent) throws {
        guard case .opened(let opened) = event.event else { throw DirectoryDecodingError() }
        incidentID = event.incidentID
        account = opened.customerAccount
        entitlementID = opened.entitlementID
        severity = opened.severity
        self.opened = opened
        openedAt = event.occurredAt.date
    }

    /// What the analytics feed's snapshot knows, for an incident the directory lacks (opened by a
    /// Kafka-native producer).
    init(_ snapshot: IncidentSnapshot) {
        incidentID = snapshot.incidentID
        account = snapshot.customerAccount
        entitlementID = snapshot.entitlementID
        severity = snapshot.severity
        var opened = Opened()
        opened.customerAccount = snapshot.customerAccount
        opened.entitlementID = snapshot.entitlementID
        opened.severity = snapshot.severity
        opened.coverage = snapshot.coverage
        opened.product = snapshot.product
        opened.language = snapshot.language
        opened.team = snapshot.team
        opened.title = snapshot.title
        self.opened = opened
        openedAt = snapshot.openedAt ?? Date(timeIntervalSince1970: 0)
    }
}

struct DirectoryDecodingError: Error {}

public typealias Opened = Triage_V1_Opened

extension KeyedTopicView where Value == Entitlement {
    /// Every entitlement (`triage.entitlements`).
    public static func entitlements(partitions: [Int32], topics: LedgerTopics = .init(), client: KafkaClientConfiguration, logger: Logger)
        -> Self
    {
        Self(topic: topics.entitlements, partitions: partitions, client: client, logger: logger) { bytes in
            try LedgerJSON.decode(Entitlement.self, from: Array(bytes))
        }
    }
}

extension KeyedTopicView where Value == DirectoryEntry {
    /// Incident → account and entitlement (`triage.incident-directory`).
    public static func directory(partitions: [Int32], topics: LedgerTopics = .init(), client: KafkaClientConfiguration, logger: Logger)
        -> Self
    {
        Self(topic: topics.directory, partitions: partitions, client: client, logger: logger) { bytes in
            try DirectoryEntry(IncidentEvent(serializedBytes: Array(bytes)))
        }
    }
}

extension KeyedTopicView where Value == IncidentSnapshot {
    /// The analytics feed's incident snapshots (`triage.incident-state`).
    public static func incidentState(partitions: [Int32], topics: LedgerTopics = .init(), client: KafkaClientConfiguration, logger: Logger)
        -> Self
    {
        Self(topic: topics.incidentState, partitions: partitions, client: client, logger: logger) { bytes in
            try IncidentSnapshot(jsonData: Data(bytes))
        }
    }
}
