import Foundation
public import Logging
import SwiftProtobuf
public import TriageKafka
import TriageRouterWorker
import TriageRouting
import TriageSchema

/// Reads the topics and checks this run's incidents.
public struct InteropAudit: Sendable {
    let client: KafkaClientConfiguration
    let incidents: Set<String>
    let capacities: [String: Int]
    let logger: Logger

    /// Audits `incidents` (others on the cluster are ignored) against agents of `capacities`.
    public init(client: KafkaClientConfiguration, incidents: Set<String>, capacities: [String: Int], logger: Logger) {
        self.client = client
        self.incidents = incidents
        self.capacities = capacities
        self.logger = logger
    }

    /// One look at the topics; `sink` is what the webhook receiver saw.
    public func run(sink: DevWebhookSink.Figures) async throws -> InteropAuditResult {
        var result = InteropAuditResult()
        result.incidents = incidents.count
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let mine = incidents

        // The lifecycle: assignments, warnings, escalations.
        let records = try await read(TriageTopic.incidentEvents, admin: admin) { record -> AuditedEvent? in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)), mine.contains(event.incidentID)
            else { return nil }
            return AuditedEvent(
                timestamp: record.timestamp ?? .distantFuture, partition: record.partition, offset: record.offset, event: event)
        }
        var seen: Set<String> = []
        let distinct = records.filter { seen.insert($0.event.eventID).inserted }
        result.lifecycleEvents = distinct.count
        result.duplicateLifecycleRecords = records.count - distinct.count
        var audit = AssignmentAuditor(capacities: capacities)
        var assigned: Set<String> = []
        var alerts: [String: Set<String>] = [:]  // incident|kind|target|deadline|level → event ids
        var severityA: Set<String> = []
        var escalatedA: Set<String> = []
        let ordered = AssignmentAuditor.causalOrder(distinct)
        for audited in ordered {
            let event = audited.event
            audit.apply(audited)
            switch event.event {
            case .opened(let opened) where opened.severity == Triage_V1_Severity.a: severityA.insert(event.incidentID)
            case .assigned: assigned.insert(event.incidentID)
            case .escalated(let escalated):
                alerts[
                    "\(event.incidentID)|escalation|\(escalated.target)|\(escalated.breachedDeadline.seconds)|\(escalated.level)",
                    default: []
                ].insert(event.eventID)
                escalatedA.insert(event.incidentID)
            case .slaWarning(let warning):
                alerts["\(event.incidentID)|warning|\(warning.target)|\(warning.deadline.seconds)|\(warning.thresholdPercent)", default: []]
                    .insert(event.eventID)
            default: break
            }
        }
        result.unassigned = incidents.subtracting(assigned).sorted()
        result.assignmentViolations = audit.violations
        if !audit.violations.isEmpty {
            result.violationDetails =
                AssignmentAuditor.loadTrails(of: audit.violations, in: ordered, capacities: capacities)
                + AssignmentAuditor.histories(of: audit.violations, in: distinct)
        }
        result.warnings = alerts.filter { $0.key.contains("|warning|") }.count
        result.escalations = alerts.filter { $0.key.contains("|escalation|") }.count
        result.repeatedAlerts = alerts.filter { $0.value.count != 1 }.map { "\($0.key) fired \($0.value.count) times" }.sorted()
        result.severityA = severityA.count
        result.severityAEscalated = severityA.intersection(escalatedA).count

        // Analytics: a record for every lifecycle event.
        let analytics = try await read(TriageTopic.analytics, admin: admin) { record -> String? in
            guard let value = record.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let incident = object["incident_id"] as? String, mine.contains(incident)
            else { return nil }
            return object["event_id"] as? String
        }
        result.analyticsRecords = analytics.count
        let analyticsIDs = Set(analytics)
        result.withoutAnalytics = distinct.map { $0.event.eventID }.filter { !analyticsIDs.contains($0) }.sorted()

        // Notifications: each request's Idempotency-Key reached the webhook receiver.
        let requests = Set(
            try await read(TriageTopic.notificationRequests, admin: admin) { record -> String? in
                guard let value = record.value, let request = try? NotificationRequest(serializedBytes: Array(value)),
                    mine.contains(request.incidentID)
                else { return nil }
                return request.idempotencyKey
            })
        result.notificationRequests = requests.count
        result.delivered = requests.intersection(sink.keys.keys).count
        result.undelivered = requests.count - result.delivered
        result.webhooksReceived = sink.received
        result.webhooksVerified = sink.verified

        // Nothing of this run dead-lettered.
        result.deadLettered = try await read(TriageTopic.deadLetter, admin: admin) { record -> String? in
            guard let value = record.value.map({ Array($0) }) else { return nil }
            let reason = record.header(TriageHeader.deadLetterReason).map { String(decoding: $0, as: UTF8.self) } ?? "no reason given"
            if let event = try? IncidentEvent(serializedBytes: value), mine.contains(event.incidentID) {
                return "event \(event.eventID): \(reason)"
            }
            if let request = try? NotificationRequest(serializedBytes: value), mine.contains(request.incidentID) {
                return "notification \(request.idempotencyKey): \(reason)"
            }
            return nil
        }
        return result
    }

    private func read<T: Sendable>(_ topic: String, admin: KafkaAdmin, _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?)
        async throws -> [T]
    {
        try await readWholeTopic(topic, admin: admin, client: client, logger: logger, transform)
    }
}
