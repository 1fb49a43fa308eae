public import Foundation

/// A signed-in browser: the id its cookie carries, who it is, and the token every form of the
/// session carries (CSRF).
public struct StaffSession: Sendable, Hashable {
    /// 256 random bits, hex: the cookie's value.
    public let id: String
    public let username: String
    /// 256 random bits, hex: in every form of this session, checked on every POST.
    public let csrfToken: String
    public let createdAt: Date
    /// The last request; the session expires ``ConsoleConfiguration/Sessions/idleTimeout`` after it.
    public var lastSeenAt: Date
    /// The outcome of the last action, shown once on the next page.
    public var flash: ActionOutcome?

    /// 32 bytes from the system's cryptographically secure generator, as 64 hex digits.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}
