public import Foundation
public import TriageRouting

/// The teams' desks as `triage.router-state` tells them: each team's core (agents, load, the
/// incidents they hold) and its queue, which the router stores one incident per record (see
/// `DeskRecords`). Pure; the collector feeds it the topic's records in offset order.
///
/// Fences count as in the router's own restore (`DeskLog`): once a partition has a fence, only
/// records written by that fence's writer count there, so a late write of a router that lost
/// the partition does not show up. A queued incident the core holds as assigned is not queued
/// (`TeamDesk.assemble(core:queued:)`, the router's rule).
public struct DeskBoard: Sendable {
    /// What one record changed.
    public enum Change: Sendable, Equatable {
        /// A team's core (`nil`: its tombstone).
        case core(team: String, desk: TeamDesk?)
        /// One queued incident of the team was stored or removed.
        case queue(team: String)
        /// A fence, or a record of a writer fenced off.
        case none
        /// A value that does not decode (skipped).
        case undecodable
    }

    private var cores: [String: TeamDesk] = [:]
    private var queued: [String: [String: TeamDesk.QueuedIncident]] = [:]
    /// The writer named by each partition's last fence.
    private var writers: [Int32: String] = [:]
    /// Records ignored because another writer's fence came before them.
    public private(set) var fencedOff = 0

    public init() {}

    /// Takes the next record of `partition` (in offset order) with its writer header.
    public mutating func add(partition: Int32, key: [UInt8], value: [UInt8]?, writer: String?) -> Change {
        if DeskLog.isFence(key: key) {
            writers[partition] = value.map { String(decoding: $0, as: UTF8.self) } ?? writer
            return .none
        }
        if let fence = writers[partition], writer != fence {
            fencedOff += 1
            return .none
        }
        let (team, incident) = DeskRecords.parse(key: key)
        if let incident {
            guard let value else {
                queued[team]?[incident] = nil
                return .queue(team: team)
            }
            guard let entry = try? JSONDecoder().decode(TeamDesk.QueuedIncident.self, from: Data(value)) else { return .undecodable }
            queued[team, default: [:]][incident] = entry
            return .queue(team: team)
        }
        guard let value else {
            cores[team] = nil
            return .core(team: team, desk: nil)
        }
        guard let snapshot = try? JSONDecoder().decode(DeskSnapshot.self, from: Data(value)) else { return .undecodable }
        cores[team] = snapshot.desk
        return .core(team: team, desk: snapshot.desk)
    }

    /// Every team's desk with its queue (`TeamDesk.assemble(core:queued:)`), by team.
    public func desks() -> [String: TeamDesk] {
        var desks: [String: TeamDesk] = [:]
        for team in Set(cores.keys).union(queued.keys) {
            let core = cores[team] ?? TeamDesk(team: team)
            desks[team] = TeamDesk.assemble(core: core, queued: queued[team]?.values.map { $0 } ?? []).desk
        }
        return desks
    }

    /// Every team's queue, sorted by team. `queuedSince` tells when an incident last went into
    /// the queue (see ``QueueTimes``); without it, its opening counts.
    public func queues(queuedSince: (String) -> Date? = { _ in nil }) -> [DashboardSnapshot.TeamQueue] {
        Set(cores.keys).union(queued.keys).sorted().map { team in
            let core = cores[team] ?? TeamDesk(team: team)
            let desk = TeamDesk.assemble(core: core, queued: queued[team]?.values.map { $0 } ?? []).desk
            // In service order, so among equal times the one served first is named.
            let incidents = desk.queuedIncidents.map { entry in
                DashboardSnapshot.QueuedIncident(
                    id: entry.id, severity: entry.incident.severity.rawValue, openedAt: entry.incident.openedAt,
                    queuedSince: queuedSince(entry.id) ?? entry.incident.openedAt
                )
            }
            let oldest = incidents.enumerated().min { ($0.element.queuedSince, $0.offset) < ($1.element.queuedSince, $1.offset) }?.element
            return .init(team: team, depth: incidents.count, oldest: oldest)
        }
    }
}
