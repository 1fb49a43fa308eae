import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Testing
import TriageEscalator
import TriageKafka
import TriageKafkaTesting
import TriageOnCall
import TriageSLA
import TriageSchema

/// `oncall:<team>` in an escalation level pages whoever is on call when the level falls due.
@Suite("Escalations to the on-call of a team")
struct OnCallEscalationTests {
    @Test func theLevelPagesThePersonOnCallAtItsDueInstantNotWhenItIsNoticed() async throws {
        let cluster = try KafkaTestCluster()
        let world = try World(cluster: cluster, partitions: 1)
        let clock = ScaledClock(scale: 720, origin: Date())
        let openedAt = clock.now()
        let deadline = openedAt.addingTimeInterval(60 * 60)
        // ana all year; ben for two SLA seconds around the deadline (under 3 ms of real time: the
        // escalator notices the breach later than that, so the wrong instant would page ana).
        let schedule = OnCallSchedule(rotations: [
            "tier-2": OnCallRotation(
                team: "tier-2", timeZone: TimeZone(identifier: "UTC")!, start: .init(year: 2026, month: 1, day: 5), handOffMinutes: 540,
                people: ["ana"],
                overrides: [.init(from: deadline.addingTimeInterval(-1), until: deadline.addingTimeInterval(1), person: "ben")])
        ])
        let policy = SlaPolicy(
            targets: [.twentyFourSeven: [.a: .init(firstResponseMinutes: 60, resolutionMinutes: nil)]], warningPercents: [],
            warningNotify: [], escalation: [.init(level: 1, afterMinutes: 0, notify: ["oncall:tier-2", "team-lead"])])
        let producer = try world.producer()
        let consumer = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("escalator"), topics: [world.topics.incidentEvents]),
            logger: world.logger)
        let escalator = Escalator(
            consumer: consumer, producer: producer, client: world.client, policy: policy, clock: clock, topics: world.topics,
            logger: world.logger, recipients: { name, at in schedule.recipient(for: name, at: at) ?? name })
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: producer), .init(service: escalator), .init(service: consumer)], logger: world.logger))
        let running = Task { try await group.run() }
        _ = try await world.publisher(clock: clock).publish(opened("INC-PAGE", at: openedAt))

        let notifications = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("notes"), topics: [world.topics.notificationRequests]),
            logger: world.logger)
        let requests = try await withDeadline(.seconds(60)) { try await notifications.collect(2) }
            .map { try NotificationRequest(serializedBytes: Array($0.valueBytes!)) }
        #expect(requests.map(\.recipient).sorted() == ["agent:ben", "team-lead"])
        let page = try #require(requests.first { $0.recipient == "agent:ben" })
        #expect(page.idempotencyKey.hasSuffix("/agent:ben") && page.payload["level"] == "1")

        let events = try KafkaConsumer(
            configuration: world.consumerConfiguration(group: uniqueName("events"), topics: [world.topics.incidentEvents]),
            logger: world.logger)
        let escalated = try await withDeadline(.seconds(30)) { try await events.collect(2) }
            .map { try IncidentEvent(serializedBytes: Array($0.valueBytes!)) }.compactMap { event -> Triage_V1_Escalated? in
                if case .escalated(let escalated) = event.event { return escalated } else { return nil }
            }
        #expect(escalated.first?.notify == ["agent:ben", "team-lead"], "the timeline says who was paged")
        await group.triggerGracefulShutdown()
        try await running.value
        await notifications.close()
        await events.close()
    }

    @Test func withoutARotationTheNameStaysAndTheSlaActionIdDoesNotChange() {
        let action = IncidentSla(
            openedAt: Date(timeIntervalSince1970: 1_800_000_000), severity: .a, coverage: .twentyFourSeven, team: nil,
            rules: SlaRules(SlaPolicy(escalation: [.init(level: 1, afterMinutes: 0, notify: ["oncall:tier-9"])])))
        var state = action
        let fired = state.fire(
            upTo: Date(timeIntervalSince1970: 1_800_000_000 + 3 * 3600),
            rules: SlaRules(SlaPolicy(escalation: [.init(level: 1, afterMinutes: 0, notify: ["oncall:tier-9"])])))
        let escalation = try! #require(fired.first { if case .escalation = $0.kind { true } else { false } })
        let resolved = escalation.resolvingRecipients { name, _ in OnCallSchedule().recipient(for: name, at: Date()) ?? name }
        #expect(resolved.eventID(incident: "INC-1") == escalation.eventID(incident: "INC-1"))
        guard case .escalation(let level) = resolved.kind else { return }
        #expect(level.notify == ["oncall:tier-9"])
    }
}
