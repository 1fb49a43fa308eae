import Synchronization
public import TriageKafka

/// Hands the records one worker of a process writes to `topic` to the worker of the same process
/// that reads `topic` (``StreamWorker/offer(_:)``), once the broker has stored them: the reader
/// need not wait for its consumer's next Fetch. The writer's
/// ``StreamWorkerConfiguration/storedObserver`` is ``observer``; the reader is connected once it
/// exists (``connect(_:)``). Records stored before that are left to the reader's consumer.
public final class OfferRelay: Sendable {
    public let topic: String
    /// In a struct: a closure kept as a `Mutex`'s value directly is wrapped in one more
    /// reabstraction thunk at every `withLock`, a chain that grows with every call.
    private struct Reader {
        let offer: @Sendable ([KafkaMessage]) -> Void
    }
    private let reader = Mutex<Reader?>(nil)

    public init(topic: String) { self.topic = topic }

    /// The reading worker's ``StreamWorker/offer(_:)``.
    public func connect(_ offer: @escaping @Sendable ([KafkaMessage]) -> Void) {
        reader.withLock { $0 = Reader(offer: offer) }
    }

    /// For the writing worker's configuration.
    public var observer: StreamWorkerConfiguration.StoredObserver {
        StreamWorkerConfiguration.StoredObserver { [self] records, reports in stored(records, reports) }
    }

    /// `records` were stored where `reports` say (same order): those of ``topic`` go to the reader.
    public func stored(_ records: [KafkaProducerMessage], _ reports: [KafkaDeliveryReport]) {
        guard let reader = reader.withLock({ $0 }) else { return }
        var messages: [KafkaMessage] = []
        for (record, report) in zip(records, reports) where report.topic == topic {
            messages.append(
                KafkaMessage(
                    topic: report.topic, partition: report.partition, offset: report.offset, key: record.key, value: record.value,
                    headers: record.headers, timestamp: report.timestamp
                )
            )
        }
        if !messages.isEmpty { reader.offer(messages) }
    }
}
