import Foundation
import Synchronization
import Testing
import TriageEscalator
import TriageKafka
import TriageKafkaTesting
import TriageSLA
import TriageSLAEvents
import TriageSchema

/// What the escalator published, with the clock each event is about.
private final class TargetedLog: Sendable {
    struct Entry: Sendable, Hashable {
        let incident: String
        let target: String
        let milestone: String  // "w50", "L1", ...
        let eventID: String
        let deadline: Date
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
                incident: event.incidentID, target: warning.target, milestone: "w\(warning.thresholdPercent)", eventID: event.eventID,
                deadline: warning.deadline.date)
        case .escalated(let escalated):
            entry = Entry(
                incident: event.incidentID, target: escalated.target, milestone: "L\(escalated.level)", eventID: event.eventID,
                deadline: escalated.breachedDeadline.date)
        default: return
        }
        entries.withLock { $0.append(entry) }
    }

    func of(_ incident: String, _ target: String) -> [Entry] {
        entries.withLock { $0.filter { $0.incident == incident && $0.target == target } }
    }
}

/// The update clock and pause reasons through a real escalator on the embedded broker, at ×720
/// SLA time (an SLA hour per five real seconds).
@Suite("Escalator: update clock and pause reasons on the embedded broker", .serialized)
struct UpdateClockEscalatorTests {
    static let scale = 720.0

    /// Sev A under 24x7: first response 2 h, resolution 3 h, update 4 h; level 1 at the breach,
    /// level 2 an hour later.
    static let policy = SlaPolicy(
        targets: [
            .twentyFourSeven: [
                .a: SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 180, updateMinutes: 240),
                .b: SlaTargets(firstResponseMinutes: 240), .c: SlaTargets(firstResponseMinutes: 480),
            ]
        ])

    @Test func updateEscalationsFireOnceARestartMovesThemAndAVendorPauseHoldsOnlyResolution() async throws {
        try await HeavyTests.run(weight: 2) { try await self.body() }
    }

    func event(_ incident: String, _ id: String, at: Date, _ body: (inout IncidentEvent) -> Void) -> IncidentEvent {
        lifecycleEvent(incident, "\(incident)-\(id)", at: at, body)
    }

    func openedWithTeam(_ incident: String, at: Date) -> IncidentEvent {
        event(incident, "opened", at: at) {
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "pack-1"; $0.product = "billing"; $0.team = "tier-1"
                $0.severity = .a; $0.coverage = .coverage24X7; $0.customerTimeZone = "America/New_York"; $0.title = "down"
            }
        }
    }

    func body() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 3)
        let clock = ScaledClock(scale: Self.scale, origin: Date())
        let publisher = try world.publisher(clock: clock)
        let log = TargetedLog()
        let watcher = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("watch"), topics: [world.topics.incidentEvents]),
            logger: world.logger)
        let watching = Task {
            for try await batch in watcher.batches {
                for message in batch { log.record(message) }
            }
        }
        let (escalator, group) = try world.startEscalator(group: uniqueName("escalator"), clock: clock, policy: Self.policy)
        let running = Task { try await group.run() }
        try await eventually("the escalator owns all partitions", timeout: .seconds(90)) { escalator.statistics.partitions == 3 }

        let start = clock.now()
        func minutes(_ value: Double) -> Date { start.addingTimeInterval(value * 60) }
        for incident in ["INC-UPD", "INC-NOTE", "INC-VENDOR"] {
            _ = try await publisher.publish(openedWithTeam(incident, at: start))
        }
        // Each event is published when its SLA time has come (the validator refuses the future).
        try await sleepSla(minutes: 10, scale: Self.scale)
        for incident in ["INC-UPD", "INC-NOTE"] {
            _ = try await publisher.publish(event(incident, "ack", at: minutes(10)) { $0.acknowledged = .with { $0.agentID = "ada" } })
        }
        _ = try await publisher.publish(
            event("INC-VENDOR", "vendor", at: minutes(10)) {
                $0.waitingOnCustomer = .with {
                    $0.reason = "vendor bug"; $0.pauseReason = "waiting_on_vendor"
                }
            })
        // A customer-visible note on INC-NOTE at +60 SLA minutes (published when that time comes:
        // 70 SLA minutes, about 6 s, before the first deadline's 50 % warning at +130, so a loaded
        // machine's stall cannot let that warning come first, as one CI run's 2.5 s stall did),
        // and an internal one on INC-UPD that must change nothing.
        try await sleepSla(minutes: 50, scale: Self.scale)
        _ = try await publisher.publish(
            event("INC-NOTE", "note", at: minutes(60)) {
                $0.noteAdded = .with {
                    $0.author = "ada"; $0.text = "on it"; $0.public = true
                }
            })
        _ = try await publisher.publish(
            event("INC-UPD", "internal", at: minutes(60)) {
                $0.noteAdded = .with {
                    $0.author = "ada"; $0.text = "hmm"; $0.public = false
                }
            })

        // INC-NOTE's level 2 is due at 60 + 240 + 60 = 360 SLA minutes (about 30 s).
        try await eventually("INC-NOTE's update level 2", timeout: .seconds(120)) {
            log.of("INC-NOTE", "update").contains { $0.milestone == "L2" }
        }
        try await sleepSla(minutes: 40, scale: Self.scale)  // room for anything extra to show up

        // INC-UPD: the update clock from the acknowledgement, each milestone exactly once.
        let updates = log.of("INC-UPD", "update")
        #expect(updates.map(\.milestone) == ["w50", "w75", "L1", "L2"], "\(updates)")
        #expect(updates.allSatisfy { abs($0.deadline.timeIntervalSince(minutes(10 + 240))) < 0.001 })
        #expect(Set(updates.map(\.eventID)).count == updates.count)
        // INC-NOTE: the 50 % warning of the first deadline (due +130) did not come before the
        // note at +60; after it, everything is about the new deadline, never the original one.
        let noted = log.of("INC-NOTE", "update")
        #expect(noted.map(\.milestone) == ["w50", "w75", "L1", "L2"], "\(noted)")
        #expect(noted.allSatisfy { abs($0.deadline.timeIntervalSince(minutes(60 + 240))) < 0.001 }, "\(noted.map(\.deadline))")
        #expect(!noted.contains { abs($0.deadline.timeIntervalSince(minutes(10 + 240))) < 0.001 })
        // INC-VENDOR: first response breached as usual, resolution held by the vendor pause.
        let vendorFirst = log.of("INC-VENDOR", "first_response")
        #expect(vendorFirst.map(\.milestone) == ["w50", "w75", "L1", "L2"], "\(vendorFirst)")
        #expect(vendorFirst.allSatisfy { abs($0.deadline.timeIntervalSince(minutes(120))) < 0.001 })
        #expect(log.of("INC-VENDOR", "resolution").isEmpty, "the vendor pause holds the resolution clock")
        #expect(log.of("INC-VENDOR", "update").isEmpty, "never acknowledged: no update clock")

        // The notification requests of update escalations carry the payload keys.
        let notifications = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("notes"), topics: [world.topics.notificationRequests]),
            logger: world.logger)
        let requests = try await withDeadline(.seconds(30)) { try await notifications.collect(4) }
        let decoded = try requests.map { try NotificationRequest(serializedBytes: Array($0.valueBytes!)) }
        #expect(
            decoded.allSatisfy { $0.payload["product"] == "billing" && $0.payload["customer"] == "acme" && $0.payload["team"] == "tier-1" })
        #expect(decoded.allSatisfy { $0.payload["severity"] == "A" })

        await group.triggerGracefulShutdown()
        try await running.value
        await watcher.close()
        _ = try? await watching.value
        await notifications.close()
    }
}
