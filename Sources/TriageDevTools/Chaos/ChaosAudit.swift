public import Foundation
public import Logging
import SwiftProtobuf
public import TriageKafka
import TriageRouterWorker
import TriageRouting
public import TriageSLA
import TriageSchema

/// Reads every topic after a chaos run and checks the invariants: every published event
/// accounted for (analytics feed or dead-lettered), no agent above capacity, no incident held
/// twice, each escalation level fired exactly once per breach, every notification request
/// delivered or dead-lettered.
public struct ChaosAudit: Sendable {
    let client: KafkaClientConfiguration
    let capacities: [String: Int]
    let logger: Logger
    /// With both: update-clock escalation levels due by `slaNow()` minus an SLA hour (by a
    /// replay of the lifecycle topic through the SLA code) must each have been published.
    let policy: SlaPolicy?
    let slaNow: (@Sendable () -> Date)?

    public init(
        client: KafkaClientConfiguration, capacities: [String: Int], logger: Logger, policy: SlaPolicy? = nil,
        slaNow: (@Sendable () -> Date)? = nil
    ) {
        self.client = client
        self.capacities = capacities
        self.logger = logger
        self.policy = policy
        self.slaNow = slaNow
    }

    /// One look at the topics: `published` are the event ids the broker acknowledged, `sink`
    /// what the webhook receiver saw, `acknowledgement` where the broker said it stored an event.
    public func run(
        published: Set<String>, sink: DevWebhookSink.Figures, acknowledgement: (String) -> (partition: Int32, offset: Int64)? = { _ in nil }
    ) async throws -> ChaosAuditResult {
        var result = ChaosAuditResult()
        result.published = published.count
        let admin = try KafkaAdmin(configuration: client, logger: logger)

        // Lifecycle: analytics accounting, assignments, escalations.
        let lifecycle = try await read(TriageTopic.incidentEvents, admin: admin) { record -> (Date, Int32, Int64, IncidentEvent)? in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return nil }
            return (record.timestamp ?? .distantFuture, record.partition, record.offset, event)
        }
        let analyticsRecords = try await read(TriageTopic.analytics, admin: admin) { record -> (event: String, incident: String)? in
            guard let value = record.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let event = object["event_id"] as? String
            else { return nil }
            return (event, object["incident_id"] as? String ?? "?")
        }
        let analyticsIDs = Set(analyticsRecords.map(\.event))
        // The dead-letter topic holds poison lifecycle events and notification requests: read
        // once, each record's value kept for both.
        let deadLetterValues = try await read(TriageTopic.deadLetter, admin: admin) { record -> [UInt8]? in record.value.map { Array($0) } }
        // A poison event goes to the dead-letter topic with its reason: accounted for, not lost.
        let deadLetteredEvents = Set(deadLetterValues.compactMap { try? IncidentEvent(serializedBytes: $0).eventID }).intersection(
            published)
        result.deadLetteredEvents = deadLetteredEvents.subtracting(analyticsIDs).count
        result.accounted = published.intersection(analyticsIDs.union(deadLetteredEvents)).count
        let inLifecycle = Set(lifecycle.map(\.3.eventID))
        let stored = published.intersection(inLifecycle)
        result.neverStored = published.count - stored.count
        result.lost = stored.count - result.accounted
        func describeMissing(_ id: String) -> String {
            let incident =
                lifecycle.first { $0.3.eventID == id }?.3.incidentID ?? id.split(separator: "-").dropLast().joined(separator: "-")
            let others = analyticsRecords.filter { $0.incident == incident }.map(\.event)
            // Where the broker said it stored the event, and what is there now: tells a broker
            // that dropped an acknowledged record from a wrong acknowledgement.
            var position = "acknowledged at an unknown position"
            if let (partition, offset) = acknowledgement(id) {
                let there =
                    lifecycle.first { $0.1 == partition && $0.2 == offset }.map { "\($0.3.eventID) (\($0.3.incidentID))" } ?? "nothing"
                let end = (lifecycle.filter { $0.1 == partition }.map(\.2).max() ?? -1) + 1
                position =
                    "acknowledged at partition \(partition) offset \(offset); that offset holds \(there); the partition ends at \(end)"
            }
            return "\(id) (in the lifecycle topic: \(inLifecycle.contains(id)); \(position); analytics records of its incident: \(others))"
        }
        result.lostSample = stored.subtracting(analyticsIDs).subtracting(deadLetteredEvents).sorted().prefix(5).map(describeMissing)
        result.neverStoredSample = published.subtracting(inLifecycle).sorted().prefix(5).map(describeMissing)

        var seen: Set<String> = []
        let ordered = AssignmentAuditor.causalOrder(
            lifecycle.filter { seen.insert($0.3.eventID).inserted }.map {
                AuditedEvent(timestamp: $0.0, partition: $0.1, offset: $0.2, event: $0.3)
            }
        )
        var audit = AssignmentAuditor(capacities: capacities)
        var levels: [String: Set<String>] = [:]  // incident|target|deadline|level → event ids
        for record in ordered {
            audit.apply(record)
            let event = record.event
            if case .escalated(let escalated) = event.event {
                let breach = "\(event.incidentID)|\(escalated.target)|\(escalated.breachedDeadline.seconds)"
                levels["\(breach)|\(escalated.level)", default: []].insert(event.eventID)
            }
        }
        result.assignments = audit.assignedCount
        result.reassignments = audit.reassignedCount
        for violation in audit.violations {
            if violation.contains("above capacity") {
                result.capacityViolations.append(violation)
            } else if violation.contains("while held by") {
                result.heldTwice.append(violation)
            } else {
                result.otherAssignmentViolations.append(violation)
            }
        }
        // The history of a few incidents behind the violations, for whoever reads the report.
        result.histories = AssignmentAuditor.histories(
            of: audit.violations, in: lifecycle.map { AuditedEvent(timestamp: $0.0, partition: $0.1, offset: $0.2, event: $0.3) }
        )
        result.escalations = levels.values.reduce(0) { $0 + $1.count }
        result.updateEscalations = levels.filter { $0.key.split(separator: "|").dropFirst().first == "update" }.values.reduce(0) {
            $0 + $1.count
        }
        if let policy, let slaNow {
            // An SLA hour of slack (5 s of real time at ×720) for what fell due just before the look.
            let expected = ChaosUpdateExpectation.expected(
                lifecycle.map { ($0.1, $0.2, $0.3) }, rules: SlaRules(policy), cutoff: slaNow().addingTimeInterval(-3_600))
            var published = Set<String>()
            for key in levels.keys {
                let parts = key.split(separator: "|", omittingEmptySubsequences: false)
                if parts.count == 4, parts[1] == "update" { published.insert("\(parts[0])|\(parts[3])") }
            }
            result.updateEscalationsExpected = expected.count
            for missing in expected.subtracting(published).sorted() {
                result.escalationProblems.append(
                    "\(missing.replacingOccurrences(of: "|", with: "|update|level ")) due (replay) but never published")
            }
        }
        for (key, ids) in levels.sorted(by: { $0.key < $1.key }) {
            if ids.count > 1 { result.escalationProblems.append("\(key) fired \(ids.count) times") }
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            if let level = Int(parts.last ?? ""), level > 1 {
                let previous = parts.dropLast().joined(separator: "|") + "|\(level - 1)"
                if levels[previous] == nil { result.escalationProblems.append("\(key) without level \(level - 1)") }
            }
        }

        // Notifications: every request delivered (its own Idempotency-Key reached the receiver) or dead-lettered.
        let requests = Set(
            try await read(TriageTopic.notificationRequests, admin: admin) { record -> String? in
                guard let value = record.value, let request = try? NotificationRequest(serializedBytes: Array(value)) else { return nil }
                return request.idempotencyKey.isEmpty ? nil : request.idempotencyKey
            })
        let deadLetters = Set(deadLetterValues.compactMap { try? NotificationRequest(serializedBytes: $0).idempotencyKey }).intersection(
            requests)
        let delivered = Set(sink.keys.keys).intersection(requests)
        result.notificationRequests = requests.count
        result.delivered = delivered.count
        result.deadLettered = deadLetters.subtracting(delivered).count
        result.notificationsOutstanding = requests.subtracting(delivered).subtracting(deadLetters).count
        result.repeatedDeliveries = sink.keys.values.reduce(0) { $0 + max(0, $1 - 1) }
        return result
    }

    private func read<T: Sendable>(_ topic: String, admin: KafkaAdmin, _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?)
        async throws -> [T]
    {
        try await readWholeTopic(topic, admin: admin, client: client, logger: logger, transform)
    }
}
