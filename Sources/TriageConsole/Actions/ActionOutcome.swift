/// What an action came to, as the page that follows tells the person.
public struct ActionOutcome: Sendable, Hashable {
    public var succeeded: Bool
    /// `Acknowledged (event …)`, or the intake's refusal: `FAILED_PRECONDITION: the incident is closed_resolved; …`.
    public var message: String

    public static func done(_ message: String) -> ActionOutcome { ActionOutcome(succeeded: true, message: message) }
    public static func refused(_ message: String) -> ActionOutcome { ActionOutcome(succeeded: false, message: message) }
}
