import ArgumentParser

/// `triage console`: the staff web console (serve, the default) and its password tool.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Run the staff web console (queues, incidents, actions through the intake), or hash a password for its accounts file.",
        subcommands: [ConsoleServeCommand.self, ConsoleHashPasswordCommand.self],
        defaultSubcommand: ConsoleServeCommand.self
    )
}
