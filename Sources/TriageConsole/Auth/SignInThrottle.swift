public import Foundation
import Synchronization

/// Slows down password guessing: after ``ConsoleConfiguration/SignIn/maximumFailures`` failed
/// sign-ins for one username within ``ConsoleConfiguration/SignIn/window``, that username is
/// refused for ``ConsoleConfiguration/SignIn/lockout`` whatever the password. Counted per
/// username typed, whether or not such an account exists (so the refusal tells nothing either).
/// A successful sign-in clears the count.
public final class SignInThrottle: Sendable {
    private struct Record {
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    private let configuration: ConsoleConfiguration.SignIn
    private let now: @Sendable () -> Date
    private let records = Mutex<[String: Record]>([:])

    public init(configuration: ConsoleConfiguration.SignIn = .init(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.now = now
    }

    /// Whether `username` is locked out now.
    public func isLocked(_ username: String) -> Bool {
        let instant = now()
        return records.withLock { $0[Self.key(username)]?.lockedUntil.map { $0 > instant } ?? false }
    }

    /// Counts a failure; locks the username when it is one too many.
    public func failed(_ username: String) {
        let instant = now()
        let window = configuration.window.inSeconds
        records.withLock { records in
            if records.count > 100_000 { records = records.filter { $0.value.lockedUntil.map { $0 > instant } ?? false } }
            var record = records[Self.key(username)] ?? Record()
            record.failures = record.failures.filter { instant.timeIntervalSince($0) < window } + [instant]
            if record.failures.count >= configuration.maximumFailures {
                record.lockedUntil = instant.addingTimeInterval(configuration.lockout.inSeconds)
                record.failures = []
            }
            records[Self.key(username)] = record
        }
    }

    /// Clears the count after a successful sign-in.
    public func succeeded(_ username: String) {
        _ = records.withLock { $0.removeValue(forKey: Self.key(username)) }
    }

    private static func key(_ username: String) -> String { username.lowercased() }
}
