/// Who and what an incident is about, as its Opened event says: the product, the customer
/// account and the routing team. Notification requests carry them (maintenance windows match on
/// product and customer).
///
/// Immutable and shared: an ``SlaBook`` keeps one instance per distinct triple, so the many
/// incidents of one customer, product and team hold one reference (8 bytes each) instead of
/// three strings.
public final class SlaParties: Sendable, Hashable, CustomStringConvertible {
    public let product: String
    /// The customer account.
    public let customer: String
    public let team: String

    public init(product: String, customer: String, team: String) {
        self.product = product
        self.customer = customer
        self.team = team
    }

    public static func == (lhs: SlaParties, rhs: SlaParties) -> Bool {
        lhs === rhs || lhs.product == rhs.product && lhs.customer == rhs.customer && lhs.team == rhs.team
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(product)
        hasher.combine(customer)
        hasher.combine(team)
    }

    public var description: String { "product \(product), customer \(customer), team \(team)" }

    /// Whether every field is empty (nothing worth keeping).
    public var isEmpty: Bool { product.isEmpty && customer.isEmpty && team.isEmpty }
}
