public import TriageRouting

/// The agents of `triage dev` and `triage chaos` when no roster is given.
public enum DevRoster {
    /// Twelve agents of team tier-1 (billing), capacity 6, online.
    public static var demo: Roster {
        Roster(
            agents: (1...12).map { Agent(id: "agent-\($0)", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 6) },
            policy: RoutingPolicy(),
            initialPresence: Dictionary(uniqueKeysWithValues: (1...12).map { ("agent-\($0)", Presence.online) })
        )
    }
}
