public import Foundation

/// Where the escalator's "now" comes from. SLA time is event time: deadlines are computed from
/// events' `occurred_at`, and the time source only says which of them have passed.
public protocol SlaTimeSource: Sendable {
    /// The current SLA time.
    func now() -> Date
    /// How long to wait in real time until SLA time reaches `instant` (zero if it has).
    func realDelay(until instant: Date) -> Duration
}

/// The system clock, or a sped-up one for demos and tests: SLA time runs `scale` times as fast
/// as real time from `origin` on (`now = origin + (real - origin) × scale`). With the same
/// origin, separate processes agree on SLA time, so a restarted escalator picks up where the
/// old one left off. `scale` 360 turns an hour into ten seconds.
public struct ScaledClock: SlaTimeSource {
    public let scale: Double
    public let origin: Date

    public init(scale: Double = 1, origin: Date = Date()) {
        precondition(scale > 0, "time scale must be positive")
        self.scale = scale
        self.origin = origin
    }

    public static let system = ScaledClock(scale: 1, origin: Date(timeIntervalSince1970: 0))

    public func now() -> Date {
        scale == 1 ? Date() : origin.addingTimeInterval(Date().timeIntervalSince(origin) * scale)
    }

    /// The SLA instant of a real one (e.g. a record's timestamp): `origin + (real - origin) × scale`.
    public func slaInstant(of real: Date) -> Date {
        scale == 1 ? real : origin.addingTimeInterval(real.timeIntervalSince(origin) * scale)
    }

    /// The real instant at which SLA time reaches `instant`.
    public func realInstant(of instant: Date) -> Date {
        scale == 1 ? instant : origin.addingTimeInterval(instant.timeIntervalSince(origin) / scale)
    }

    public func realDelay(until instant: Date) -> Duration {
        let seconds = instant.timeIntervalSince(now()) / scale
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, 86_400 * 365) * 1000) + 1)
    }
}
