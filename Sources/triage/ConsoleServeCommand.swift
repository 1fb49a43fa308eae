import ArgumentParser
import Foundation
import Logging
import TriageConsole
import TriageKafka
import TriageRouting

/// `triage console [serve]`: the staff console against a running Triage (its topics and intake).
struct ConsoleServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the staff web console.",
        discussion: """
            Reads the topics (incident state and events, agent events, router state, notification \
            requests) from --bootstrap and acts only through the intake's gRPC API at --intake, with \
            the bearer token of an admin tenant taken from the environment variable --intake-token-env \
            (never printed). Every action carries the signed-in username as its actor.

            --accounts is a YAML file of the staff who may sign in (docs/console.md):
              accounts:
                - username: ana
                  display_name: Ana Lima
                  role: agent            # agent, lead or admin
                  agent_id: agent-1      # agents: their routing id
                  team: tier-1           # agents: their team
                  password_bcrypt: "$2b$12$..."   # triage console hash-password
            A bad file stops start-up naming file:line:column: key.

            Example:
              TRIAGE_CONSOLE_INTAKE_TOKEN=… triage console --intake 127.0.0.1:50051 --accounts accounts.yaml \\
                --bootstrap localhost:9092 --port 8090
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The intake's gRPC address, host:port.")
    var intake: String = "127.0.0.1:50051"

    @Option(help: "Environment variable holding an admin tenant's bearer token for the intake.")
    var intakeTokenEnv: String = "TRIAGE_CONSOLE_INTAKE_TOKEN"

    @Flag(help: "Call the intake over TLS (the system's trust roots).")
    var intakeTLS = false

    @Option(help: "Accounts file (YAML): username, display_name, role, agent_id, team, password_bcrypt.")
    var accounts: String

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "HTTP port (0: any free port; the bound port is printed).")
    var port: Int = 8090

    @Option(help: "An origin accepted on form posts besides the request's own Host (a reverse proxy's public URL); repeatable.")
    var allowedOrigin: [String] = []

    @Option(help: "Minutes a session lasts without a request.")
    var sessionIdleMinutes: Double = 30

    @OptionGroup var sla: SlaOptions
    @OptionGroup var roster: RosterOptions
    @OptionGroup var time: SlaTimeOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard Self.address(intake) != nil else { throw ValidationError("--intake must be host:port, e.g. 127.0.0.1:50051") }
        guard sessionIdleMinutes > 0 else { throw ValidationError("--session-idle-minutes must be positive") }
    }

    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        let host = String(text[..<colon])
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.console")
        StartupSignals.install(logger: logger)
        let directory: StaffDirectory
        do { directory = try StaffDirectory.load(path: accounts) } catch { throw CommandFailure("invalid accounts file: \(error)") }
        guard let token = ProcessInfo.processInfo.environment[intakeTokenEnv], !token.isEmpty else {
            throw CommandFailure(
                "no intake token: set $\(intakeTokenEnv) to an admin tenant's bearer token (or name another variable with --intake-token-env)"
            )
        }
        let policy = try sla.loadPolicy()
        let routing = try roster.load()?.policy ?? RoutingPolicy()
        let clock = time.clock
        let scaled = time.timeScale != 1 || time.timeOrigin != nil
        var configuration = ConsoleConfiguration(
            host: host, port: port, allowedOrigins: allowedOrigin, loadWeights: routing.severityWeights)
        configuration.sessions.idleTimeout = .milliseconds(Int64(sessionIdleMinutes * 60_000))
        let console = try await Console(
            client: try connection.clientConfiguration(), intake: Self.address(intake)!, token: token, intakeTLS: intakeTLS,
            directory: directory, now: { scaled ? clock.now() : Date() }, policy: policy, routing: routing, configuration: configuration,
            recordTime: { scaled ? clock.slaInstant(of: $0) : $0 }, logger: logger)
        var group = WorkerServiceGroup(logger: logger)
        group.addListener(console, at: ListenAddress(host: host, port: port, option: "--port"))
        group.add([ConsoleAnnouncer(console: console, host: host, accounts: directory.accounts.count)])
        try await group.run()
    }
}
