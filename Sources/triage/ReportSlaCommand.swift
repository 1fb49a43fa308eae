import ArgumentParser
import Foundation
import Logging
import TriageAnalyticsFeed
import TriageKafka
import TriageReports
import TriageSchema

/// `triage report sla`: first-response SLA compliance of the incidents opened in a window.
struct ReportSlaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla",
        abstract: "First-response SLA compliance of the incidents opened in a window, per team, severity, customer or month.",
        discussion: """
            Reads the analytics records from \(TriageTopic.analytics) (or --file) and prints, per group \
            and in total: incidents opened in [--from, --to), first responses measured, within target \
            (count and %), breached, incidents escalated to each level, median and p90 first response \
            (business minutes, nearest rank), minutes waiting on the customer (total and mean), and \
            incidents at risk now (open, unanswered, not breached, warned by the escalator). Each \
            column is defined in docs/analytics.md ("SLA compliance report").

            DATE is \(ReportDate.accepted).

            The topic is read from the records published a day before --from (--scan-from) up to \
            its end when the command starts; progress goes to standard error. librdkafka's mock \
            cluster (triage broker, triage dev) cannot look offsets up by time: use --scan-from \
            beginning there.

            Examples:
              triage report sla --from 2026-03-01 --to 2026-04-01 --by team
              triage report sla --from 2026-03-01 --to 2026-04-01 --by severity --format csv > march.csv
              triage report sla --from 2026-01-01T00:00:00Z --to 2026-04-01 --by month --format json --bootstrap kafka:9092
              triage tail triage.analytics --from-beginning > records.jsonl
              triage report sla --from 2026-03-01 --to 2026-04-01 --by customer --file records.jsonl
            """
    )

    @OptionGroup var history: HistoryWindowOptions<ReportSlaWindow>

    @Option(help: "Rows per team, severity, customer or month (of Opened, UTC).")
    var by: ReportGroupingArgument

    @Option(help: ArgumentHelp("The report as known at this DATE: later records are ignored. Default: now.", valueName: "DATE"))
    var asOf: String?

    @Option(help: "The analytics topic.")
    var topic: String = TriageTopic.analytics

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let asOf { _ = try ReportDateOption.parse(asOf, option: "--as-of") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.report")
        let window = try history.window()
        let asOf = try asOf.map { try ReportDateOption.parse($0, option: "--as-of") } ?? Date()
        let records: [AnalyticsRecord]
        if let file = history.file {
            records = try await readFile(file)
        } else {
            records = try await readTopic(window: window, logger: logger)
        }
        let report = SlaComplianceReport(records: records, window: window, groupBy: by.grouping, asOf: asOf)
        let text =
            switch history.format {
            case .table: report.table()
            case .csv: report.csv()
            case .json: report.json() + "\n"
            }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private func readFile(_ path: String) async throws -> [AnalyticsRecord] {
        let text = try await InputFile.textInBackground(path, option: "--file", standardInput: true)
        let contents = AnalyticsRecordLines.read(text)
        if !contents.unreadableLines.isEmpty {
            let lines = contents.unreadableLines.prefix(5).map(String.init).joined(separator: ", ")
            warn(
                "skipped \(contents.unreadableLines.count) line(s) that are not analytics records (line \(lines)\(contents.unreadableLines.count > 5 ? ", ..." : ""))"
            )
        }
        return contents.records
    }

    private func readTopic(window: DateInterval, logger: Logger) async throws -> [AnalyticsRecord] {
        let client = try connection.clientConfiguration()
        let admin = try await connection.reachableAdmin(client, logger: logger)
        guard try await connection.describe(topic, admin: admin, client: client) != nil else {
            throw CommandFailure(
                "topic \(topic) does not exist on \(client.bootstrapServers.joined(separator: ",")); is the analytics feed running there?")
        }
        let since = try history.scanStart()
        let history = AnalyticsHistory(client: client, topic: topic, logger: logger)
        let topic = self.topic
        let contents = try await history.read(since: since) { progress in
            let unreadable = progress.unreadable > 0 ? ", \(progress.unreadable) unreadable" : ""
            warn("reading \(topic): \(progress.read) of at most \(progress.total) records\(unreadable)")
        }
        if contents.unreadable > 0 { warn("skipped \(contents.unreadable) record(s) of \(topic) that are not analytics records") }
        return contents.records
    }
}

/// `triage report sla`'s window: incidents opened in it, the topic read from a day before
/// --from (analytics records of an incident opened in the window can be published before it).
enum ReportSlaWindow: HistoryWindowDefaults {
    static let fromHelp = "Incidents opened at or after this DATE."
    static let toHelp = "Incidents opened before this DATE."
    static let records = "analytics records"
    static let scanFromDefault = "a day before --from"
    static let scanLead: TimeInterval = 86_400
}

/// One line on standard error.
private func warn(_ line: String) {
    FileHandle.standardError.write(Data(("triage report: " + line + "\n").utf8))
}
