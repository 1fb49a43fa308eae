public import Foundation

/// Stops hammering an endpoint that keeps failing, one per endpoint. A value-type state machine;
/// the caller passes the time in.
///
/// - **closed**: deliveries flow; ``Configuration/failureThreshold`` consecutive failures open it.
/// - **open**: every delivery is refused until ``Configuration/openFor`` has passed (the worker
///   re-queues them without spending an attempt).
/// - **half-open**: exactly one probe delivery is let through; its success closes the breaker,
///   its failure opens it again. A probe that never reports back (its worker was cancelled) is
///   replaced by a new one after another ``Configuration/openFor``.
///
/// A refusal's ``Admission/refused(until:)`` is the latest time to ask again, not the earliest:
/// the moment a probe's success closes the breaker (``isClosed``), every delivery refused
/// meanwhile may go. The notifier wakes them then, so an endpoint that is back gets its queued
/// deliveries within one period of the outage, not a second ``Configuration/openFor`` later.
///
/// Only retriable failures count (``record(_:at:)``): a permanent failure such as HTTP 400 is an
/// answer, so the endpoint is up.
public struct CircuitBreaker: Sendable, Hashable {
    /// Defaults: 5 consecutive failures open the breaker for 30 s.
    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures that open a closed breaker. Default 5.
        public var failureThreshold: Int
        /// How long an open breaker refuses deliveries before a probe. Default 30 s.
        public var openFor: TimeInterval

        public init(failureThreshold: Int = 5, openFor: TimeInterval = 30) {
            precondition(failureThreshold >= 1 && openFor > 0, "invalid circuit breaker configuration")
            self.failureThreshold = failureThreshold
            self.openFor = openFor
        }
    }

    /// Where the breaker is; starts ``closed(consecutiveFailures:)`` with 0.
    public enum State: Sendable, Hashable {
        case closed(consecutiveFailures: Int)
        case open(until: Date)
        case halfOpen(probeSentAt: Date)
    }

    /// Whether a delivery may go now.
    public enum Admission: Sendable, Hashable {
        case allowed
        /// Allowed as the half-open breaker's single probe.
        case probe
        /// Not now; try again when the breaker closes, or at `until` (when it may probe) at the latest.
        case refused(until: Date)
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed(consecutiveFailures: 0)

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Deliveries flow. Refused ones may go as soon as this becomes true.
    public var isClosed: Bool {
        if case .closed = state { true } else { false }
    }

    /// Asks to deliver at `now`; an open breaker whose time is up lets this one through as the probe.
    public mutating func admit(at now: Date) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until) where now < until:
            return .refused(until: until)
        case .halfOpen(let sentAt) where now < sentAt.addingTimeInterval(configuration.openFor):
            return .refused(until: sentAt.addingTimeInterval(configuration.openFor))
        case .open, .halfOpen:
            state = .halfOpen(probeSentAt: now)
            return .probe
        }
    }

    /// A delivery succeeded (or was answered): closes the breaker.
    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
    }

    /// A delivery failed at `now`: counts toward the threshold, or re-opens a half-open breaker.
    /// (Late failures of deliveries admitted before the breaker opened change nothing.)
    public mutating func recordFailure(at now: Date) {
        switch state {
        case .closed(let failures) where failures + 1 < configuration.failureThreshold:
            state = .closed(consecutiveFailures: failures + 1)
        case .closed, .halfOpen:
            state = .open(until: now.addingTimeInterval(configuration.openFor))
        case .open:
            break
        }
    }

    /// Records an outcome: retriable failures count as failures, anything else as a success.
    public mutating func record(_ outcome: DeliveryOutcome, at now: Date) {
        if outcome.isRetriable { recordFailure(at: now) } else { recordSuccess() }
    }
}
