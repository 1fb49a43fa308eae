public import Foundation

/// How often and how patiently a failed delivery is retried: exponential backoff with *equal
/// jitter* — the delay after attempt `n` is drawn from `[c/2, c]` where
/// `c = min(maxDelay, initialDelay × multiplier^(n-1))` — half of it fixed, half random, so
/// workers retrying together spread out while a delay is never shorter than the one before (with
/// a multiplier of at least 2, until the cap). A larger `Retry-After` from the receiver wins.
///
/// Defaults: 6 attempts in all, 1 s doubling to at most 300 s.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; after the last the request is dead-lettered. Default 6.
    public var maxAttempts: Int
    /// The ceiling of the delay after the first attempt. Default 1 s.
    public var initialDelay: TimeInterval
    /// No delay's ceiling grows past this. Default 300 s.
    public var maxDelay: TimeInterval
    /// Growth of the ceiling per attempt; the loader requires at least 2. Default 2.
    public var multiplier: Double

    public init(maxAttempts: Int = 6, initialDelay: TimeInterval = 1, maxDelay: TimeInterval = 300, multiplier: Double = 2) {
        precondition(maxAttempts >= 1 && initialDelay > 0 && maxDelay >= initialDelay && multiplier >= 1, "invalid retry policy")
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    public func allowsRetry(after attempt: Int) -> Bool { attempt < maxAttempts }

    /// The longest delay after attempt `attempt` (1-based): `min(maxDelay, initialDelay × multiplier^(attempt-1))`.
    public func ceiling(afterAttempt attempt: Int) -> TimeInterval {
        precondition(attempt >= 1, "attempts are numbered from 1")
        let grown = initialDelay * pow(multiplier, Double(attempt - 1))
        return grown.isFinite ? min(maxDelay, grown) : maxDelay
    }

    /// The delay before attempt `attempt + 1`: half the ceiling plus a random share of the other
    /// half, or `retryAfter` (seconds, from the receiver's `Retry-After`) when that is longer.
    public func delay(afterAttempt attempt: Int, retryAfter: TimeInterval? = nil, using generator: inout some RandomNumberGenerator)
        -> TimeInterval
    {
        let half = ceiling(afterAttempt: attempt) / 2
        let jittered = half + Double.random(in: 0...half, using: &generator)
        return max(jittered, retryAfter ?? 0)
    }

    /// ``delay(afterAttempt:retryAfter:using:)`` with the system's random numbers.
    public func delay(afterAttempt attempt: Int, retryAfter: TimeInterval? = nil) -> TimeInterval {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }
}

/// What one delivery attempt came to, classified for retrying: ``delivered``, ``retriable(_:retryAfter:)``
/// (the receiver or the network may recover) or ``permanent(_:)`` (retrying cannot help).
///
/// | result | outcome |
/// |---|---|
/// | HTTP 2xx | delivered |
/// | HTTP 408, 425, 429, 5xx | retriable (`Retry-After` seconds honoured) |
/// | other HTTP 3xx/4xx | permanent (redirects are not followed: fix the URL) |
/// | timeout, connection refused or reset, other transport failures | retriable |
/// | SMTP 2xx | delivered |
/// | SMTP 4xx | retriable |
/// | SMTP 5xx | permanent |
public enum DeliveryOutcome: Sendable, Hashable, CustomStringConvertible {
    case delivered
    /// The text says what happened; `retryAfter` is the receiver's hint in seconds.
    case retriable(String, retryAfter: TimeInterval? = nil)
    case permanent(String)

    /// A failure below HTTP and SMTP: all are presumed transient (the attempt budget bounds them).
    public enum TransportFailure: Sendable, Hashable, CustomStringConvertible {
        case timeout
        case connectionRefused
        case connectionReset
        /// Anything else (DNS, TLS, ...), described.
        case other(String)

        public var description: String {
            switch self {
            case .timeout: "timed out"
            case .connectionRefused: "connection refused"
            case .connectionReset: "connection reset"
            case .other(let text): text
            }
        }
    }

    /// Classifies an HTTP response status; `retryAfter` is the `Retry-After` header's value
    /// (delay-seconds; an HTTP-date is ignored).
    public static func http(status: Int, retryAfter: String? = nil) -> DeliveryOutcome {
        switch status {
        case 200..<300:
            return .delivered
        case 408, 425, 429, 500..<600:
            let hint = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? TimeInterval($0) : nil }
            return .retriable("HTTP \(status)", retryAfter: hint)
        case 300..<400:
            return .permanent("HTTP \(status) (redirects are not followed; point the endpoint at the final URL)")
        default:
            return .permanent("HTTP \(status)")
        }
    }

    /// Classifies the final SMTP reply to a message (`message` is the server's text, if any).
    public static func smtp(replyCode: Int, message: String = "") -> DeliveryOutcome {
        let text = message.isEmpty ? "SMTP \(replyCode)" : "SMTP \(replyCode) \(message)"
        switch replyCode {
        case 200..<300: return .delivered
        case 400..<500: return .retriable(text)
        case 500..<600: return .permanent(text)
        default: return .retriable("unexpected reply: \(text)")
        }
    }

    public static func transport(_ failure: TransportFailure) -> DeliveryOutcome { .retriable(failure.description) }

    public var isDelivered: Bool { self == .delivered }
    public var isRetriable: Bool {
        if case .retriable = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .delivered: "delivered"
        case .retriable(let text, let retryAfter?): "\(text) (retriable, Retry-After \(Int(retryAfter)) s)"
        case .retriable(let text, nil): "\(text) (retriable)"
        case .permanent(let text): "\(text) (permanent)"
        }
    }
}
