public import Foundation
public import TriageCore

// Who is told what, through which endpoint, and when (docs/notifier.md). The rules are plain
// values: the YAML loader (NotificationRulesLoading.swift) validates references and ranges with
// positions, so resolution here only fails for what the file cannot know — a recipient name in a
// request that the rules never defined.

/// How a notification travels.
public enum NotificationChannel: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// An HMAC-signed JSON `POST` (see ``WebhookSignature``).
    case webhook
    /// A Slack-compatible incoming webhook: a JSON `POST` of `{"text": ...}`.
    case chat
    /// An e-mail through an SMTP server.
    case email

    public var description: String { rawValue }
}

/// A notification request as the notifier acts on it: the fields of `triage.v1.NotificationRequest`
/// without protobuf, so this module stays free of the wire contract.
public struct OutboundNotification: Sendable, Hashable {
    /// Sent as the `Idempotency-Key` header; the notifier delivers one key once per target.
    public var idempotencyKey: String
    public var incidentID: String
    public var requestedAt: Date
    /// A recipient name or an endpoint name from the rules.
    public var recipient: String
    /// `nil` (unspecified): every channel the recipient has.
    public var channel: NotificationChannel?
    /// Template name such as `assigned`, `sla-warning`, `escalated`, `customer-update`.
    public var template: String
    /// Values the template renders; `level` (a positive integer) marks an escalation level.
    public var payload: [String: String]
    /// Severity A: quiet hours do not apply.
    public var urgent: Bool

    public init(
        idempotencyKey: String, incidentID: String, requestedAt: Date, recipient: String, channel: NotificationChannel? = nil,
        template: String, payload: [String: String] = [:], urgent: Bool = false
    ) {
        self.idempotencyKey = idempotencyKey
        self.incidentID = incidentID
        self.requestedAt = requestedAt
        self.recipient = recipient
        self.channel = channel
        self.template = template
        self.payload = payload
        self.urgent = urgent
    }

    /// `payload["level"]` when it is a positive integer; anything else is not an escalation (a
    /// malformed level must not cost the primary recipient their notification).
    public var escalationLevel: Int? {
        guard let text = payload["level"], let level = Int(text), level > 0 else { return nil }
        return level
    }
}

/// The notifier's policy, usually read from YAML with ``load(yaml:file:calendars:)``: endpoints,
/// recipients with their quiet hours, extra recipients per escalation level, the retry schedule,
/// the circuit breaker and the dedupe window. docs/notifier.md is the file reference.
///
/// Defaults: no endpoints, recipients or escalation rules; ``RetryPolicy`` 6 attempts, 1 s doubling
/// to at most 300 s; ``CircuitBreaker/Configuration`` 5 failures, open for 30 s; dedupe window 24 h.
public struct NotificationRules: Sendable, Hashable {
    /// Endpoints by name.
    public var endpoints: [String: Endpoint]
    /// Recipients by name.
    public var recipients: [String: Recipient]
    /// Extra recipient names told at an escalation level, by level (1, 2, ...). Default none.
    public var escalation: [Int: [String]]
    public var retry: RetryPolicy
    public var circuitBreaker: CircuitBreaker.Configuration
    /// How long a delivered idempotency key is remembered (``DeliveryLedger``). Default 24 h.
    public var dedupeWindow: TimeInterval
    /// How `agent:<id>` recipients are reached. Default: nobody.
    public var agents: ContactDirectory
    /// How `customer:<account>` recipients are reached. Default: nobody.
    public var customers: ContactDirectory
    /// Periods that delay or drop notifications about a product or customer. Default none.
    public var maintenanceWindows: [MaintenanceWindow]

    public static let defaultDedupeWindow: TimeInterval = 24 * 3600

    public init(
        endpoints: [String: Endpoint] = [:], recipients: [String: Recipient] = [:], escalation: [Int: [String]] = [:],
        retry: RetryPolicy = RetryPolicy(), circuitBreaker: CircuitBreaker.Configuration = .init(),
        dedupeWindow: TimeInterval = defaultDedupeWindow, agents: ContactDirectory = .init(kind: .agent),
        customers: ContactDirectory = .init(kind: .customer), maintenanceWindows: [MaintenanceWindow] = []
    ) {
        precondition(dedupeWindow > 0, "the dedupe window must be positive")
        self.endpoints = endpoints
        self.recipients = recipients
        self.escalation = escalation
        self.retry = retry
        self.circuitBreaker = circuitBreaker
        self.dedupeWindow = dedupeWindow
        self.agents = agents
        self.customers = customers
        self.maintenanceWindows = maintenanceWindows
    }
}

// MARK: - Endpoints and recipients

extension NotificationRules {
    /// Somewhere deliveries go: a webhook, a chat incoming webhook or an SMTP server. Secrets are
    /// named by environment variable, never held, so ``description`` (and any error) is safe to log.
    ///
    /// Defaults: ``timeout`` 5 s, ``maxConcurrency`` 4.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// The channel and how to reach it.
        public enum Kind: Sendable, Hashable {
            case webhook(HTTPDestination)
            case chat(HTTPDestination)
            case email(SMTPServer)
        }

        public let name: String
        public var kind: Kind
        /// How long one delivery may take (connect to last byte). Default 5 s.
        public var timeout: TimeInterval
        /// Deliveries in flight to this endpoint at once. Default 4.
        public var maxConcurrency: Int

        public static let defaultTimeout: TimeInterval = 5
        public static let defaultMaxConcurrency = 4

        public init(name: String, kind: Kind, timeout: TimeInterval = defaultTimeout, maxConcurrency: Int = defaultMaxConcurrency) {
            precondition(timeout > 0 && maxConcurrency > 0, "an endpoint needs a positive timeout and concurrency")
            self.name = name
            self.kind = kind
            self.timeout = timeout
            self.maxConcurrency = maxConcurrency
        }

        public var channel: NotificationChannel {
            switch kind {
            case .webhook: .webhook
            case .chat: .chat
            case .email: .email
            }
        }

        /// The environment variables this endpoint reads (URL, HMAC key, SMTP password): the
        /// worker checks them at start-up with ``NotificationRules/missingEnvironmentVariables(in:)``.
        public var environmentVariables: [String] {
            switch kind {
            case .webhook(let http), .chat(let http):
                var names = http.secretVariable.map { [$0] } ?? []
                if case .environment(let variable) = http.url { names.insert(variable, at: 0) }
                return names
            case .email(let smtp):
                return smtp.passwordVariable.map { [$0] } ?? []
            }
        }

        /// `name (channel → where)`, with URLs shown as scheme and host only (paths of chat
        /// webhooks are credentials).
        public var description: String {
            let target: String
            switch kind {
            case .webhook(let http), .chat(let http): target = http.url.description
            case .email(let smtp): target = "\(smtp.host):\(smtp.port)"
            }
            return "\(name) (\(channel) → \(target))"
        }
    }

    /// Where a webhook or chat endpoint posts, and which environment variable holds its HMAC key.
    public struct HTTPDestination: Sendable, Hashable {
        /// The URL, or the environment variable holding it (chat webhook URLs are credentials).
        public enum Location: Sendable, Hashable, CustomStringConvertible {
            case url(URL)
            case environment(String)

            public var description: String {
                switch self {
                case .url(let url): "\(url.scheme ?? "https")://\(url.host ?? "?")/…"
                case .environment(let variable): "$\(variable)"
                }
            }
        }

        public var url: Location
        /// The environment variable holding the HMAC-SHA256 key for `Triage-Signature`; required
        /// for webhooks, optional for chat. `nil`: deliveries are not signed.
        public var secretVariable: String?

        public init(url: Location, secretVariable: String? = nil) {
            self.url = url
            self.secretVariable = secretVariable
        }

        /// The URL to post to, reading `environment` if the URL lives there.
        public func resolvedURL(in environment: [String: String]) -> URL? {
            switch url {
            case .url(let url): url
            case .environment(let variable): environment[variable].flatMap { URL(string: $0) }
            }
        }
    }

    /// An SMTP server to send e-mail through. Defaults: port 25, no STARTTLS, no authentication.
    public struct SMTPServer: Sendable, Hashable {
        public var host: String
        /// Default 25.
        public var port: Int
        /// Upgrade the connection with STARTTLS before authenticating. Default `false`.
        public var startTLS: Bool
        /// The envelope and `From:` address.
        public var from: String
        /// For SMTP AUTH; set together with ``passwordVariable``.
        public var username: String?
        /// The environment variable holding the SMTP password.
        public var passwordVariable: String?

        public init(
            host: String, port: Int = 25, startTLS: Bool = false, from: String, username: String? = nil, passwordVariable: String? = nil
        ) {
            self.host = host
            self.port = port
            self.startTLS = startTLS
            self.from = from
            self.username = username
            self.passwordVariable = passwordVariable
        }
    }

    /// Someone (a person, a team, a rota) who can be told: an e-mail address and/or webhook and
    /// chat endpoints, and optionally the hours they are awake. Outside ``awakeHours`` (their
    /// quiet hours) non-urgent notifications wait until the calendar next opens.
    public struct Recipient: Sendable, Hashable {
        public let name: String
        public var email: String?
        /// The email endpoint that sends to ``email``; the loader fills in the only one defined.
        public var emailEndpoint: String?
        /// Webhook and chat endpoint names.
        public var endpoints: [String]
        /// When notifications may reach them; `nil` (default): any time.
        public var awakeHours: BusinessCalendar?
        /// The BCP 47 language their texts are written in, over the request's `language`
        /// (customers only). `nil` (default): the request's.
        public var language: String?

        public init(
            name: String, email: String? = nil, emailEndpoint: String? = nil, endpoints: [String] = [], awakeHours: BusinessCalendar? = nil,
            language: String? = nil
        ) {
            self.name = name
            self.email = email
            self.emailEndpoint = emailEndpoint
            self.endpoints = endpoints
            self.awakeHours = awakeHours
            self.language = language
        }
    }
}

// MARK: - Resolution

/// One delivery a request resolves to: who, through which endpoint, to which address, under which
/// idempotency key.
public struct DeliveryTarget: Sendable, Hashable {
    /// The recipient name: the request's own, or an extra recipient of its escalation level.
    public var recipient: String
    public var endpoint: NotificationRules.Endpoint
    /// The e-mail address for email endpoints; `nil` otherwise.
    public var emailAddress: String?
    /// Sent as `Idempotency-Key`: the request's key for its own recipient; for an escalation's
    /// extra recipient, a key derived from the incident, the breached deadline and the level, so
    /// the requests of one escalation (one per notified person) tell each extra recipient once.
    public var idempotencyKey: String
    /// The escalation level that added this target; `nil` for the request's own recipient.
    public var escalationLevel: Int?
    /// The language the recipient's texts are written in when the rules say (a customer's
    /// `language`); `nil`: the request's `payload["language"]`.
    public var language: String?

    /// The key of this delivery in the ``DeliveryLedger``: ``idempotencyKey`` and the endpoint.
    public var ledgerKey: String { "\(idempotencyKey)|\(endpoint.name)" }
    public var channel: NotificationChannel { endpoint.channel }
}

/// Why a request cannot be delivered as it stands; the worker dead-letters it with ``description``.
public struct DeliveryResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Compare against the `static let` cases; new cases never break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The recipient is neither a recipient nor an endpoint in the rules.
        public static let unknownRecipient = Code(rawValue: "unknown-recipient")
        /// The recipient exists but has no endpoint on the requested channel.
        public static let noTargetOnChannel = Code(rawValue: "no-target-on-channel")
        /// The rules refer to an endpoint they do not define (only possible for rules built in
        /// code; the loader refuses such files).
        public static let unknownEndpoint = Code(rawValue: "unknown-endpoint")
        /// A re-queued attempt names a target the request no longer resolves to (the rules changed).
        public static let targetGone = Code(rawValue: "target-gone")
    }

    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}

extension NotificationRules {
    /// The deliveries `notification` resolves to: the recipient's endpoints on the requested
    /// channel (all of them when the channel is unspecified), plus — for an escalation
    /// (`payload["level"]`) — every endpoint of the extra recipients of that level. The
    /// recipient may also name a webhook or chat endpoint directly.
    ///
    /// - Throws: ``DeliveryResolutionError`` for an unknown recipient, or one with nothing on
    ///   the requested channel.
    public func deliveries(for notification: OutboundNotification) throws(DeliveryResolutionError) -> [DeliveryTarget] {
        var targets = try targets(of: notification.recipient, channel: notification.channel, key: notification.idempotencyKey)
        if targets.isEmpty {
            throw DeliveryResolutionError(
                code: .noTargetOnChannel,
                message:
                    "recipient '\(ContactDirectory.printable(notification.recipient))' has no \(notification.channel.map { "\($0) " } ?? "")endpoint"
                    + " (it has: \(channels(of: notification.recipient)))")
        }
        if let level = notification.escalationLevel {
            let escalation = [notification.incidentID, notification.payload["target"], notification.payload["deadline"]]
                .compactMap { $0 }.joined(separator: "/")
            for extra in self.escalation[level] ?? [] where extra != notification.recipient {
                var extras = try self.targets(of: extra, channel: nil, key: "\(escalation)/level-\(level)/\(extra)")
                for index in extras.indices { extras[index].escalationLevel = level }
                targets += extras
            }
        }
        return targets
    }

    /// The target a re-queued attempt continues (see ``DeliveryAttempts``).
    public func target(for notification: OutboundNotification, resuming attempts: DeliveryAttempts) throws(DeliveryResolutionError)
        -> DeliveryTarget
    {
        guard
            let target = try deliveries(for: notification).first(where: {
                $0.endpoint.name == attempts.endpoint && $0.recipient == attempts.recipient
            })
        else {
            throw DeliveryResolutionError(
                code: .targetGone,
                message:
                    "'\(attempts.recipient)' is no longer delivered through endpoint '\(attempts.endpoint)' (the rules changed); \(attempts.deadLetterReason)"
            )
        }
        return target
    }

    /// When a notification for `recipient` may be delivered: `instant` itself if it is urgent, the
    /// recipient is awake (inside their ``Recipient/awakeHours``) or has no quiet hours; otherwise
    /// the next time their calendar opens. Unknown recipients (and endpoints) have no quiet hours.
    public func releaseTime(recipient: String, urgent: Bool, at instant: Date) -> Date {
        guard !urgent, let hours = (try? self.recipient(named: recipient))??.awakeHours else { return instant }
        // Zero business minutes from `instant` is the first open instant at or after it.
        return (try? hours.adding(businessMinutes: 0, to: instant)) ?? instant
    }

    /// Whether `name` is a recipient or an endpoint, e.g. to check an SLA policy's `notify` lists
    /// at start-up rather than dead-letter their notifications later.
    public func knows(recipient name: String) -> Bool {
        if let (kind, id) = ContactDirectory.parse(name) { return directory(kind).knows(id) }
        return recipients[name] != nil || endpoints[name].map { $0.channel != .email } == true
    }

    /// The directory of `kind`.
    public func directory(_ kind: ContactDirectory.Kind) -> ContactDirectory {
        switch kind {
        case .agent: agents
        case .customer: customers
        }
    }

    /// The recipient `name` stands for: a recipient of the rules, or an agent or customer through
    /// their directory (`agent:<id>`, `customer:<account>`); `nil` when none.
    public func recipient(named name: String) throws(DeliveryResolutionError) -> Recipient? {
        if let (kind, id) = ContactDirectory.parse(name) { return try directory(kind).recipient(for: id) }
        return recipients[name]
    }

    /// The environment variables some endpoint needs that `environment` lacks, sorted.
    public func missingEnvironmentVariables(in environment: [String: String]) -> [String] {
        Set(endpoints.values.flatMap(\.environmentVariables)).filter { (environment[$0] ?? "").isEmpty }.sorted()
    }

    private func targets(of name: String, channel: NotificationChannel?, key: String) throws(DeliveryResolutionError) -> [DeliveryTarget] {
        func endpoint(_ name: String) throws(DeliveryResolutionError) -> Endpoint {
            guard let endpoint = endpoints[name] else {
                throw DeliveryResolutionError(
                    code: .unknownEndpoint, message: "endpoint '\(name)' is not defined in the notification rules")
            }
            return endpoint
        }
        var targets: [DeliveryTarget] = []
        if let recipient = try recipient(named: name) {
            if let address = recipient.email, let via = recipient.emailEndpoint {
                targets.append(
                    DeliveryTarget(
                        recipient: name, endpoint: try endpoint(via), emailAddress: address, idempotencyKey: key,
                        language: recipient.language))
            }
            for via in recipient.endpoints {
                targets.append(
                    DeliveryTarget(recipient: name, endpoint: try endpoint(via), idempotencyKey: key, language: recipient.language))
            }
        } else if let (kind, id) = ContactDirectory.parse(name) {
            throw DeliveryResolutionError(
                code: .unknownRecipient,
                message:
                    "\(kind.rawValue) '\(ContactDirectory.printable(id))' has no contact in the notification rules: add \(kind.section).\(ContactDirectory.printable(id)) or \(kind.section).default"
            )
        } else if let direct = endpoints[name], direct.channel != .email {
            targets.append(DeliveryTarget(recipient: name, endpoint: direct, idempotencyKey: key))
        } else {
            // Quoted with its control characters shown as '?': it comes from the request, and the
            // reason reaches logs and the dead-letter record's header.
            var message = "recipient '\(ContactDirectory.printable(name))' is not defined in the notification rules"
            if let suggestion = RulesReader.closest(to: name, in: (Array(recipients.keys) + Array(endpoints.keys)).sorted()) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw DeliveryResolutionError(code: .unknownRecipient, message: message)
        }
        return targets.filter { channel == nil || $0.channel == channel }
    }

    private func channels(of name: String) -> String {
        let all = (try? targets(of: name, channel: nil, key: "")) ?? []
        let names = Set(all.map(\.channel.rawValue)).sorted()
        return names.isEmpty ? "nothing" : names.joined(separator: ", ")
    }
}
