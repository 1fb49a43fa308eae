import Foundation
public import TriageCore
import Yams

// Reading notification rules from YAML (docs/notifier.md is the reference). Like SLA policies and
// rosters, the text is walked by hand with TriageCore's `YAMLConfigurationReader`, so every error
// names the file, line, column and dotted key, and unknown keys are refused with a suggestion.
// Values that might be secrets (URLs, environment variable names that are really keys) are never
// quoted back in errors.

/// A notification rules file that cannot be used (the name notifier code knows it by).
///
/// ```
/// config/notification-rules.yaml:12:14: endpoints.ops-webhook.timeout: '5' needs a unit, e.g. 5s
/// ```
public typealias NotificationRulesError = ConfigurationError

extension NotificationRules {
    /// Reads rules from YAML text; every section is optional and an empty document is the default
    /// rules (nothing to deliver to).
    ///
    /// ```swift
    /// let rules = try NotificationRules.load(yaml: text, file: "config/notification-rules.yaml")
    /// ```
    ///
    /// - Parameters:
    ///   - yaml: The rules text.
    ///   - file: The name used in errors (usually the path it was read from).
    ///   - calendars: Calendars defined elsewhere (such as an SLA policy's) that `awake_hours` may
    ///     name; the file's own `calendars` win.
    /// - Throws: ``NotificationRulesError`` naming the file, line, column and key of the first
    ///   problem: YAML syntax, unknown keys, malformed values, references to undefined endpoints,
    ///   recipients or calendars.
    public static func load(yaml: String, file: String, calendars: [String: BusinessCalendar] = [:]) throws(NotificationRulesError)
        -> NotificationRules
    {
        let reader = RulesReader(file: file, calendars: calendars)
        guard let root = try reader.compose(yaml), !RulesReader.isNull(root) else { return NotificationRules() }
        return try reader.rules(root)
    }

    /// Reads rules from a file; see ``load(yaml:file:calendars:)``.
    public static func load(path: String, calendars: [String: BusinessCalendar] = [:]) throws(NotificationRulesError) -> NotificationRules {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw NotificationRulesError(
                code: .invalidValue, file: path, message: "cannot read the notification rules: \(error.localizedDescription)")
        }
        return try load(yaml: text, file: path, calendars: calendars)
    }
}

struct RulesReader: YAMLConfigurationReader {
    let file: String
    var calendars: [String: BusinessCalendar]

    static let mergeAliasExample = "*defaults"
    static let topKeys = [
        "calendars", "endpoints", "recipients", "agents", "customers", "escalation", "maintenance_windows", "retry", "circuit_breaker",
        "dedupe_window",
    ]
    static let windowKeys = ["name", "start", "end", "products", "customers", "reason", "action", "include_critical"]
    static let httpKeys = ["channel", "url", "url_env", "secret_env", "timeout", "max_concurrency"]
    static let emailKeys = ["channel", "host", "port", "starttls", "from", "username", "password_env", "timeout", "max_concurrency"]
    static let recipientKeys = ["email", "email_endpoint", "endpoints", "awake_hours"]
    static let levelKeys = ["level", "notify"]
    static let retryKeys = ["max_attempts", "initial_delay", "max_delay", "multiplier"]
    static let breakerKeys = ["failure_threshold", "open_for"]

    /// `path` itself for an empty key, so an error of TriageCore's calendar reader with no key
    /// points at the calendar.
    static func join(_ path: String, _ key: String) -> String {
        if key.isEmpty { return path }
        return path.isEmpty ? key : "\(path).\(key)"
    }

    func rules(_ root: Node) throws(NotificationRulesError) -> NotificationRules {
        let top = try fields(root, path: "", known: Self.topKeys, what: "a mapping of rules sections (endpoints, recipients, retry, ...)")
        var reader = self
        var rules = NotificationRules()
        if let node = top["calendars"] {
            for entry in try entries(node, path: "calendars", what: "a mapping of calendar names to calendars") {
                reader.calendars[entry.name] = try calendar(entry.value, path: Self.join("calendars", entry.name))
            }
        }
        if let node = top["endpoints"] {
            for entry in try entries(node, path: "endpoints", what: "a mapping of endpoint names to endpoints") {
                rules.endpoints[entry.name] = try endpoint(entry.name, entry.value, path: Self.join("endpoints", entry.name))
            }
        }
        if let node = top["recipients"] {
            for entry in try entries(node, path: "recipients", what: "a mapping of recipient names to recipients") {
                let path = Self.join("recipients", entry.name)
                if rules.endpoints[entry.name] != nil {
                    throw error(
                        .duplicate,
                        "'\(entry.name)' is both an endpoint and a recipient; requests name either, so give them distinct names",
                        at: entry.key, key: path)
                }
                rules.recipients[entry.name] = try reader.recipient(entry.name, entry.value, path: path, endpoints: rules.endpoints)
            }
        }
        for kind in ContactDirectory.Kind.allCases {
            guard let node = top[kind.section] else { continue }
            let directory = try reader.directory(kind, node, endpoints: rules.endpoints)
            switch kind {
            case .agent: rules.agents = directory
            case .customer: rules.customers = directory
            }
        }
        if let node = top["escalation"] { rules.escalation = try escalation(node, rules: rules) }
        if let node = top["maintenance_windows"] { rules.maintenanceWindows = try maintenanceWindows(node) }
        if let node = top["retry"] { rules.retry = try retry(node) }
        if let node = top["circuit_breaker"] {
            let values = try fields(
                node, path: "circuit_breaker", known: Self.breakerKeys, what: "a mapping with failure_threshold and open_for")
            if let value = values["failure_threshold"] {
                rules.circuitBreaker.failureThreshold = try positiveInteger(
                    value, path: values.path("failure_threshold"), what: "consecutive failures")
            }
            if let value = values["open_for"] { rules.circuitBreaker.openFor = try duration(value, path: values.path("open_for")) }
        }
        if let node = top["dedupe_window"] { rules.dedupeWindow = try duration(node, path: "dedupe_window") }
        return rules
    }

    // MARK: Endpoints

    func endpoint(_ name: String, _ node: Node, path: String) throws(NotificationRulesError) -> NotificationRules.Endpoint {
        let all = Self.httpKeys + Self.emailKeys.filter { !Self.httpKeys.contains($0) }
        let values = try fields(node, path: path, known: all, what: "an endpoint (channel: webhook, chat or email, and its settings)")
        let channelNode = try required(values, "channel", hint: "webhook, chat or email")
        let channelText = try string(channelNode, path: values.path("channel"), what: "webhook, chat or email")
        guard let channel = NotificationChannel(rawValue: channelText.lowercased()) else {
            throw unknownKey(channelText, at: channelNode, path: path, known: NotificationChannel.allCases.map(\.rawValue), noun: "channel")
        }
        let known = channel == .email ? Self.emailKeys : Self.httpKeys
        for entry in values.entries where !known.contains(entry.name) {
            throw error(
                .unknownKey,
                "'\(entry.name)' is not a setting of \(channel) endpoints (they take \(known.dropFirst().joined(separator: ", ")))",
                at: entry.key, key: values.path(entry.name))
        }
        let kind: NotificationRules.Endpoint.Kind
        switch channel {
        case .webhook, .chat:
            let http = try httpDestination(values, path: path, channel: channel)
            kind = channel == .webhook ? .webhook(http) : .chat(http)
        case .email:
            kind = .email(try smtpServer(values))
        }
        let timeout = try values["timeout"].map { (node) throws(NotificationRulesError) in try duration(node, path: values.path("timeout"))
        }
        let concurrency = try values["max_concurrency"].map { (node) throws(NotificationRulesError) in
            try positiveInteger(node, path: values.path("max_concurrency"), what: "deliveries in flight")
        }
        return .init(
            name: name, kind: kind, timeout: timeout ?? NotificationRules.Endpoint.defaultTimeout,
            maxConcurrency: concurrency ?? NotificationRules.Endpoint.defaultMaxConcurrency)
    }

    func httpDestination(_ values: Fields, path: String, channel: NotificationChannel) throws(NotificationRulesError)
        -> NotificationRules.HTTPDestination
    {
        let location: NotificationRules.HTTPDestination.Location
        switch (values["url"], values["url_env"]) {
        case (let url?, nil):
            // Not quoted in errors: a chat webhook's path is a credential.
            let text = try string(url, path: values.path("url"), what: "an http:// or https:// URL")
            guard let parsed = URL(string: text), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host?.isEmpty == false
            else {
                throw error(.invalidValue, "not an absolute http:// or https:// URL", at: url, key: values.path("url"))
            }
            location = .url(parsed)
        case (nil, let variable?):
            location = .environment(try environmentVariable(variable, path: values.path("url_env")))
        case (.some, .some):
            throw error(.invalidValue, "give either url or url_env, not both", at: values.keyNode("url_env"), key: values.path("url_env"))
        case (nil, nil):
            throw error(
                .missingKey, "missing 'url' (or 'url_env', the environment variable holding it)", at: values.keyNode("url") ?? values.node,
                key: values.path("url"))
        }
        var secret: String?
        if let node = values["secret_env"] {
            secret = try environmentVariable(node, path: values.path("secret_env"))
        } else if channel == .webhook {
            throw error(
                .missingKey,
                "missing 'secret_env': webhook deliveries are signed (Triage-Signature); name the environment variable holding the HMAC key",
                at: values.node, key: values.path("secret_env"))
        }
        return .init(url: location, secretVariable: secret)
    }

    func smtpServer(_ values: Fields) throws(NotificationRulesError) -> NotificationRules.SMTPServer {
        let host = try name(
            try required(values, "host", hint: "the SMTP server's host name"), path: values.path("host"), what: "a host name")
        let fromNode = try required(values, "from", hint: "the sender address, e.g. triage@example.com")
        var server = NotificationRules.SMTPServer(host: host, from: try emailAddress(fromNode, path: values.path("from")))
        if let node = values["port"] {
            server.port = try positiveInteger(node, path: values.path("port"), what: "a TCP port")
            guard server.port <= 65_535 else {
                throw error(.invalidValue, "\(server.port) is not a TCP port (1-65535)", at: node, key: values.path("port"))
            }
        }
        if let node = values["starttls"] { server.startTLS = try bool(node, path: values.path("starttls")) }
        if let node = values["username"] { server.username = try name(node, path: values.path("username"), what: "a user name") }
        if let node = values["password_env"] { server.passwordVariable = try environmentVariable(node, path: values.path("password_env")) }
        if (server.username == nil) != (server.passwordVariable == nil) {
            let missing = server.username == nil ? "username" : "password_env"
            throw error(
                .missingKey, "missing '\(missing)': SMTP authentication needs both username and password_env", at: values.node,
                key: values.path(missing))
        }
        return server
    }

    // MARK: Recipients and escalation

    func recipient(
        _ name: String, _ node: Node, path: String, endpoints: [String: NotificationRules.Endpoint],
        directory: ContactDirectory.Kind? = nil, isDefault: Bool = false
    )
        throws(NotificationRulesError) -> NotificationRules.Recipient
    {
        let known = Self.recipientKeys + (directory == .customer ? ["language"] : [])
        let values = try fields(node, path: path, known: known, what: "a recipient (\(known.joined(separator: ", ")))")
        var recipient = NotificationRules.Recipient(name: name)
        if let node = values["email"] {
            let text = try string(node, path: values.path("email"), what: "an e-mail address")
            if text.contains(ContactDirectory.idPlaceholder) {
                guard isDefault, directory != nil else {
                    throw error(
                        .invalidValue,
                        "'\(ContactDirectory.idPlaceholder)' is replaced by an id only in agents.default and customers.default",
                        at: node, key: values.path("email"))
                }
                // Checked with a sample id: the id itself is checked when a request names it.
                guard Self.isEmailAddress(text.replacingOccurrences(of: ContactDirectory.idPlaceholder, with: "id")) else {
                    throw error(
                        .invalidValue, "'\(text)' is not an e-mail address once {id} is filled in (name@domain, without a display name)",
                        at: node, key: values.path("email"))
                }
                recipient.email = text
            } else {
                recipient.email = try emailAddress(node, path: values.path("email"))
            }
        }
        if let node = values["language"] {
            let tag = try self.name(node, path: values.path("language"), what: "a BCP 47 language tag such as de or pt-BR")
            guard NotificationTemplates.isLanguageTag(tag) else {
                throw error(
                    .invalidValue, "'\(tag)' is not a BCP 47 language tag such as de or pt-BR", at: node, key: values.path("language"))
            }
            recipient.language = tag
        }
        let mailers = endpoints.values.filter { $0.channel == .email }.map(\.name).sorted()
        if let node = values["email_endpoint"] {
            let via = try self.name(node, path: values.path("email_endpoint"), what: "the name of an email endpoint")
            guard endpoints[via]?.channel == .email else {
                throw undefined("email endpoint", via, at: node, key: values.path("email_endpoint"), known: mailers)
            }
            guard recipient.email != nil else {
                throw error(.missingKey, "missing 'email': email_endpoint needs an address to send to", at: node, key: values.path("email"))
            }
            recipient.emailEndpoint = via
        } else if let address = values["email"] {
            guard mailers.count == 1 else {
                let message =
                    mailers.isEmpty
                    ? "no endpoint can send this e-mail: define one under 'endpoints' with channel: email"
                    : "several email endpoints (\(mailers.joined(separator: ", "))) could send this e-mail; name one with email_endpoint"
                throw error(.missingKey, message, at: address, key: values.path("email"))
            }
            recipient.emailEndpoint = mailers[0]
        }
        if let node = values["endpoints"] {
            let names = try self.names(node, path: values.path("endpoints"), what: "an endpoint name")
            let usable = endpoints.values.filter { $0.channel != .email }.map(\.name).sorted()
            for (index, via) in names.enumerated() {
                let itemNode = Self.element(index, of: node) ?? node
                let itemPath = Self.index(values.path("endpoints"), index)
                if endpoints[via]?.channel == .email {
                    throw error(
                        .invalidValue, "'\(via)' is an email endpoint: give the address with 'email' (and 'email_endpoint: \(via)')",
                        at: itemNode, key: itemPath)
                }
                guard endpoints[via] != nil else { throw undefined("endpoint", via, at: itemNode, key: itemPath, known: usable) }
            }
            recipient.endpoints = names
        }
        if recipient.email == nil && recipient.endpoints.isEmpty {
            throw error(
                .missingKey, "recipient '\(name)' has neither 'email' nor 'endpoints': nothing could reach them", at: node, key: path)
        }
        if let node = values["awake_hours"] {
            let hoursPath = values.path("awake_hours")
            if case .scalar = node {
                let calendar = try self.name(node, path: hoursPath, what: "a calendar name or a calendar")
                guard let hours = calendars[calendar] else {
                    throw undefined("calendar", calendar, at: node, key: hoursPath, known: calendars.keys.sorted())
                }
                recipient.awakeHours = hours
            } else {
                recipient.awakeHours = try self.calendar(node, path: hoursPath)
            }
        }
        return recipient
    }

    /// `agents:` or `customers:` — contacts by id, and `default` for every other id.
    func directory(_ kind: ContactDirectory.Kind, _ node: Node, endpoints: [String: NotificationRules.Endpoint])
        throws(NotificationRulesError) -> ContactDirectory
    {
        var directory = ContactDirectory(kind: kind)
        let what = "a mapping of \(kind.rawValue) ids (and 'default') to how they are reached"
        for entry in try entries(node, path: kind.section, what: what) {
            let path = Self.join(kind.section, entry.name)
            let isDefault = entry.name == "default"
            let contact = try recipient(
                "\(kind.rawValue):\(entry.name)", entry.value, path: path, endpoints: endpoints, directory: kind, isDefault: isDefault)
            if isDefault { directory.fallback = contact } else { directory.contacts[entry.name] = contact }
        }
        return directory
    }

    func maintenanceWindows(_ node: Node) throws(NotificationRulesError) -> [MaintenanceWindow] {
        var windows: [MaintenanceWindow] = []
        for (index, item) in try sequence(node, path: "maintenance_windows", what: "a list of windows, each with name, start and end")
            .enumerated()
        {
            let path = Self.index("maintenance_windows", index)
            let values = try fields(item, path: path, known: Self.windowKeys, what: "a window (\(Self.windowKeys.joined(separator: ", ")))")
            let nameNode = try required(values, "name", hint: "a name for logs, e.g. billing-upgrade")
            let name = try self.name(nameNode, path: values.path("name"), what: "a window name")
            guard !windows.contains(where: { $0.name == name }) else {
                throw error(.duplicate, "window '\(name)' is defined twice", at: nameNode, key: values.path("name"))
            }
            let start = try instant(
                try required(values, "start", hint: "when it starts, e.g. 2026-12-05T22:00:00Z"), path: values.path("start"))
            let endNode = try required(values, "end", hint: "when it ends, e.g. 2026-12-06T02:00:00Z")
            let end = try instant(endNode, path: values.path("end"))
            guard start < end else { throw error(.invalidValue, "the window ends before it starts", at: endNode, key: values.path("end")) }
            var window = MaintenanceWindow(name: name, start: start, end: end)
            if let node = values["products"] { window.products = Set(try names(node, path: values.path("products"), what: "a product")) }
            if let node = values["customers"] {
                window.customers = Set(try names(node, path: values.path("customers"), what: "a customer account"))
            }
            if let node = values["reason"] { window.reason = try string(node, path: values.path("reason"), what: "text for people") }
            if let node = values["action"] {
                let text = try string(node, path: values.path("action"), what: "delay or suppress")
                guard let action = MaintenanceWindow.Action(rawValue: text.lowercased()) else {
                    throw error(.invalidValue, "'\(text)' is not an action: delay or suppress", at: node, key: values.path("action"))
                }
                window.action = action
            }
            if let node = values["include_critical"] { window.includeCritical = try bool(node, path: values.path("include_critical")) }
            windows.append(window)
        }
        return windows
    }

    /// An instant with its offset: `2026-12-05T22:00:00Z`, `2026-12-05T17:00:00-05:00`.
    func instant(_ node: Node, path: String) throws(NotificationRulesError) -> Date {
        let text = try string(node, path: path, what: "an instant such as 2026-12-05T22:00:00Z")
        guard let date = try? Date.ISO8601FormatStyle().parse(text) else {
            throw error(
                .invalidValue, "'\(text)' is not an instant with its offset, such as 2026-12-05T22:00:00Z or 2026-12-05T17:00:00-05:00",
                at: node, key: path)
        }
        return date
    }

    func escalation(_ node: Node, rules: NotificationRules) throws(NotificationRulesError) -> [Int: [String]] {
        var levels: [Int: [String]] = [:]
        for (index, item) in try sequence(node, path: "escalation", what: "a list of levels, each with level and notify").enumerated() {
            let path = Self.index("escalation", index)
            let values = try fields(item, path: path, known: Self.levelKeys, what: "a mapping with level and notify")
            let levelNode = try required(values, "level", hint: "the escalation level, 1, 2, ...")
            let level = try positiveInteger(levelNode, path: values.path("level"), what: "an escalation level")
            guard levels[level] == nil else {
                throw error(.duplicate, "level \(level) is given twice; list its recipients once", at: levelNode, key: values.path("level"))
            }
            let notifyNode = try required(values, "notify", hint: "the extra recipients told at this level, e.g. [duty-manager]")
            let notify = try names(notifyNode, path: values.path("notify"), what: "a recipient name")
            for (position, name) in notify.enumerated() where !rules.knows(recipient: name) {
                throw undefined(
                    "recipient", name, at: Self.element(position, of: notifyNode) ?? notifyNode,
                    key: Self.index(values.path("notify"), position),
                    known: (Array(rules.recipients.keys) + Array(rules.endpoints.keys)).sorted())
            }
            guard !notify.isEmpty else {
                throw error(.invalidValue, "an escalation level must notify someone", at: notifyNode, key: values.path("notify"))
            }
            levels[level] = notify
        }
        return levels
    }

    func retry(_ node: Node) throws(NotificationRulesError) -> RetryPolicy {
        let values = try fields(
            node, path: "retry", known: Self.retryKeys, what: "a mapping with max_attempts, initial_delay, max_delay, multiplier")
        var policy = RetryPolicy()
        if let value = values["max_attempts"] {
            policy.maxAttempts = try positiveInteger(value, path: values.path("max_attempts"), what: "attempts in all")
        }
        if let value = values["initial_delay"] { policy.initialDelay = try duration(value, path: values.path("initial_delay")) }
        if let value = values["max_delay"] { policy.maxDelay = try duration(value, path: values.path("max_delay")) }
        if let value = values["multiplier"] {
            let text = try string(value, path: values.path("multiplier"), what: "a number, at least 2")
            // Equal jitter draws attempt n's delay from [d/2, d]: with a multiplier of 2 or more the
            // next range starts where this one ends, so delays never shrink before the cap.
            guard let multiplier = Double(text), multiplier >= 2, multiplier.isFinite else {
                throw error(
                    .invalidValue,
                    "'\(text)' must be a number of at least 2 (below 2 a jittered delay could be shorter than the one before)", at: value,
                    key: values.path("multiplier"))
            }
            policy.multiplier = multiplier
        }
        if policy.initialDelay > policy.maxDelay {
            throw error(
                .invalidValue, "initial_delay is longer than max_delay", at: values["initial_delay"] ?? values["max_delay"],
                key: values.path(values["initial_delay"] == nil ? "max_delay" : "initial_delay"))
        }
        return policy
    }

    // MARK: Values

    /// A positive duration in seconds: `500ms`, `5s`, `1m30s`, `24h`.
    func duration(_ node: Node, path: String) throws(NotificationRulesError) -> TimeInterval {
        let text = try string(node, path: path, what: "a duration such as 5s, 1m30s or 24h")
        switch Self.parseDuration(text) {
        case .some(let seconds) where seconds > 0: return seconds
        case .some: throw error(.invalidValue, "'\(text)' must be longer than zero", at: node, key: path)
        case .none:
            let hint =
                Double(text) != nil
                ? "'\(text)' needs a unit, e.g. \(text)s" : "'\(text)' is not a duration: write e.g. 500ms, 5s, 1m30s or 24h"
            throw error(.invalidValue, hint, at: node, key: path)
        }
    }

    /// Whole numbers with units h, m, s, ms, largest first, each at most once.
    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [(String, TimeInterval)] = [("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001)]
        var rest = Substring(text.lowercased().filter { !$0.isWhitespace })
        var total: TimeInterval = 0
        var next = 0  // index of the smallest unit still allowed
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            let unit = rest.dropFirst(digits.count).prefix { $0.isLetter }
            guard let number = Int(digits), let index = units.firstIndex(where: { $0.0 == unit }), index >= next else { return nil }
            total += Double(number) * units[index].1
            next = index + 1
            rest = rest.dropFirst(digits.count + unit.count)
        }
        return total
    }

    /// An environment variable name (never quoted back in errors: see ``environmentVariableName(_:path:example:)``).
    func environmentVariable(_ node: Node, path: String) throws(NotificationRulesError) -> String {
        try environmentVariableName(node, path: path, example: "WEBHOOK_KEY")
    }

    func emailAddress(_ node: Node, path: String) throws(NotificationRulesError) -> String {
        let text = try string(node, path: path, what: "an e-mail address")
        guard Self.isEmailAddress(text) else {
            throw error(.invalidValue, "'\(text)' is not an e-mail address (name@domain, without a display name)", at: node, key: path)
        }
        return text
    }

    static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        let forbidden = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "<>,;\"()[]\\{}"))
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && text.unicodeScalars.allSatisfy({ !forbidden.contains($0) })
    }

    func undefined(_ noun: String, _ name: String, at node: Node, key: String, known: [String]) -> NotificationRulesError {
        var message = "\(noun) '\(name)' is not defined"
        if let suggestion = Self.closest(to: name, in: known) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += known.isEmpty ? "" : " (defined: \(known.joined(separator: ", ")))"
        }
        return error(.unknownReference, message, at: node, key: key)
    }

    // MARK: Calendars

    /// A calendar, read by TriageCore's calendar reader (the rules and messages of SLA policies,
    /// docs/sla.md). That reader takes text, so the entry is written back out as YAML and its
    /// errors are pointed at the matching node of this file. (TriageRouting's roster does the same;
    /// both could walk the node with TriageCore's `BusinessCalendarReader` instead.)
    func calendar(_ node: Node, path: String) throws(NotificationRulesError) -> BusinessCalendar {
        if Self.isNull(node) {
            throw error(.wrongType, "expected a calendar (time_zone, hours, holidays or always_open), found nothing", at: node, key: path)
        }
        guard let text = try? Yams.serialize(node: node) else {
            throw error(.invalidValue, "cannot read this calendar", at: node, key: path)
        }
        do {
            return try BusinessCalendar.load(yaml: text, file: file)
        } catch {
            var mark = node.mark
            if let line = error.line, let column = error.column, let copy = try? Yams.compose(yaml: text),
                let original = Self.counterpart(line: line, column: column, in: copy, original: node)
            {
                mark = original
            }
            throw NotificationRulesError(
                code: error.code, file: file, line: mark?.line, column: mark?.column, key: Self.join(path, error.key ?? ""),
                message: error.message)
        }
    }

    /// The position in `original` of the node of `copy` (a re-composed serialization of it, so
    /// the same shape) at `line`:`column`; the deepest match wins.
    static func counterpart(line: Int, column: Int, in copy: Node, original: Node) -> Mark? {
        let pairs: [(Node, Node)]
        switch (copy, original) {
        case (.mapping(let copied), .mapping(let originals)):
            pairs = zip(copied, originals).flatMap { [($0.key, $1.key), ($0.value, $1.value)] }
        case (.sequence(let copied), .sequence(let originals)):
            pairs = Array(zip(copied, originals))
        default:
            pairs = []
        }
        for (copied, original) in pairs {
            if let found = counterpart(line: line, column: column, in: copied, original: original) { return found }
        }
        if let mark = copy.mark, mark.line == line, mark.column == column { return original.mark }
        return nil
    }
}
