import Foundation
import SwiftProtobuf
import TriageKafka
import TriageRouting
import TriageRoutingEvents
import TriageSchema

/// Publishes every agent of `roster` to the agent topic: the profile, then the presence when
/// the roster gives one, stamped `at` (now; a dev run's SLA time). Returns the number of events.
func publishRoster(_ roster: Roster, producer: KafkaProducer, source: String, at now: Date = Date()) async throws -> Int {
    let events = roster.agentEvents(source: source, at: now)
    for event in events {
        _ = try await producer.send(
            KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(event.agentID.utf8), value: try event.serializedBytes())
        )
    }
    return events.count
}
