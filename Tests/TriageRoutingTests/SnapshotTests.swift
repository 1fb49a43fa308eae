import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: snapshots and shift changes")
struct SnapshotTests {
    @Test func aDeskSurvivesAJSONRoundTripAndBehavesTheSameAfterwards() throws {
        var bench = Bench(policy: RoutingPolicy(calendars: ["emea-day": try weekdayShift()]))
        bench.online(agent("ada", languages: ["en", "de-CH"], capacity: 3), agent("bob", capacity: 2, shift: "emea-day"))
        bench.apply(.profile(agent("cy")))  // offline
        bench.open(incident("i1", .b, language: "de"))
        bench.open(incident("i2"))
        bench.apply(.acknowledged(incident: "i1"))
        bench.apply(.severityChanged(incident: "i1", to: .a))  // ada tolerated above capacity
        bench.open(incident("i3", .a))
        bench.open(incident("q1", product: "mobile"))
        bench.apply(.reassignRequested(incident: "i2", cause: "requested"))
        bench.open(incident("i4"))
        bench.apply(.released(incident: "i4"))
        #expect(!bench.desk.queue.isEmpty && !bench.desk.assignments.isEmpty)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(bench.desk)
        let restored = try JSONDecoder().decode(TeamDesk.self, from: data)
        #expect(restored == bench.desk)
        #expect(try encoder.encode(restored) == data, "equal desks encode to equal bytes")
        #expect(restored.team == deskTeam)

        var copy = bench
        copy.desk = restored
        for input: RoutingInput in [
            .presence(agent: "cy", .online), .released(incident: "i1"), .opened(incident("i5", language: "de")),
            .presence(agent: "ada", .offline), .reopened(incident("i4")), .clock,
        ] {
            #expect(bench.apply(input) == copy.apply(input))
            #expect(bench.desk == copy.desk)
        }
    }

    /// The router writes cores and queue entries with ``DeskJSONWriter`` and reads them with
    /// `JSONDecoder`: the document must be the one `JSONEncoder` writes, strings that need
    /// escaping and every optional member included.
    @Test func theDirectWriterWritesWhatJSONEncoderWrites() throws {
        var bench = Bench(policy: RoutingPolicy(calendars: ["emea-day": try weekdayShift()]))
        let odd = "q\"uote\\back/slash\n\t\r\u{01}\u{1F}é😀"
        bench.online(
            agent("ada", languages: ["en", "de-CH"], capacity: 3), agent(odd, products: ["billing", odd], capacity: 2, shift: "emea-day"))
        bench.apply(.profile(agent("cy", languages: [])))  // offline, no languages
        bench.open(incident("i1", .b, language: "de"))
        bench.open(incident(odd, product: odd, openedAt: monday10.addingTimeInterval(0.123_456_789)))
        bench.apply(.acknowledged(incident: "i1"))
        bench.apply(.severityChanged(incident: "i1", to: .a))  // tolerated above capacity
        bench.open(incident("q1", product: "mobile"))  // queued: nobody has the skill
        bench.apply(.reassignRequested(incident: odd, cause: "requested"))  // previous agent set
        bench.open(incident("i4"))
        bench.apply(.released(incident: "i4"))  // remembered as closed
        let desk = bench.desk
        #expect(!desk.queue.isEmpty && !desk.assignments.isEmpty)

        var writer = DeskJSONWriter()
        desk.writeJSON(into: &writer)
        let direct = Data(writer.bytes)
        #expect(try JSONDecoder().decode(TeamDesk.self, from: direct) == desk)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reference = try encoder.encode(desk)
        let parsed = try #require(try JSONSerialization.jsonObject(with: direct) as? NSDictionary)
        #expect(parsed == (try JSONSerialization.jsonObject(with: reference) as? NSDictionary), "the same document as JSONEncoder's")
        for key in ["closed", "closures", "open", "staff", "team", "waiting"] { #expect(parsed[key] != nil, "\(key) written") }
        var again = DeskJSONWriter()
        desk.writeJSON(into: &again)
        #expect(again.bytes == writer.bytes, "equal desks write equal bytes")

        for entry in desk.queuedIncidents {
            var entryWriter = DeskJSONWriter()
            TeamDesk.writeJSON(entry, into: &entryWriter)
            #expect(try JSONDecoder().decode(TeamDesk.QueuedIncident.self, from: Data(entryWriter.bytes)) == entry)
        }
    }

    @Test func incidentsEncodeTheirSeverityAsItsLetter() throws {
        let data = try JSONEncoder().encode(incident("i1", .a, language: "de"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["severity"] as? String == "A")
        #expect(try JSONDecoder().decode(RoutingIncident.self, from: data) == incident("i1", .a, language: "de"))
        let bad = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"A\"", with: "\"Z\"").utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RoutingIncident.self, from: bad) }
        let reason = AssignmentReason(
            cause: "initial", matchedSkills: ["billing"], loadBefore: 1, loadAfter: 2, capacity: 3, candidatesConsidered: 4)
        #expect(try JSONDecoder().decode(AssignmentReason.self, from: JSONEncoder().encode(reason)) == reason)
    }

    @Test func nextShiftChangeFollowsEveryCalendarInUse() throws {
        let nights = try BusinessCalendar(
            timeZone: london,
            weekly: [2: [try .init("22:00", "00:00")], 3: [try .init("00:00", "06:00"), try .init("22:00", "06:00")]]
        )
        let policy = RoutingPolicy(calendars: ["emea-day": try weekdayShift(), "nights": nights, "always": .twentyFourSeven])
        var desk = TeamDesk(team: deskTeam)
        #expect(desk.nextShiftChange(after: monday10, policy: policy) == nil, "no agents")
        _ = desk.apply(.profile(agent("ada", shift: "always")), at: monday10, policy: policy)
        _ = desk.apply(.profile(agent("bob")), at: monday10, policy: policy)
        #expect(desk.nextShiftChange(after: monday10, policy: policy) == nil, "always open and no shift never change")
        _ = desk.apply(.profile(agent("nia", shift: "nights")), at: monday10, policy: policy)
        #expect(desk.nextShiftChange(after: monday10, policy: policy) == instant("2026-03-02T22:00:00Z"))
        // Monday 22:00–24:00 runs on into Tuesday 00:00–06:00: one stretch.
        #expect(desk.nextShiftChange(after: instant("2026-03-02T22:00:00Z"), policy: policy) == instant("2026-03-03T06:00:00Z"))
        #expect(desk.nextShiftChange(after: instant("2026-03-02T23:59:59Z") + 0.25, policy: policy) == instant("2026-03-03T06:00:00Z"))
        _ = desk.apply(.profile(agent("eve", shift: "emea-day")), at: monday10, policy: policy)
        #expect(desk.nextShiftChange(after: monday10, policy: policy) == instant("2026-03-02T17:00:00Z"), "the earliest of all calendars")
        #expect(desk.nextShiftChange(after: instant("2026-03-02T08:59:59Z"), policy: policy) == instant("2026-03-02T09:00:00Z"))
        // The clocks go forward on Sunday 29 March: Monday's 09:00 is 08:00 UTC.
        _ = desk.apply(.removed(agent: "nia"), at: monday10, policy: policy)
        #expect(desk.nextShiftChange(after: instant("2026-03-27T17:00:00Z"), policy: policy) == instant("2026-03-30T08:00:00Z"))
        #expect(desk.nextShiftChange(after: instant("2026-03-30T08:00:00Z"), policy: policy) == instant("2026-03-30T16:00:00Z"))
    }

    @Test func nextShiftChangeAgreesWithIsOpenAtRandomInstants() throws {
        let split = try BusinessCalendar(
            timeZone: TimeZone(identifier: "America/New_York")!,
            weekly: [
                2: [try .init("08:30", "12:00"), try .init("13:00", "17:30")], 4: [try .init("22:00", "06:00")],
                6: [try .init("07:00", "15:00")],
            ],
            holidays: [.init(date: try .init("2026-03-13"), closed: try .init("12:00", "00:00"))]
        )
        let policy = RoutingPolicy(calendars: ["split": split])
        var desk = TeamDesk(team: deskTeam)
        _ = desk.apply(.profile(agent("ada", shift: "split")), at: monday10, policy: policy)
        var random = SeededGenerator(state: 7)
        for _ in 0..<40 {
            let start = monday10 + Double(Int.random(in: 0..<(21 * 86_400), using: &random))
            let change = try #require(desk.nextShiftChange(after: start, policy: policy))
            #expect(change > start)
            let before = split.isOpen(at: start)
            #expect(split.isOpen(at: change) != before, "\(start) → \(change)")
            #expect(split.isOpen(at: change - 1) == before, "\(start) → \(change)")
            // Nothing changes in between: the open time up to the change is all or nothing.
            let minutes = split.businessMinutes(from: start, to: change)
            let span = change.timeIntervalSince(start) / 60
            #expect(before ? abs(minutes - span) < 1e-6 : minutes == 0)
        }
    }
}

@Suite("Routing: snapshots with team settings state")
struct TeamStateSnapshotTests {
    /// The state round robin, queue alerts and follow-the-sun keep (and a customer on an
    /// incident) is written by ``DeskJSONWriter`` exactly as `JSONEncoder` writes it.
    @Test func theDirectWriterWritesTheNewStateAsJSONEncoderDoes() throws {
        let policy = RoutingPolicy(
            calendars: ["emea-day": try weekdayShift()],
            teams: [
                deskTeam: TeamSettings(
                    choice: .roundRobin, queueAlert: .init(after: 60, notify: ["lead"]), followTheSun: .init(to: "americas"))
            ])
        var bench = Bench(policy: policy)
        bench.online(agent("ada", capacity: 1, shift: "emea-day"), agent("bob", capacity: 1))
        bench.open(RoutingIncident(id: "i1", team: deskTeam, severity: .c, product: "billing", openedAt: monday10, customer: "acme"))
        bench.open(incident("i2"))
        bench.open(incident("q1"))  // nobody has room: waits
        bench.now += 120
        bench.apply(.clock)  // the alert fires for q1
        let desk = bench.desk
        var writer = DeskJSONWriter()
        desk.writeJSON(into: &writer)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let direct = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? NSDictionary)
        #expect(direct == (try JSONSerialization.jsonObject(with: try encoder.encode(desk)) as? NSDictionary))
        #expect(direct["rotation"] as? String == "bob")
        let open = try #require(direct["open"] as? NSDictionary)
        let queued = try #require(open["q1"] as? NSDictionary)
        #expect(queued["queueAlerted"] as? Bool == true && queued["queuedSince"] != nil)
        let first = try #require((open["i1"] as? NSDictionary)?["incident"] as? NSDictionary)
        #expect(first["customer"] as? String == "acme")
        let staff = try #require(direct["staff"] as? NSDictionary)
        #expect((staff["ada"] as? NSDictionary)?["onShift"] as? Bool == true)
        #expect(try JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes)) == desk)
    }
}
