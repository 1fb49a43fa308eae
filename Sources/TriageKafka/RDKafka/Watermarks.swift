internal import CRdKafka

/// The watermarks of partitions, asked of their leaders within a time limit.
///
/// librdkafka's `rd_kafka_query_watermark_offsets` takes a timeout but, in 2.0.2, waits for the
/// ListOffsets answer without one: a leader that went away leaves the call blocked until the
/// request fails (socket timeout and retries), and a caller waiting for it (a worker's lag
/// metric, its graceful stop, `triage tail`) waits as long. `rd_kafka_offsets_for_times` sends
/// the same request and gives up at its timeout, so the watermarks are asked with it, by the
/// logical timestamps -2 (the first offset) and -1 (the next one) — one request per leader and
/// bound, where the other call made two per partition.
enum Watermarks {
    /// The first and the next offset of each of `partitions`. Throws ``KafkaError/Code/timedOut``
    /// when the leaders do not answer within `timeout` (both questions together), or a
    /// partition's own error. Blocking: call it on a blocking-call thread.
    static func query(
        _ handle: OpaquePointer, partitions: [TopicPartition], timeout: Duration
    ) throws(KafkaError) -> [TopicPartition: (low: Int64, high: Int64)] {
        guard !partitions.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + timeout
        let lows = try offsets(handle, partitions, at: Int64(RD_KAFKA_OFFSET_BEGINNING), before: deadline)
        let highs = try offsets(handle, partitions, at: Int64(RD_KAFKA_OFFSET_END), before: deadline)
        var result: [TopicPartition: (low: Int64, high: Int64)] = [:]
        for partition in partitions {
            guard let high = highs[partition], let low = lows[partition] else {
                throw KafkaError(code: .timedOut, message: "no watermarks of \(partition) in the answer")
            }
            // An empty partition may answer only its end.
            result[partition] = (low < 0 && high >= 0 ? high : low, high)
        }
        return result
    }

    /// Each partition's offset for the logical timestamp `logical`.
    private static func offsets(
        _ handle: OpaquePointer, _ partitions: [TopicPartition], at logical: Int64, before deadline: ContinuousClock.Instant
    ) throws(KafkaError) -> [TopicPartition: Int64] {
        let left = deadline - .now
        guard left > .zero else { throw KafkaError(code: .timedOut, message: "watermarks: no answer in time") }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!.pointee.offset = logical
        }
        let milliseconds = Int32(clamping: max(1, left.milliseconds))
        try throwIfError(
            rd_kafka_offsets_for_times(handle, list, milliseconds),
            context: logical == Int64(RD_KAFKA_OFFSET_END) ? "high watermarks" : "low watermarks")
        var result: [TopicPartition: Int64] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            let partition = TopicPartition(String(cString: element.topic), element.partition)
            try throwIfError(element.err, context: "watermark of \(partition)")
            result[partition] = element.offset
        }
        return result
    }
}
