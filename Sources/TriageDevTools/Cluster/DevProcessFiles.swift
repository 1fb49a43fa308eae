public import TriageRouting
public import TriageSLA

/// The YAML files the worker processes of `triage dev --processes` read.
public enum DevProcessFiles {
    public static func roster(_ roster: Roster) -> String {
        var text = "agents:\n"
        for agent in roster.agents {
            let presence =
                roster.initialPresence[agent.id].map { ", presence: \($0.rawValue)" } ?? ""
            text +=
                "  - { id: \(agent.id), team: \(agent.team), products: [\(agent.skills.sorted().joined(separator: ", "))], "
                + "languages: [\(agent.languages.sorted().joined(separator: ", "))], capacity: \(agent.capacity)\(presence) }\n"
        }
        return text
    }

    /// The plain recipient names the SLA policy notifies (`agent:`, `customer:` and `oncall:`
    /// names are resolved otherwise), plus `assigned-agent` and `team-lead`.
    public static func recipientNames(policy: SlaPolicy) -> [String] {
        Set(policy.warningNotify + policy.escalation.flatMap(\.notify) + ["assigned-agent", "team-lead"]).filter { !$0.contains(":") }
            .sorted()
    }

    /// Every recipient the SLA policy names, every agent and every customer → one signed webhook
    /// endpoint (the dev receiver).
    public static func notificationRules(policy: SlaPolicy, port: Int) -> String {
        let names = recipientNames(policy: policy)
        var text = """
            endpoints:
              dev-webhooks:
                channel: webhook
                url: http://127.0.0.1:\(port)/hooks/all
                secret_env: TRIAGE_DEV_WEBHOOK_KEY
            recipients:

            """
        for name in names { text += "  \(name):\n    endpoints: [dev-webhooks]\n" }
        text += "agents:\n  default: { endpoints: [dev-webhooks] }\ncustomers:\n  default: { endpoints: [dev-webhooks] }\n"
        return text
    }

    public static func tenants(token: String, console: Bool = false) -> String {
        "tenants:\n  - name: dev-portal\n    token_env: TRIAGE_DEV_TOKEN\n    accounts: [acct-contract, acct-pack]\n"
            + (console ? "  - name: dev-console\n    token_env: TRIAGE_DEV_CONSOLE_TOKEN\n    admin: true\n" : "")
    }
}
