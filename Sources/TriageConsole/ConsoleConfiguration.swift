public import Foundation
public import TriageCore
public import TriageRouting
import TriageSchema

/// How the console serves, signs people in and reads. Every field has a default.
public struct ConsoleConfiguration: Sendable {
    /// Sessions (server side; the cookie carries a random 256-bit id).
    public struct Sessions: Sendable {
        /// A session ends this long after its last request. Default 30 minutes.
        public var idleTimeout: Duration
        /// Sessions kept at most; beyond, the least recently used ends. Default 10,000.
        public var maximum: Int

        public init(idleTimeout: Duration = .seconds(30 * 60), maximum: Int = 10_000) {
            self.idleTimeout = idleTimeout
            self.maximum = maximum
        }
    }

    /// Failed sign-ins, counted per username.
    public struct SignIn: Sendable {
        /// Failures within ``window`` that lock the username. Default 5.
        public var maximumFailures: Int
        /// Default 15 minutes.
        public var window: Duration
        /// How long a locked username is refused. Default 15 minutes.
        public var lockout: Duration

        public init(maximumFailures: Int = 5, window: Duration = .seconds(15 * 60), lockout: Duration = .seconds(15 * 60)) {
            self.maximumFailures = maximumFailures
            self.window = window
            self.lockout = lockout
        }
    }

    /// What the console keeps of each incident besides its latest snapshot.
    public struct Timelines: Sendable {
        /// Lifecycle events kept per incident: its first (the Opened) and the latest ones.
        /// Default 200.
        public var eventsPerIncident: Int
        /// Incidents whose timeline is kept; beyond, the closed incident updated longest ago
        /// loses its timeline (and snapshot). Default 5,000.
        public var incidents: Int
        /// Notification requests kept per incident (the latest). Default 50.
        public var notificationsPerIncident: Int

        public init(eventsPerIncident: Int = 200, incidents: Int = 5_000, notificationsPerIncident: Int = 50) {
            self.eventsPerIncident = eventsPerIncident
            self.incidents = incidents
            self.notificationsPerIncident = notificationsPerIncident
        }
    }

    /// Address the HTTP server binds. Default `127.0.0.1`.
    public var host: String
    /// Default 8090 (0: any free port).
    public var port: Int
    /// Cookies carry `Secure` (browsers accept it on http://127.0.0.1 and localhost; behind a
    /// TLS proxy it is what you want). Default `true`.
    public var secureCookies: Bool
    /// Origins (`https://console.example.com`) accepted on POSTs besides the request's own
    /// `Host` (a reverse proxy that rewrites it). Default none.
    public var allowedOrigins: [String]
    /// Default 30 minutes idle, 10,000 sessions.
    public var sessions: Sessions
    /// Default 5 failures in 15 minutes lock a username for 15 minutes.
    public var signIn: SignIn
    /// Default 200 events per incident, 5,000 incidents, 50 notifications per incident.
    public var timelines: Timelines
    /// How long an intake call may take. Default 10 s.
    public var intakeTimeout: Duration
    /// How often the pages poll for live figures. Default 2 s.
    public var liveInterval: Duration
    /// Load units per severity as the router's policy sets them. Default A 3, B 2, C 1.
    public var loadWeights: [SupportSeverity: Int]
    /// An incident is "at risk" when its running SLA clock has less than this left. Default 1 h
    /// (SLA time).
    public var atRiskWithin: Duration
    /// Wall-clock time (sessions, throttling). Default `Date()`; tests replace it.
    public var wallClock: @Sendable () -> Date
    /// A connection that sends nothing for this long is closed, half-sent requests included
    /// (otherwise idle sockets pile up until the process runs out of file descriptors).
    /// Default 30 s; the pages poll every ``liveInterval``, well within it.
    public var connectionIdleTimeout: Duration = .seconds(30)
    /// The analytics feed's records, which the reports page computes from. Default `triage.analytics`.
    public var analyticsTopic = TriageTopic.analytics

    public init(
        host: String = "127.0.0.1",
        port: Int = 8090,
        secureCookies: Bool = true,
        allowedOrigins: [String] = [],
        sessions: Sessions = .init(),
        signIn: SignIn = .init(),
        timelines: Timelines = .init(),
        intakeTimeout: Duration = .seconds(10),
        liveInterval: Duration = .seconds(2),
        loadWeights: [SupportSeverity: Int] = RoutingPolicy.defaultSeverityWeights,
        atRiskWithin: Duration = .seconds(3600),
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.host = host
        self.port = port
        self.secureCookies = secureCookies
        self.allowedOrigins = allowedOrigins
        self.sessions = sessions
        self.signIn = signIn
        self.timelines = timelines
        self.intakeTimeout = intakeTimeout
        self.liveInterval = liveInterval
        self.loadWeights = loadWeights
        self.atRiskWithin = atRiskWithin
        self.wallClock = wallClock
    }
}
