import TriageKafka
import TriageNotification
import TriageStreams

/// The notifier's ``StreamProcessor``: decodes and resolves each request, dead-letters what
/// cannot be delivered, and hands every target to ``Deliveries`` — the record is finished when
/// its last target is.
struct NotificationDispatch: StreamProcessor {
    typealias PartitionState = KeyedState<DeliveryLedger.Record>
    let deliveries: Deliveries
    let input: String
    let additionalInputs: [String]
    let changelog: Changelog<PartitionState>?
    var stateName: String { "delivery ledger" }

    init(deliveries: Deliveries, topics: NotifierTopics) {
        self.deliveries = deliveries
        input = topics.requests
        additionalInputs = [topics.retry]
        changelog = Changelog(topic: topics.ledger) { bytes in try DeliveryLedger.Record(decoding: Array(bytes)) }
    }

    mutating func assigned(_ states: [Int32: PartitionState], output: inout StreamOutput) throws {
        // The ledger is read from the start at every assignment: another instance may have
        // delivered while it owned the partition, and a stale ledger would deliver those again.
        deliveries.restore(states.values.flatMap(\.values.values))
    }

    /// The ledger stays: it only holds keys within the dedupe window, and is refreshed on the next assignment.
    mutating func revoked(_ partitions: [Int32]) {}

    mutating func stop(_ partitions: [TopicPartition]) async {
        // Held deliveries stop (the next owner reads their records again); deliveries in
        // flight finish, storing the offsets they complete.
        await deliveries.stopJobs(of: Set(partitions))
    }

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        var deadLettered = 0
        for message in records {
            switch deliveries.resolve(message) {
            case .failure(let reason):
                output.deadLetter(message, reason: reason)
                deadLettered += 1
            case .success(let (notification, targets)):
                guard !targets.isEmpty else { continue }
                deliveries.start(notification, targets: targets, message: message, completion: output.completeLater(message))
            }
        }
        if deadLettered > 0 { output.whenDelivered { [deliveries, deadLettered] in deliveries.countDeadLettered(deadLettered) } }
    }
}
