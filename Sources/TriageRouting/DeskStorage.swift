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
            guard desk.open[entry.id] == nil, desk.closed[entry.id] == nil, ticket.incident.team == desk.team, ticket.agent == nil,
                ticket.units == 0, !ticket.acknowledged
            else {
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

/// Who may write one partition of the desk log (`triage.router-state`).
///
/// An instance that takes a partition over first appends a *fence* naming itself (a token
/// unique to that takeover), then reads the partition to its end. From that fence on, only
/// records carrying the same writer token count: a record by anybody else after it is a late
/// write of an instance that lost the partition without knowing it yet (starved past its
/// session timeout, cut off from the coordinator) and is ignored by every later restore. The
/// writer itself checks, after each of its writes, that no other fence came before it (see
/// the router's step), so a decision is published only by the instance whose view of the desk
/// was complete. This is Kafka's producer fencing done with plain records, because the embedded
/// broker has no transactions.
public struct DeskLog: Sendable {
    /// The key of fence records: U+001F then `fence` (no team name starts with U+001F).
    public static let fenceKey: [UInt8] = [0x1F] + Array("fence".utf8)
    /// The header naming a record's writer.
    public static let writerHeader = "triage-desk-writer"

    /// The latest accepted value per key (`nil`: a tombstone); fences excluded.
    public private(set) var latest: [[UInt8]: [UInt8]?] = [:]
    /// The writer named by the last fence read; `nil` before any fence.
    public private(set) var writer: String?
    /// Records ignored because someone else's fence came before them.
    public private(set) var ignored = 0
    public private(set) var fences = 0

    public init() {}

    public static func isFence(key: some Collection<UInt8>) -> Bool { key.elementsEqual(fenceKey) }

    /// Takes the next record of the partition, in offset order.
    public mutating func add(key: [UInt8], value: [UInt8]?, writer recordWriter: String?) {
        if Self.isFence(key: key) {
            fences += 1
            writer = value.map { String(decoding: $0, as: UTF8.self) } ?? recordWriter
            return
        }
        if let writer, recordWriter != writer {
            ignored += 1
            return
        }
        latest[key] = .some(value)
    }

    /// Whether a fence by another writer than `me` is among the records added.
    public static func fencedOff(_ records: some Sequence<(key: [UInt8], value: [UInt8]?)>, me: String) -> Bool {
        records.contains { isFence(key: $0.key) && $0.value.map { String(decoding: $0, as: UTF8.self) } != me }
    }
}
