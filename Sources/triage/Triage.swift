import ArgumentParser
import Foundation
import TriageCore
import TriageKafka

@main
struct Triage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Triage: a support organisation's incident lifecycle on Kafka.",
        discussion: """
            Producers publish incident lifecycle events to Kafka; Triage's workers consume them to route \
            incidents, escalate breached SLAs, notify people and feed analytics.

            Start locally with `triage dev` (everything on an embedded broker), or run `triage broker` \
            and point separate processes at the address it prints. Any real Kafka works by passing \
            its bootstrap servers (--bootstrap host:port,...).
            """,
        version: "\(triageVersion) (librdkafka \(KafkaLibrary.version))",
        subcommands: [
            DevCommand.self, ChaosCommand.self, InteropCommand.self, BrokerCommand.self, EscalatorCommand.self, RouterCommand.self,
            NotifierCommand.self, AnalyticsCommand.self, IntakeCommand.self, CallCommand.self, ConsoleCommand.self,
            EntitlementsCommand.self, AgentsCommand.self, SlaCommand.self, ReportCommand.self, TopicsCommand.self, PublishCommand.self,
            TailCommand.self, OnCallCommand.self, ChildProcessProbeCommand.self,
        ]
    )

    /// ArgumentParser's `main`, except for what `run()` throws: argument errors (parsing and
    /// `validate()`) print the message with the usage and exit 64, as ArgumentParser does; a
    /// failure while running (a file that cannot be read, a broker that cannot be reached, a
    /// refusal) is not a usage problem, so it prints `error: <message>` alone and exits 1.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            exitEscaped(error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            // ArgumentParser's own errors (`triage help`, ExitCode, CleanExit) keep its handling; a
            // ValidationError thrown while running is a runtime failure like any other.
            if !(error is ValidationError) && String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
                exitEscaped(error)
            }
            let message = TerminalText.escaped(runtimeMessage(error), keepingNewlines: true)
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(1)
        }
    }

    /// ArgumentParser's `exit(withError:)`, except that an error's message has its control
    /// characters escaped: it may quote a value from a file or an event (an id holding an ESC
    /// sequence). Help and other clean exits are left to ArgumentParser.
    static func exitEscaped(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        guard code != .success else { exit(withError: error) }
        let message = TerminalText.escaped(fullMessage(for: error), keepingNewlines: true)
        if !message.isEmpty { FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8)) }
        Foundation.exit(code.rawValue)
    }

    /// The text of a runtime failure.
    static func runtimeMessage(_ error: any Error) -> String {
        (error as? ValidationError)?.message ?? String(describing: error)
    }
}

/// Triage's release.
let triageVersion = "0.1.0"
