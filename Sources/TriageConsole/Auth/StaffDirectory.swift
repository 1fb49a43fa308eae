import Foundation
public import TriageCore
import Yams

/// The console's accounts, read from a YAML file (in Kubernetes, a Secret):
///
/// ```yaml
/// accounts:
///   - username: ana            # sign-in name, and the actor on every event she causes
///     display_name: Ana Lima
///     role: agent              # agent, lead or admin
///     agent_id: ana            # agents: the id routing knows them by
///     team: tier-1             # agents: their team
///     password_bcrypt: "$2b$12$..."   # triage console hash-password < password.txt
///   - username: lee
///     display_name: Lee Park
///     role: lead
///     password_bcrypt: "$2b$12$..."
/// ```
///
/// Every problem is a `ConfigurationError` naming `file:line:column: key:` (the format of the
/// other configuration files), so a bad file fails at start-up, not at the first sign-in.
public struct StaffDirectory: Sendable {
    public let accounts: [StaffAccount]
    private let byUsername: [String: StaffAccount]

    public init(accounts: [StaffAccount]) {
        self.accounts = accounts
        byUsername = Dictionary(accounts.map { ($0.username, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The account signed in as `username`, if any.
    public subscript(username: String) -> StaffAccount? { byUsername[username] }

    /// The bcrypt cost most accounts' hashes use (`$2b$12$...` → 12; 12 when none says),
    /// for the decoy hash a sign-in of an unknown username is checked against.
    public var bcryptCost: UInt8 {
        var counts: [UInt8: Int] = [:]
        for account in accounts {
            let parts = account.passwordHash.split(separator: "$", omittingEmptySubsequences: true)
            if parts.count >= 2, let cost = UInt8(parts[1]), (4...31).contains(cost) { counts[cost, default: 0] += 1 }
        }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }?.key ?? 12
    }

    /// The account whose agent id is `agentID`, if any.
    public func account(agentID: String) -> StaffAccount? { accounts.first { $0.agentID == agentID } }

    /// Reads the accounts file's text; `file` names it in errors.
    /// `value` as a double-quoted YAML scalar (JSON's string syntax is one), for accounts files
    /// written by a program (`triage dev`'s demo accounts): a roster team such as `Zed,team` or
    /// `a: b` stays one value, never more keys of the account.
    public static func yamlScalar(_ value: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    public static func load(yaml: String, file: String) throws(ConfigurationError) -> StaffDirectory {
        let reader = AccountsReader(file: file)
        guard let root = try reader.compose(yaml), !AccountsReader.isNull(root) else {
            throw ConfigurationError(
                code: .missingKey, file: file, key: "accounts", message: "the file is empty; list the console's accounts under 'accounts:'")
        }
        return StaffDirectory(accounts: try reader.accounts(root))
    }

    /// Reads the accounts file at `path`.
    public static func load(path: String) throws(ConfigurationError) -> StaffDirectory {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(
                code: .invalidValue, file: path, message: "cannot read the accounts file: \(error.localizedDescription)")
        }
        return try load(yaml: text, file: path)
    }
}

private struct AccountsReader: YAMLConfigurationReader {
    let file: String
    static let mergeAliasExample = "*agent-defaults"
    static let accountKeys = ["username", "display_name", "role", "agent_id", "team", "password_bcrypt"]

    func accounts(_ root: Node) throws(ConfigurationError) -> [StaffAccount] {
        let top = try fields(root, path: "", known: ["accounts"], what: "a mapping with 'accounts:'")
        let list = try required(top, "accounts", hint: "a list of accounts (username, display_name, role, password_bcrypt)")
        var accounts: [StaffAccount] = []
        var seen: [String: Int] = [:]
        for (index, item) in try sequence(list, path: "accounts", what: "a list of accounts").enumerated() {
            let path = Self.index("accounts", index)
            let values = try fields(item, path: path, known: Self.accountKeys, what: "an account (username, display_name, role, ...)")
            let usernameNode = try required(values, "username", hint: "the sign-in name")
            let username = try name(usernameNode, path: values.path("username"), what: "a username")
            if let earlier = seen[username] {
                throw error(
                    .duplicate, "username '\(username)' is already used by accounts[\(earlier)]; each once", at: usernameNode,
                    key: values.path("username"))
            }
            seen[username] = index
            var displayName = username
            if let node = values["display_name"] { displayName = try name(node, path: values.path("display_name"), what: "a display name") }
            let roleNode = try required(values, "role", hint: "agent, lead or admin")
            let roleText = try string(roleNode, path: values.path("role"), what: "agent, lead or admin")
            guard let role = StaffRole(rawValue: roleText.lowercased()) else {
                throw error(.invalidValue, "unknown role '\(roleText)'; write agent, lead or admin", at: roleNode, key: values.path("role"))
            }
            var agentID: String?
            if let node = values["agent_id"] { agentID = try name(node, path: values.path("agent_id"), what: "an agent id") }
            var team: String?
            if let node = values["team"] { team = try name(node, path: values.path("team"), what: "a team name") }
            if role == .agent {
                if agentID == nil {
                    throw error(
                        .missingKey, "an agent needs 'agent_id' (the id routing knows them by)", at: item, key: values.path("agent_id"))
                }
                if team == nil {
                    throw error(.missingKey, "an agent needs 'team' (whose queue they see)", at: item, key: values.path("team"))
                }
            }
            let hashNode = try required(values, "password_bcrypt", hint: "a bcrypt hash from `triage console hash-password`")
            let hash = try string(hashNode, path: values.path("password_bcrypt"), what: "a bcrypt hash")
            guard Self.isBcryptHash(hash) else {
                throw error(
                    .invalidValue, "not a bcrypt hash ($2b$12$ followed by 53 characters); make one with `triage console hash-password`",
                    at: hashNode, key: values.path("password_bcrypt"))
            }
            accounts.append(
                StaffAccount(username: username, displayName: displayName, role: role, agentID: agentID, team: team, passwordHash: hash))
        }
        guard !accounts.isEmpty else {
            throw error(.invalidValue, "no accounts: nobody could sign in; add at least one", at: list, key: "accounts")
        }
        return accounts
    }

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, `$`, then 53 characters of bcrypt's base64.
    static func isBcryptHash(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 60, text.hasPrefix("$2a$") || text.hasPrefix("$2b$") || text.hasPrefix("$2y$"),
            scalars[6] == "$", let cost = Int(String(String.UnicodeScalarView(scalars[4...5]))), (4...31).contains(cost)
        else { return false }
        return scalars[7...].allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "." || $0 == "/" }
    }
}
