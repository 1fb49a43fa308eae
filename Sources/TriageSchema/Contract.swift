import Foundation
import SwiftProtobuf

// Short names for the generated types (package `triage.v1`).
public typealias IncidentEvent = Triage_V1_IncidentEvent
public typealias AgentEvent = Triage_V1_AgentEvent
public typealias NotificationRequest = Triage_V1_NotificationRequest
public typealias AnalyticsRecord = Triage_V1_AnalyticsRecord
public typealias Severity = Triage_V1_Severity
public typealias Coverage = Triage_V1_Coverage
public typealias EntitlementRequest = Triage_V1_EntitlementRequest
public typealias EntitlementReply = Triage_V1_EntitlementReply

/// Topic names, in one place. Lifecycle events are keyed by incident id, agent events by agent
/// id, notification requests by recipient.
public enum TriageTopic {
    public static let incidentEvents = "triage.incident-events"
    public static let agentEvents = "triage.agent-events"
    public static let notificationRequests = "triage.notification-requests"
    /// Notification requests re-queued for a later attempt, co-partitioned with ``notificationRequests``.
    public static let notificationRetry = "triage.notification-retry"
    /// Compacted (and time-limited): delivered idempotency keys, co-partitioned with ``notificationRequests``.
    public static let notificationLedger = "triage.notification-ledger"
    public static let analytics = "triage.analytics"
    /// Compacted: the latest snapshot per incident.
    public static let incidentState = "triage.incident-state"
    /// Compacted: the escalator's SLA state per incident, co-partitioned with ``incidentEvents``.
    public static let slaState = "triage.sla-state"
    /// The router's work re-keyed by team (stage 1 → stage 2).
    public static let routing = "triage.routing"
    /// Compacted: incident → team, co-partitioned with ``incidentEvents``.
    public static let routingIndex = "triage.routing-index"
    /// Compacted: one team desk snapshot per team, co-partitioned with ``routing``.
    public static let routerState = "triage.router-state"
    /// Commands for the entitlement ledger, keyed by entitlement id (intake and operators → ledger).
    public static let entitlementRequests = "triage.entitlement-requests"
    /// Compacted: one entitlement per key, co-partitioned with ``entitlementRequests``.
    public static let entitlements = "triage.entitlements"
    /// The ledger's answers, keyed by request id; every intake reads all of them.
    public static let entitlementReplies = "triage.entitlement-replies"
    /// Compacted: incident → its Opened event as the ledger published it (account, entitlement),
    /// what the intake authorises calls on existing incidents with.
    public static let incidentDirectory = "triage.incident-directory"
    /// Poison messages, with the reason and their origin in headers (``TriageHeader``).
    public static let deadLetter = "triage.dead-letter"

    public static let all = [
        incidentEvents, agentEvents, notificationRequests, notificationRetry, notificationLedger, analytics, incidentState, slaState,
        routing, routingIndex, routerState,
        entitlementRequests, entitlements, entitlementReplies, incidentDirectory, deadLetter,
    ]
}

/// The `producer` field of events a Triage worker writes (consumers tell the router's own
/// assignment moves from the ones people ask for by it).
public enum TriageProducer {
    public static let router = "router"
}

/// Default consumer group ids of the workers, beside the topics they read (each is the default
/// of the worker's `--group`; instances of one worker share it to split the partitions).
public enum TriageGroup {
    /// The escalator, on ``TriageTopic/incidentEvents``.
    public static let escalator = "triage-escalator"
    /// The router's team desks, on ``TriageTopic/routing``.
    public static let router = "triage-router"
    /// The router's dispatcher, on ``TriageTopic/incidentEvents``: the router's group plus this suffix.
    public static let routerDispatchSuffix = "-dispatch"
    public static let routerDispatch = router + routerDispatchSuffix
    /// The notifier, on ``TriageTopic/notificationRequests``.
    public static let notifier = "triage-notifier"
    /// The analytics feed, on ``TriageTopic/incidentEvents``.
    public static let analytics = "triage-analytics"
    /// The intake's entitlement ledger, on ``TriageTopic/entitlementRequests``.
    public static let ledger = "triage-ledger"

    /// Every default group, in start order.
    public static let all = [escalator, router, routerDispatch, notifier, analytics, ledger]
    /// Every default group and the topic it consumes (the dashboard's lag table).
    public static let inputs: [String: String] = [
        escalator: TriageTopic.incidentEvents, routerDispatch: TriageTopic.incidentEvents, router: TriageTopic.routing,
        notifier: TriageTopic.notificationRequests, analytics: TriageTopic.incidentEvents, ledger: TriageTopic.entitlementRequests,
    ]
}

/// Kafka header names every Triage producer sets.
public enum TriageHeader {
    /// `application/x-protobuf` or `application/json`.
    public static let contentType = "content-type"
    /// The lifecycle event's case, e.g. `Opened`, `Escalated`.
    public static let eventType = "triage-event-type"
    /// Full message name and schema version, e.g. `triage.v1.IncidentEvent; v=1`.
    public static let schema = "triage-schema"
    /// W3C trace context, carried from intake to the notification.
    public static let traceparent = "traceparent"
    /// The event id (or notification idempotency key), for consumers that dedupe before decoding.
    public static let idempotencyKey = "idempotency-key"

    // Dead-letter headers.
    public static let deadLetterReason = "triage-dlq-reason"
    public static let deadLetterTopic = "triage-dlq-topic"
    public static let deadLetterPartition = "triage-dlq-partition"
    public static let deadLetterOffset = "triage-dlq-offset"
    /// The worker that dead-lettered the record (a record of a topic several workers read is
    /// dead-lettered once by each).
    public static let deadLetterWorker = "triage-dlq-worker"

    public static let protobufContentType = "application/x-protobuf"
    public static let jsonContentType = "application/json"
    public static let schemaVersion = 1
}

extension IncidentEvent {
    /// The event's case name as used in the `triage-event-type` header (`Opened`, `SlaWarning`...),
    /// or `nil` when no event is set.
    public var eventTypeName: String? {
        switch event {
        case .opened: "Opened"
        case .acknowledged: "Acknowledged"
        case .assigned: "Assigned"
        case .reassigned: "Reassigned"
        case .severityChanged: "SeverityChanged"
        case .waitingOnCustomer: "WaitingOnCustomer"
        case .customerResponded: "CustomerResponded"
        case .escalated: "Escalated"
        case .slaWarning: "SlaWarning"
        case .split: "Split"
        case .solutionDelivered: "SolutionDelivered"
        case .closedResolved: "ClosedResolved"
        case .closedUnresolved: "ClosedUnresolved"
        case .closeRequestedByCustomer: "CloseRequestedByCustomer"
        case .reopened: "Reopened"
        case .noteAdded: "NoteAdded"
        case .returnedToQueue: "ReturnedToQueue"
        case .reassignRequested: "ReassignRequested"
        case .teamChanged: "TeamChanged"
        case nil: nil
        }
    }

    /// The headers a producer publishes this event with.
    public func kafkaHeaders(traceparent: String? = nil) -> [(name: String, value: String)] {
        var headers: [(String, String)] = [
            (TriageHeader.contentType, TriageHeader.protobufContentType),
            (TriageHeader.schema, "\(Self.protoMessageName); v=\(TriageHeader.schemaVersion)"),
            (TriageHeader.idempotencyKey, eventID),
        ]
        if let eventTypeName { headers.append((TriageHeader.eventType, eventTypeName)) }
        if let traceparent { headers.append((TriageHeader.traceparent, traceparent)) }
        return headers
    }

    /// The canonical JSON form (protobuf JSON mapping, field names in lowerCamelCase).
    public func canonicalJSON() throws -> String {
        try jsonString()
    }
}
