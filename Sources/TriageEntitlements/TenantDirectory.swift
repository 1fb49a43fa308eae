import Crypto
public import Foundation
public import TriageCore
import Yams

/// What kind of caller a tenant is; it decides who a close is recorded as (billing policies
/// tell customer closes from agent closes).
public enum TenantKind: String, Sendable, Hashable, CaseIterable {
    /// A customer-facing portal: every close it sends is the customer's. The default.
    case portal
    /// The support staff's tool: closes are the agent's unless it records a customer's close.
    case staff
}

/// A caller of the intake API (a customer portal, an operations console): the accounts it may
/// act for.
public struct Tenant: Sendable, Equatable {
    public var name: String
    /// The customer accounts it may open incidents for and act on.
    public var accounts: Set<String>
    /// May act on every account, and override billing decisions. Default `false`.
    public var isAdmin: Bool
    /// Portal (the default) or staff tool.
    public var kind: TenantKind

    public init(name: String, accounts: Set<String>, isAdmin: Bool = false, kind: TenantKind = .portal) {
        self.name = name
        self.accounts = accounts
        self.isAdmin = isAdmin
        self.kind = kind
    }

    /// The closer roles it may record, least privileged first: a portal only `customer`; a
    /// staff tool `agent` and `customer`; an admin also `system`.
    public var closerRoles: [CloserRole] {
        if isAdmin { return [.customer, .agent, .system] }
        switch kind {
        case .portal: return [.customer]
        case .staff: return [.customer, .agent]
        }
    }

    /// The role of a close that claims none: the customer's for a portal, the agent's otherwise.
    public var defaultCloserRole: CloserRole { !isAdmin && kind == .portal ? .customer : .agent }

    /// Whether the tenant may act on `account`: admins on all, others on their own accounts.
    public func mayActOn(account: String) -> Bool { isAdmin || accounts.contains(account) }
}

/// The intake's tenants and their bearer tokens, kept only as SHA-256 digests.
///
/// Loaded from a secrets file (``load(yaml:file:environment:)``):
///
/// ```yaml
/// tenants:
///   - name: acme-portal
///     token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///     accounts: [ACME, ACME-EU]
///   - name: beta-portal
///     token_env: BETA_TOKEN      # the token, read from this environment variable at load
///     accounts: [BETA]
///   - name: support-desk
///     token_env: DESK_TOKEN
///     kind: staff                # the agents' tool: its closes are the agent's (default: portal,
///     accounts: [ACME, BETA]     # whose closes are always the customer's)
///   - name: operations
///     token: plain-text-token    # allowed, but discouraged: the file then holds a secret
///     admin: true                # may act on every account and override billing decisions
/// ```
public struct TenantDirectory: Sendable {
    struct Entry: Sendable {
        var tenant: Tenant
        var digest: [UInt8]
    }

    let entries: [Entry]

    /// In file order.
    public var tenants: [Tenant] { entries.map(\.tenant) }

    /// A directory of the given tenants and their plain tokens (for tests and development).
    public init(tokens: [String: Tenant]) {
        entries = tokens.sorted { $0.value.name < $1.value.name }.map { Entry(tenant: $0.value, digest: Self.digest($0.key)) }
    }

    init(entries: [Entry]) { self.entries = entries }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// The tenant whose token this is, if any.
    ///
    /// The token's SHA-256 digest is compared with every tenant's in constant time, without
    /// stopping at a match, so the time taken does not tell how much of a guess was right or
    /// which tenant it was close to.
    public func authenticate(bearer token: String) -> Tenant? {
        let presented = Self.digest(token)
        var found: Int?
        for (index, entry) in entries.enumerated() {
            var difference: UInt8 = 0
            for (a, b) in zip(presented, entry.digest) { difference |= a ^ b }
            if difference == 0 && entry.digest.count == presented.count { found = index }
        }
        return found.map { entries[$0].tenant }
    }

    /// Reads the tenants from YAML text.
    ///
    /// Each tenant has a `name`, exactly one of `token_sha256` (the hex SHA-256 of the token;
    /// preferred), `token_env` (an environment variable holding the token, read now) or `token`
    /// (the token itself; discouraged), its `accounts`, and `admin: true` to act on every account.
    ///
    /// - Parameters:
    ///   - environment: Where `token_env` variables are looked up (usually
    ///     `ProcessInfo.processInfo.environment`).
    /// - Throws: ``ConfigurationError`` for the first problem: YAML syntax, unknown keys, no or
    ///   several token keys, a digest that is not 64 hex digits, a token variable that is unset
    ///   or empty, a non-admin tenant without accounts, a tenant name or a token given twice. No
    ///   error ever quotes a token.
    public static func load(yaml: String, file: String, environment: [String: String]) throws(ConfigurationError) -> TenantDirectory {
        let reader = TenantReader(file: file, environment: environment)
        guard let root = try reader.compose(yaml), !TenantReader.isNull(root) else {
            throw ConfigurationError(
                code: .missingKey, file: file, message: "the tenants file is empty: list the intake's callers under 'tenants'")
        }
        return try reader.directory(root)
    }

    /// Reads the tenants from a file; see ``load(yaml:file:environment:)``.
    public static func load(contentsOf url: URL, environment: [String: String]) throws(ConfigurationError) -> TenantDirectory {
        try load(yaml: readConfiguration(url, what: "the tenants file"), file: url.path, environment: environment)
    }
}

// MARK: - The reader

private struct TenantReader: YAMLConfigurationReader {
    let file: String
    let environment: [String: String]

    static let mergeAliasExample = "*defaults"
    static let topKeys = ["tenants"]
    static let tenantKeys = ["name", "token_sha256", "token_env", "token", "accounts", "admin", "kind"]
    static let tokenKeys = ["token_sha256", "token_env", "token"]

    func directory(_ root: Node) throws(ConfigurationError) -> TenantDirectory {
        let top = try fields(root, path: "", known: Self.topKeys, what: "a mapping with 'tenants'")
        let listNode = try required(top, "tenants", hint: "the list of the intake's callers, each with a name, a token and accounts")
        let items = try sequence(listNode, path: "tenants", what: "a list of tenants")
        guard !items.isEmpty else {
            throw error(.invalidValue, "no tenants: nobody could call the intake; list at least one", at: listNode, key: "tenants")
        }
        var entries: [TenantDirectory.Entry] = []
        for (index, item) in items.enumerated() {
            let path = Self.index("tenants", index)
            let (entry, nameNode, tokenNode, tokenKey) = try tenant(item, path: path)
            if let earlier = entries.firstIndex(where: { $0.tenant.name == entry.tenant.name }) {
                throw error(
                    .duplicate, "tenant '\(entry.tenant.name)' is already defined by tenants[\(earlier)]; each name once", at: nameNode,
                    key: Self.join(path, "name"))
            }
            if let earlier = entries.firstIndex(where: { $0.digest == entry.digest }) {
                throw error(
                    .duplicate,
                    "tenant '\(entry.tenant.name)' has the same token as tenant '\(entries[earlier].tenant.name)' (tenants[\(earlier)]); every tenant needs its own",
                    at: tokenNode, key: Self.join(path, tokenKey))
            }
            entries.append(entry)
        }
        return TenantDirectory(entries: entries)
    }

    func tenant(_ node: Node, path: String) throws(ConfigurationError) -> (TenantDirectory.Entry, Node, Node, String) {
        if Self.isNull(node) { throw error(.wrongType, "expected a tenant (name, token, accounts), found nothing", at: node, key: path) }
        let values = try fields(
            node, path: path, known: Self.tenantKeys, what: "a tenant (name, token_sha256 or token_env or token, accounts, admin)")
        let nameNode = try required(values, "name", hint: "the tenant's name, as logged with its requests")
        let name = try self.name(nameNode, path: values.path("name"), what: "a tenant name")

        // In file order, so a second token key is the one pointed at.
        let given = values.entries.map(\.name).filter { Self.tokenKeys.contains($0) && values[$0] != nil }
        guard given.count == 1, let key = given.first, let tokenNode = values[key] else {
            if given.isEmpty {
                throw error(
                    .missingKey, "tenant '\(name)' needs a token: give one of token_sha256 (preferred), token_env or token", at: nameNode,
                    key: values.path("token_sha256"))
            }
            throw error(
                .invalidValue, "tenant '\(name)' gives \(given.joined(separator: " and ")); give exactly one",
                at: values.keyNode(given[1]), key: values.path(given[1]))
        }
        let tokenPath = values.path(key)
        let digest: [UInt8]
        switch key {
        case "token_sha256":
            let text = try string(tokenNode, path: tokenPath, what: "64 hexadecimal digits")
            guard let bytes = Self.hex(text), bytes.count == SHA256.byteCount else {
                // Never quote it: it may be a token pasted into the wrong key.
                throw error(
                    .invalidValue,
                    "must be the SHA-256 of the token as 64 hexadecimal digits (found \(text.count) characters); compute it with: printf %s \"$TOKEN\" | sha256sum",
                    at: tokenNode, key: tokenPath)
            }
            digest = bytes
        case "token_env":
            let variable = try environmentVariableName(tokenNode, path: tokenPath, example: "BETA_TOKEN")
            guard let token = environment[variable], !token.isEmpty else {
                let state = environment[variable] == nil ? "is not set" : "is empty"
                throw error(
                    .invalidValue, "environment variable \(variable) \(state); it must hold tenant '\(name)''s token", at: tokenNode,
                    key: tokenPath)
            }
            digest = TenantDirectory.digest(token)
        default:
            guard case .scalar(let scalar) = tokenNode, !scalar.string.isEmpty else {
                throw error(.wrongType, "expected the token as text", at: tokenNode, key: tokenPath)
            }
            digest = TenantDirectory.digest(scalar.string)
        }

        var admin = false
        if let node = values["admin"] {
            let text = try string(node, path: values.path("admin"), what: "true or false")
            switch text.lowercased() {
            case "true", "yes", "on": admin = true
            case "false", "no", "off": admin = false
            default: throw error(.invalidValue, "'\(text)' is not true or false", at: node, key: values.path("admin"))
            }
        }
        var kind = TenantKind.portal
        if let node = values["kind"] {
            let text = try string(node, path: values.path("kind"), what: "portal or staff")
            guard let value = TenantKind(rawValue: text) else {
                throw error(
                    .invalidValue,
                    "'\(text)' is not a tenant kind; use portal (a customer-facing portal) or staff (the support staff's tool)",
                    at: node, key: values.path("kind"))
            }
            kind = value
        }
        var accounts: [String] = []
        if let node = values["accounts"] { accounts = try names(node, path: values.path("accounts"), what: "an account id") }
        guard admin || !accounts.isEmpty else {
            throw error(
                .missingKey, "tenant '\(name)' may act on no account; list its accounts (or make it admin: true)",
                at: values.keyNode("accounts") ?? nameNode, key: values.path("accounts"))
        }
        return (
            .init(tenant: Tenant(name: name, accounts: Set(accounts), isAdmin: admin, kind: kind), digest: digest), nameNode, tokenNode, key
        )
    }

    static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
