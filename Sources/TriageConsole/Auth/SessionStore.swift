public import Foundation
import Synchronization

/// The console's sessions, in memory (server side; the cookie carries only a random id).
/// A session ends at sign-out, or ``ConsoleConfiguration/Sessions/idleTimeout`` after its last
/// request; a restart signs everybody out. At most ``ConsoleConfiguration/Sessions/maximum``
/// sessions are kept: beyond that the least recently used one ends.
public final class SessionStore: Sendable {
    private let configuration: ConsoleConfiguration.Sessions
    private let now: @Sendable () -> Date
    private let sessions = Mutex<[String: StaffSession]>([:])

    public init(configuration: ConsoleConfiguration.Sessions = .init(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.now = now
    }

    /// Sessions alive (expired ones not yet swept included).
    public var count: Int { sessions.withLock { $0.count } }

    /// Starts a session for `username`.
    public func start(username: String) -> StaffSession {
        let instant = now()
        let session = StaffSession(
            id: StaffSession.randomToken(), username: username, csrfToken: StaffSession.randomToken(), createdAt: instant,
            lastSeenAt: instant)
        sessions.withLock { sessions in
            sweep(&sessions, at: instant)
            if sessions.count >= max(1, configuration.maximum), let oldest = sessions.values.min(by: { $0.lastSeenAt < $1.lastSeenAt }) {
                sessions[oldest.id] = nil
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session with this id, its idle timer restarted; `nil` when unknown or expired
    /// (an expired one is removed).
    /// - Parameter touching: whether this request counts as the person's activity (a page, a
    ///   form); the pages' live polling does not, or an open tab would never time out.
    public func resume(_ id: String, touching: Bool = true) -> StaffSession? {
        let instant = now()
        return sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard instant.timeIntervalSince(session.lastSeenAt) < configuration.idleTimeout.inSeconds else {
                sessions[id] = nil
                return nil
            }
            guard touching else { return session }
            session.lastSeenAt = instant
            sessions[id] = session
            return session
        }
    }

    /// Keeps the outcome of an action for the session's next page.
    public func setFlash(_ id: String, _ outcome: ActionOutcome) {
        sessions.withLock { $0[id]?.flash = outcome }
    }

    /// The outcome kept for the session's next page, once.
    public func takeFlash(_ id: String) -> ActionOutcome? {
        sessions.withLock { sessions in
            defer { sessions[id]?.flash = nil }
            return sessions[id]?.flash
        }
    }

    /// Ends a session (sign-out).
    public func end(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    private func sweep(_ sessions: inout [String: StaffSession], at instant: Date) {
        let timeout = configuration.idleTimeout.inSeconds
        sessions = sessions.filter { instant.timeIntervalSince($0.value.lastSeenAt) < timeout }
    }
}
