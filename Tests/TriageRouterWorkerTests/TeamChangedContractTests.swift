import Foundation
import SwiftProtobuf
import Testing
import TriageRouting
import TriageRoutingEvents
import TriageSLA
import TriageSLAEvents
import TriageSchema

@Suite("TeamChanged: the contract, the SLA clocks and the desks")
struct TeamChangedContractTests {
    private let decision = RoutingDecision.teamChanged(
        incident: "I-7", from: "tier-1", to: "tier-2", cause: TeamChangeCause.overflow,
        detail: "waited 30m in tier-1's queue (overflow after 30m for severity B)")

    @Test func aDecisionIsPublishedAsAValidTeamChangedThatTheClocksIgnore() throws {
        let at = Date()
        let event = try #require(IncidentEvent(routing: decision, trigger: "clock-x-1", at: at))
        #expect(event.producer == TriageProducer.router && event.incidentID == "I-7")
        #expect(event.teamChanged.fromTeam == "tier-1" && event.teamChanged.toTeam == "tier-2" && event.teamChanged.cause == "overflow")
        #expect(event.eventID == IncidentEvent(routing: decision, trigger: "clock-x-1", at: at)?.eventID, "deterministic id")
        #expect(event.eventTypeName == "TeamChanged")
        try IncidentEventValidator().validate(event)
        #expect(SlaInput(event) == nil, "the escalator ignores it: clocks untouched")

        var sameTeam = event
        sameTeam.teamChanged.toTeam = "tier-1"
        #expect(throws: SchemaViolation.self) { try IncidentEventValidator().validate(sameTeam) }
    }

    @Test func onlyTheNewTeamsDeskTakesItKeepingItsOpeningTime() throws {
        let event = try #require(IncidentEvent(routing: decision, trigger: "t", at: Date()))
        let opened = Date(timeIntervalSince1970: 1_700_000_000)
        let attributes = RoutedAttributes(
            severity: Severity.b.rawValue, product: "billing", language: "de", customer: "acme", openedAt: opened)
        let input = try #require(RoutingInput(event, team: "tier-2", attributes: attributes))
        #expect(
            input
                == .transferred(
                    RoutingIncident(
                        id: "I-7", team: "tier-2", severity: .b, product: "billing", language: "de", openedAt: opened, customer: "acme")))
        #expect(RoutingInput(event, team: "tier-1", attributes: attributes) == nil, "the old desk dropped it when it decided")
        #expect(RoutingInput(event, team: "tier-2", attributes: RoutedAttributes(severity: nil)) == nil, "no severity: not routable")
    }
}
