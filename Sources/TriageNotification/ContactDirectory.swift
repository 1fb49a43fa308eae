import Foundation

/// How people named by id in requests are reached: agents (`agent:<id>`, e.g. the agent an
/// incident was assigned to, or the on-call of a team) and customers (`customer:<account>`, the
/// customer an update is for). Producers know ids, not addresses; the rules say, per id or for
/// every id at once through `default`, which endpoints and which address to use.
///
/// A `default` entry's e-mail address may contain `{id}`, replaced by the id
/// (`{id}@example.com`). Defaults: empty (no agent or customer can be reached).
public struct ContactDirectory: Sendable, Hashable {
    /// The recipient-name prefix (`agent` or `customer`) this directory answers.
    public let kind: Kind
    /// Contacts by id.
    public var contacts: [String: NotificationRules.Recipient]
    /// Used for every id without an entry of its own; its `email` may contain ``idPlaceholder``.
    public var fallback: NotificationRules.Recipient?

    /// What a directory lists.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case agent
        case customer

        /// The rules-file section: `agents` or `customers`.
        public var section: String { rawValue + "s" }
    }

    /// Replaced by the id in a `default` entry's e-mail address.
    public static let idPlaceholder = "{id}"

    public init(kind: Kind, contacts: [String: NotificationRules.Recipient] = [:], fallback: NotificationRules.Recipient? = nil) {
        self.kind = kind
        self.contacts = contacts
        self.fallback = fallback
    }

    /// `agent:ada` → (.agent, "ada"); `nil` for names without a directory prefix or with an empty id.
    public static func parse(_ recipient: String) -> (kind: Kind, id: String)? {
        guard let colon = recipient.firstIndex(of: ":"), let kind = Kind(rawValue: String(recipient[..<colon])) else { return nil }
        let id = String(recipient[recipient.index(after: colon)...])
        return id.isEmpty ? nil : (kind, id)
    }

    /// The recipient for `id`: its own entry, or the fallback with `{id}` filled in. `nil` when
    /// neither exists.
    ///
    /// - Throws: ``DeliveryResolutionError`` when the fallback's address would not be an e-mail
    ///   address with this id in it (spaces, `<`, `@`, line breaks...: an id never becomes a header).
    public func recipient(for id: String) throws(DeliveryResolutionError) -> NotificationRules.Recipient? {
        let name = "\(kind.rawValue):\(id)"
        if var own = contacts[id] {
            own = NotificationRules.Recipient(
                name: name, email: own.email, emailEndpoint: own.emailEndpoint, endpoints: own.endpoints, awakeHours: own.awakeHours,
                language: own.language)
            return own
        }
        guard let fallback else { return nil }
        var email = fallback.email
        if let template = email, template.contains(Self.idPlaceholder) {
            guard Self.isAddressSafe(id) else {
                throw DeliveryResolutionError(
                    code: .unknownRecipient,
                    message:
                        "\(kind.rawValue) id '\(Self.printable(id))' cannot be put into the e-mail address of \(kind.section).default "
                        + "(ids used there may hold letters, digits, '.', '_', '+' and '-'); give it an entry of its own under \(kind.section)"
                )
            }
            email = template.replacingOccurrences(of: Self.idPlaceholder, with: id)
        }
        return NotificationRules.Recipient(
            name: name, email: email, emailEndpoint: fallback.emailEndpoint, endpoints: fallback.endpoints, awakeHours: fallback.awakeHours,
            language: fallback.language)
    }

    /// Whether `id` has a contact (its own, or through `default`).
    public func knows(_ id: String) -> Bool { contacts[id] != nil || fallback != nil }

    static func isAddressSafe(_ id: String) -> Bool {
        id.count <= 64
            && id.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || ".-_+".unicodeScalars.contains(scalar))
            }
    }

    /// At most 40 characters, control characters shown as `?`: ids come from requests and reach logs.
    static func printable(_ id: String) -> String {
        String(String(id.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) }).prefix(40))
    }
}
