import Foundation
import HummingbirdBcrypt
import Logging
import ServiceLifecycle
import TriageConsole
import TriageDevTools
import TriageRouting

/// The console in `triage dev`: demo accounts (a lead, an admin and the first two agents of the
/// roster, one password printed at start), an admin tenant of the intake for it, and the
/// services that run it once the intake's port is known.
struct DevConsole {
    let password: String
    let token: String
    let directory: StaffDirectory
    /// `lead / PASSWORD (lead)`, ... for the start-up banner.
    let banner: String

    init(roster: Roster) throws {
        password = "demo-" + UUID().uuidString.prefix(6).lowercased()
        token = "dev-console-" + UUID().uuidString.prefix(8).lowercased()
        // Cost 10: the demo accounts are hashed at every start.
        let hash = Bcrypt.hash(password, cost: 10)
        var yaml = """
            accounts:
              - {username: lead, display_name: Demo Lead, role: lead, password_bcrypt: "\(hash)"}
              - {username: admin, display_name: Demo Admin, role: admin, password_bcrypt: "\(hash)"}

            """
        var lines = ["lead (lead, every team)", "admin (admin)"]
        for agent in roster.agents.prefix(2) {
            yaml +=
                "  - {username: \(StaffDirectory.yamlScalar(agent.id)), display_name: \(StaffDirectory.yamlScalar(agent.id)), role: agent, agent_id: \(StaffDirectory.yamlScalar(agent.id)), team: \(StaffDirectory.yamlScalar(agent.team)), password_bcrypt: \"\(hash)\"}\n"
            lines.append("\(agent.id) (agent, \(agent.team))")
        }
        directory = try StaffDirectory.load(yaml: yaml, file: "(dev accounts)")
        banner = "sign in as " + lines.joined(separator: ", ") + " — password \(password)"
    }

    /// The console (kept from ending `triage dev` unless its port is taken: that names
    /// --console-port) and its announcement.
    func services(make: @escaping @Sendable () async throws -> Console, port: Int, logger: Logger)
        -> [ServiceGroupConfiguration.ServiceConfiguration]
    {
        let deferred = DeferredConsole(make: make)
        let listening = ListeningService(service: deferred, address: ListenAddress(host: "127.0.0.1", port: port, option: "--console-port"))
        return [
            .init(
                service: OptionalService(name: "console", service: listening, isFatal: { $0 is AddressInUse }, logger: logger),
                failureTerminationBehavior: .gracefullyShutdownGroup)
        ]
    }
}
