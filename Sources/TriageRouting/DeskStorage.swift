/// How a desk is stored: a *core* (agents, assigned incidents, released memory — bounded by the
/// team's size and capacity) and its queue one incident at a time (unbounded: a team without
/// agents queues everything). A whole desk in one record grows with the queue until it is too
/// big for a Kafka record (1 MB by default; ~5,000 queued incidents) and every step re-encodes
/// all of it; stored this way a step writes the core and only the queued incidents that changed.
///
/// Reassembly (``assemble(core:queued:)``) trusts the core: a queued incident that the core
/// holds as assigned, or that belongs to another team, or is not queued, is left out. That
/// is what makes the writer's order safe — changed queue entries, then the core, then
/// queue removals: whatever prefix of that reached the log, reassembly gives the state of
/// the last core or one that only adds queued incidents whose inputs are replayed anyway.
extension TeamDesk {
    /// An open incident nobody holds, as stored on its own.
    public struct QueuedIncident: Sendable, Hashable, Codable {
        var ticket: Ticket
        public var id: String { ticket.incident.id }
        public var incident: RoutingIncident { ticket.incident }
    }

    /// What changed in the queue between two states of one desk.
    public struct QueueChanges: Sendable, Hashable {
        /// Queued now and new to the queue, or changed while queued (severity, the agent it left).
        public var upserted: [QueuedIncident] = []
        /// Queued before, not any more (assigned or released).
        public var removed: [String] = []
        public var isEmpty: Bool { upserted.isEmpty && removed.isEmpty }
    }

    /// The desk without its queue.
    public var core: TeamDesk {
        var copy = self
        for id in waiting { copy.open[id] = nil }
        copy.waiting = []
        return copy
    }

    /// The queued incidents in service order.
    public var queuedIncidents: [QueuedIncident] { waiting.compactMap { open[$0].map(QueuedIncident.init) } }

    /// The queue's changes since `old` (the same desk earlier).
    public func queueChanges(since old: TeamDesk) -> QueueChanges {
        var changes = QueueChanges()
        let before = Set(old.waiting)
        let now = Set(waiting)
        for id in waiting where !before.contains(id) || old.open[id] != open[id] {
            if let ticket = open[id] { changes.upserted.append(QueuedIncident(ticket: ticket)) }
        }
        changes.removed = old.waiting.filter { !now.contains($0) }
        return changes
    }

    /// A desk from its stored parts. Queued incidents the core already holds (or that are not
    /// this team's, or not unassigned) are left out and returned as `ignored`; the queue is put
    /// in service order. A core that still carries a queue (an older whole-desk record) keeps it.
    public static func assemble(core: TeamDesk, queued: some Sequence<QueuedIncident>) -> (desk: TeamDesk, ignored: [String]) {
        var desk = core
        var ignored: [String] = []
        for entry in queued {
            let ticket = entry.ticket
            guard desk.open[entry.id] == nil, desk.closed[entry.id] == nil, ticket.incident.team == desk.team, ticket.agent == nil, ticket.units == 0, !ticket.acknowledged else {
                ignored.append(entry.id)
                continue
            }
            desk.open[entry.id] = ticket
            desk.waiting.append(entry.id)
        }
        desk.waiting.sort { Self.serves(desk.open[$0]!.incident, before: desk.open[$1]!.incident) }
        return (desk, ignored)
    }
}
