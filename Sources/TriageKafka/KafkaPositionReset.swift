/// A consumer's position that the broker no longer had (or never had), which librdkafka replaced
/// by `auto.offset.reset` — read from the warning librdkafka logs for it (facility `OFFSET`):
///
///     t [3]: offset reset (at offset 1200, broker 1) to cached BEGINNING offset 5000: fetch failed
///     due to requested offset not available on the broker: Broker: Offset out of range
///
/// With `auto.offset.reset` set to `earliest` or `latest`, librdkafka raises no error for it:
/// records deleted by retention before they were read are skipped with only that line. The
/// consumer turns it into an error-level line saying how many records were skipped, a counter
/// (``KafkaConsumer/offsetResets``) and the metrics `triage_kafka_consumer_offset_resets_total`
/// and `triage_kafka_consumer_records_skipped_total`.
public struct KafkaPositionReset: Sendable, Equatable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The position that was out of range; `nil` when librdkafka named none (a logical offset).
    public var from: Int64?
    /// Where reading goes on: `BEGINNING`, `END`, or an offset.
    public var to: String
    /// The partition's first offset when librdkafka knew it (`to cached BEGINNING offset N`).
    public var logStart: Int64?
    /// librdkafka's reason and error text.
    public var reason: String

    /// Records that were deleted before they were read: from the lost position to the
    /// partition's start. `nil` when the line does not say both; 0 when the position was past
    /// the end instead (a recreated or truncated topic: records are read again, not lost).
    public var skippedRecords: Int64? {
        guard let from, let logStart else { return nil }
        return max(0, logStart - from)
    }

    /// Parses librdkafka's `OFFSET` warning (2.0.2's format and the later one that adds the leader
    /// epoch: `(at offset 1200 (leader epoch 3), broker 1)`); `nil` for any other line.
    public init?(librdkafkaLine text: String) {
        // With `log.thread.name` (librdkafka's default) the line starts "[thrd:main]: ".
        var line = Substring(text)
        if line.hasPrefix("[thrd:"), let end = line.range(of: "]: ") { line = line[end.upperBound...] }
        guard let bracket = line.range(of: " ["),
            let close = line.range(of: "]: offset reset (at ", range: bracket.upperBound..<line.endIndex),
            let partition = Int32(line[bracket.upperBound..<close.lowerBound])
        else { return nil }
        topic = String(line[..<bracket.lowerBound])
        self.partition = partition
        var rest = line[close.upperBound...]
        if rest.hasPrefix("offset ") { rest = rest.dropFirst("offset ".count) }
        from = Int64(rest.prefix { $0.isNumber || $0 == "-" })
        guard let target = rest.range(of: ") to ") else { return nil }
        rest = rest[target.upperBound...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        var destination = rest[..<colon]
        reason = String(rest[rest.index(after: colon)...].drop { $0 == " " })
        if destination.hasPrefix("cached ") {
            destination = destination.dropFirst("cached ".count)
            // "BEGINNING offset 5000", later "BEGINNING offset 5000 (leader epoch 3)"
            let words = destination.split(separator: " ")
            to = words.first.map(String.init) ?? String(destination)
            logStart = words.count >= 3 && words[0] == "BEGINNING" && words[1] == "offset" ? Int64(words[2]) : nil
        } else {
            to = String(destination)
            logStart = nil
        }
    }

    public init(topic: String, partition: Int32, from: Int64?, to: String, logStart: Int64?, reason: String) {
        self.topic = topic
        self.partition = partition
        self.from = from
        self.to = to
        self.logStart = logStart
        self.reason = reason
    }

    /// One line for the log: what was lost and what to change.
    public var description: String {
        let position = from.map { "offset \($0)" } ?? "its position"
        let start = "the consumer's \(position) on \(topic) [\(partition)] is not on the broker (\(reason))"
        switch (skippedRecords, logStart) {
        case (let skipped?, let logStart?) where skipped > 0:
            return
                "\(start): \(skipped) record(s) were deleted before they were read (offsets \(from!)–\(logStart - 1)), and reading "
                + "goes on at \(logStart). Give the topic a retention (retention.ms, retention.bytes) that outlasts the consumer's "
                + "longest lag"
        case (0?, let logStart?):
            return
                "\(start), though the partition starts at \(logStart) (recreated or truncated, its end now below the position?): "
                + "reading goes on at \(logStart), so records from there may be read again"
        default:
            return "\(start): reading goes on at \(to); records between may have been skipped"
        }
    }
}
