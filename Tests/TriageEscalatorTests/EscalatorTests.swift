import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Testing
import TriageEscalator
import TriageKafka
import TriageKafkaTesting
import TriageSLA
import TriageSLAEvents
import TriageSchema
import TriageStreams

// MARK: - Fixtures

/// An escalator test world: unique topics on an embedded cluster (or a `triage broker` process).
struct World {
    let client: KafkaClientConfiguration
    let topics: EscalatorTopics
    let logger: Logger

    /// Creates the four topics on `cluster` (lifecycle and changelog co-partitioned).
    init(cluster: KafkaTestCluster, partitions: Int) throws {
        var topics = EscalatorTopics()
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: partitions)
        topics.changelog = try cluster.makeTopic("sla-state", partitions: partitions)
        topics.notificationRequests = try cluster.makeTopic("notifications", partitions: 1)
        topics.deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
        self.topics = topics
        self.client = cluster.embedded.clientConfiguration
        self.logger = cluster.logger
    }

    init(bootstrap: String, logger: Logger) {
        self.topics = EscalatorTopics()
        self.client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        self.logger = logger
    }

    func consumerConfiguration(group: String, topics: [String]) -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            groupID: group, topics: topics, client: client,
            sessionTimeout: .milliseconds(3_000), heartbeatInterval: .milliseconds(300),
            autoCommitInterval: .milliseconds(200), fetchMaximumWait: .milliseconds(10), revocationTimeout: .seconds(20)
        )
    }

    /// A publisher that judges "in the future" by `clock` (SLA time runs ahead when scaled).
    func publisher(clock: ScaledClock) throws -> IncidentEventPublisher {
        IncidentEventPublisher(producer: try producer(), topic: topics.incidentEvents, validator: .init(now: { clock.now() }))
    }

    func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
    }

    /// An escalator with its consumer and producer running in a service group (in the order
    /// the CLI uses). Returns the group, to be shut down gracefully by the test.
    /// The default policy without severity A's default resolution target (24 h): these tests
    /// count first-response milestones, and at ×720 a resolution warning would join them after a
    /// minute of a slow run.
    static let firstResponseOnly = SlaPolicy(
        targets: [
            .twentyFourSeven: [
                .a: .init(firstResponseMinutes: 120), .b: .init(firstResponseMinutes: 240), .c: .init(firstResponseMinutes: 480),
            ],
            .businessHours: [
                .a: .init(firstResponseMinutes: 120), .b: .init(firstResponseMinutes: 240), .c: .init(firstResponseMinutes: 480),
            ],
        ])

    func startEscalator(group: String, clock: ScaledClock, policy: SlaPolicy = World.firstResponseOnly) throws -> (Escalator, ServiceGroup)
    {
        let producer = try producer()
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(group: group, topics: [topics.incidentEvents]), logger: logger)
        let escalator = Escalator(
            consumer: consumer, producer: producer, client: client, policy: policy, clock: clock, topics: topics, logger: logger
        )
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: producer), .init(service: escalator), .init(service: consumer)],
                logger: logger
            )
        )
        return (escalator, serviceGroup)
    }
}

func lifecycleEvent(_ incident: String, _ id: String, at: Date, _ body: (inout IncidentEvent) -> Void) -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = id
        $0.incidentID = incident
        $0.occurredAt = Google_Protobuf_Timestamp(date: at)
        $0.producer = "test"
        body(&$0)
    }
}

func opened(_ incident: String, at: Date, severity: Severity = .a, coverage: Coverage = .coverage24X7) -> IncidentEvent {
    lifecycleEvent(incident, "\(incident)-opened", at: at) {
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "pack-1"; $0.product = "billing"
            $0.severity = severity; $0.coverage = coverage; $0.customerTimeZone = "America/New_York"; $0.title = "down"
        }
    }
}

/// Emitted SLA events read back from the lifecycle topic, keyed for exactly-once checks.
final class EmittedLog: Sendable {
    struct Entry: Sendable {
        let incident: String
        let milestone: String  // "w50", "w75", "L1", "L2"
        let eventID: String
        let deadline: Date
        let due: Date
        let timestamp: Date?
    }

    let entries = Mutex<[Entry]>([])

    func record(_ message: KafkaMessage) {
        guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: Array(value)),
            event.producer == escalatorProducerName
        else { return }
        let entry: Entry
        switch event.event {
        case .slaWarning(let warning):
            entry = Entry(
                incident: event.incidentID, milestone: "w\(warning.thresholdPercent)", eventID: event.eventID,
                deadline: warning.deadline.date, due: event.occurredAt.date, timestamp: message.timestamp
            )
        case .escalated(let escalated):
            entry = Entry(
                incident: event.incidentID, milestone: "L\(escalated.level)", eventID: event.eventID,
                deadline: escalated.breachedDeadline.date, due: event.occurredAt.date, timestamp: message.timestamp
            )
        default: return
        }
        entries.withLock { $0.append(entry) }
    }

    func milestones(of incident: String) -> [String] {
        entries.withLock { $0.filter { $0.incident == incident }.map(\.milestone) }
    }

    var all: [Entry] { entries.withLock { $0 } }
}

/// Reads the lifecycle topic from the start in a group of its own, recording emitted events.
func watch(_ world: World, into log: EmittedLog) throws -> (KafkaConsumer, Task<Void, any Error>) {
    let consumer = try KafkaConsumer(
        configuration: world.consumerConfiguration(group: uniqueName("watch"), topics: [world.topics.incidentEvents]),
        logger: world.logger
    )
    let task = Task {
        for try await batch in consumer.batches {
            for message in batch { log.record(message) }
        }
    }
    return (consumer, task)
}

/// SLA minutes → real seconds at `scale`.
func sleepSla(minutes: Double, scale: Double) async throws {
    try await Task.sleep(for: .milliseconds(Int64(minutes * 60 / scale * 1000)))
}

// MARK: - Tests

@Suite("Escalator on the embedded broker (scaled SLA time)", .serialized)
struct EscalatorTests {
    /// 720: one SLA hour per five real seconds. Sev A (120 min): warnings at 5 s and 7.5 s,
    /// level 1 at 10 s, level 2 (an hour later) at 15 s.
    static let scale = 720.0

    /// Scaled SLA time (×720) makes this test measure the machine when it is saturated: it runs
    /// alone among the heavy (process-spawning) tests. (Both such tests are in this serialized
    /// suite: two tests asking for the whole gate at once could each hold half of it.)
    @Test func warningsBreachesPausesAndAcknowledgements() async throws {
        try await HeavyTests.run(weight: 2) { try await self.warningsBreachesPausesAndAcknowledgementsBody() }
    }

    func warningsBreachesPausesAndAcknowledgementsBody() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 4)
        let clock = ScaledClock(scale: Self.scale, origin: Date())
        let publisher = try world.publisher(clock: clock)
        let log = EmittedLog()
        let (watcher, watching) = try watch(world, into: log)
        let (escalator, group) = try world.startEscalator(group: uniqueName("escalator"), clock: clock)
        let running = Task { try await group.run() }
        // Milestones due before the escalator owns the partitions would be noticed late (and
        // overtaken warnings are then skipped by design): start the story once it owns them.
        try await eventually("the escalator owns all partitions", timeout: .seconds(90)) { escalator.statistics.partitions == 4 }

        let start = clock.now()
        _ = try await publisher.publish(opened("INC-NEVER", at: start))
        _ = try await publisher.publish(opened("INC-ACKED", at: start))
        _ = try await publisher.publish(
            lifecycleEvent("INC-ACKED", "ack", at: start.addingTimeInterval(60)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        _ = try await publisher.publish(opened("INC-PAUSED", at: start))
        _ = try await publisher.publish(
            lifecycleEvent("INC-PAUSED", "wait", at: start.addingTimeInterval(60)) { $0.waitingOnCustomer = .init() })
        _ = try await publisher.publish(opened("INC-C", at: start, severity: .c, coverage: .businessHours))
        // The customer answers an SLA hour later (published when that time has come).
        try await sleepSla(minutes: 61, scale: Self.scale)
        _ = try await publisher.publish(
            lifecycleEvent("INC-PAUSED", "answer", at: start.addingTimeInterval(61 * 60)) { $0.customerResponded = .init() })

        // INC-PAUSED's level 2 is due at 61 + 119 + 60 = 240 SLA minutes = 20 s.
        try await eventually("every expected escalation", timeout: .seconds(120)) {
            log.milestones(of: "INC-NEVER").count >= 4 && log.milestones(of: "INC-PAUSED").count >= 4
        }
        try await sleepSla(minutes: 30, scale: Self.scale)  // room for anything extra to show up

        #expect(log.milestones(of: "INC-NEVER") == ["w50", "w75", "L1", "L2"])
        #expect(log.milestones(of: "INC-ACKED") == [])
        // Sev C on business hours (the default calendar: UTC weekdays 09:00–17:00): its 50 %
        // warning is due after 240 business minutes, which a slow run that starts a few hours
        // before 09:00 UTC can reach in scaled time; otherwise nothing is due yet.
        let businessMinutes = SlaPolicy().defaultCalendar.businessMinutes(from: start, to: clock.now())
        let cMilestones = log.milestones(of: "INC-C")
        if businessMinutes < 235 {
            #expect(cMilestones == [], "\(businessMinutes) business minutes passed: nothing is due yet")
        } else {
            #expect(["w50", "w75"].starts(with: cMilestones), "\(businessMinutes) business minutes passed: \(cMilestones)")
        }
        #expect(log.milestones(of: "INC-PAUSED") == ["w50", "w75", "L1", "L2"])
        let never = log.all.filter { $0.incident == "INC-NEVER" }
        #expect(never.allSatisfy { abs($0.deadline.timeIntervalSince(start.addingTimeInterval(120 * 60))) < 0.001 })
        let paused = log.all.filter { $0.incident == "INC-PAUSED" }
        #expect(
            paused.allSatisfy { abs($0.deadline.timeIntervalSince(start.addingTimeInterval(180 * 60))) < 0.001 },
            "the hour waiting on the customer does not count: \(paused.map(\.deadline))"
        )
        // Breach detection lag in real time: produce timestamp minus the deadline mapped back.
        var lags: [Double] = []
        for entry in log.all {
            let realDue = clock.origin.addingTimeInterval(entry.due.timeIntervalSince(clock.origin) / Self.scale)
            if let timestamp = entry.timestamp { lags.append(timestamp.timeIntervalSince(realDue)) }
        }
        let worst = lags.max() ?? .infinity
        print("escalator detection lag (real seconds): max \(String(format: "%.3f", worst)) over \(lags.count) events")
        #expect(worst < 1.0, "every milestone published within a second of its due time")
        #expect(escalator.health.isReady)
        #expect(escalator.statistics.escalations == 4)

        // Notification requests: one per recipient per milestone.
        let notifications = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("notes"), topics: [world.topics.notificationRequests]),
            logger: world.logger
        )
        let requests = try await withDeadline(.seconds(30)) { try await notifications.collect(8 + cMilestones.count) }
        let decoded = try requests.map { try NotificationRequest(serializedBytes: Array($0.valueBytes!)) }.filter {
            $0.incidentID != "INC-C"
        }
        #expect(decoded.count == 8)
        #expect(Set(decoded.map(\.idempotencyKey)).count == 8)
        #expect(
            decoded.filter { $0.template == "escalated" }.map(\.recipient).sorted() == [
                "support-manager", "support-manager", "team-lead", "team-lead",
            ])
        #expect(decoded.allSatisfy { $0.urgent })

        await group.triggerGracefulShutdown()
        try await running.value
        await watcher.close()
        _ = try? await watching.value
        await notifications.close()
    }

    /// Scaled SLA time (×720) makes this test measure the machine when it is saturated: it runs
    /// alone among the heavy (process-spawning) tests. (Both such tests are in this serialized
    /// suite: two tests asking for the whole gate at once could each hold half of it.)
    @Test func twoInstancesHandOverWithoutLosingOrDoublingAnything() async throws {
        try await HeavyTests.run(weight: 2) { try await self.twoInstancesHandOverWithoutLosingOrDoublingAnythingBody() }
    }

    func twoInstancesHandOverWithoutLosingOrDoublingAnythingBody() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 6)
        let clock = ScaledClock(scale: Self.scale, origin: Date())
        let publisher = try world.publisher(clock: clock)
        let log = EmittedLog()
        let (watcher, watching) = try watch(world, into: log)
        let group = uniqueName("escalators")
        let (first, firstGroup) = try world.startEscalator(group: group, clock: clock)
        let firstRunning = Task { try await firstGroup.run() }
        try await eventually("the first instance owns all partitions", timeout: .seconds(90)) { first.statistics.partitions == 6 }

        // One Sev A incident opened every half second for 14 s: milestones fall due all the time.
        let opener = Task {
            for index in 0..<28 {
                _ = try await publisher.publish(opened("INC-\(index)", at: clock.now()))
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        try await Task.sleep(for: .seconds(6))
        let (second, secondGroup) = try world.startEscalator(group: group, clock: clock)
        let secondRunning = Task { try await secondGroup.run() }
        try await eventually("the second instance owns partitions", timeout: .seconds(30)) {
            second.statistics.restoredRecords > 0 || second.statistics.tracked > 0
        }
        try await Task.sleep(for: .seconds(4))
        await firstGroup.triggerGracefulShutdown()  // hand everything to the second
        try await firstRunning.value
        try await opener.value

        try await eventually("every incident reached level 2", timeout: .seconds(60)) {
            (0..<28).allSatisfy { log.milestones(of: "INC-\($0)").contains("L2") }
        }
        try await sleepSla(minutes: 30, scale: Self.scale)
        var problems: [String] = []
        var overtaken = 0
        for index in 0..<28 {
            let got = log.milestones(of: "INC-\(index)")
            // Escalation levels are never skipped or doubled. A warning that fell due while its
            // partition had no owner (the hand-over gap: seconds of real time, i.e. tens of SLA
            // minutes at ×720) is overtaken by the next milestone and not sent, by design.
            if got.filter({ $0 == "L1" }).count != 1 || got.filter({ $0 == "L2" }).count != 1 || Set(got).count != got.count {
                problems.append("INC-\(index): \(got)")
            }
            overtaken += 2 - got.filter { $0.hasPrefix("w") }.count
        }
        print("hand-over: \(overtaken) of 56 warnings overtaken while partitions moved; problems: \(problems)")
        #expect(problems.isEmpty, "each milestone exactly once, nothing lost: \(problems)")
        #expect(overtaken < 28, "most warnings were on time")
        #expect(first.statistics.escalations > 0 && second.statistics.escalations > 0, "both instances did part of the work")

        await secondGroup.triggerGracefulShutdown()
        try await secondRunning.value
        await watcher.close()
        _ = try? await watching.value
    }

    @Test func poisonRecordsAreDeadLetteredAndTheEscalatorCarriesOn() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 1)
        let clock = ScaledClock(scale: Self.scale, origin: Date())
        let producer = try world.producer()
        let publisher = IncidentEventPublisher(
            producer: producer, topic: world.topics.incidentEvents, validator: .init(now: { clock.now() }))
        let log = EmittedLog()
        let (watcher, watching) = try watch(world, into: log)
        let (_, group) = try world.startEscalator(group: uniqueName("escalator"), clock: clock)
        let running = Task { try await group.run() }

        _ = try await producer.send(
            KafkaProducerMessage(topic: world.topics.incidentEvents, key: Array("INC-X".utf8), value: [0xFF, 0x01]))
        _ = try await publisher.publish(opened("INC-OK", at: clock.now()))
        try await eventually("the valid incident still escalates", timeout: .seconds(40)) { log.milestones(of: "INC-OK").contains("L1") }

        let inspector = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("dlq"), topics: [world.topics.deadLetter]), logger: world.logger
        )
        let dead = try await withDeadline(.seconds(30)) { try await inspector.collect(1) }
        #expect(dead.first?.header(TriageHeader.deadLetterReason)?.stringValue?.contains("not a decodable") == true)
        #expect(dead.first?.keyBytes.map { Array($0) } == Array("INC-X".utf8))

        await group.triggerGracefulShutdown()
        try await running.value
        await watcher.close()
        _ = try? await watching.value
        await inspector.close()
    }

    @Test func aMissingChangelogIsAStartUpErrorThatSaysWhatToCreate() async throws {
        let cluster = try KafkaTestCluster()
        var topics = EscalatorTopics()
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: 3)
        topics.changelog = uniqueName("missing")
        await #expect {
            try await Escalator.checkTopics(topics, client: cluster.embedded.clientConfiguration, logger: cluster.logger)
        } throws: { error in
            "\(error)".contains("triage topics create \(topics.changelog):3") && "\(error)".contains("compact")
        }
        topics.changelog = try cluster.makeTopic("sla-state", partitions: 2)
        await #expect {
            try await Escalator.checkTopics(topics, client: cluster.embedded.clientConfiguration, logger: cluster.logger)
        } throws: { error in
            "\(error)".contains("must match")
        }
    }
}
