public import Foundation

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

/// How `triage.router-state` is fenced: a takeover appends a fence record naming its writer
/// token, and from it on only records carrying that token in ``writerHeader`` count (the
/// runtime's `ChangelogFencing` does the writing and the checks; readers such as the dashboard
/// read the log the same way).
public enum DeskLog {
    /// The key of fence records: U+001F then `fence` (no team name starts with U+001F).
    public static let fenceKey: [UInt8] = [0x1F] + Array("fence".utf8)
    /// The header naming a record's writer.
    public static let writerHeader = "triage-desk-writer"

    public static func isFence(key: some Collection<UInt8>) -> Bool { key.elementsEqual(fenceKey) }
}

/// One team's desk core as stored in `triage.router-state` under the team's name, with the
/// events its last step decided. Its queue is stored one incident at a time (see
/// ``DeskRecords``).
public struct DeskSnapshot: Codable, Sendable {
    public var desk: TeamDesk
    /// Serialized IncidentEvents of the step that produced this state.
    public var outbox: [Data]
    /// The highest `triage.routing` offset of the team this state reflects (absent in records
    /// written before it was kept).
    public var appliedThrough: Int64?

    public init(desk: TeamDesk, outbox: [Data], appliedThrough: Int64? = nil) {
        self.desk = desk
        self.outbox = outbox
        self.appliedThrough = appliedThrough
    }

    /// The record value: what `JSONEncoder` would write (keys sorted), written directly
    /// (``DeskJSONWriter``); read back with `JSONDecoder`.
    public var jsonBytes: [UInt8] {
        var writer = DeskJSONWriter(capacity: 512 + 160 * desk.assignments.count + 256 * outbox.count)
        writer.raw("{")
        var first = true
        if let appliedThrough {
            writer.key("appliedThrough", first: true)
            writer.int(appliedThrough)
            first = false
        }
        writer.key("desk", first: first)
        desk.writeJSON(into: &writer)
        writer.key("outbox")
        writer.raw("[")
        for (index, event) in outbox.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.data(event)
        }
        writer.raw("]}")
        return writer.bytes
    }
}

/// The records of `triage.router-state`, all in the team's routing partition: the core under
/// the key `TEAM` (a ``DeskSnapshot``), each queued incident under `TEAM` + U+001F + incident id
/// (a JSON ``TeamDesk/QueuedIncident``; a tombstone when it leaves the queue). Older
/// whole-desk records (a core with its queue) still restore.
public enum DeskRecords {
    public static let separator: UInt8 = 0x1F

    public static func queueKey(team: String, incident: String) -> [UInt8] { Array(team.utf8) + [separator] + Array(incident.utf8) }

    /// The team of a record's key, and the incident for a queue entry.
    public static func parse(key: some Collection<UInt8>) -> (team: String, incident: String?) {
        guard let cut = key.firstIndex(of: separator) else { return (String(decoding: key, as: UTF8.self), nil) }
        return (String(decoding: key[..<cut], as: UTF8.self), String(decoding: key[key.index(after: cut)...], as: UTF8.self))
    }

    /// A queue entry's record value (JSON, read back with `JSONDecoder`).
    /// Checks that `value` is a record of the desk log (a desk core or a queue entry); throws
    /// ``UnreadableDeskRecord`` if it is neither. A restore skips such a record, so the key keeps
    /// its last readable value instead of the desk being rebuilt from nothing.
    public static func check(_ value: some Collection<UInt8>) throws {
        let data = Data(value)
        let decoder = JSONDecoder()
        if (try? decoder.decode(DeskSnapshot.self, from: data)) != nil { return }
        if (try? decoder.decode(TeamDesk.QueuedIncident.self, from: data)) != nil { return }
        throw UnreadableDeskRecord(bytes: data.count)
    }

    public static func encode(_ entry: TeamDesk.QueuedIncident) -> [UInt8] {
        var writer = DeskJSONWriter(capacity: 256)
        TeamDesk.writeJSON(entry, into: &writer)
        return writer.bytes
    }

    /// A partition's desks from its latest record per key; `repairs` are the queue records to
    /// write so the stored queue matches the restored desks again (stale entries removed,
    /// missing ones written).
    public static func restore(
        _ latest: [[UInt8]: [UInt8]?]
    ) -> (desks: [String: TeamDesk], outboxes: [String: [Data]], repairs: [(key: [UInt8], value: [UInt8]?)], applied: [String: Int64]) {
        let decoder = JSONDecoder()
        var cores: [String: DeskSnapshot] = [:]
        var queues: [String: [(key: [UInt8], entry: TeamDesk.QueuedIncident?)]] = [:]
        for (key, value) in latest {
            let (team, incident) = parse(key: key)
            if incident != nil {
                let entry = value.flatMap { try? decoder.decode(TeamDesk.QueuedIncident.self, from: Data($0)) }
                if value != nil { queues[team, default: []].append((key, entry)) }
            } else if let value, let snapshot = try? decoder.decode(DeskSnapshot.self, from: Data(value)) {
                cores[team] = snapshot
            }
        }
        var desks: [String: TeamDesk] = [:]
        var repairs: [(key: [UInt8], value: [UInt8]?)] = []
        for team in Set(cores.keys).union(queues.keys) {
            let stored = queues[team] ?? []
            let desk = TeamDesk.assemble(core: cores[team]?.desk ?? TeamDesk(team: team), queued: stored.compactMap(\.entry)).desk
            desks[team] = desk
            let queued = Dictionary(uniqueKeysWithValues: desk.queuedIncidents.map { (queueKey(team: team, incident: $0.id), $0) })
            let storedEntries = Dictionary(stored.map { ($0.key, $0.entry) }, uniquingKeysWith: { _, last in last })
            for key in storedEntries.keys where queued[key] == nil { repairs.append((key, nil)) }
            for (key, entry) in queued where storedEntries[key] != .some(entry) {
                repairs.append((key, encode(entry)))
            }
        }
        return (desks, cores.mapValues(\.outbox), repairs, cores.compactMapValues(\.appliedThrough))
    }
}

/// A desk-log record that is neither a desk core nor a queue entry.
public struct UnreadableDeskRecord: Error, Sendable, CustomStringConvertible {
    public var bytes: Int
    public var description: String { "not a desk core or queue entry (\(bytes) bytes of unreadable JSON)" }
}
