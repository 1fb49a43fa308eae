import Foundation

/// What every signed-in page needs besides its own data: who is looking, the session's CSRF
/// token for its forms, the outcome of the action that led here, and SLA time.
struct PageContext: Sendable {
    var account: StaffAccount
    var csrf: String
    var flash: ActionOutcome?
    /// SLA time (the escalator's clock).
    var now: Date
    /// Milliseconds between live polls.
    var liveIntervalMilliseconds: Int

    var access: StaffAccess { StaffAccess(account) }
}
