public import Foundation

/// The retry state of one delivery target that travels with a delayed re-queue of its request:
/// which attempt comes next, not before when, to whom through which endpoint, and how every
/// earlier attempt went. It rides in a few string headers (``headers``) so the request itself is
/// re-queued unchanged; ``deadLetterReason`` summarises it when the notifier gives up.
///
/// ```
/// triage-attempt: 3
/// triage-not-before: 2026-03-06T16:00:03.250Z
/// triage-recipient: duty-manager
/// triage-endpoint: ops-webhook
/// triage-attempts: [{"n":1,"at":"2026-03-06T16:00:00.000Z","outcome":"HTTP 503 (retriable)"}, ...]
/// ```
public struct DeliveryAttempts: Sendable, Hashable {
    /// One attempt that did not deliver.
    public struct Attempt: Sendable, Hashable, Codable {
        public var number: Int
        public var at: Date
        /// ``DeliveryOutcome/description``, at most 200 characters.
        public var outcome: String

        public init(number: Int, at: Date, outcome: String) {
            self.number = number
            self.at = at
            self.outcome = String(outcome.prefix(200))
        }

        enum CodingKeys: String, CodingKey {
            case number = "n"
            case at, outcome
        }

        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            let text = try values.decode(String.self, forKey: .at)
            guard let at = DeliveryAttempts.date(text) else {
                throw DecodingError.dataCorruptedError(forKey: .at, in: values, debugDescription: "'\(text)' is not an ISO 8601 instant")
            }
            self.init(
                number: try values.decode(Int.self, forKey: .number), at: at, outcome: try values.decode(String.self, forKey: .outcome))
        }

        public func encode(to encoder: any Encoder) throws {
            var values = encoder.container(keyedBy: CodingKeys.self)
            try values.encode(number, forKey: .number)
            try values.encode(DeliveryAttempts.timestamp(at), forKey: .at)
            try values.encode(outcome, forKey: .outcome)
        }
    }

    /// Header names.
    public enum Header {
        public static let attempt = "triage-attempt"
        public static let notBefore = "triage-not-before"
        public static let recipient = "triage-recipient"
        public static let endpoint = "triage-endpoint"
        public static let attempts = "triage-attempts"
        /// `circuit-breaker` on a re-queue the endpoint's open breaker turned away (no attempt
        /// spent): it may go as soon as the breaker closes, ``DeliveryAttempts/notBefore`` at the latest.
        public static let heldBy = "triage-held-by"
        /// The headers every re-queue carries.
        public static let all = [attempt, notBefore, recipient, endpoint, attempts]
        /// Every header this type reads or writes: what a re-queue replaces.
        public static let owned = all + [heldBy]
        static let circuitBreaker = "circuit-breaker"
    }

    /// What to do after an attempt.
    public enum Decision: Sendable, Hashable {
        case delivered
        /// Re-queue the request with these attempts' ``headers``.
        case retry(DeliveryAttempts)
        /// Give up: a permanent failure, or the last attempt failed.
        case deadLetter(reason: String)
    }

    public var recipient: String
    public var endpoint: String
    /// The number of the attempt to make next, from 1.
    public var attempt: Int
    /// Not to be attempted before this instant.
    public var notBefore: Date
    /// The attempts made so far, oldest first.
    public var previous: [Attempt]
    /// The endpoint's open circuit breaker turned this delivery away: it waits for the breaker to
    /// close (its probe succeeded) and goes then, or at ``notBefore`` (when the breaker may probe)
    /// at the latest. Default `false`.
    public var heldByCircuitBreaker: Bool

    public init(
        recipient: String, endpoint: String, attempt: Int = 1, notBefore: Date, previous: [Attempt] = [], heldByCircuitBreaker: Bool = false
    ) {
        self.recipient = recipient
        self.endpoint = endpoint
        self.attempt = attempt
        self.notBefore = notBefore
        self.previous = previous
        self.heldByCircuitBreaker = heldByCircuitBreaker
    }

    /// The first attempt at `target`.
    public init(first target: DeliveryTarget, notBefore: Date) {
        self.init(recipient: target.recipient, endpoint: target.endpoint.name, notBefore: notBefore)
    }

    /// What follows ``attempt`` ending in `outcome` at `now`: delivered, a retry after the
    /// policy's delay (``RetryPolicy/delay(afterAttempt:retryAfter:using:)``), or the dead letter.
    public func after(
        _ outcome: DeliveryOutcome, at now: Date, policy: RetryPolicy, using generator: inout some RandomNumberGenerator
    ) -> Decision {
        if outcome.isDelivered { return .delivered }
        var next = self
        next.heldByCircuitBreaker = false
        next.previous.append(Attempt(number: attempt, at: now, outcome: outcome.description))
        guard case .retriable(_, let retryAfter) = outcome, policy.allowsRetry(after: attempt) else {
            return .deadLetter(reason: next.deadLetterReason)
        }
        next.attempt += 1
        next.notBefore = now.addingTimeInterval(policy.delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator))
        return .retry(next)
    }

    /// ``after(_:at:policy:using:)`` with the system's random numbers.
    public func after(_ outcome: DeliveryOutcome, at now: Date, policy: RetryPolicy) -> Decision {
        var generator = SystemRandomNumberGenerator()
        return after(outcome, at: now, policy: policy, using: &generator)
    }

    /// Every attempt on one line, for the dead-letter header:
    /// `not delivered to duty-manager via ops-webhook after 2 attempts: #1 2026-03-06T16:00:00.000Z HTTP 503 (retriable); #2 ...`.
    public var deadLetterReason: String {
        let count = previous.count == 1 ? "1 attempt" : "\(previous.count) attempts"
        let attempts = previous.map { "#\($0.number) \(Self.timestamp($0.at)) \($0.outcome)" }.joined(separator: "; ")
        return "not delivered to \(recipient) via \(endpoint) after \(count)" + (attempts.isEmpty ? "" : ": \(attempts)")
    }

    // MARK: Headers

    /// The state as `(name, value)` header pairs, in ``Header/all`` order, then
    /// ``Header/heldBy`` when ``heldByCircuitBreaker``.
    public var headers: [(name: String, value: String)] {
        let history = (try? JSONEncoder().encode(previous)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [
            (Header.attempt, String(attempt)), (Header.notBefore, Self.timestamp(notBefore)), (Header.recipient, recipient),
            (Header.endpoint, endpoint), (Header.attempts, history),
        ] + (heldByCircuitBreaker ? [(Header.heldBy, Header.circuitBreaker)] : [])
    }

    /// Reads the state from a record's headers; `nil` when none of ``Header/all`` is present (a
    /// request not yet attempted).
    ///
    /// - Throws: ``NotificationRecordError`` when some are missing or a value is malformed.
    public static func decode(headers: [String: String]) throws(NotificationRecordError) -> DeliveryAttempts? {
        guard Header.all.contains(where: { headers[$0] != nil }) else { return nil }
        func value(_ name: String) throws(NotificationRecordError) -> String {
            guard let value = headers[name] else {
                throw NotificationRecordError(
                    code: .missingHeader, message: "header '\(name)' is missing (the other retry headers are present)")
            }
            return value
        }
        func malformed(_ name: String, _ what: String) -> NotificationRecordError {
            NotificationRecordError(code: .malformed, message: "header '\(name)' is not \(what)")
        }
        guard let attempt = Int(try value(Header.attempt)), attempt >= 1 else {
            throw malformed(Header.attempt, "an attempt number (1, 2, ...)")
        }
        guard let notBefore = date(try value(Header.notBefore)) else { throw malformed(Header.notBefore, "an ISO 8601 instant") }
        let recipient = try value(Header.recipient)
        let endpoint = try value(Header.endpoint)
        guard !recipient.isEmpty, !endpoint.isEmpty else {
            throw malformed(recipient.isEmpty ? Header.recipient : Header.endpoint, "a name")
        }
        let history = try value(Header.attempts)
        let previous: [Attempt]
        do {
            previous = try JSONDecoder().decode([Attempt].self, from: Data(history.utf8))
        } catch {
            throw malformed(Header.attempts, "a JSON list of attempts ({\"n\", \"at\", \"outcome\"})")
        }
        guard previous.count < attempt else {
            throw malformed(Header.attempts, "consistent with attempt \(attempt) (\(previous.count) earlier attempts)")
        }
        // Unknown reasons (a newer writer's) hold until notBefore, as before this header existed.
        return DeliveryAttempts(
            recipient: recipient, endpoint: endpoint, attempt: attempt, notBefore: notBefore, previous: previous,
            heldByCircuitBreaker: headers[Header.heldBy] == Header.circuitBreaker
        )
    }

    /// ISO 8601 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String { date.formatted(instantStyle) }
    static func date(_ text: String) -> Date? { try? instantStyle.parse(text) }
    private static let instantStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
