public import Foundation

/// A notification requested about an incident (`triage.notification-requests`): who was to be
/// told, with which template, when.
public struct NotificationEntry: Sendable, Hashable {
    public var recipient: String
    public var template: String
    public var requestedAt: Date
    public var urgent: Bool
    public var idempotencyKey: String
}
