public import Foundation
public import TriageSchema

/// Lifecycle events counted per wall-clock bucket for the charts: a fixed number of buckets,
/// so memory stays constant however long the dashboard runs. Pure; the collector feeds it.
///
/// Events are placed at the wall-clock time the dashboard read them (Kafka record timestamps
/// are not in the follower's view, and event times are SLA time, which runs faster in `triage
/// dev`). Events read while catching up with a topic's history therefore land in the buckets
/// of the first seconds. Repeated event ids (at-least-once redeliveries, re-published outboxes)
/// are counted once within the last ``rememberedIDs`` events.
public struct EventSeries: Sendable {
    /// What the charts count.
    public enum Kind: Int, Sendable, CaseIterable {
        case warning, breach, escalation, opened, closed
    }

    /// How many recent event ids are kept to drop repeats.
    public static let rememberedIDs = 4_096

    public let bucketSeconds: Double
    public let bucketCount: Int
    /// Counts by bucket number (`floor(seconds since 1970 / bucketSeconds)`).
    private var buckets: [Int64: [Int]] = [:]
    private var newest: Int64 = .min
    public private(set) var totals = [Int](repeating: 0, count: Kind.allCases.count)
    private var seen: Set<String> = []
    private var seenOrder: [String] = []
    private var seenNext = 0

    /// Defaults: 60 buckets of 5 s (the last five minutes).
    public init(bucket: Duration = .seconds(5), count: Int = 60) {
        let (seconds, attoseconds) = bucket.components
        bucketSeconds = max(0.001, Double(seconds) + Double(attoseconds) / 1e18)
        bucketCount = max(1, count)
    }

    /// What `event` counts as, if anything.
    public static func kind(of event: IncidentEvent) -> Kind? {
        switch event.event {
        case .slaWarning: .warning
        case .escalated(let escalated): escalated.level <= 1 ? .breach : .escalation
        case .opened: .opened
        case .closedResolved, .closedUnresolved: .closed
        default: nil
        }
    }

    /// Counts `event` at wall-clock instant `at`; returns whether it counted (not a repeat,
    /// not of an uncounted kind).
    @discardableResult
    public mutating func record(_ event: IncidentEvent, at instant: Date) -> Bool {
        guard let kind = Self.kind(of: event) else { return false }
        if !event.eventID.isEmpty {
            guard seen.insert(event.eventID).inserted else { return false }
            if seenOrder.count < Self.rememberedIDs {
                seenOrder.append(event.eventID)
            } else {
                seen.remove(seenOrder[seenNext])
                seenOrder[seenNext] = event.eventID
                seenNext = (seenNext + 1) % Self.rememberedIDs
            }
        }
        record(kind, at: instant)
        return true
    }

    /// Counts one `kind` at wall-clock instant `at`.
    public mutating func record(_ kind: Kind, at instant: Date) {
        totals[kind.rawValue] += 1
        let number = bucketNumber(instant)
        if number > newest {
            newest = number
            // Forget buckets that fell out of the window.
            let oldest = newest - Int64(bucketCount) + 1
            buckets = buckets.filter { $0.key >= oldest }
        }
        guard number > newest - Int64(bucketCount) else { return }  // too old for the window
        buckets[number, default: [Int](repeating: 0, count: Kind.allCases.count)][kind.rawValue] += 1
    }

    /// The window of ``bucketCount`` buckets ending with the one holding `now` (wall clock).
    public func series(endingAt now: Date) -> DashboardSnapshot.Series {
        let last = bucketNumber(now)
        let numbers = (last - Int64(bucketCount) + 1)...last
        func column(_ kind: Kind) -> [Int] { numbers.map { buckets[$0]?[kind.rawValue] ?? 0 } }
        return DashboardSnapshot.Series(
            bucketSeconds: bucketSeconds,
            starts: numbers.map { Date(timeIntervalSince1970: Double($0) * bucketSeconds) },
            warnings: column(.warning), breaches: column(.breach), escalations: column(.escalation),
            opened: column(.opened), closed: column(.closed)
        )
    }

    private func bucketNumber(_ instant: Date) -> Int64 {
        Int64((instant.timeIntervalSince1970 / bucketSeconds).rounded(.down))
    }
}
