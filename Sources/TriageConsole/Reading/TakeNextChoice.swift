import TriageRouting

/// "Take next": the first incident of the team's queue, in service order, that the agent
/// qualifies for — the product, the language (primary subtag), room for its weight. Presence and
/// shift are not asked: the agent is asking. The router has the last word (the take is a
/// `ReassignRequested` with `only_if_waiting`: another agent may have been faster).
public enum TakeNextChoice {
    /// The incident id to take, or `nil` when nothing waiting fits.
    public static func incident(for agentID: String, on desk: TeamDesk, policy: RoutingPolicy) -> String? {
        guard let agent = desk.profile(of: agentID) else { return nil }
        let load = desk.load(of: agentID)
        for entry in desk.queuedIncidents {
            let incident = entry.incident
            guard agent.skills.contains(incident.product), load + policy.weight(of: incident.severity) <= agent.capacity else { continue }
            if let language = incident.language, !language.isEmpty {
                let wanted = primarySubtag(language)
                guard agent.languages.contains(where: { primarySubtag($0) == wanted }) else { continue }
            }
            return entry.id
        }
        return nil
    }

    static func primarySubtag(_ tag: String) -> String {
        tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
    }
}
