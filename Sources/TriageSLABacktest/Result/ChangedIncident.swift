public import Foundation

/// An incident that fares differently under the candidate: each policy's outcome, with the
/// deadline each clock moves to.
public struct ChangedIncident: Sendable, Hashable, Codable {
    public var incident: String
    public var group: String
    public var openedAt: Date
    /// A verdict, a count or an escalation differs; `false`: only a deadline moved.
    public var outcomeChanged: Bool
    public var baseline: IncidentOutcome
    public var candidate: IncidentOutcome

    public init(
        incident: String, group: String, openedAt: Date, outcomeChanged: Bool, baseline: IncidentOutcome, candidate: IncidentOutcome
    ) {
        self.incident = incident
        self.group = group
        self.openedAt = openedAt
        self.outcomeChanged = outcomeChanged
        self.baseline = baseline
        self.candidate = candidate
    }

    /// How the list is ordered: incidents whose result changes first, then those whose deadline
    /// only moved, each by opening instant and id.
    public var listingOrder: ListingOrder { ListingOrder(outcomeChanged ? 0 : 1, openedAt.timeIntervalSince1970, incident) }

    /// A sortable key (see ``listingOrder``).
    public struct ListingOrder: Comparable, Sendable {
        let rank: Int
        let opened: Double
        let incident: String
        init(_ rank: Int, _ opened: Double, _ incident: String) {
            self.rank = rank
            self.opened = opened
            self.incident = incident
        }
        public static func < (a: ListingOrder, b: ListingOrder) -> Bool { (a.rank, a.opened, a.incident) < (b.rank, b.opened, b.incident) }
    }
}
