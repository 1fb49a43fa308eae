import Foundation
import Testing
import TriageSLA
import TriageSLAEvents
import TriageSchema

@Suite("Escalator notification payloads")
struct NotificationPayloadTests {
    @Test func requestsCarryProductCustomerTeamAndTheUpdateTarget() throws {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let rules = SlaRules(
            SlaPolicy(
                targets: [.twentyFourSeven: [.a: SlaTargets(firstResponseMinutes: 120, updateMinutes: 60)]],
                escalation: [EscalationLevel(level: 1, afterMinutes: 0, notify: ["team-lead", "duty"])]))
        var state = IncidentSla(openedAt: start, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: start, rules: rules)
        let fired = state.fire(upTo: start.addingTimeInterval(3_600), rules: rules)
        let action = try #require(fired.first { if case .escalation = $0.kind { $0.target == .update } else { false } })
        let deadline = action.deadline
        #expect(deadline == start.addingTimeInterval(3_600))
        let parties = SlaParties(product: "billing", customer: "acme", team: "tier-1")
        let requests = action.notificationRequests(incident: "INC-1", requestedAt: deadline, parties: parties)
        #expect(requests.map { $0.recipient } == ["team-lead", "duty"])
        for request in requests {
            #expect(request.payload["product"] == "billing")
            #expect(request.payload["customer"] == "acme")
            #expect(request.payload["team"] == "tier-1")
            #expect(request.payload["severity"] == "A")
            #expect(request.payload["target"] == "update")
            #expect(request.payload["reason"] == "update target breached (severity A)")
            #expect(request.urgent)
        }
        #expect(action.incidentEvent(incident: "INC-1").escalated.target == "update")
        // Unknown parties: the keys are left out, not empty.
        let bare = action.notificationRequests(
            incident: "INC-1", requestedAt: deadline, parties: SlaParties(product: "p", customer: "", team: ""))
        #expect(bare.first?.payload["customer"] == nil && bare.first?.payload["product"] == "p")
    }

    @Test func publicNotesMapToTheUpdateRestartAndInternalOnesToNothing() {
        var note = IncidentEvent()
        note.noteAdded = .with { $0.public = true }
        #expect(SlaInput(note) == .publicNote)
        note.noteAdded = .with { $0.public = false }
        #expect(SlaInput(note) == nil)
        var wait = IncidentEvent()
        wait.waitingOnCustomer = .init()
        #expect(SlaInput(wait) == .waitingOnCustomer)
        wait.waitingOnCustomer = .with {
            $0.pauseReason = "waiting_on_vendor"; $0.resumeAt = .init(seconds: 1_780_000_000)
        }
        #expect(SlaInput(wait) == .paused(reason: "waiting_on_vendor", resumeAt: Date(timeIntervalSince1970: 1_780_000_000)))
    }
}
