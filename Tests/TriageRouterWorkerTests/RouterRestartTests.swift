import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema
import TriageStreams

@Suite("Router fencing: an instance that lost its desks never publishes a decision made on a stale view")
struct FencingTests {
    /// Another instance's takeover is simulated by its fence alone (what a router writes first
    /// when it is assigned a partition); this router still believes it owns the partition, as a
    /// router starved past its session timeout would.
    @Test func aForeignFenceWithholdsTheStepsDecisionsUntilThePartitionIsTakenOverAgain() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        try await fixture.open("F-1")
        try await eventually("F-1 assigned", timeout: .seconds(20)) { fixture.assignments("F-1").count == 1 }
        #expect(fixture.instance.router.statistics.fencedOff == 0)

        let partition = routingPartition(team: "desk", partitions: 2)
        _ = try await fixture.producer.send(
            KafkaProducerMessage(
                topic: fixture.topics.deskState, key: DeskLog.fenceKey, value: Array("intruder-1".utf8),
                headers: [KafkaHeader(name: DeskLog.writerHeader, string: "intruder-1")], partition: partition
            )
        )
        try await fixture.open("F-2")
        try await eventually("the router found the intruder's fence before its write", timeout: .seconds(20)) {
            fixture.instance.router.statistics.fencedOff == 1
        }
        #expect(fixture.assignments("F-2").isEmpty, "the decision on F-2 was made on a desk another instance owned: withheld")
        #expect(fixture.instance.router.statistics.partitions == 1, "the fenced-off partition was dropped")

        // The group still has the partition here: after the retake delay (2 × the 3 s session
        // timeout) the router fences it again, restores and replays F-2 from the committed offset.
        try await eventually("F-2 assigned after the retake", timeout: .seconds(40)) { fixture.assignments("F-2").count >= 1 }
        #expect(fixture.instance.router.statistics.retaken == 1)
        #expect(fixture.instance.router.statistics.partitions == 2)
        #expect(Set(fixture.assignments("F-2").map(\.eventID)).count == 1, "one decision on F-2")
        #expect(Set(fixture.assignments("F-1").map(\.eventID)).count == 1, "F-1 was not decided again")

        // The desk log read as a restore reads it: the router's retake fence is the last, and its
        // core written after the intruder's fence (the withheld step) does not count.
        let replayed = try await RouterHostileRecordsTests.desks(fixture, partition: partition).log
        #expect(replayed.fences == 3, "the router's first takeover, the intruder's, the router's retake")
        #expect(replayed.writer != "intruder-1" && replayed.writer != nil)
        #expect(replayed.ignored >= 1, "the withheld step's core is ignored")
        let restored = DeskRecords.restore(replayed.latest)
        let desk = try #require(restored.desks["desk"])
        #expect(desk.assignments["F-1"] != nil && desk.assignments["F-2"] != nil, "\(desk.assignments)")
        try await fixture.stop()
    }
}

@Suite("Router: records read again after a restart are not applied twice")
struct ReplayTests {
    /// A router of a new group reads `triage.routing` from its beginning against the desks the
    /// first one stored: every record is already in them (each core keeps the highest routing
    /// offset it reflects). Applied again, the Opened of the closed R-1 (desks forget closed
    /// incidents) would assign it a second time.
    @Test func aRestoredDeskSkipsTheRecordsItAlreadyReflects() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        try await fixture.open("R-1")
        try await eventually("R-1 assigned", timeout: .seconds(20)) { fixture.assignments("R-1").count == 1 }
        try await fixture.publish("close-R-1", "R-1") { $0.closedResolved = .with { $0.closedBy = "ana" } }
        try await fixture.open("R-2")
        try await eventually("R-2 assigned", timeout: .seconds(60)) { fixture.assignments("R-2").count == 1 }
        #expect(fixture.instance.router.statistics.assigned == 2)
        let again = try await fixture.restartRouter(group: uniqueName("router-again"))
        // The team's routing partition holds Opened R-1, its close and Opened R-2 before R-3's
        // Opened: once R-3 is assigned, everything before it was read again.
        try await eventually("the new router owns the desks", timeout: .seconds(30)) { again.router.statistics.partitions == 2 }
        try await fixture.open("R-3")
        try await eventually("R-3 assigned by the new router", timeout: .seconds(30)) { fixture.assignments("R-3").count == 1 }
        #expect(again.router.statistics.skipped >= 3, "Opened R-1, its close, Opened R-2 were in the restored desk")
        // Counted once the step's writes are acknowledged, which can be after the watcher saw R-3's
        // Assigned (a loaded CI run checked in between and saw 0).
        try await eventually("the new router counted R-3", timeout: .seconds(15)) { again.router.statistics.assigned >= 1 }
        #expect(again.router.statistics.assigned == 1, "only R-3: nothing read again was decided again")
        #expect(Set(fixture.assignments("R-1").map(\.eventID)).count == 1)
        try await again.stop()
        await fixture.stopWatching()
    }
}

@Suite("Router: a restarted router starts from the roster as it stands, not its history")
struct RosterHistoryTests {
    /// Ana went offline and came back, Bo went offline; then R-1 was opened and assigned to Ana.
    static func anaHoldsR1AfterPresenceHistory() async throws -> ReopenFixture {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        for (index, (agent, presence)) in [("ana", Triage_V1_Presence.offline), ("ana", .online), ("bo", .offline)].enumerated() {
            let event = AgentEvent.with {
                $0.eventID = "history-\(index)"; $0.agentID = agent; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                $0.presenceChanged = .with { $0.presence = presence }
            }
            _ = try await fixture.producer.send(
                KafkaProducerMessage(topic: fixture.topics.agentEvents, key: Array(agent.utf8), value: try event.serializedBytes()))
        }
        try await Task.sleep(for: .seconds(1))
        try await fixture.open("R-1")
        try await eventually("R-1 assigned to Ana", timeout: .seconds(20)) { fixture.assignments("R-1").first?.assigned.agentID == "ana" }
        return fixture
    }

    /// Ana went offline and came back before R-1 was opened; Bo is offline. A restarted router
    /// that re-applied that history would move R-1 (Ana offline before acknowledging) to the
    /// queue and back to her: two decisions nobody asked for.
    @Test func pastPresenceChangesAreNotAppliedAgain() async throws {
        let fixture = try await Self.anaHoldsR1AfterPresenceHistory()
        let again = try await fixture.restartRouter()
        try await eventually("the restarted router owns the desks", timeout: .seconds(30)) { again.router.statistics.partitions == 2 }
        #expect(again.router.statistics.agents == 2)
        // A presence change after the restart still counts: Bo comes online and takes R-2.
        let online = AgentEvent.with {
            $0.eventID = "bo-back"; $0.agentID = "bo"; $0.occurredAt = Google_Protobuf_Timestamp(date: Date());
            $0.presenceChanged = .with { $0.presence = .online }
        }
        _ = try await fixture.producer.send(
            KafkaProducerMessage(topic: fixture.topics.agentEvents, key: Array("bo".utf8), value: try online.serializedBytes()))
        // Applied before R-2 arrives (a fixed sleep was too short on a loaded machine: R-2 went to Ana).
        try await eventually("the router applied Bo's return", timeout: .seconds(30)) { again.router.statistics.online == 2 }
        try await fixture.open("R-2")
        try await eventually("R-2 assigned", timeout: .seconds(60)) { fixture.assignments("R-2").count == 1 }
        #expect(fixture.assignments("R-2").first?.assigned.agentID == "bo", "Ana holds R-1; Bo, online again, is less loaded")
        let decisionsOnR1 = fixture.decisions.byIncident.withLock { $0["R-1"] ?? [] }
        #expect(Set(decisionsOnR1.map(\.eventID)).count == 1, "R-1 was not moved: \(decisionsOnR1.map(\.event))")
        #expect(again.router.statistics.reassigned == 0 && again.router.statistics.assigned == 1)
        try await again.stop()
        await fixture.stopWatching()
    }
}

extension RosterHistoryTests {
    /// The roster consumer commits nothing: when its own group rebalances (a session timeout, a
    /// coordinator fault) it reads the agent topic from the beginning again. Simulated by moving
    /// it back to offset 0; agent events it already applied must not decide anything again.
    @Test func agentEventsReadAgainByTheRosterConsumerAreNotAppliedTwice() async throws {
        let fixture = try await Self.anaHoldsR1AfterPresenceHistory()
        let roster = fixture.instance.rosterConsumer
        for partition in try roster.assignment() { try await roster.seek(partition, to: 0, timeout: .seconds(60)) }
        try await Task.sleep(for: .seconds(2))
        try await fixture.open("R-2")
        try await eventually("R-2 assigned", timeout: .seconds(60)) { fixture.assignments("R-2").count == 1 }
        let decisionsOnR1 = fixture.decisions.byIncident.withLock { $0["R-1"] ?? [] }
        #expect(Set(decisionsOnR1.map(\.eventID)).count == 1, "R-1 was not moved: \(decisionsOnR1.map(\.event))")
        #expect(fixture.instance.router.statistics.reassigned == 0)
        try await fixture.stop()
    }
}
