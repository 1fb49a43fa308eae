import HummingbirdBcrypt
import Testing
import TriageConsole
import TriageCore
import TriageKafkaTesting

@Suite("Console accounts file")
struct StaffDirectoryTests {
    static let hash = "$2b$04$" + String(repeating: "a", count: 53)

    /// `triage dev` writes its demo accounts from the roster: a team with a comma (or a colon
    /// or a quote) wrote a second `team` key and `triage dev` failed to start (stop 44's
    /// attack). Quoted, each value is read back as it was.
    @Test(arguments: ["Zed,team", "a: b, role: admin", "say \"hi\"", "é-team", "x/y", "[x]"])
    func generatedAccountsKeepOddRosterValues(_ team: String) throws {
        let id = "agent," + team
        let directory = try StaffDirectory.load(
            yaml: """
                accounts:
                  - {username: \(StaffDirectory.yamlScalar(id)), role: agent, agent_id: \(StaffDirectory.yamlScalar(id)), team: \(StaffDirectory.yamlScalar(team)), password_bcrypt: "\(Self.hash)"}
                """, file: "(dev accounts)")
        #expect(directory[id]?.team == team && directory[id]?.agentID == id && directory[id]?.role == .agent)
    }

    @Test func readsAccountsWithRolesAgentsAndTeams() throws {
        let directory = try StaffDirectory.load(
            yaml: """
                accounts:
                  - username: ana
                    display_name: Ana Lima
                    role: agent
                    agent_id: agent-1
                    team: tier-1
                    password_bcrypt: "\(Self.hash)"
                  - username: lee
                    role: lead
                    password_bcrypt: "\(Self.hash)"
                """, file: "accounts.yaml")
        #expect(directory.accounts.map(\.username) == ["ana", "lee"])
        #expect(directory["ana"]?.role == .agent && directory["ana"]?.team == "tier-1" && directory["ana"]?.agentID == "agent-1")
        #expect(directory["lee"]?.displayName == "lee" && directory["lee"]?.role.seesEveryTeam == true)
        #expect(directory["nobody"] == nil)
    }

    @Test(arguments: [
        (
            "accounts:\n  - username: ana\n    role: chief\n    password_bcrypt: \"\(hash)\"\n",
            "accounts.yaml:3:11: accounts[0].role: unknown role 'chief'"
        ),
        (
            "accounts:\n  - username: ana\n    role: agent\n    team: t\n    password_bcrypt: \"\(hash)\"\n",
            "accounts[0].agent_id: an agent needs 'agent_id'"
        ),
        (
            "accounts:\n  - username: ana\n    role: lead\n    password_bcrypt: secret\n",
            "accounts.yaml:4:22: accounts[0].password_bcrypt: not a bcrypt hash"
        ),
        ("accounts:\n  - username: ana\n    role: lead\n    pasword_bcrypt: x\n", "accounts.yaml:4:5: accounts[0].pasword_bcrypt:"),
        (
            "accounts:\n  - username: ana\n    role: lead\n    password_bcrypt: \"\(hash)\"\n  - username: ana\n    role: lead\n    password_bcrypt: \"\(hash)\"\n",
            "accounts.yaml:5:15: accounts[1].username: username 'ana' is already used"
        ),
    ])
    func badFilesNameFileLineAndKey(yaml: String, expected: String) {
        do {
            _ = try StaffDirectory.load(yaml: yaml, file: "accounts.yaml")
            Issue.record("accepted a bad file")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}

@Suite("Shipped console accounts example")
struct ConsoleAccountsExampleTests {
    /// Outside attack on issue 22: an unknown username was checked against a cost-12 decoy while
    /// the accounts used cost 10, so a failed sign-in took four times as long for a name that
    /// does not exist. The decoy now takes the accounts' cost.
    @Test func theDecoyCostIsTheAccountsCost() throws {
        func directory(_ costs: [String]) -> StaffDirectory {
            StaffDirectory(
                accounts: costs.enumerated().map {
                    StaffAccount(
                        username: "u\($0.offset)", displayName: "u", role: .lead,
                        passwordHash: "$2b$\($0.element)$" + String(repeating: "a", count: 53))
                })
        }
        #expect(directory(["10", "10", "12"]).bcryptCost == 10)
        #expect(directory(["04"]).bcryptCost == 4)
        #expect(directory([]).bcryptCost == 12)
        #expect(directory(["xx"]).bcryptCost == 12)
    }

    @Test func theExampleLoadsAndItsPasswordsVerify() throws {
        let directory = try StaffDirectory.load(path: repositoryRoot + "/config/console-accounts.example.yaml")
        #expect(directory.accounts.map(\.username) == ["ana", "lee"])
        #expect(Bcrypt.verify("change-me-ana", hash: try #require(directory["ana"]).passwordHash))
    }
}
