public import Foundation
import TriageCore
public import TriageRouting
import TriageSLA
public import TriageSchema

extension AssignmentAuditor {
    /// Feeds one lifecycle event to the auditor: opens, severity changes, the router's
    /// assignments and moves, and closes (which release the load). Other events change nothing.
    public mutating func apply(_ event: IncidentEvent) {
        func severity(_ value: Severity) -> SupportSeverity { value == .a ? .a : value == .b ? .b : .c }
        switch event.event {
        case .opened(let opened): self.opened(event.incidentID, severity: severity(opened.severity))
        case .severityChanged(let change): severityChanged(event.incidentID, to: severity(change.to))
        case .assigned(let assigned): self.assigned(event.incidentID, to: assigned.agentID)
        case .reassigned(let reassigned) where event.producer == TriageProducer.router:
            self.reassigned(event.incidentID, from: reassigned.fromAgentID, to: reassigned.toAgentID)
        case .returnedToQueue(let returned) where event.producer == TriageProducer.router:
            returnedToQueue(event.incidentID, from: returned.fromAgentID)
        case .teamChanged where event.producer == TriageProducer.router: teamChanged(event.incidentID)
        case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: released(event.incidentID)
        default: break
        }
    }
}

extension AssignmentAuditor {
    /// Feeds one record in its instant (its record time; see "Instants" on the type).
    public mutating func apply(_ record: AuditedEvent) {
        enter(instant: record.timestamp.timeIntervalSince1970)
        apply(record.event)
    }
}

/// A lifecycle record as an audit reads it.
public struct AuditedEvent: Sendable {
    public var timestamp: Date
    public var partition: Int32
    public var offset: Int64
    public var event: IncidentEvent

    public init(timestamp: Date, partition: Int32, offset: Int64, event: IncidentEvent) {
        self.timestamp = timestamp
        self.partition = partition
        self.offset = offset
        self.event = event
    }
}

extension AssignmentAuditor {
    /// Lifecycle records in causal order: each partition in its own (offset) order, partitions
    /// merged by record creation time, a router decision after the other events of its
    /// millisecond. Any input a desk processed was created before the decision it led to, so
    /// the merge never shows a desk less than it knew. Sorting everything by time instead would
    /// reorder an incident's own events where a record created earlier was appended later (a
    /// produce retried through a broker fault).
    public static func causalOrder(_ records: [AuditedEvent]) -> [AuditedEvent] {
        var byPartition: [Int32: [AuditedEvent]] = [:]
        for record in records { byPartition[record.partition, default: []].append(record) }
        let queues = byPartition.values.map { $0.sorted { $0.offset < $1.offset } }
        var heads = Array(repeating: 0, count: queues.count)
        func before(_ a: AuditedEvent, _ b: AuditedEvent) -> Bool {
            if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
            let aRouter = a.event.producer == TriageProducer.router
            let bRouter = b.event.producer == TriageProducer.router
            if aRouter != bRouter { return !aRouter }
            return (a.partition, a.offset) < (b.partition, b.offset)
        }
        var merged: [AuditedEvent] = []
        merged.reserveCapacity(records.count)
        while true {
            var next: Int?
            for index in queues.indices where heads[index] < queues[index].count {
                if let current = next, !before(queues[index][heads[index]], queues[current][heads[current]]) { continue }
                next = index
            }
            guard let chosen = next else { return merged }
            merged.append(queues[chosen][heads[chosen]])
            heads[chosen] += 1
        }
    }

    /// One line for an event in a violation's history.
    public static func describe(_ event: IncidentEvent) -> String {
        switch event.event {
        case .opened(let opened): return "Opened \(opened.severity) team \(opened.team)"
        case .assigned(let assigned):
            return "Assigned → \(assigned.agentID) (load \(assigned.reason.loadBefore)→\(assigned.reason.loadAfter))"
        case .reassigned(let moved):
            return
                "Reassigned \(moved.fromAgentID.isEmpty ? "?" : moved.fromAgentID) → \(moved.toAgentID.isEmpty ? "queue" : moved.toAgentID)"
        case .returnedToQueue(let returned): return "ReturnedToQueue \(returned.fromAgentID) → queue"
        case .teamChanged(let moved): return "TeamChanged \(moved.fromTeam) → \(moved.toTeam) (\(moved.cause))"
        case .severityChanged(let change): return "SeverityChanged \(change.from) → \(change.to)"
        case .closedResolved: return "ClosedResolved"
        case .closedUnresolved: return "ClosedUnresolved"
        case .closeRequestedByCustomer: return "CloseRequestedByCustomer"
        case .reopened: return "Reopened"
        case .acknowledged: return "Acknowledged"
        case .escalated(let escalated): return "Escalated level \(escalated.level)\(escalated.reassignRequested ? " (reassign)" : "")"
        case nil: return "(no event)"
        default: return String(String(describing: event.event!).prefix(40))
        }
    }

    /// For each agent found above capacity in `violations` (up to `limit`), every record in
    /// `ordered` (causal order, as audited) that gave that agent an incident or took one away,
    /// or changed the weight of one it held, with the agent's load after it: where the load a
    /// desk never had came from.
    public static func loadTrails(
        of violations: [String], in ordered: [AuditedEvent], capacities: [String: Int], policy: RoutingPolicy = RoutingPolicy(),
        limit: Int = 3
    ) -> [String] {
        var agents: [String] = []
        for violation in violations where violation.contains("above capacity") {
            if let agent = violation.split(separator: " ").first.map(String.init), !agents.contains(agent) { agents.append(agent) }
        }
        let line = recordLine()
        return agents.prefix(limit).map { agent in
            var audit = AssignmentAuditor(capacities: capacities, policy: policy)
            var lines = ["\(agent), capacity \(capacities[agent] ?? 0):"]
            for record in ordered {
                let incident = record.event.incidentID
                let before = audit.holder(of: incident)
                audit.apply(record)
                guard before == agent || audit.holder(of: incident) == agent else { continue }
                lines.append("  " + line(record, "\(incident) \(describe(record.event)) — load \(audit.load(of: agent))"))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// The violations' incidents (up to `limit`), each with its records in partition order.
    public static func histories(of violations: [String], in records: [AuditedEvent], limit: Int = 6) -> [String] {
        var suspects: [String] = []
        for violation in violations {
            for word in violation.split(separator: " ") where word.hasPrefix("INC") && !suspects.contains(String(word)) {
                suspects.append(String(word))
            }
        }
        let line = recordLine()
        return suspects.prefix(limit).map { incident in
            records.filter { $0.event.incidentID == incident }.sorted { $0.offset < $1.offset }.map {
                "\(incident) " + line($0, describe($0.event))
            }.joined(separator: "\n")
        }
    }

    /// How a report lists one record: `p<partition>@<offset> <record time> <producer>: <what> [<event id>]`.
    private static func recordLine() -> (AuditedEvent, String) -> String {
        let stamp = ISO8601DateFormatter()
        stamp.formatOptions = [.withTime, .withColonSeparatorInTime, .withFractionalSeconds]
        return { record, what in
            "p\(record.partition)@\(record.offset) \(stamp.string(from: record.timestamp)) \(record.event.producer): \(what) [\(record.event.eventID.prefix(24))]"
        }
    }
}
