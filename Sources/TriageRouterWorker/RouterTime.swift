public import Foundation

/// Where the router's "now" comes from: the wall clock (``system``), or the sped-up SLA time of
/// `triage dev`, so that queue waits, overflows and shift ends are measured on the same time as
/// the events' `occurred_at` the desks queue incidents by.
public struct RouterTime: Sendable {
    /// The current instant.
    public var now: @Sendable () -> Date
    /// How long to wait in real time until `now()` reaches an instant (zero if it has).
    public var realDelay: @Sendable (Date) -> Duration

    public init(now: @escaping @Sendable () -> Date, realDelay: @escaping @Sendable (Date) -> Duration) {
        self.now = now
        self.realDelay = realDelay
    }

    /// The wall clock.
    public static let system = RouterTime(
        now: { Date() },
        realDelay: { instant in
            let seconds = max(0, instant.timeIntervalSinceNow)
            return .milliseconds(Int64((min(seconds, 86_400 * 365) * 1000).rounded(.up)))
        })
}
