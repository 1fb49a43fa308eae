import Foundation
import Testing
import TriageCore
import TriageRouterWorker
import TriageRouting
import TriageSchema

/// The interop and chaos reports explain an agent found above capacity with its load trail.
@Suite("Load trails of agents above capacity")
struct AssignmentTrailTests {
    private func record(_ offset: Int64, _ incident: String, producer: String = TriageProducer.router, _ build: (inout IncidentEvent) -> Void)
        -> AuditedEvent
    {
        var event = IncidentEvent()
        event.eventID = "e-\(offset)"
        event.incidentID = incident
        event.producer = producer
        build(&event)
        return AuditedEvent(timestamp: Date(timeIntervalSince1970: Double(offset)), partition: 0, offset: offset, event: event)
    }

    @Test func theTrailListsWhatMovedTheAgentsLoadWithTheLoadAfterEach() {
        let records = [
            record(0, "i1", producer: "intake") { $0.opened = .with { $0.severity = .a } },
            record(1, "i2", producer: "intake") { $0.opened = .with { $0.severity = .b } },
            record(2, "i3", producer: "intake") { $0.opened = .with { $0.severity = .c } },
            record(3, "i1") { $0.assigned = .with { $0.agentID = "ada" } },
            record(4, "i2") { $0.assigned = .with { $0.agentID = "bob" } },
            record(5, "i3") { $0.assigned = .with { $0.agentID = "ada" } },
            record(6, "i2") { $0.reassigned = .with { $0.fromAgentID = "bob"; $0.toAgentID = "ada" } },
        ]
        var audit = AssignmentAuditor(capacities: ["ada": 5, "bob": 5])
        for record in AssignmentAuditor.causalOrder(records) { audit.apply(record.event) }
        #expect(audit.violations == ["ada at 6 load units above capacity 5 after i2"])
        #expect(audit.load(of: "ada") == 6 && audit.load(of: "bob") == 0)
        let trails = AssignmentAuditor.loadTrails(
            of: audit.violations, in: AssignmentAuditor.causalOrder(records), capacities: ["ada": 5, "bob": 5])
        let lines = trails.first?.split(separator: "\n").map(String.init) ?? []
        #expect(trails.count == 1 && lines.first == "ada, capacity 5:")
        // i1 (3 units), i3 (1), then i2 (2) moved over from bob; bob's own assignment is not ada's.
        #expect(lines.count == 4)
        #expect(lines.dropFirst().map { $0.components(separatedBy: " — load ").last?.prefix(1) } == ["3", "4", "6"])
        #expect(lines.last?.contains("i2 Reassigned bob → ada") == true)
        #expect(AssignmentAuditor.loadTrails(of: ["i2 assigned to ada while held by bob"], in: records, capacities: [:]).isEmpty)
    }
}
