import Foundation
import SwiftProtobuf
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// A staff tool's requests through the real router (dispatcher and desks): give an incident to a
/// named agent, give it back to the queue, take a waiting one.
@Suite("Router: reassign to an agent or the queue, and take")
struct StaffRequestTests {
    @Test func namedReassignmentsGiveBacksAndTakesAreDecidedByTheDesk() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        try await fixture.open("S-1")
        try await eventually("S-1 assigned", timeout: .seconds(20)) { fixture.assignments("S-1").count == 1 }
        let first = try #require(fixture.assignments("S-1").first).assigned.agentID
        let other = first == "ana" ? "bo" : "ana"

        try await fixture.publish("to-other", "S-1") { $0.reassignRequested = .with { $0.toAgentID = other } }
        try await eventually("S-1 given to \(other)", timeout: .seconds(20)) { fixture.moves("S-1").count == 1 }
        let named = try #require(fixture.moves("S-1").first).reassigned
        #expect(named.fromAgentID == first && named.toAgentID == other && named.reason.cause == "requested")

        try await fixture.publish("back", "S-1") { $0.reassignRequested = .with { $0.toQueue = true } }
        try await eventually("S-1 given back and moved on", timeout: .seconds(20)) { fixture.moves("S-1").count == 2 }
        let back = try #require(fixture.moves("S-1").last).reassigned
        #expect(back.fromAgentID == other && back.toAgentID == first && back.reason.cause == "returned")

        // Both away: a new incident waits; ana takes it, and bo's later take changes nothing.
        for agent in ["ana", "bo"] {
            let event = AgentEvent.with {
                $0.eventID = "\(agent)-away"; $0.agentID = agent; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                $0.presenceChanged = .with { $0.presence = .away }
            }
            _ = try await fixture.producer.send(
                KafkaProducerMessage(topic: fixture.topics.agentEvents, key: Array(agent.utf8), value: try event.serializedBytes()))
        }
        try await eventually("both away on the desk", timeout: .seconds(20)) { fixture.instance.router.statistics.online == 0 }
        try await fixture.open("S-2")
        try await fixture.publish("take-ana", "S-2") {
            $0.reassignRequested = .with {
                $0.toAgentID = "ana"; $0.onlyIfWaiting = true
            }
        }
        try await eventually("S-2 taken by ana", timeout: .seconds(20)) { fixture.assignments("S-2").count == 1 }
        let taken = try #require(fixture.assignments("S-2").first).assigned
        #expect(taken.agentID == "ana" && taken.reason.cause == "taken" && taken.reason.candidatesConsidered == 1)
        try await fixture.publish("take-bo", "S-2") {
            $0.reassignRequested = .with {
                $0.toAgentID = "bo"; $0.onlyIfWaiting = true
            }
        }
        // A marker after bo's take: once it is decided, bo's take was too.
        try await fixture.publish("take-marker", "S-1") { $0.reassignRequested = .with { $0.toAgentID = other } }
        try await eventually("the marker is decided", timeout: .seconds(20)) { fixture.moves("S-1").count == 3 }
        #expect(fixture.assignments("S-2").count == 1 && fixture.moves("S-2").isEmpty, "ana holds S-2: bo cannot take it")
        try await fixture.stop()
    }
}

extension ReopenFixture {
    func moves(_ incident: String) -> [IncidentEvent] {
        decisions.byIncident.withLock { $0[incident] ?? [] }.filter { if case .reassigned = $0.event { return true } else { return false } }
    }
}
