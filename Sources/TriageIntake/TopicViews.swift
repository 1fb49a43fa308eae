public import Foundation
public import Logging
import SwiftProtobuf
public import TriageAnalytics
public import TriageEntitlements
public import TriageKafka
public import TriageSchema
public import TriageStreams

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
        opened.customerTimeZone = snapshot.customerTimeZone
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
