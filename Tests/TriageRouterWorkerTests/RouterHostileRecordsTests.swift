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

/// Faults an outside attack found in the router's own topics (issue 21).
@Suite("Router: hostile records on its own topics change nothing they should not")
struct RouterHostileRecordsTests {
    /// The desk log read as a restore reads it.
    static func desks(_ fixture: ReopenFixture, partition: Int32) async throws -> (log: FencedLog, restored: [String: TeamDesk]) {
        let log = Mutex(FencedLog(fencing: .deskLog))
        _ = try await KafkaPartitionReader.readToEnd(
            topic: fixture.topics.deskState, partitions: [partition], client: fixture.cluster.embedded.clientConfiguration,
            logger: fixture.cluster.logger
        ) { record in
            guard let key = record.key else { return }
            let writer = record.header(DeskLog.writerHeader).map { String(decoding: $0, as: UTF8.self) }
            log.withLock { $0.add(key: Array(key), value: record.value.map { Array($0) }, writer: writer) }
        }
        let read = log.withLock { $0 }
        return (read, DeskRecords.restore(read.latest).desks)
    }

    /// An unreadable record under a desk's key, written with the current writer's token (so it
    /// counts), used to make the next owner restore the team's desk empty: its agents' load
    /// forgotten, capacity broken afterwards. The restore skips it: the desk keeps its last
    /// readable core.
    @Test func anUnreadableDeskRecordIsSkippedAndTheDeskKeepsItsLastReadableCore() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        try await fixture.open("U-1")
        try await eventually("U-1 assigned", timeout: .seconds(20)) { fixture.assignments("U-1").count == 1 }
        let holder = try #require(fixture.assignments("U-1").first?.assigned.agentID)
        let partition = routingPartition(team: "desk", partitions: 2)
        let writer = try #require(try await Self.desks(fixture, partition: partition).log.writer)
        _ = try await fixture.producer.send(
            KafkaProducerMessage(
                topic: fixture.topics.deskState, key: Array("desk".utf8), value: Array(#"{"appliedThrough": "garbage", not json"#.utf8),
                headers: [KafkaHeader(name: DeskLog.writerHeader, string: writer)], partition: partition
            )
        )
        let again = try await fixture.restartRouter()
        try await eventually("the restarted router owns the desks", timeout: .seconds(30)) { again.router.statistics.partitions == 2 }
        try await fixture.open("U-2")
        try await eventually("U-2 assigned", timeout: .seconds(20)) { fixture.assignments("U-2").count == 1 }
        let desk = try #require(try await Self.desks(fixture, partition: partition).restored["desk"])
        #expect(desk.assignments["U-1"] == holder, "the desk restored from its last readable core still holds U-1: \(desk.assignments)")
        #expect(desk.assignments["U-2"] != nil)
        #expect(Set(fixture.assignments("U-1").map(\.eventID)).count == 1, "U-1 was not decided again")
        try await again.stop()
        await fixture.stopWatching()
    }

    /// Routing records written by anybody but the dispatcher: one whose instant is out of range
    /// (it became an Assigned event no consumer accepts) and one in another partition than its
    /// team's (it vanished without a trace). Both go to the dead-letter topic with a reason.
    @Test func invalidRoutingRecordsAreDeadLetteredNotDecided() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        let home = routingPartition(team: "desk", partitions: 2)
        func opened(_ id: String, seconds: Int64) throws -> [UInt8] {
            try IncidentEvent.with {
                $0.eventID = "\(id)-opened"; $0.incidentID = id; $0.occurredAt = Google_Protobuf_Timestamp(seconds: seconds, nanos: 0)
                $0.opened = .with {
                    $0.severity = .b; $0.product = "billing"; $0.language = "de"
                }
            }.serializedBytes()
        }
        let team = [KafkaHeader(name: routingTeamHeader, string: "desk")]
        _ = try await fixture.producer.send(
            KafkaProducerMessage(
                topic: fixture.topics.routing, key: Array("desk".utf8), value: try opened("H-far", seconds: 1 << 40), headers: team,
                partition: home))
        _ = try await fixture.producer.send(
            KafkaProducerMessage(
                topic: fixture.topics.routing, key: Array("desk".utf8), value: try opened("H-misplaced", seconds: 1_700_000_000),
                headers: team, partition: 1 - home))
        try await fixture.open("H-ok")
        try await eventually("H-ok assigned", timeout: .seconds(20)) { fixture.assignments("H-ok").count == 1 }
        let reasons = Mutex<[String]>([])
        _ = try await KafkaPartitionReader.readToEnd(
            topic: fixture.topics.deadLetter, partitions: [0], client: fixture.cluster.embedded.clientConfiguration,
            logger: fixture.cluster.logger
        ) { record in
            if let reason = record.header(TriageHeader.deadLetterReason) {
                reasons.withLock { $0.append(String(decoding: reason, as: UTF8.self)) }
            }
        }
        let said = reasons.withLock { $0 }
        #expect(said.contains { $0.contains("occurred_at is outside the Timestamp range") }, "\(said)")
        #expect(said.contains { $0.contains("belongs in partition \(home)") }, "\(said)")
        #expect(fixture.assignments("H-far").isEmpty && fixture.assignments("H-misplaced").isEmpty)
        try await fixture.stop()
    }

    /// Agent events a roster file would refuse (capacity 0, a presence that is none of the
    /// three, a key that is not the agent) used to be applied: a presence value 99 made an
    /// agent offline and moved her incident. They are skipped.
    @Test func agentEventsARosterWouldRefuseAreSkipped() async throws {
        let fixture = try await ReopenFixture(closedRetention: .seconds(86_400), sweep: .seconds(60))
        try await fixture.open("A-1")
        try await eventually("A-1 assigned", timeout: .seconds(20)) { fixture.assignments("A-1").count == 1 }
        let holder = try #require(fixture.assignments("A-1").first?.assigned.agentID)
        let hostile: [(key: String, event: AgentEvent)] = [
            (
                holder,
                AgentEvent.with {
                    $0.eventID = "p99"; $0.agentID = holder; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.presenceChanged = .with { $0.presence = .UNRECOGNIZED(99) }
                }
            ),
            (
                holder,
                AgentEvent.with {
                    $0.eventID = "cap0"; $0.agentID = holder; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.profile = .with {
                        $0.team = "desk"; $0.products = ["billing"]; $0.capacity = 0
                    }
                }
            ),
            (
                "mismatch",
                AgentEvent.with {
                    $0.eventID = "moved"; $0.agentID = holder; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.profile = .with {
                        $0.team = "elsewhere"; $0.products = ["billing"]; $0.capacity = 1
                    }
                }
            ),
            (
                "",
                AgentEvent.with {
                    $0.eventID = "nobody"; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                }
            ),
        ]
        for (key, event) in hostile {
            _ = try await fixture.producer.send(
                KafkaProducerMessage(topic: fixture.topics.agentEvents, key: Array(key.utf8), value: try event.serializedBytes()))
        }
        // A valid event after them: once it is applied, the hostile ones were read too.
        let marker = AgentEvent.with {
            $0.eventID = "cy-p"; $0.agentID = "cy"; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
            $0.profile = .with {
                $0.team = "desk"; $0.products = ["billing"]; $0.languages = ["de"]; $0.capacity = 6
            }
        }
        _ = try await fixture.producer.send(
            KafkaProducerMessage(topic: fixture.topics.agentEvents, key: Array("cy".utf8), value: try marker.serializedBytes()))
        try await eventually("the marker agent was applied", timeout: .seconds(20)) { fixture.instance.router.statistics.agents == 3 }
        #expect(fixture.instance.router.statistics.online == 2, "nobody went offline")
        let decisions = fixture.decisions.byIncident.withLock { $0["A-1"] ?? [] }
        #expect(decisions.count == 1, "A-1 stayed with \(holder): \(decisions.map(\.event))")
        let desk = try #require(try await Self.desks(fixture, partition: routingPartition(team: "desk", partitions: 2)).restored["desk"])
        #expect(desk.assignments["A-1"] == holder)
        try await fixture.stop()
    }
}
