import ArgumentParser
import Foundation
import Logging
import Synchronization
import TriageKafka
import TriageReports
import TriageRouting
import TriageRoutingEvents
import TriageSchema
import TriageStaffing
import TriageStreams

/// `triage sla staffing`: the routing of a window replayed under a candidate roster and a
/// baseline one, queue waits and first responses side by side.
struct SlaStaffingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staffing",
        abstract: "Replay a window's routing under a candidate roster and compare queue waits and first responses.",
        discussion: """
            Reads the lifecycle events of [--from, --to) from \(TriageTopic.incidentEvents) (or --file, \
            JSON lines as `triage tail` writes them) and replays their routing through the router's own \
            desks twice: under the baseline roster and under --roster. Prints, per team, per severity \
            and in total, under both: incidents, how many waited in a queue, how many were never \
            assigned, queue wait p50/p90/max, first responses within target (% of those within target \
            or breached, with the SLA policy's first-response targets and business calendars, counted \
            by the escalator's code), and the incidents whose outcome changes.

            What history cannot tell is modelled (docs/roster.md, "Trying a roster before you switch"):
            - Opened, severity changes, waiting on the customer, the customer's close, Reopened keep \
            their instant.
            - Acknowledged and the agent's close keep their delay after the incident's first \
            historical assignment and follow its replayed assignment (the agent holds its load \
            until then). Answered from the queue (before any assignment): kept as it was. Never \
            assigned in history: no acknowledgement in the replay.
            - Agents are on their desks from --from with the roster file's presence (default \
            offline: takes nothing) and their shift calendars; agent events, people's reassignments \
            and the historical overflows are not replayed (the replay decides overflow and \
            follow-the-sun itself).
            - Incidents opened before --from are left out; agents start the window empty.

            The baseline is --baseline-roster, or else the agents as \(TriageTopic.agentEvents) has \
            them (latest profile and presence) under --roster's routing policy. Progress goes to \
            standard error. librdkafka's mock cluster (triage broker, triage dev) cannot look offsets \
            up by time: use --scan-from beginning there.

            DATE is \(ReportDate.accepted).

            Examples:
              triage tail --from-beginning > events.jsonl
              triage sla staffing --file events.jsonl --baseline-roster config/roster.example.yaml \\
                --roster config/roster.two-more.example.yaml --from 2026-03-06 --to 2026-03-07
              triage sla staffing --roster config/roster.two-more.example.yaml --from 2026-11-01 \\
                --to 2026-12-01 --policy config/sla-policy.example.yaml --format json --bootstrap kafka:9092
            """
    )

    @Option(help: ArgumentHelp("The candidate roster YAML (docs/roster.md).", valueName: "PATH"))
    var roster: String

    @Option(
        help: ArgumentHelp(
            "The roster to compare with. Default: the agents on \(TriageTopic.agentEvents) under --roster's routing policy.",
            valueName: "PATH"))
    var baselineRoster: String?

    @OptionGroup var history: HistoryWindowOptions<SlaStaffingWindow>

    @Option(help: "The team of incidents opened without one (the router's --default-team).")
    var defaultTeam: String = "general"

    // `.unconditional`: a negative number is the value, not an option (refused in validate()).
    @Option(
        parsing: .unconditional, help: ArgumentHelp("How far history is read ahead of the replay, in hours (0 to 744).", valueName: "HOURS")
    )
    var lookaheadHours: Double = 24

    @Option(parsing: .unconditional, help: ArgumentHelp("Changed incidents listed by the table.", valueName: "N"))
    var changes: Int = 20

    @OptionGroup var sla: SlaOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard lookaheadHours >= 0, lookaheadHours <= 24 * 31 else {
            throw ValidationError("--lookahead-hours must be a number of hours from 0 to 744, not \(lookaheadHours.formatted())")
        }
        guard changes >= 0 else { throw ValidationError("--changes must be 0 or a positive number, not \(changes)") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.sla")
        let window = try history.window()
        let candidate = try loadRoster(roster, option: "--roster")
        let policy = try sla.loadPolicy()
        let baseline: Roster
        if let baselineRoster {
            baseline = try loadRoster(baselineRoster, option: "--baseline-roster")
        } else {
            baseline = try await publishedRoster(policy: candidate.policy, logger: logger)
        }
        let feed = StaffingFeed(
            window: window,
            replay: StaffingReplay(
                baseline: baseline, candidate: candidate, sla: policy, start: window.start, end: window.end,
                configuration: .init(defaultTeam: defaultTeam, lookahead: lookaheadHours * 3_600)))
        if let file = history.file {
            try await readFile(file, into: feed)
        } else {
            try await readTopic(window: window, into: feed, logger: logger)
        }
        let comparison = feed.finish()
        let text =
            switch history.format {
            case .table: comparison.table(changesShown: changes)
            case .csv: comparison.csv()
            case .json: comparison.json() + "\n"
            }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private func readFile(_ path: String, into feed: StaffingFeed) async throws {
        let text = try await InputFile.textInBackground(path, option: "--file", standardInput: true)
        for entry in IncidentEventText.read(text) {
            switch entry.event {
            case .success(let event): feed.add(event)
            case .failure(let problem): throw CommandFailure("\(path == "-" ? "standard input" : path):\(problem.line): \(problem.message)")
            }
        }
    }

    private func readTopic(window: DateInterval, into feed: StaffingFeed, logger: Logger) async throws {
        let client = try connection.clientConfiguration()
        let admin = try await connection.reachableAdmin(client, logger: logger)
        let topic = TriageTopic.incidentEvents
        guard try await connection.describe(topic, admin: admin, client: client) != nil else {
            throw CommandFailure(
                "topic \(topic) does not exist on \(client.bootstrapServers.joined(separator: ",")): no incident was ever published")
        }
        let since = try history.scanStart()
        let reader = TopicHistoryReader(topic: topic, client: client, logger: logger)
        try await reader.read(since: since) { read in
            feed.total = read.total
        } take: { record in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return false }
            feed.add(event)
            return true
        }
    }

    /// The agents as the agent-events topic has them, under `policy`.
    private func publishedRoster(policy: RoutingPolicy, logger: Logger) async throws -> Roster {
        let client = try connection.clientConfiguration()
        let admin = try await connection.reachableAdmin(client, logger: logger)
        guard let partitions = try await connection.describe(TriageTopic.agentEvents, admin: admin, client: client)?.partitions.map(\.id)
        else {
            throw CommandFailure(
                "topic \(TriageTopic.agentEvents) does not exist: no roster was published on this cluster; give --baseline-roster")
        }
        let entries = Mutex([String: RosterEntry]())
        _ = try await KafkaPartitionReader.readToEnd(topic: TriageTopic.agentEvents, partitions: partitions, client: client, logger: logger)
        {
            record in
            guard let value = record.value, let event = try? AgentEvent(serializedBytes: Array(value)),
                event.rosterProblem(key: nil) == nil
            else { return }
            entries.withLock { $0[event.agentID] = ($0[event.agentID] ?? RosterEntry()).after(event) }
        }
        let known = entries.withLock { $0 }.sorted { $0.key < $1.key }
        return Roster(
            agents: known.compactMap(\.value.profile), policy: policy,
            initialPresence: Dictionary(uniqueKeysWithValues: known.map { ($0.key, $0.value.presence) }))
    }
}

/// `triage sla staffing`'s window: the replay runs through it, the topic read from --from.
enum SlaStaffingWindow: HistoryWindowDefaults {
    static let fromHelp = "Replay from this DATE (agents take their places then)."
    static let toHelp = "Replay up to this DATE (incidents still open then are counted as they are)."
    static let records = "lifecycle events"
}

/// What the readers hand the replay: lifecycle events of the window, as staffing facts, with a
/// progress line on standard error every few seconds.
private final class StaffingFeed: Sendable {
    let window: DateInterval
    private let replay: Mutex<StaffingReplay>
    private let state = Mutex((read: 0, total: Int64(0), lastReport: ContinuousClock.now))

    /// Facts are read up to the window's end plus the replay's look-ahead.
    let readUntil: Date

    init(window: DateInterval, replay: StaffingReplay) {
        self.window = window
        self.readUntil = window.end.addingTimeInterval(replay.configuration.lookahead)
        self.replay = Mutex(replay)
    }

    func finish() -> StaffingComparison { replay.withLock { $0.finish(at: window.end) } }

    var total: Int64 {
        get { state.withLock { $0.total } }
        set { state.withLock { $0.total = newValue } }
    }

    func add(_ event: IncidentEvent) {
        let report = state.withLock { state -> (Int, Int64)? in
            state.read += 1
            guard ContinuousClock.now - state.lastReport > .seconds(2) else { return nil }
            state.lastReport = .now
            return (state.read, state.total)
        }
        // A look-ahead past the window's end: handling of the window's incidents (see StaffingReplay).
        if let fact = StaffingFact(event), fact.at >= window.start, fact.at < readUntil {
            replay.withLock { $0.add(fact) }
        }
        if let (read, total) = report {
            let progress = replay.withLock { $0.progress }
            let through = progress.replayedThrough.map { " through \($0.formatted(.iso8601))" } ?? ""
            let of = total > 0 ? " of at most \(total)" : ""
            FileHandle.standardError.write(
                Data("triage sla staffing: read \(read)\(of) events, replayed\(through), \(progress.openIncidents) incidents open\n".utf8))
        }
    }
}
