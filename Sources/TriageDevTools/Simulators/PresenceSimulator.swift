import Foundation
public import ServiceLifecycle
import SwiftProtobuf
public import TriageEscalator
public import TriageKafka
import TriageSchema

/// Agents of `triage dev` stepping away and coming back: every few seconds one agent changes
/// presence (online ↔ away or offline), so reassignments and queueing show up.
public struct PresenceSimulator: Service {
    let producer: KafkaProducer
    /// Presence changes happen on the run's SLA time, like every other simulated fact: the
    /// router stamps its decisions with the time of the input that caused them.
    let clock: any SlaTimeSource
    let agents: [String]
    let interval: Duration

    public init(producer: KafkaProducer, clock: any SlaTimeSource, agents: [String], interval: Duration) {
        self.producer = producer
        self.clock = clock
        self.agents = agents
        self.interval = interval
    }

    public func run() async throws {
        guard !agents.isEmpty else { return try await gracefulShutdown() }
        await cancelWhenGracefulShutdown {
            var away: Set<String> = []
            var random = SystemRandomNumberGenerator()
            var step = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                // At most a quarter away at once; someone away comes back first.
                let agent: String
                if !away.isEmpty && (away.count >= agents.count / 4 || Bool.random(using: &random)) {
                    agent = away.randomElement(using: &random)!
                    away.remove(agent)
                } else {
                    agent = agents.randomElement(using: &random)!
                    away.insert(agent)
                }
                let event = AgentEvent.with {
                    $0.eventID = "dev-presence-\(UUID().uuidString)"; $0.agentID = agent; $0.producer = "triage dev"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: clock.now())
                    // Away, or now and then offline (unacknowledged incidents are then reassigned).
                    $0.presenceChanged = .with { $0.presence = away.contains(agent) ? (step % 3 == 0 ? .offline : .away) : .online }
                }
                _ = try? await producer.send(
                    KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(agent.utf8), value: try! event.serializedBytes())
                )
                step += 1
            }
        }
    }
}
