import ArgumentParser

/// `triage report`: reports over the analytics records.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports over the analytics records (triage.analytics or a JSON-lines file).",
        subcommands: [ReportSlaCommand.self]
    )
}
