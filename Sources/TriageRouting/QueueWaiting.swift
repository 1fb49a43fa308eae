public import TriageCore

/// A team's oldest waiting incident has waited longer than the team's queue alert allows
/// (``TeamSettings/QueueAlert``): one `queue-waiting` notification request per recipient.
public struct QueueWaiting: Sendable, Hashable {
    public var team: String
    /// The oldest waiting incident.
    public var incident: String
    public var severity: SupportSeverity
    public var product: String
    public var customer: String?
    public var waitedMinutes: Int
    public var thresholdMinutes: Int
    /// Queue length when the alert fired.
    public var depth: Int
    public var notify: [String]

    public init(
        team: String, incident: String, severity: SupportSeverity, product: String, customer: String?, waitedMinutes: Int,
        thresholdMinutes: Int, depth: Int, notify: [String]
    ) {
        self.team = team
        self.incident = incident
        self.severity = severity
        self.product = product
        self.customer = customer
        self.waitedMinutes = waitedMinutes
        self.thresholdMinutes = thresholdMinutes
        self.depth = depth
        self.notify = notify
    }

    /// The idempotency key of the request to `recipient`: the same crossing asks once, also
    /// after a restart.
    public func idempotencyKey(recipient: String) -> String {
        "queue-waiting/\(team)/\(incident)/\(thresholdMinutes)/\(recipient)"
    }
}
