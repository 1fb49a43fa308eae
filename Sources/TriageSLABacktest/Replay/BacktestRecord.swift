public import Foundation
public import TriageSchema

/// One record of `triage.incident-events` as a back-test replays it: the event and where and
/// when the escalator could first have read it.
public struct BacktestRecord: Sendable {
    public var event: IncidentEvent
    /// The record's partition. Each partition is replayed on its own timeline, as the escalator
    /// keeps an `SlaBook` per partition. Default 0; a file's lines without partition and offset
    /// are ``linesWithoutPartition``, so they do not mix with a topic's partition 0.
    public var partition: Int32

    /// The partition of a file's lines that carry no partition and offset (bare events): their
    /// positions are line numbers, not offsets.
    public static let linesWithoutPartition: Int32 = -1
    /// Its position in the partition (the Kafka offset, or a line number): an incident's inputs
    /// at or before the last applied position are replays and change nothing, as in the escalator.
    public var position: Int64
    /// SLA time at which the record reached the topic (its Kafka timestamp, mapped to SLA time
    /// when the escalator runs on a scaled clock): everything due before it fires before the
    /// event is applied. `nil`: the event's `occurred_at` (a record without a timestamp).
    public var seenAt: Date?

    public init(event: IncidentEvent, partition: Int32 = 0, position: Int64, seenAt: Date? = nil) {
        self.event = event
        self.partition = partition
        self.position = position
        self.seenAt = seenAt
    }
}
