import ArgumentParser
import Foundation
import Logging
import Synchronization
import TriageEscalator
import TriageKafka
import TriageReports
import TriageSLA
import TriageSLABacktest
import TriageSLABacktestLog
import TriageSchema

extension SlaCommand {
    /// `triage sla backtest`: the lifecycle log of a window replayed under a baseline and a
    /// candidate SLA policy, compared per group and per incident.
    struct Backtest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backtest",
            abstract: "Replay a window of the lifecycle log under a candidate SLA policy and compare it with the baseline.",
            discussion: """
                Reads \(TriageTopic.incidentEvents) (or --file, JSON lines as `triage tail` writes them) \
                and replays every incident opened in [--from, --to) through the escalator's own SLA \
                code — business calendars, pauses, severity changes, reopens — under the baseline and \
                under --policy, up to --to. Without --baseline the baseline is the built-in default \
                policy, what `triage escalator` runs without --policy: give the file the escalator \
                runs with to compare against it.

                Printed per group and in total, baseline → candidate: first responses within target \
                (%), breaches, escalations per level, warnings, resolution and update clocks that \
                reached their target (where the policies have them), who the escalations would \
                notify, and the incidents whose result changes (with the instant each deadline moves \
                to). Under the policy the escalator ran, the replay fires the warnings and \
                escalations it published (same event ids, same instants) while it kept up; the \
                escalator's own events in the log are ignored. Progress goes to standard error.

                A record is replayed when it reached the topic (its timestamp), as the escalator saw \
                it: an event published late fires what fell due before it. For a log loaded after \
                the fact give --event-time.

                DATE is \(ReportDate.accepted), in SLA time. --to is at most \(BacktestHorizon.maximumDaysAhead) \
                days after now: the replay runs every clock up to it, past the log's end too.

                The topic is read from the records published at --from (--scan-from) to its end \
                when the command starts. librdkafka's mock cluster (triage broker, triage dev) \
                cannot look offsets up by time: use --scan-from beginning there. Records carry \
                real time: against an escalator on a scaled clock give its --time-scale and \
                --time-origin (triage dev prints them).

                Examples:
                  triage sla backtest --policy candidate.yaml \\
                    --baseline /etc/triage/sla-policy.yaml --from 2026-11-01 --to 2026-12-01
                  triage sla backtest --policy candidate.yaml --from 2026-11-01 \\
                    --to 2026-12-01 --by month --format csv > november.csv
                  triage tail --from-beginning > events.jsonl
                  triage sla backtest --policy config/sla-policy.example.yaml \\
                    --file events.jsonl --from 2026-03-06 --to 2026-03-20 --by severity \\
                    --time-scale 360 --time-origin 2026-03-06T16:00:00Z
                """
        )

        @Option(help: ArgumentHelp("The candidate SLA policy (YAML, see docs/sla.md).", valueName: "FILE"))
        var policy: String

        @Option(
            help: ArgumentHelp(
                "The policy to compare with, usually the escalator's --policy. Default: the built-in defaults (the escalator without --policy).",
                valueName: "FILE"))
        var baseline: String?

        @OptionGroup var history: HistoryWindowOptions<SlaBacktestWindow>

        @Option(help: "Rows per team, severity, customer or month (of Opened, UTC).")
        var by: ReportGroupingArgument = .team

        @Flag(
            help:
                "Replay each event as if it reached the topic when it occurred, ignoring record timestamps: for a log loaded after the fact (triage publish of old events)."
        )
        var eventTime = false

        // `.unconditional`: a negative number is the value, not an option (refused in validate()).
        @Option(parsing: .unconditional, help: "List at most this many changed incidents (all are counted).")
        var changedLimit: Int = 1_000

        @Option(help: "The lifecycle topic.")
        var topic: String = TriageTopic.incidentEvents

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var time: SlaTimeOptions
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard BacktestHorizon.allows(end: try history.window().end, now: time.clock.now()) else {
                throw ValidationError(
                    "--to (\(history.to)) must be at most \(BacktestHorizon.maximumDaysAhead) days after now (\(BacktestHorizon.reason), past the log's end too)"
                )
            }
            if time.timeScale != 1, time.timeOrigin == nil {
                throw ValidationError("--time-scale needs the escalator's --time-origin: record timestamps are mapped to SLA time from it")
            }
            guard changedLimit >= 0 else { throw ValidationError("--changed-limit must be 0 or a positive number, not \(changedLimit)") }
        }

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.sla")
            let candidate = try SlaOptions.loadPolicy(policy, option: "--policy", refusingEmpty: true)
            let baselinePolicy =
                try baseline.map { try SlaOptions.loadPolicy($0, option: "--baseline", refusingEmpty: true) } ?? SlaPolicy()
            let window = try history.window()
            let backtest = SharedBacktest(
                SlaBacktest(
                    baseline: SlaRules(baselinePolicy), candidate: SlaRules(candidate), window: window, grouping: by.backtestGrouping,
                    changedListLimit: changedLimit, baselineName: baseline ?? "built-in defaults (no --baseline)", candidateName: policy))
            let clock = time.clock
            if let file = history.file {
                try await BacktestEventFile.read(file, clock: eventTime ? nil : clock, into: backtest)
            } else {
                try await readTopic(window: window, clock: clock, into: backtest, logger: logger)
            }
            let result = backtest.finish()
            if let last = result.lastEventAt, last < window.end {
                BacktestProgress.warn(
                    "the log ends at \(last.formatted(.iso8601)), before --to: incidents still open then are replayed as if nothing happened to them until --to (give --to \(last.formatted(.iso8601)) to stop there)"
                )
            }
            if let warning = result.outOfOrderWarning { BacktestProgress.warn(warning) }
            if result.invalidEvents > result.eventsApplied {
                BacktestProgress.warn(
                    "\(result.invalidEvents) event(s) skipped as the escalator would refuse them, most likely as occurring after their record's timestamp: against an escalator on a scaled clock give --time-scale and --time-origin; for a log loaded after the fact, --event-time"
                )
            }
            let text =
                switch history.format {
                case .table: result.table()
                case .csv: result.csv()
                case .json: try result.json() + "\n"
                }
            FileHandle.standardOutput.write(Data(text.utf8))
        }

        private func readTopic(window: DateInterval, clock: ScaledClock, into backtest: SharedBacktest, logger: Logger) async throws {
            let client = try connection.clientConfiguration()
            let admin = try await connection.reachableAdmin(client, logger: logger)
            guard try await connection.describe(topic, admin: admin, client: client) != nil else {
                throw CommandFailure(
                    "topic \(topic) does not exist on \(client.bootstrapServers.joined(separator: ",")): no incident was ever published there"
                )
            }
            // Record timestamps are real time; --from is SLA time.
            let since = try history.scanStart().map { clock.realInstant(of: $0) }
            let progress = BacktestProgress(what: "reading \(topic)", total: nil)
            let reader = BacktestLogReader(client: client, topic: topic, progressInterval: BacktestProgress.interval, logger: logger)
            let slaInstant: (@Sendable (Date) -> Date)? = eventTime ? nil : { @Sendable in clock.slaInstant(of: $0) }
            let last = try await reader.read(into: backtest, since: since, slaInstant: slaInstant) { read in
                if read.read > 0, read.read % BacktestProgress.interval == 0 { progress.report(read, done: false) }
            }
            progress.report(last, done: true)
            if last.unreadable > 0 {
                BacktestProgress.warn("skipped \(last.unreadable) record(s) of \(topic) that are not lifecycle events")
            }
        }
    }
}

/// `triage sla backtest`'s window: incidents opened in it, the topic read from --from.
enum SlaBacktestWindow: HistoryWindowDefaults {
    static let fromHelp = "Incidents opened at or after this DATE."
    static let toHelp = "Incidents opened before this DATE; everything is replayed up to it."
    static let records = "lifecycle events"
}

extension ReportGroupingArgument {
    var backtestGrouping: BacktestGrouping {
        switch self {
        case .team: .team
        case .severity: .severity
        case .customer: .customer
        case .month: .month
        }
    }
}
