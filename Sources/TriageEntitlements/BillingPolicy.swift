public import Foundation
public import TriageCore
import Yams

/// Whether an incident closed without a resolution gives its pack credit back.
///
/// Rules are tried in order and the first that matches decides; when none matches,
/// ``defaultRefund`` does. A rule matches when every condition it has holds (a rule without
/// conditions matches every close):
///
/// - `closedBy`: who closed it;
/// - `reasons`: the close reason (exact text, such as `duplicate`);
/// - `severities`: the incident's severity (exact text, such as `A`); a close without a
///   severity does not match;
/// - `openedForLessThan`: the incident was open for less than this long (`closedAt - openedAt`);
///   a close without an opening instant does not match (the ledger passes the charge's instant
///   when the command carries none).
///
/// Written in YAML as (see ``load(yaml:file:)``):
///
/// ```yaml
/// unresolved_closes:
///   default: refund          # refund | charge
///   rules:
///     - name: customer-withdrew
///       when: { closed_by: [customer] }
///       decision: charge
/// ```
public struct BillingPolicy: Sendable, Equatable {
    /// One way of deciding; see ``BillingPolicy`` for how conditions match.
    public struct Rule: Sendable, Equatable {
        /// Recorded in ``BillingDecision/rule``; unique in a policy.
        public var name: String
        public var closedBy: Set<CloserRole>?
        public var reasons: Set<String>?
        public var severities: Set<String>?
        public var openedForLessThan: Duration?
        /// `true`: give the credit back; `false`: the incident stays charged.
        public var refund: Bool

        public init(
            name: String, closedBy: Set<CloserRole>? = nil, reasons: Set<String>? = nil, severities: Set<String>? = nil,
            openedForLessThan: Duration? = nil, refund: Bool
        ) {
            self.name = name
            self.closedBy = closedBy
            self.reasons = reasons
            self.severities = severities
            self.openedForLessThan = openedForLessThan
            self.refund = refund
        }

        /// Whether every condition of the rule holds for this close.
        public func matches(closedBy role: CloserRole, reason: String, severity: String?, openedAt: Date?, closedAt: Date) -> Bool {
            if let closedBy, !closedBy.contains(role) { return false }
            if let reasons, !reasons.contains(reason) { return false }
            if let severities {
                guard let severity, severities.contains(severity) else { return false }
            }
            if let limit = openedForLessThan {
                guard let openedAt else { return false }
                let open = closedAt.timeIntervalSince(openedAt)
                let (seconds, attoseconds) = limit.components
                if open >= Double(seconds) + Double(attoseconds) / 1e18 { return false }
            }
            return true
        }
    }

    /// Tried in order; the first match decides.
    public var rules: [Rule]
    /// The decision when no rule matches. Default `true` (refund).
    public var defaultRefund: Bool

    public init(rules: [Rule] = [], defaultRefund: Bool = true) {
        self.rules = rules
        self.defaultRefund = defaultRefund
    }

    /// The policy used when none is configured: an incident the customer withdrew (closed by the
    /// customer) stays charged (rule `customer-withdrew`); any other unresolved close (support
    /// could not solve it, or it was closed by an agent, the system or an admin) gives the credit
    /// back (`default`).
    public static let standard = BillingPolicy(
        rules: [Rule(name: "customer-withdrew", closedBy: [.customer], refund: false)], defaultRefund: true)

    /// The decision for one unresolved close: the first matching rule's, else
    /// `(defaultRefund, "default")`.
    public func decide(closedBy: CloserRole, reason: String, severity: String?, openedAt: Date?, closedAt: Date) -> (
        refund: Bool, rule: String
    ) {
        for rule in rules where rule.matches(closedBy: closedBy, reason: reason, severity: severity, openedAt: openedAt, closedAt: closedAt)
        {
            return (rule.refund, rule.name)
        }
        return (defaultRefund, "default")
    }

    /// Reads a policy from YAML text.
    ///
    /// What the text leaves out keeps the ``standard`` policy's value: an empty document (or one
    /// without `unresolved_closes`) is the standard policy, a missing `default` is `refund`, and
    /// missing `rules` are the standard rules (write `rules: []` for none).
    ///
    /// ```yaml
    /// unresolved_closes:
    ///   default: refund                 # refund | charge
    ///   rules:
    ///     - name: quick-withdrawal
    ///       when:
    ///         closed_by: [customer]           # customer, agent, system, admin
    ///         reason: [duplicate, no_response]
    ///         severity: [C]
    ///         opened_for_less_than: 30m       # units s, m, h, d; 1h30m
    ///       decision: charge
    /// ```
    ///
    /// - Throws: ``ConfigurationError`` (`FILE:LINE:COLUMN: key.path: message`) for the first
    ///   problem: YAML syntax, unknown keys (with the closest known one), a missing name or
    ///   decision, a decision other than refund or charge, an unknown role, a bad duration, an
    ///   empty condition list, a rule name given twice.
    public static func load(yaml: String, file: String) throws(ConfigurationError) -> BillingPolicy {
        let reader = BillingPolicyReader(file: file)
        guard let root = try reader.compose(yaml), !BillingPolicyReader.isNull(root) else { return .standard }
        return try reader.policy(root)
    }

    /// Reads a policy from a file; see ``load(yaml:file:)``.
    public static func load(contentsOf url: URL) throws(ConfigurationError) -> BillingPolicy {
        try load(yaml: readConfiguration(url, what: "the billing policy"), file: url.path)
    }
}

/// The text of a configuration file, or an error naming it.
func readConfiguration(_ url: URL, what: String) throws(ConfigurationError) -> String {
    do {
        return try String(contentsOf: url, encoding: .utf8)
    } catch {
        throw ConfigurationError(code: .invalidValue, file: url.path, message: "cannot read \(what): \(error.localizedDescription)")
    }
}

// MARK: - The reader

private struct BillingPolicyReader: YAMLConfigurationReader {
    let file: String

    static let mergeAliasExample = "*defaults"
    static let topKeys = ["unresolved_closes"]
    static let sectionKeys = ["default", "rules"]
    static let ruleKeys = ["name", "when", "decision"]
    static let conditionKeys = ["closed_by", "reason", "severity", "opened_for_less_than"]

    func policy(_ root: Node) throws(ConfigurationError) -> BillingPolicy {
        let top = try fields(root, path: "", known: Self.topKeys, what: "a mapping with 'unresolved_closes'")
        guard let sectionNode = top["unresolved_closes"] else { return .standard }
        let section = try fields(
            sectionNode, path: "unresolved_closes", known: Self.sectionKeys, what: "a mapping with 'default' and 'rules'")
        var policy = BillingPolicy.standard
        if let node = section["default"] { policy.defaultRefund = try decision(node, path: section.path("default")) }
        if let node = section["rules"] {
            policy.rules = []
            var seen: [String: Int] = [:]
            for (index, item) in try sequence(node, path: section.path("rules"), what: "a list of rules").enumerated() {
                let path = Self.index(section.path("rules"), index)
                if Self.isNull(item) {
                    throw error(.wrongType, "expected a rule (name, when, decision), found nothing", at: item, key: path)
                }
                let values = try fields(item, path: path, known: Self.ruleKeys, what: "a rule (name, when, decision)")
                let nameNode = try required(values, "name", hint: "the rule's name, recorded with each decision it makes")
                let name = try self.name(nameNode, path: values.path("name"), what: "a rule name")
                if let earlier = seen[name] {
                    throw error(
                        .duplicate, "rule '\(name)' is already defined by \(Self.index(section.path("rules"), earlier)); each name once",
                        at: nameNode, key: values.path("name"))
                }
                seen[name] = index
                let decisionNode = try required(values, "decision", hint: "refund or charge")
                var rule = BillingPolicy.Rule(name: name, refund: try decision(decisionNode, path: values.path("decision")))
                if let when = values["when"] { try conditions(when, path: values.path("when"), into: &rule) }
                policy.rules.append(rule)
            }
        }
        return policy
    }

    func decision(_ node: Node, path: String) throws(ConfigurationError) -> Bool {
        let text = try string(node, path: path, what: "refund or charge")
        switch text.lowercased() {
        case "refund": return true
        case "charge": return false
        default: throw error(.invalidValue, "'\(text)' is not a decision: write refund or charge", at: node, key: path)
        }
    }

    func conditions(_ node: Node, path: String, into rule: inout BillingPolicy.Rule) throws(ConfigurationError) {
        let values = try fields(
            node, path: path, known: Self.conditionKeys, what: "a mapping of conditions (closed_by, reason, severity, opened_for_less_than)"
        )
        if let node = values["closed_by"] {
            let itemsPath = values.path("closed_by")
            var roles: Set<CloserRole> = []
            for (index, text) in try nonEmptyNames(node, path: itemsPath, what: "a role").enumerated() {
                guard let role = CloserRole(rawValue: text.lowercased()) else {
                    let known = CloserRole.allCases.map(\.rawValue)
                    var message = "unknown role '\(text)'"
                    if let suggestion = Self.closest(to: text, in: known) {
                        message += "; did you mean '\(suggestion)'?"
                    } else {
                        message += " (roles are \(known.joined(separator: ", ")))"
                    }
                    throw error(.invalidValue, message, at: Self.element(index, of: node) ?? node, key: Self.index(itemsPath, index))
                }
                roles.insert(role)
            }
            rule.closedBy = roles
        }
        if let node = values["reason"] { rule.reasons = Set(try nonEmptyNames(node, path: values.path("reason"), what: "a close reason")) }
        if let node = values["severity"] {
            rule.severities = Set(try nonEmptyNames(node, path: values.path("severity"), what: "a severity"))
        }
        if let node = values["opened_for_less_than"] {
            rule.openedForLessThan = try duration(node, path: values.path("opened_for_less_than"))
        }
    }

    /// A list of names (or a single one) that is not empty: an empty list would match nothing.
    func nonEmptyNames(_ node: Node, path: String, what: String) throws(ConfigurationError) -> [String] {
        let items = try names(node, path: path, what: what)
        guard !items.isEmpty else {
            let key = path.split(separator: ".").last.map(String.init) ?? path
            throw error(.invalidValue, "an empty list matches nothing; remove '\(key)' to match any", at: node, key: path)
        }
        return items
    }

    /// `30m`, `90s`, `4h`, `2d`, `1h30m`: whole numbers, each unit once, largest first; more than zero.
    func duration(_ node: Node, path: String) throws(ConfigurationError) -> Duration {
        let text = try string(node, path: path, what: "a duration such as 30m, 4h or 2d")
        let example = "write a duration such as 90s, 30m, 4h, 2d or 1h30m"
        let compact = text.lowercased().filter { !$0.isWhitespace }
        let units: [(Character, Int64)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var rest = Substring(compact)
        var total: Int64 = 0
        var lastUnit = -1
        guard !compact.isEmpty else { throw error(.invalidValue, "a duration is needed: \(example)", at: node, key: path) }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard !digits.isEmpty, let number = Int64(digits), number < 1_000_000 else {
                throw error(.invalidValue, "'\(text)' is not a duration: \(example)", at: node, key: path)
            }
            guard !unit.isEmpty else { throw error(.invalidValue, "'\(text)' needs a unit: \(example)", at: node, key: path) }
            guard unit.count == 1, let position = units.firstIndex(where: { $0.0 == unit.first }) else {
                throw error(.invalidValue, "'\(text)': unknown unit '\(unit)'; \(example)", at: node, key: path)
            }
            guard position > lastUnit else {
                throw error(.invalidValue, "'\(text)': give each unit once, largest first, e.g. 1h30m", at: node, key: path)
            }
            lastUnit = position
            total += number * units[position].1
        }
        guard total > 0 else { throw error(.invalidValue, "'\(text)': must be more than zero", at: node, key: path) }
        return .seconds(total)
    }
}
