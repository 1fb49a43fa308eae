public import Logging
import Synchronization
public import TriageKafka

/// Every record of `topic` now, mapped by `transform` (outside any group): what the chaos and
/// interop audits read.
public func readWholeTopic<T: Sendable>(
    _ topic: String, admin: KafkaAdmin, client: KafkaClientConfiguration, logger: Logger,
    _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?
) async throws -> [T] {
    let partitions = try await admin.describeTopic(topic).partitions.map(\.id)
    let sink = Mutex<[T]>([])
    _ = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: partitions, client: client, logger: logger) { record in
        if let value = transform(record) { sink.withLock { $0.append(value) } }
    }
    return sink.withLock { $0 }
}
