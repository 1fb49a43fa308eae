import Foundation
import Testing
import TriageDashboard
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema

@Suite("Dashboard collector on the embedded broker")
struct DashboardCollectorTests {
    @Test func theSnapshotShowsIncidentsAgentsChartsAndLagAsTheTopicsTellThem() async throws {
        let cluster = try KafkaTestCluster()
        let floor = try await PublishedFloor(cluster: cluster)
        let done = uniqueName("g-done")
        let idle = uniqueName("g-idle")
        try await floor.commitAllOfWork(group: done, cluster: cluster)

        let wall = Date(timeIntervalSince1970: 1_000_000)
        let configuration = DashboardConfiguration(
            series: .init(bucket: .seconds(5), count: 12), lagInterval: .milliseconds(200), wallClock: { wall })
        let collector = try await DashboardCollector(
            client: cluster.embedded.clientConfiguration, groups: [done: floor.work, idle: floor.work, "g-missing": "no-such-topic"],
            now: { Floor.now }, topics: floor.topics, configuration: configuration, logger: cluster.logger
        )
        let running = Task { try await collector.run() }
        try await withDeadline(.seconds(30)) { try await collector.waitUntilCaughtUp() }
        try await eventually("every group measured", timeout: .seconds(20)) { collector.snapshot().lag.allSatisfy { $0.measuredAt != nil } }
        let snapshot = collector.snapshot()

        // Incidents: open ones only, most urgent first, countdowns in SLA time.
        #expect(snapshot.now == Floor.now && snapshot.wallClock == wall)
        #expect(snapshot.incidents.map(\.id) == Floor.openInOrder)
        #expect(snapshot.incidentTotal == 8)
        let incident = Dictionary(uniqueKeysWithValues: snapshot.incidents.map { ($0.id, $0) })
        #expect(incident["INC-LATE"]?.sla?.breached == true && incident["INC-LATE"]?.sla?.seconds == -1_800)
        #expect(incident["INC-SOON"]?.sla?.breached == false && incident["INC-SOON"]?.sla?.seconds == 9_000)
        #expect(incident["INC-WAIT"]?.sla?.paused == true && incident["INC-WAIT"]?.sla?.seconds == 6_600)
        #expect(
            incident["INC-ACKED"]?.sla == nil && incident["INC-ACKED"]?.firstResponse?.minutes == 10
                && incident["INC-ACKED"]?.firstResponse?.met == true)
        #expect(
            incident["INC-7F3A9C01D2E4B658"]?.sla == nil && incident["INC-7F3A9C01D2E4B658"]?.isPaused == true
                && incident["INC-7F3A9C01D2E4B658"]?.waitingSince == Floor.at(130))
        #expect(incident["INC-LATE"]?.assignedAgent == "ana" && incident["INC-LATE"]?.title == "invoices fail")
        #expect(incident["INC-Q2"]?.assignedAgent == "" && incident["INC-Q2"]?.status == "open")  // handed back to the queue

        // Agents with presence and the desk's load.
        #expect(snapshot.agents.map(\.id) == ["ana", "bo", "cy"])
        #expect(snapshot.agents.map(\.presence) == ["online", "away", "offline"])
        #expect(snapshot.agents.map(\.load) == [5, 0, 0] && snapshot.agents.map(\.assigned) == [2, 0, 0])
        #expect(snapshot.agents[0].assignedBySeverity == .init(a: 1, b: 1) && snapshot.loadWeights == .init(a: 3, b: 2, c: 1))

        // Queues per team from the desks' queue records (the late write behind w-2's fence
        // ignored), the oldest by its time in the queue: INC-Q2 went back to it at 140.
        #expect(
            snapshot.queues == [
                .init(team: "tier-1", depth: 0, oldest: nil),
                .init(
                    team: "tier-2-enterprise-emea", depth: 2,
                    oldest: .init(id: "INC-Q1", severity: "A", openedAt: Floor.at(130), queuedSince: Floor.at(130))),
            ])
        #expect(snapshot.agents.map(\.capacity) == [6, 4, 3])

        // Charts: everything was read "at" the injected wall-clock instant, the last bucket.
        #expect(snapshot.series.starts.count == 12 && snapshot.series.starts.last == wall)
        #expect(snapshot.series.warnings.last == 2 && snapshot.series.warnings.reduce(0, +) == 2)
        #expect(snapshot.series.breaches.last == 1)  // the redelivered breach counts once
        #expect(snapshot.series.escalations.last == 1)
        #expect(snapshot.series.opened.last == 9 && snapshot.series.closed.last == 1)

        // Lag: a group that committed everything, one that never started, one on a missing topic.
        let lag = Dictionary(uniqueKeysWithValues: snapshot.lag.map { ($0.group, $0) })
        #expect(lag[done]?.lag == 0 && lag[done]?.notStarted == false && lag[done]?.partitions == 2 && lag[done]?.error == nil)
        #expect(lag[idle]?.lag == 10 && lag[idle]?.notStarted == true && lag[idle]?.error == nil)
        #expect(lag["g-missing"]?.lag == nil && lag["g-missing"]?.error?.contains("no-such-topic") == true)

        // Figures.
        let figures = snapshot.figures
        #expect(figures.openIncidents == 8 && figures.breachedIncidents == 1)
        // Paused: both incidents waiting on the customer, INC-7F3A9C01D2E4B658 without a clock to pause.
        #expect(figures.pausedIncidents == Floor.paused.count && figures.queuedIncidents == 2)
        #expect(figures.agents == 3 && figures.agentsOnline == 1)
        #expect(figures.warnings == 2 && figures.breaches == 1 && figures.escalations == 1 && figures.opened == 9 && figures.closed == 1)
        #expect(figures.records == 65 && figures.undecodable == 1 && figures.caughtUp)

        // A record published now shows up live; a new commit moves the lag.
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        var late = try #require(Floor.finalSnapshots().first { $0.incidentID == "INC-SOON" })
        late.status = .closedResolved
        _ = try await producer.send(
            .init(topic: floor.topics.incidentState, key: Array("INC-SOON".utf8), value: Array(try late.jsonData())))
        try await eventually("INC-SOON closed on the board", timeout: .seconds(30)) { collector.snapshot().incidentTotal == 7 }
        // INC-Q1 leaves tier-2's queue (its queue record's tombstone, by the fence's writer).
        _ = try await producer.send(
            .init(
                topic: floor.topics.routerState, key: DeskRecords.queueKey(team: "tier-2-enterprise-emea", incident: "INC-Q1"), value: nil,
                headers: [KafkaHeader(name: DeskLog.writerHeader, string: "w-2")], partition: 1))
        try await eventually("INC-Q1 out of the queue", timeout: .seconds(30)) {
            collector.snapshot().queues.last.map { $0.depth == 1 && $0.oldest?.id == "INC-Q2" && $0.oldest?.queuedSince == Floor.at(140) }
                ?? false
        }
        await producer.close()
        try await floor.commitAllOfWork(group: idle, cluster: cluster)
        try await eventually("idle group caught up", timeout: .seconds(30)) {
            collector.snapshot().lag.first { $0.group == idle }.map { $0.lag == 0 && !$0.notStarted } ?? false
        }

        collector.stop()
        try await withDeadline(.seconds(10)) { try await running.value }
    }

    @Test func aMissingTopicFailsAtStartWithItsName() async throws {
        let cluster = try KafkaTestCluster()
        let topics = DashboardTopics(
            incidentState: "absent-state", incidentEvents: "absent-events", agentEvents: "absent-agents", routerState: "absent-desks")
        do {
            _ = try await DashboardCollector(
                client: cluster.embedded.clientConfiguration, groups: [:], now: { Date() }, topics: topics, logger: cluster.logger)
            Issue.record("expected a missing-topic error")
        } catch let error as DashboardError {
            #expect(error.code == .missingTopic)
            #expect(error.message.contains("absent-"))
        }
    }
}
