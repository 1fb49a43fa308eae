public import Foundation
public import TriageCore
public import TriageRouting
public import TriageSchema

/// The topics the dashboard reads. Defaults: Triage's topic names (``TriageTopic``).
public struct DashboardTopics: Sendable, Hashable {
    /// Compacted JSON `IncidentSnapshot`s. Default `triage.incident-state`.
    public var incidentState: String
    /// Protobuf `IncidentEvent`s, for the charts. Default `triage.incident-events`.
    public var incidentEvents: String
    /// Protobuf `AgentEvent`s. Default `triage.agent-events`.
    public var agentEvents: String
    /// Compacted JSON `DeskSnapshot`s keyed by team. Default `triage.router-state`.
    public var routerState: String

    public init(
        incidentState: String = TriageTopic.incidentState,
        incidentEvents: String = TriageTopic.incidentEvents,
        agentEvents: String = TriageTopic.agentEvents,
        routerState: String = TriageTopic.routerState
    ) {
        self.incidentState = incidentState
        self.incidentEvents = incidentEvents
        self.agentEvents = agentEvents
        self.routerState = routerState
    }

    var all: [String] { [incidentState, incidentEvents, agentEvents, routerState] }
}

/// How the dashboard collects and serves. Every field has a default.
public struct DashboardConfiguration: Sendable {
    /// Chart buckets.
    public struct Series: Sendable, Hashable {
        /// Width of one bucket (wall-clock time). Default 5 s.
        public var bucket: Duration
        /// Buckets shown. Default 60 (five minutes at the default width).
        public var count: Int

        public init(bucket: Duration = .seconds(5), count: Int = 60) {
            self.bucket = bucket
            self.count = count
        }
    }

    /// Address the HTTP server binds. Default `127.0.0.1` (the dashboard has no authentication).
    public var host: String
    /// Default 60 buckets of 5 s.
    public var series: Series
    /// How often each worker group's lag is measured. Default 2 s.
    public var lagInterval: Duration
    /// How long one lag measurement may wait for the coordinator or a leader. Default 5 s.
    public var lagTimeout: Duration
    /// Open incidents listed in a snapshot (the total is always given). Default 200.
    public var maximumIncidents: Int
    /// Load units an incident of each severity weighs, as the router's policy sets them
    /// (`RoutingPolicy/severityWeights`); the page states them beside the agents' load.
    /// Default: the router's default, A 3, B 2, C 1.
    public var loadWeights: [SupportSeverity: Int]
    /// Wall-clock time, for the chart buckets. Default `Date()`; tests replace it.
    public var wallClock: @Sendable () -> Date

    public init(
        host: String = "127.0.0.1",
        series: Series = .init(),
        lagInterval: Duration = .seconds(2),
        lagTimeout: Duration = .seconds(5),
        maximumIncidents: Int = 200,
        loadWeights: [SupportSeverity: Int] = RoutingPolicy.defaultSeverityWeights,
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.loadWeights = loadWeights
        self.host = host
        self.series = series
        self.lagInterval = lagInterval
        self.lagTimeout = lagTimeout
        self.maximumIncidents = maximumIncidents
        self.wallClock = wallClock
    }
}

/// Why the dashboard could not start or serve. Codes are extensible (`static let`s).
public struct DashboardError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A topic the dashboard reads does not exist.
        public static let missingTopic = Code(name: "missing topic")
        /// The HTTP server stopped (or failed) before it listened.
        public static let notListening = Code(name: "not listening")
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(code: Code, message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "dashboard: \(message)" + (underlying.map { " (\($0))" } ?? "")
    }
}
