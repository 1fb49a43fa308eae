public import Foundation

/// The idempotency keys delivered within the dedupe window, so a request seen again (a redelivery
/// after a crash or rebalance, a producer retry) is not delivered twice.
///
/// The ledger is rebuilt on start from a compacted changelog topic of ``Record``s (one per
/// delivery). Memory is bounded by ``capacity``: past it the oldest keys are forgotten early,
/// which only weakens deduplication for them. Keys are usually ``DeliveryTarget/ledgerKey``s.
///
/// Defaults: window 24 h, capacity 100,000 keys.
public struct DeliveryLedger: Sendable {
    /// How long a key is remembered after its delivery. Default 24 h.
    public let window: TimeInterval
    /// Most keys held at once. Default 100,000.
    public let capacity: Int

    private var deliveredAt: [String: Date] = [:]
    /// Keys in the order they were recorded; an entry is stale when the key was recorded again
    /// since (its time no longer matches ``deliveredAt``).
    private var order: [(key: String, at: Date)] = []
    private var head = 0

    public init(window: TimeInterval = NotificationRules.defaultDedupeWindow, capacity: Int = 100_000) {
        precondition(window > 0 && capacity > 0, "a ledger needs a positive window and capacity")
        self.window = window
        self.capacity = capacity
    }

    /// Keys currently held (some may have expired but not been evicted yet).
    public var count: Int { deliveredAt.count }

    /// Whether `key` was delivered within the window before `now`: in `[deliveredAt, deliveredAt + window)`.
    /// A delivery time after `now` (another worker's clock) counts as within.
    public func contains(_ key: String, at now: Date) -> Bool {
        guard let at = deliveredAt[key] else { return false }
        return now < at.addingTimeInterval(window)
    }

    /// Remembers that `key` was delivered at `instant` (a later time for a known key wins), then
    /// evicts what has expired by `instant` and whatever exceeds ``capacity``.
    public mutating func record(_ key: String, at instant: Date) {
        if let known = deliveredAt[key], known >= instant { return }
        deliveredAt[key] = instant
        order.append((key, instant))
        evict(before: instant.addingTimeInterval(-window))
    }

    /// Replays a changelog record (see ``record(_:at:)``).
    public mutating func restore(_ record: Record) { self.record(record.key, at: record.deliveredAt) }

    /// Forgets keys delivered before `cutoff` (in recording order: a key recorded out of time
    /// order may linger until those before it go, but ``contains(_:at:)`` checks its time), then
    /// the oldest keys beyond ``capacity``.
    public mutating func evict(before cutoff: Date) {
        while head < order.count, order[head].at < cutoff || deliveredAt.count > capacity {
            let (key, at) = order[head]
            if deliveredAt[key] == at { deliveredAt[key] = nil }
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// One changelog record: an idempotency key and when it was delivered. The worker keys the
    /// Kafka record by ``key`` and writes ``encoded()`` as its value (which repeats the key, so a
    /// value alone restores). Topic: `cleanup.policy=compact,delete` with `retention.ms` at least
    /// the dedupe window.
    ///
    ///     u8 version (1) | i64 little-endian milliseconds since 1970 | key (UTF-8, the rest)
    public struct Record: Sendable, Hashable {
        public static let version: UInt8 = 1

        public var key: String
        public var deliveredAt: Date

        public init(key: String, deliveredAt: Date) {
            self.key = key
            self.deliveredAt = deliveredAt
        }

        public func encoded() -> [UInt8] {
            var bytes: [UInt8] = [Self.version]
            let milliseconds = Int64((deliveredAt.timeIntervalSince1970 * 1000).rounded())
            withUnsafeBytes(of: milliseconds.littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: key.utf8)
            return bytes
        }

        /// - Throws: ``NotificationRecordError`` for an unknown version, a truncated record, an
        ///   empty key or one that is not UTF-8.
        public init(decoding bytes: some Collection<UInt8>) throws(NotificationRecordError) {
            let bytes = Array(bytes)
            guard let version = bytes.first else {
                throw NotificationRecordError(code: .malformed, message: "empty delivery ledger record")
            }
            guard version == Self.version else {
                throw NotificationRecordError(
                    code: .unsupportedVersion, message: "delivery ledger record version \(version) (this notifier reads \(Self.version))")
            }
            guard bytes.count > 9 else {
                throw NotificationRecordError(
                    code: .malformed,
                    message: "delivery ledger record of \(bytes.count) bytes is too short (9 header bytes and a non-empty key)")
            }
            let milliseconds = bytes[1..<9].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
            guard let key = String(validating: bytes[9...], as: UTF8.self) else {
                throw NotificationRecordError(code: .malformed, message: "delivery ledger record key is not UTF-8")
            }
            self.init(key: key, deliveredAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
    }
}

/// A record this module encodes for Kafka (a ledger record, retry headers) that cannot be read.
public struct NotificationRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Compare against the `static let` cases; new cases never break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Truncated, not UTF-8, not the expected JSON, a number out of range, ...
        public static let malformed = Code(rawValue: "malformed")
        /// Written by a newer notifier.
        public static let unsupportedVersion = Code(rawValue: "unsupported-version")
        /// Some headers of a set are present, this one is not.
        public static let missingHeader = Code(rawValue: "missing-header")
    }

    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
