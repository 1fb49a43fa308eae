public import Foundation

/// A planned period (an upgrade, a migration) during which notifications about a product and/or
/// a customer are held back: delayed to the window's end, or dropped. Escalations of urgent
/// (severity A) incidents still go through unless ``includeCritical`` says otherwise — a breach
/// during maintenance is exactly what must not wait.
///
/// Defaults: every product and customer (empty filters), ``Action-swift.enum/delay``, critical
/// escalations not held.
public struct MaintenanceWindow: Sendable, Hashable, CustomStringConvertible {
    /// What happens to a notification the window holds.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Delivered when the window ends (and the recipient is awake).
        case delay
        /// Never delivered; counted and logged.
        case suppress
    }

    public let name: String
    /// The window is `[start, end)`.
    public var start: Date
    public var end: Date
    /// The products it is about (`payload["product"]`); empty: any product.
    public var products: Set<String>
    /// The customer accounts it is about (`payload["customer"]`); empty: any customer.
    public var customers: Set<String>
    /// For people and logs.
    public var reason: String
    public var action: Action
    /// Whether urgent escalations (severity A, an escalation level) are held too. Default `false`.
    public var includeCritical: Bool

    public init(
        name: String, start: Date, end: Date, products: Set<String> = [], customers: Set<String> = [], reason: String = "",
        action: Action = .delay, includeCritical: Bool = false
    ) {
        precondition(start < end, "a maintenance window ends after it starts")
        self.name = name
        self.start = start
        self.end = end
        self.products = products
        self.customers = customers
        self.reason = reason
        self.action = action
        self.includeCritical = includeCritical
    }

    /// Whether a notification about `notification`'s product and customer, delivered at
    /// `instant`, is held by this window. A filter the request gives no value for does not match:
    /// a window for product `billing` holds nothing that does not say it is about billing.
    public func holds(_ notification: OutboundNotification, at instant: Date) -> Bool {
        guard instant >= start, instant < end else { return false }
        if notification.isCritical && !includeCritical { return false }
        if !products.isEmpty, !products.contains(notification.payload["product"] ?? "") { return false }
        if !customers.isEmpty, !customers.contains(notification.payload["customer"] ?? "") { return false }
        return true
    }

    public var description: String {
        "maintenance window '\(name)' (\(start.formatted(.iso8601))–\(end.formatted(.iso8601)), \(action.rawValue))"
    }
}

extension OutboundNotification {
    /// An escalation of a severity A incident (`urgent`, or `payload["severity"]` A): maintenance
    /// windows do not hold it unless they say so. Either sign is enough, so a producer that forgets
    /// one does not get its breach held.
    public var isCritical: Bool {
        escalationLevel != nil && (urgent || payload["severity"]?.uppercased() == "A")
    }
}

/// When a delivery may go out, and what held it.
public enum DeliverySchedule: Sendable, Hashable {
    /// At this instant; `heldBy` names the window that delayed it, if one did.
    case at(Date, heldBy: String?)
    /// Never: a window with action `suppress` holds it.
    case suppressed(window: String)
}

extension NotificationRules {
    /// When `notification` may reach `recipient`, starting from `instant`: after the recipient's
    /// quiet hours (unless urgent) and after every maintenance window that delays it; or
    /// `suppressed` when a window that drops notifications holds it at the instant it would go out.
    public func schedule(_ notification: OutboundNotification, recipient: String, at instant: Date) -> DeliverySchedule {
        var due = instant
        var heldBy: String?
        // Quiet hours and windows can push each other along (a window ends at night); a bounded
        // number of rounds, since each only moves the instant forward.
        for _ in 0..<16 {
            let awake = releaseTime(recipient: recipient, urgent: notification.urgent, at: due)
            guard let window = maintenanceWindows.first(where: { $0.holds(notification, at: awake) }) else {
                return .at(awake, heldBy: heldBy)
            }
            if window.action == .suppress { return .suppressed(window: window.name) }
            heldBy = window.name
            due = window.end
        }
        return .at(due, heldBy: heldBy)
    }
}
