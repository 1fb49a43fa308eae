import Foundation
import Testing
import TriageDashboard
import TriageKafka
import TriageKafkaTesting
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
        let configuration = DashboardConfiguration(series: .init(bucket: .seconds(5), count: 12), lagInterval: .milliseconds(200), wallClock: { wall })
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
        #expect(snapshot.incidentTotal == 4)
        #expect(snapshot.incidents[0].sla?.breached == true && snapshot.incidents[0].sla?.seconds == -1_800)
        #expect(snapshot.incidents[1].sla?.breached == false && snapshot.incidents[1].sla?.seconds == 9_000)
        #expect(snapshot.incidents[2].sla?.paused == true && snapshot.incidents[2].sla?.seconds == 6_600)
        #expect(snapshot.incidents[3].sla == nil)
        #expect(snapshot.incidents[0].assignedAgent == "ana" && snapshot.incidents[0].title == "invoices fail")

        // Agents with presence and the desk's load.
        #expect(snapshot.agents.map(\.id) == ["ana", "bo", "cy"])
        #expect(snapshot.agents.map(\.presence) == ["online", "away", "offline"])
        #expect(snapshot.agents.map(\.load) == [3, 0, 0] && snapshot.agents.map(\.assigned) == [1, 0, 0])
        #expect(snapshot.agents.map(\.capacity) == [6, 4, 3])

        // Charts: everything was read "at" the injected wall-clock instant, the last bucket.
        #expect(snapshot.series.starts.count == 12 && snapshot.series.starts.last == wall)
        #expect(snapshot.series.warnings.last == 2 && snapshot.series.warnings.reduce(0, +) == 2)
        #expect(snapshot.series.breaches.last == 1)  // the redelivered breach counts once
        #expect(snapshot.series.escalations.last == 1)
        #expect(snapshot.series.opened.last == 5 && snapshot.series.closed.last == 1)

        // Lag: a group that committed everything, one that never started, one on a missing topic.
        let lag = Dictionary(uniqueKeysWithValues: snapshot.lag.map { ($0.group, $0) })
        #expect(lag[done]?.lag == 0 && lag[done]?.notStarted == false && lag[done]?.partitions == 2 && lag[done]?.error == nil)
        #expect(lag[idle]?.lag == 10 && lag[idle]?.notStarted == true && lag[idle]?.error == nil)
        #expect(lag["g-missing"]?.lag == nil && lag["g-missing"]?.error?.contains("no-such-topic") == true)

        // Figures.
        let figures = snapshot.figures
        #expect(figures.openIncidents == 4 && figures.breachedIncidents == 1 && figures.pausedIncidents == 1)
        #expect(figures.agents == 3 && figures.agentsOnline == 1)
        #expect(figures.warnings == 2 && figures.breaches == 1 && figures.escalations == 1 && figures.opened == 5 && figures.closed == 1)
        #expect(figures.records == 36 && figures.undecodable == 1 && figures.caughtUp)

        // A record published now shows up live; a new commit moves the lag.
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        var late = try #require(Floor.finalSnapshots().first { $0.incidentID == "INC-SOON" })
        late.status = .closedResolved
        _ = try await producer.send(.init(topic: floor.topics.incidentState, key: Array("INC-SOON".utf8), value: Array(try late.jsonData())))
        try await eventually("INC-SOON closed on the board", timeout: .seconds(10)) { collector.snapshot().incidentTotal == 3 }
        await producer.close()
        try await floor.commitAllOfWork(group: idle, cluster: cluster)
        try await eventually("idle group caught up", timeout: .seconds(10)) {
            collector.snapshot().lag.first { $0.group == idle }.map { $0.lag == 0 && !$0.notStarted } ?? false
        }

        collector.stop()
        try await withDeadline(.seconds(10)) { try await running.value }
    }

    @Test func aMissingTopicFailsAtStartWithItsName() async throws {
        let cluster = try KafkaTestCluster()
        let topics = DashboardTopics(incidentState: "absent-state", incidentEvents: "absent-events", agentEvents: "absent-agents", routerState: "absent-desks")
        do {
            _ = try await DashboardCollector(client: cluster.embedded.clientConfiguration, groups: [:], now: { Date() }, topics: topics, logger: cluster.logger)
            Issue.record("expected a missing-topic error")
        } catch let error as DashboardError {
            #expect(error.code == .missingTopic)
            #expect(error.message.contains("absent-"))
        }
    }
}
