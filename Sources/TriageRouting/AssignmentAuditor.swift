public import TriageCore

/// Replays the router's output (and the lifecycle facts it reacts to) and checks the scale-out
/// invariants at every step: no agent above capacity, no incident held by two agents, and, at
/// the end, no open incident forgotten.
///
/// Feed it in topic order per incident; loads are kept per agent with the policy's weights.
///
/// **Instants.** A desk publishes one step's decisions together, on the partitions of their
/// incidents, in the order decided and within the same millisecond of record time: an audit
/// that merges partitions cannot tell the order of two decisions with the same record time (a
/// move away from an agent and an assignment to them, one step). Fed with instants
/// (``enter(instant:)``, which record-based feeding does), an agent's capacity is checked once
/// an instant is over, against its load then; without, after every assignment.
public struct AssignmentAuditor: Sendable {
    /// Violations so far, those of the current instant included.
    public var violations: [String] { found + overCapacity(pending) }
    public private(set) var assignedCount = 0
    public private(set) var reassignedCount = 0
    /// Highest load / capacity seen for any agent (at the end of an instant, when fed with instants).
    public var maximumLoadRatio: Double { pending.keys.reduce(settledRatio) { max($0, ratio(of: $1)) } }

    private var found: [String] = []
    private var settledRatio = 0.0
    /// The current instant, once fed with instants.
    private var instant: Double?
    /// Agents given load in the current instant, with the incident that last gave it.
    private var pending: [String: String] = [:]

    private var capacities: [String: Int]
    private var weights: RoutingPolicy
    private var severity: [String: SupportSeverity] = [:]
    private var holder: [String: String] = [:]
    private var load: [String: Int] = [:]
    private var open: Set<String> = []

    public init(capacities: [String: Int], policy: RoutingPolicy = RoutingPolicy()) {
        self.capacities = capacities
        self.weights = policy
    }

    public mutating func opened(_ incident: String, severity: SupportSeverity) {
        self.severity[incident] = severity
        open.insert(incident)
    }

    public mutating func severityChanged(_ incident: String, to newSeverity: SupportSeverity) {
        if let agent = holder[incident], let old = severity[incident] {
            load[agent, default: 0] += weights.weight(of: newSeverity) - weights.weight(of: old)
        }
        severity[incident] = newSeverity
    }

    public mutating func assigned(_ incident: String, to agent: String) {
        assignedCount += 1
        // Decided before the router saw the close that precedes it in the log; the close
        // releases it on the desk right after, so it holds no load.
        guard open.contains(incident) else {
            assignedAfterClose += 1
            return
        }
        if let current = holder[incident] {
            found.append("\(incident) assigned to \(agent) while held by \(current)")
            release(incident)
        }
        take(incident, agent)
    }

    /// Assignments that crossed a close in flight (not violations).
    public private(set) var assignedAfterClose = 0

    public mutating func reassigned(_ incident: String, from: String, to agent: String) {
        reassignedCount += 1
        // An empty target: back to the queue (how routers published a return before ReturnedToQueue).
        if leave(incident, from: from, "reassigned from"), !agent.isEmpty { take(incident, agent) }
    }

    /// Returns to the queue seen (the holder went away and nobody else qualified).
    public private(set) var returnedCount = 0

    public mutating func returnedToQueue(_ incident: String, from: String) {
        returnedCount += 1
        leave(incident, from: from, "returned to the queue from")
    }

    /// `from` lets go of `incident` (a violation when someone else held it); `false` when the
    /// incident was closed already (the move crossed the close in flight).
    @discardableResult
    private mutating func leave(_ incident: String, from: String, _ move: String) -> Bool {
        guard open.contains(incident) else {
            assignedAfterClose += 1
            return false
        }
        if holder[incident] != from {
            found.append("\(incident) \(move) \(from) but held by \(holder[incident] ?? "nobody")")
        }
        release(incident)
        return true
    }

    /// Incidents moved to another team's queue seen (overflow, follow-the-sun).
    public private(set) var teamChangedCount = 0

    /// The incident left its team (TeamChanged): its holder, if any, lets go; it stays open
    /// for the other team's desk to assign.
    public mutating func teamChanged(_ incident: String) {
        teamChangedCount += 1
        release(incident)
    }

    public mutating func released(_ incident: String) {
        release(incident)
        open.remove(incident)
    }

    /// Who holds `incident` now, if anyone.
    public func holder(of incident: String) -> String? { holder[incident] }

    /// The load units `agent` holds now, with the policy's weights.
    public func load(of agent: String) -> Int { load[agent] ?? 0 }

    /// Open incidents nobody holds (call at the end, when there was capacity for all).
    public var unassigned: [String] { open.filter { holder[$0] == nil }.sorted() }

    /// What follows happened at `instant` (a record time in seconds): the capacity checks of the
    /// instant before are settled now.
    public mutating func enter(instant: Double) {
        guard instant != self.instant else { return }
        settle()
        self.instant = instant
    }

    private mutating func take(_ incident: String, _ agent: String) {
        holder[incident] = agent
        load[agent, default: 0] += weights.weight(of: severity[incident] ?? .c)
        pending[agent] = incident
        if instant == nil { settle() }
    }

    /// Checks the agents given load in the instant that ends.
    private mutating func settle() {
        settledRatio = maximumLoadRatio
        found += overCapacity(pending)
        pending = [:]
    }

    private func ratio(of agent: String) -> Double {
        let capacity = capacities[agent] ?? 0
        return capacity > 0 ? Double(load[agent] ?? 0) / Double(capacity) : 0
    }

    /// The violations of `agents` (agent → the incident that last gave it load) now above capacity.
    private func overCapacity(_ agents: [String: String]) -> [String] {
        agents.sorted { $0.key < $1.key }.compactMap { agent, incident in
            let (now, capacity) = (load[agent] ?? 0, capacities[agent] ?? 0)
            return now > capacity ? "\(agent) at \(now) load units above capacity \(capacity) after \(incident)" : nil
        }
    }

    private mutating func release(_ incident: String) {
        guard let agent = holder.removeValue(forKey: incident) else { return }
        load[agent, default: 0] -= weights.weight(of: severity[incident] ?? .c)
    }
}
