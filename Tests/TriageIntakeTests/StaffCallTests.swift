import Foundation
import GRPCCore
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// The calls a staff tool (the console) makes for its signed-in people: reassign, take, set
/// presence, and the `triage-actor` metadata that names them on every event (the audit trail).
@Suite("Intake: staff calls and the actor", .serialized)
struct StaffCallTests {
    static func metadata(_ token: String, actor: String?) -> Metadata {
        var metadata = Tokens.metadata(token)
        if let actor { metadata.addString(actor, forKey: "triage-actor") }
        return metadata
    }

    @Test func staffCallsPublishWhatTheRouterNeedsAndCarryTheActor() async throws {
        let harness = try await IntakeHarness(clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(3_600)))
        try await harness.grant(IntakeServiceTests.pack("PACK-S"))
        try await harness.waitForEntitlement("PACK-S")
        let staff = Self.metadata(Tokens.acme, actor: "lead-li")
        let portal = Self.metadata(Tokens.acmeCustomers, actor: "mallory")

        let incident = try await harness.withClient { intake in
            let incident = try await intake.openIncident(openRequest("s-open"), metadata: staff).incidentID
            _ = try await intake.addNote(
                .with {
                    $0.requestID = "s-note"; $0.incidentID = incident; $0.author = "customer"; $0.text = "any news?"
                }, metadata: portal)
            _ = try await intake.reassign(
                .with {
                    $0.requestID = "s-move"; $0.incidentID = incident; $0.toAgentID = "bob"; $0.note = "bob knows ledgers"
                }, metadata: staff)
            _ = try await intake.reassign(
                .with {
                    $0.requestID = "s-back"; $0.incidentID = incident; $0.toQueue = true
                }, metadata: staff)
            _ = try await intake.takeNext(
                .with {
                    $0.requestID = "s-take"; $0.incidentID = incident; $0.agentID = "cy"
                }, metadata: Self.metadata(Tokens.acme, actor: "cy"))

            // Refused calls change nothing.
            let portalMove = await status {
                try await intake.reassign(
                    .with {
                        $0.incidentID = incident; $0.toQueue = true
                    }, metadata: portal)
            }
            #expect(portalMove?.0 == .permissionDenied)
            #expect(portalMove?.1.contains("customer portal") == true)
            let portalPresence = await status {
                try await intake.setPresence(
                    .with {
                        $0.agentID = "bob"; $0.presence = .online
                    }, metadata: portal)
            }
            #expect(portalPresence?.0 == .permissionDenied)
            let both = await status {
                try await intake.reassign(
                    .with {
                        $0.incidentID = incident; $0.toQueue = true; $0.toAgentID = "bob"
                    }, metadata: staff)
            }
            #expect(both?.0 == .invalidArgument && both?.1.contains("to_queue") == true)
            let longActor = await status {
                try await intake.addNote(
                    .with {
                        $0.incidentID = incident; $0.author = "x"; $0.text = "x"
                    }, metadata: Self.metadata(Tokens.acme, actor: String(repeating: "a", count: 129)))
            }
            #expect(longActor?.0 == .invalidArgument && longActor?.1.contains("triage-actor") == true)
            let noPresence = await status {
                try await intake.setPresence(.with { $0.agentID = "bob" }, metadata: staff)
            }
            #expect(noPresence?.0 == .invalidArgument)
            return incident
        }

        let events = try await readAll(harness.topics.incidentEvents, count: 5, cluster: harness.cluster)
            .map { try IncidentEvent(serializedBytes: $0.value ?? []) }
        #expect(events.allSatisfy { $0.incidentID == incident })
        #expect(events.map(\.actor) == ["lead-li", "", "lead-li", "lead-li", "cy"], "a portal's claim is ignored")
        #expect(events[1].noteAdded.text == "any news?")
        #expect(events[2].reassignRequested.toAgentID == "bob" && !events[2].reassignRequested.toQueue)
        #expect(events[2].reassignRequested.requestedBy == "lead-li" && events[2].reassignRequested.note == "bob knows ledgers")
        #expect(events[3].reassignRequested.toQueue && events[3].reassignRequested.toAgentID.isEmpty)
        let take = events[4].reassignRequested
        #expect(take.toAgentID == "cy" && take.onlyIfWaiting && take.requestedBy == "cy")

        // A reassign on a closed incident is refused like any call the lifecycle does not allow.
        try await harness.withClient { intake in
            _ = try await intake.closeResolved(
                .with {
                    $0.requestID = "s-close"; $0.incidentID = incident; $0.closedBy = "cy"
                }, metadata: staff)
            let late = await status {
                try await intake.takeNext(
                    .with {
                        $0.incidentID = incident; $0.agentID = "cy"
                    }, metadata: staff)
            }
            #expect(late?.0 == .failedPrecondition && late?.1.contains("closed_resolved") == true)
        }
    }

    @Test func setPresencePublishesOnceAnAgentEventWithTheActor() async throws {
        let harness = try await IntakeHarness(clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(3_600)))
        let staff = Self.metadata(Tokens.acme, actor: "bob")
        let (first, repeated) = try await harness.withClient { intake in
            let first = try await intake.setPresence(
                .with {
                    $0.requestID = "p-1"; $0.agentID = "bob"; $0.presence = .away
                }, metadata: staff)
            let repeated = try await intake.setPresence(
                .with {
                    $0.requestID = "p-1"; $0.agentID = "bob"; $0.presence = .away
                }, metadata: staff)
            _ = try await intake.setPresence(
                .with {
                    $0.requestID = "p-2"; $0.agentID = "bob"; $0.presence = .online
                }, metadata: Tokens.metadata(Tokens.ops))
            return (first, repeated)
        }
        #expect(first == repeated, "a retry is answered with the same receipt")
        let records = try await readAll(harness.topics.agentEvents, count: 2, cluster: harness.cluster)
        #expect(records.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["bob", "bob"], "keyed by agent")
        let events = try records.map { try AgentEvent(serializedBytes: $0.value ?? []) }
        #expect(events.map(\.presenceChanged.presence) == [.away, .online], "the retry was not published again")
        #expect(events[0].eventID == first.eventID && events[0].actor == "bob" && events[0].producer == "intake")
        #expect(events[1].actor == "", "an admin tenant without triage-actor names nobody")
    }
}
