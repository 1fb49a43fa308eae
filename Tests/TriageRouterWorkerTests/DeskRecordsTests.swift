import Foundation
import Testing
import TriageRouterWorker
import TriageRouting
import TriageSLA

/// How `triage.router-state` is read back: a core per team and one record per queued incident.
@Suite("Router: stored desks")
struct DeskRecordsTests {
    let policy = RoutingPolicy()
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func agent(_ id: String, capacity: Int = 1) -> Agent {
        Agent(id: id, team: "support", skills: ["billing"], languages: ["en"], capacity: capacity, shiftCalendar: nil)
    }

    func incident(_ id: String, minute: Double) -> RoutingIncident {
        RoutingIncident(
            id: id, team: "support", severity: .c, product: "billing", language: "en", openedAt: start.addingTimeInterval(minute * 60))
    }

    /// A desk with one agent holding i0 and i1…i4 queued.
    func desk() -> TeamDesk {
        var desk = TeamDesk(team: "support")
        _ = desk.apply(.profile(agent("ada")), at: start, policy: policy)
        _ = desk.apply(.presence(agent: "ada", .online), at: start, policy: policy)
        for index in 0..<5 { _ = desk.apply(.opened(incident("i\(index)", minute: Double(index))), at: start, policy: policy) }
        return desk
    }

    func encode(_ value: some Encodable) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }

    func records(of desk: TeamDesk, outbox: [Data] = [], appliedThrough: Int64? = nil) throws -> [[UInt8]: [UInt8]?] {
        var records: [[UInt8]: [UInt8]?] = [
            Array("support".utf8): try encode(DeskSnapshot(desk: desk.core, outbox: outbox, appliedThrough: appliedThrough))
        ]
        for entry in desk.queuedIncidents { records[DeskRecords.queueKey(team: "support", incident: entry.id)] = .some(try encode(entry)) }
        return records
    }

    @Test func keysNameTheTeamAndTheQueuedIncident() {
        let key = DeskRecords.queueKey(team: "emea billing", incident: "INC-7")
        #expect(key.contains(0x1F))
        #expect(DeskRecords.parse(key: key) == ("emea billing", "INC-7"))
        #expect(DeskRecords.parse(key: Array("emea billing".utf8)) == ("emea billing", nil))
    }

    @Test func aStoredDeskComesBackWithItsQueueInOrderAndNeedsNoRepair() throws {
        let original = desk()
        #expect(original.assignments == ["i0": "ada"])
        #expect(original.queue == ["i1", "i2", "i3", "i4"])
        let core = original.core
        #expect(core.queue.isEmpty && core.assignments == ["i0": "ada"], "the core holds no queue")

        let restored = DeskRecords.restore(try records(of: original, outbox: [Data([1, 2, 3])], appliedThrough: 41))
        #expect(restored.desks["support"] == original)
        #expect(restored.outboxes["support"] == [Data([1, 2, 3])])
        #expect(restored.applied == ["support": 41], "the routing offset the core reflects comes back with it")
        #expect(DeskRecords.restore(try records(of: original)).applied.isEmpty, "a core of an earlier version has none")
        #expect(restored.repairs.isEmpty)
        #expect(restored.desks["support"]?.checkInvariants(policy: policy) == [])
    }

    @Test func queueEntriesLeftBehindByAStepCutShortAreRepaired() throws {
        var desk = desk()
        var stored = try records(of: desk)
        // ada frees up: i1 is assigned. The step wrote its core but not the tombstone of i1's entry.
        _ = desk.apply(.released(incident: "i0"), at: start, policy: policy)
        #expect(desk.assignments == ["i1": "ada"])
        stored[Array("support".utf8)] = .some(try encode(DeskSnapshot(desk: desk.core, outbox: [])))
        // And an entry of another step that never wrote its core: a queued incident the core does not know.
        let straggler = incident("i9", minute: 9)
        var other = TeamDesk(team: "support")
        _ = other.apply(.opened(straggler), at: start, policy: policy)
        stored[DeskRecords.queueKey(team: "support", incident: "i9")] = .some(try encode(other.queuedIncidents[0]))
        // A removed entry (tombstone) stays removed; an undecodable one is dropped.
        stored[DeskRecords.queueKey(team: "support", incident: "gone")] = .some(nil)
        stored[DeskRecords.queueKey(team: "support", incident: "junk")] = .some(Array("{".utf8))

        let restored = DeskRecords.restore(stored)
        let back = try #require(restored.desks["support"])
        #expect(back.assignments == ["i1": "ada"], "the core wins over i1's stale queue entry")
        #expect(back.queue == ["i2", "i3", "i4", "i9"], "the straggler's Opened is replayed anyway; keeping it is harmless")
        #expect(back.checkInvariants(policy: policy) == [])
        let repairs = Dictionary(uniqueKeysWithValues: restored.repairs.map { (DeskRecords.parse(key: $0.key).incident ?? "", $0.value) })
        #expect(Set(repairs.keys) == ["i1", "junk"])
        #expect(repairs["i1"] == .some(nil) && repairs["junk"] == .some(nil), "stale and broken entries are tombstoned")
    }

    @Test func aWholeDeskRecordOfAnEarlierVersionRestoresAndItsQueueIsWrittenOut() throws {
        let original = desk()
        let stored: [[UInt8]: [UInt8]?] = [Array("support".utf8): try encode(DeskSnapshot(desk: original, outbox: []))]
        let restored = DeskRecords.restore(stored)
        #expect(restored.desks["support"] == original)
        let written = restored.repairs.compactMap { repair in DeskRecords.parse(key: repair.key).incident }
        #expect(Set(written) == ["i1", "i2", "i3", "i4"])
        #expect(restored.repairs.allSatisfy { $0.value != nil })
    }

    @Test func queuedOnlyTeamsRestoreWithoutACore() throws {
        var desk = TeamDesk(team: "support")
        _ = desk.apply(.opened(incident("i1", minute: 1)), at: start, policy: policy)
        let stored: [[UInt8]: [UInt8]?] = [
            DeskRecords.queueKey(team: "support", incident: "i1"): .some(try encode(desk.queuedIncidents[0]))
        ]
        let restored = DeskRecords.restore(stored)
        #expect(restored.desks["support"] == desk)
        #expect(restored.repairs.isEmpty)
    }
}
