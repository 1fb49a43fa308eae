import Foundation
import Synchronization
import Testing
import TriageEscalator
import TriageKafka
import TriageKafkaTesting
import TriageSLA
import TriageSLABacktest
import TriageSLAEvents
import TriageSchema

/// The back-test's promise, against the real thing: a real ``Escalator`` (consumer group,
/// timer, changelog) runs on the embedded broker at ×720 SLA time while a story is published;
/// then the lifecycle topic is read back with its record timestamps and replayed through
/// ``SlaReplay`` under the same policy. The replay must fire exactly the warnings and
/// escalations the escalator published: same event ids, same instants, nothing more.
@Suite("Back-test replay against a real escalator", .serialized)
struct BacktestReplayTests {
    static let scale = 720.0

    /// Sev A under 24x7: first response 2 h, resolution 3 h, update 4 h; B: first response 4 h.
    static let policy = SlaPolicy(
        targets: [
            .twentyFourSeven: [
                .a: SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 180, updateMinutes: 240),
                .b: SlaTargets(firstResponseMinutes: 240), .c: SlaTargets(firstResponseMinutes: 480),
            ]
        ])

    @Test func theReplayUnderThePolicyInForceReproducesWhatTheEscalatorPublished() async throws {
        try await HeavyTests.run(weight: 2) { try await self.body() }
    }

    func body() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 3)
        let clock = ScaledClock(scale: Self.scale, origin: Date())
        let publisher = try world.publisher(clock: clock)
        let (escalator, group) = try world.startEscalator(group: uniqueName("escalator"), clock: clock, policy: Self.policy)
        let running = Task { try await group.run() }
        try await eventually("the escalator owns all partitions", timeout: .seconds(90)) { escalator.statistics.partitions == 3 }

        let start = clock.now()
        func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
        /// Publishes `event` once SLA time has reached `minutes` (the validator refuses the future).
        func publish(at minutes: Double, _ event: IncidentEvent) async throws {
            let wait = at(minutes).timeIntervalSince(clock.now()) / Self.scale
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
            _ = try await publisher.publish(event)
        }
        // Every event lies 20 SLA minutes (1.7 real seconds) or more before the next milestone
        // of its incident, so the story does not depend on how fast the broker carries a record.
        try await publish(at: 0, opened("INC-NEVER", at: at(0)))
        try await publish(at: 0, opened("INC-ACK", at: at(0)))
        try await publish(at: 0, opened("INC-PAUSE", at: at(0)))
        try await publish(at: 0, opened("INC-SEV", at: at(0), severity: .b))
        try await publish(at: 20, lifecycleEvent("INC-PAUSE", "wait", at: at(20)) { $0.waitingOnCustomer = .with { $0.reason = "logs" } })
        try await publish(at: 30, lifecycleEvent("INC-ACK", "ack", at: at(30)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        try await publish(
            at: 30,
            lifecycleEvent("INC-SEV", "sev", at: at(30)) {
                $0.severityChanged = .with {
                    $0.from = .b; $0.to = .a; $0.reason = "worse"
                }
            })
        try await publish(at: 50, lifecycleEvent("INC-PAUSE", "answer", at: at(50)) { $0.customerResponded = .init() })
        try await publish(at: 70, lifecycleEvent("INC-SEV", "ack", at: at(70)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        // Opened 95 SLA minutes late: the escalator fires only the overdue warnings it has not
        // been overtaken on (first response 75 %, resolution 50 %) when it reads it.
        try await publish(at: 95, opened("INC-LATE", at: at(0)))
        try await publish(at: 100, lifecycleEvent("INC-PAUSE", "ack", at: at(100)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        try await publish(at: 100, lifecycleEvent("INC-LATE", "ack", at: at(100)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        try await publish(at: 130, lifecycleEvent("INC-PAUSE", "closed", at: at(130)) { $0.closedResolved = .init() })
        try await publish(at: 140, lifecycleEvent("INC-LATE", "closed", at: at(140)) { $0.closedResolved = .init() })
        try await publish(at: 140, lifecycleEvent("INC-SEV", "closed", at: at(140)) { $0.closedResolved = .init() })
        try await publish(
            at: 185,
            lifecycleEvent("INC-ACK", "solved", at: at(185)) {
                $0.solutionDelivered = .with {
                    $0.agentID = "ada"; $0.summary = "ok"
                }
            })
        // INC-NEVER's resolution level 2 (at 240) is the last milestone of the story.
        let wait = at(280).timeIntervalSince(clock.now()) / Self.scale
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
        let end = clock.now()

        // The whole topic as written, with its timestamps, in offset order per partition.
        let records = Mutex<[BacktestRecord]>([])
        _ = try await KafkaPartitionReader.readToEnd(
            topic: world.topics.incidentEvents, partitions: [0, 1, 2], client: world.client, logger: world.logger
        ) { record in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return }
            let entry = BacktestRecord(
                event: event, partition: record.partition, position: record.offset,
                seenAt: record.timestamp.map { clock.slaInstant(of: $0) })
            records.withLock { $0.append(entry) }
        }
        await group.triggerGracefulShutdown()
        try await running.value

        let log = records.withLock { $0 }
        func key(_ id: String, _ due: Date) -> String { "\(id)@\(Int64((due.timeIntervalSince1970 * 1000).rounded()))" }
        let published = Set(
            log.filter { $0.event.producer == escalatorProducerName }.map { key($0.event.eventID, $0.event.occurredAt.date) })
        var replay = SlaReplay(rules: SlaRules(Self.policy))
        var fired: [ReplayedAction] = []
        for record in log { fired += replay.replay(record) }
        fired += replay.finish(at: end).actions
        let replayed = fired.map { key($0.eventID, $0.due) }
        #expect(Set(replayed).count == replayed.count, "each milestone once")
        // INC-NEVER 8 (both clocks' warnings and levels), INC-ACK 4 (update 50 %, resolution
        // 50 %, 75 %, level 1), INC-PAUSE 2, INC-SEV 2, INC-LATE 3.
        #expect(published.count == 19, "the story's milestones: \(published.count)")
        #expect(
            Set(replayed) == published,
            "only the escalator's: \(Set(replayed).subtracting(published)); only the replay's: \(published.subtracting(replayed))")
        // The late Opened: two overdue warnings fired as one each (first response 75 %, resolution 50 %).
        let late = fired.filter { $0.incident == "INC-LATE" }.map { ($0.action.target, $0.action.kind) }
        #expect(late.count >= 2)
        if case .warning(let percent, _) = late.first?.1 { #expect(percent == 75) }
    }
}
