/// Every Triage topic with what it needs from the cluster, in one place: its co-partitioning
/// group (topics joined on the same key keep equal partition counts) and its topic configs.
/// `triage topics create --all` / `triage topics check`, the Helm chart's topic Job (through that
/// command) and the workers' start-up checks all read this list.
public enum TriageTopicLayout {
    /// Topics of one group must have the same partition count: partition *n* of each holds the
    /// same keys (or the state of the input's partition *n*).
    public enum PartitionGroup: String, Sendable, CaseIterable, Hashable {
        /// `triage.incident-events`, `triage.sla-state`, `triage.routing-index`, `triage.incident-state`.
        case incidents
        /// `triage.routing`, `triage.router-state`.
        case routing
        /// `triage.notification-requests`, `triage.notification-retry`, `triage.notification-ledger`.
        case notifications
        /// `triage.entitlement-requests`, `triage.entitlements`.
        case entitlements
        case agentEvents
        case entitlementReplies
        case incidentDirectory
        case analytics
        case deadLetter
    }

    /// One topic: name, group, and the configs it must be created with.
    public struct Topic: Sendable, Hashable {
        public var name: String
        public var group: PartitionGroup
        public var configs: [String: String]

        public init(_ name: String, _ group: PartitionGroup, configs: [String: String] = [:]) {
            self.name = name
            self.group = group
            self.configs = configs
        }

        public var isCompacted: Bool { configs["cleanup.policy"]?.contains("compact") == true }
    }

    /// `retention.ms` of `triage.notification-ledger` by default: 7 days. Delivered keys are
    /// forgotten after it, so it must exceed the notifier rules' `dedupe_window` (default 24 h).
    public static let notificationLedgerRetentionMs: Int64 = 7 * 86_400_000

    /// Every topic, in the order of ``TriageTopic/all``. `notificationLedgerRetentionMs` sets the
    /// ledger's retention.
    public static func topics(notificationLedgerRetentionMs: Int64 = notificationLedgerRetentionMs) -> [Topic] {
        let compact = ["cleanup.policy": "compact"]
        return [
            Topic(TriageTopic.incidentEvents, .incidents),
            Topic(TriageTopic.agentEvents, .agentEvents, configs: compact),
            Topic(TriageTopic.notificationRequests, .notifications),
            Topic(TriageTopic.notificationRetry, .notifications),
            Topic(
                TriageTopic.notificationLedger, .notifications,
                configs: ["cleanup.policy": "compact,delete", "retention.ms": "\(notificationLedgerRetentionMs)"]
            ),
            Topic(TriageTopic.analytics, .analytics),
            Topic(TriageTopic.incidentState, .incidents, configs: compact),
            Topic(TriageTopic.slaState, .incidents, configs: compact),
            Topic(TriageTopic.routing, .routing),
            Topic(TriageTopic.routingIndex, .incidents, configs: compact),
            Topic(TriageTopic.routerState, .routing, configs: compact),
            Topic(TriageTopic.entitlementRequests, .entitlements),
            Topic(TriageTopic.entitlements, .entitlements, configs: compact),
            Topic(TriageTopic.entitlementReplies, .entitlementReplies),
            Topic(TriageTopic.incidentDirectory, .incidentDirectory, configs: compact),
            Topic(TriageTopic.deadLetter, .deadLetter),
        ]
    }

    /// The workers, for ``topics(usedBy:)``.
    public enum Worker: String, Sendable, CaseIterable {
        case escalator, router, notifier, analytics, intake
    }

    /// The topics `worker` reads or writes: it cannot start without every one of them.
    public static func topics(usedBy worker: Worker) -> [String] {
        switch worker {
        case .escalator: [TriageTopic.incidentEvents, TriageTopic.slaState, TriageTopic.notificationRequests, TriageTopic.deadLetter]
        case .router:
            [
                TriageTopic.incidentEvents, TriageTopic.routing, TriageTopic.routingIndex, TriageTopic.routerState, TriageTopic.agentEvents,
                TriageTopic.notificationRequests, TriageTopic.deadLetter,
            ]
        case .notifier:
            [TriageTopic.notificationRequests, TriageTopic.notificationRetry, TriageTopic.notificationLedger, TriageTopic.deadLetter]
        case .analytics: [TriageTopic.incidentEvents, TriageTopic.analytics, TriageTopic.incidentState, TriageTopic.deadLetter]
        case .intake:
            [
                TriageTopic.incidentEvents, TriageTopic.entitlementRequests, TriageTopic.entitlements, TriageTopic.entitlementReplies,
                TriageTopic.incidentDirectory, TriageTopic.incidentState, TriageTopic.deadLetter,
            ]
        }
    }
}
