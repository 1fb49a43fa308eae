import Foundation
import SwiftProtobuf
import Testing
import TriageRouting
import TriageRoutingEvents
import TriageSchema

@testable import TriageRouterWorker

private func event(_ id: String, _ build: (inout IncidentEvent) -> Void) -> IncidentEvent {
    var event = IncidentEvent.with {
        $0.eventID = id; $0.incidentID = "I-1"; $0.producer = "intake"
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_800_000_000))
    }
    build(&event)
    return event
}

private let facts = IncidentFacts(
    team: "tier-1", severity: .b, product: "billing", customer: "acme", language: "fr-CA", customerTimeZone: "America/Toronto",
    agent: "ada")

@Suite("Router notices: what each lifecycle event asks for")
struct IncidentNoticesTests {
    @Test func aReassignmentTellsTheNewAgentWhoHadIt() throws {
        let moved = event("e1") {
            $0.producer = "router"
            $0.reassigned = .with {
                $0.fromAgentID = "ada"; $0.toAgentID = "bo"; $0.reason.cause = "agent_offline"
            }
        }
        let requests = IncidentNotices.requests(for: moved, facts: facts, settings: NoticeSettings())
        #expect(requests.map(\.recipient) == ["agent:bo"])
        let request = try #require(requests.first)
        #expect(request.idempotencyKey == "e1/agent:bo" && !request.urgent && request.template == "assigned")
        #expect(
            request.payload == [
                "incident_id": "I-1", "agent": "bo", "from_agent": "ada", "cause": "agent_offline", "severity": "B", "product": "billing",
                "customer": "acme", "team": "tier-1",
            ])
        // An old-style queue return (no target) tells nobody.
        let queueReturn = event("e2") { $0.reassigned = .with { $0.fromAgentID = "ada" } }
        #expect(IncidentNotices.requests(for: queueReturn, facts: facts, settings: NoticeSettings()).isEmpty)
    }

    @Test func closesTellTheCustomerWithTheHolderTheRouterSaw() throws {
        let kinds: [(IncidentEvent, String)] = [
            (event("c1") { $0.closedUnresolved = .with { $0.closedBy = "x" } }, "closed_unresolved"),
            (event("c2") { $0.closeRequestedByCustomer = .with { $0.reason = "fixed" } }, "closed_by_customer"),
            (event("c3") { $0.closedResolved = .with { $0.closedBy = "x" } }, "closed_resolved"),
        ]
        for (closing, kind) in kinds {
            let request = try #require(IncidentNotices.requests(for: closing, facts: facts, settings: NoticeSettings()).first)
            #expect(request.recipient == "customer:acme" && request.payload["event"] == kind)
            #expect(request.payload["agent"] == "ada" && request.payload["language"] == "fr-CA")
            #expect(request.payload["customer_time_zone"] == "America/Toronto")
            #expect(request.payload["occurred_at"] == "2027-01-15T08:00:00Z")
            #expect(request.idempotencyKey == "\(closing.eventID)/customer:acme")
        }
    }

    @Test func theSettingsTurnEachKindOff() {
        let assigned = event("a") { $0.assigned = .with { $0.agentID = "ada" } }
        let acknowledged = event("b") { $0.acknowledged = .with { $0.agentID = "ada" } }
        let agentsOff = NoticeSettings(agents: false, customers: true)
        let customersOff = NoticeSettings(agents: true, customers: false)
        #expect(IncidentNotices.requests(for: assigned, facts: facts, settings: agentsOff).isEmpty)
        #expect(IncidentNotices.requests(for: acknowledged, facts: facts, settings: agentsOff).count == 1)
        #expect(IncidentNotices.requests(for: acknowledged, facts: facts, settings: customersOff).isEmpty)
        #expect(IncidentNotices.requests(for: assigned, facts: facts, settings: customersOff).count == 1)
        // Unknown incident: no customer notice.
        #expect(IncidentNotices.requests(for: acknowledged, facts: nil, settings: NoticeSettings()).isEmpty)
        // Events that are nobody's notice.
        let note = event("n") { $0.noteAdded = .with { $0.text = "x" } }
        #expect(IncidentNotices.requests(for: note, facts: facts, settings: NoticeSettings()).isEmpty)
    }

    /// Index records written before the customer lines are still read; new ones round-trip.
    @Test func indexEntriesOldAndNewDecode() {
        let old = IndexEntry("tier-1\n2\nbilling\nde\n")
        #expect(old.team == "tier-1" && old.product == "billing" && old.closedAt == nil)
        #expect(old.customer == "" && old.openedAt == nil && old.agent == "")
        #expect(IndexEntry("tier-1").team == "tier-1")
        var entry = IndexEntry(team: "tier-2", severity: .a, product: "api", language: "fr", closedAt: 12.5)
        entry.customer = "acme"
        entry.customerTimeZone = "Europe/Paris"
        entry.openedAt = 1_700_000_000
        entry.agent = "bo"
        #expect(IndexEntry(entry.encoded) == entry)
        #expect(entry.facts.customer == "acme" && entry.facts.agent == "bo")
    }
}
