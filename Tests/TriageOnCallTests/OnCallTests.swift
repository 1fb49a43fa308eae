import Foundation
import Testing
import TriageCore
import TriageOnCall

/// A seeded, reproducible random number generator (SplitMix64) for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func instant(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

func repositoryPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}

@Suite("On-call rotations")
struct OnCallTests {
    static let yaml = """
        rotations:
          tier-2:
            time_zone: Europe/London
            start: 2026-11-30          # a Monday
            hand_off: "09:00"
            people: [linus, ada, grace]
            overrides:
              - { from: 2026-12-24T09:00, until: 2026-12-27T09:00, person: grace, reason: Christmas swap }
          night-ops:
            time_zone: America/New_York
            start: 2026-03-01          # a Sunday; DST starts 2026-03-08 at 02:00
            hand_off: "02:30"
            people: [ana, ben]
        """
    let schedule = try! OnCallSchedule.load(yaml: Self.yaml, file: "oncall.yaml")

    @Test("people take turns a week each from the first hand-off, at the local hand-off time")
    func weeklyTurns() throws {
        let rotation = try #require(schedule.rotations["tier-2"])
        #expect(rotation.handOffWeekday == 2)  // Monday
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-11-30T08:59:59Z")) == nil)  // before the start (GMT = UTC)
        let first = try #require(schedule.onCall(team: "tier-2", at: instant("2026-11-30T09:00:00Z")))
        #expect(first.person == "linus" && first.source == .rotation(week: 0))
        #expect(first.from == instant("2026-11-30T09:00:00Z") && first.until == instant("2026-12-07T09:00:00Z"))
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-12-07T08:59:59Z"))?.person == "linus")
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-12-07T09:00:00Z"))?.person == "ada")
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-12-14T09:00:00Z"))?.person == "grace")
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-12-21T09:00:00Z"))?.person == "linus")
        #expect(schedule.onCall(team: "nobody", at: instant("2026-12-21T09:00:00Z")) == nil)
    }

    @Test("an override wins for its range only; in summer time the hand-off stays 09:00 local")
    func overridesAndSummerTime() throws {
        let christmas = try #require(schedule.onCall(team: "tier-2", at: instant("2026-12-25T12:00:00Z")))
        #expect(christmas.person == "grace" && christmas.source == .override(reason: "Christmas swap"))
        #expect(christmas.until == instant("2026-12-27T09:00:00Z"))
        // 2026-12-21 week is linus's; the override ends on Sunday 09:00 and linus is back.
        #expect(schedule.onCall(team: "tier-2", at: instant("2026-12-27T09:00:00Z"))?.person == "linus")
        // BST: 09:00 London is 08:00 UTC (week of 2027-04-05 is week 18: 18 % 3 = 0, linus).
        #expect(schedule.onCall(team: "tier-2", at: instant("2027-04-05T07:59:59Z"))?.person == "grace")
        #expect(schedule.onCall(team: "tier-2", at: instant("2027-04-05T08:00:00Z"))?.person == "linus")
    }

    @Test("a hand-off inside the spring-forward gap moves forward by the gap")
    func gap() throws {
        let rotation = try #require(schedule.rotations["night-ops"])
        // 2026-03-01 02:30 EST = 07:30Z; 2026-03-08 02:30 does not exist → 03:30 EDT = 07:30Z.
        #expect(rotation.handOff(week: 0) == instant("2026-03-01T07:30:00Z"))
        #expect(rotation.handOff(week: 1) == instant("2026-03-08T07:30:00Z"))
        #expect(rotation.handOff(week: 2) == instant("2026-03-15T06:30:00Z"))
        #expect(schedule.onCall(team: "night-ops", at: instant("2026-03-08T07:29:59Z"))?.person == "ana")
        #expect(schedule.onCall(team: "night-ops", at: instant("2026-03-08T07:30:00Z"))?.person == "ben")
    }

    @Test("property: a turn contains its instant, lasts a week give or take the DST hour, and the next turn is the next person")
    func turnsProperty() throws {
        var random = SplitMix64(seed: 23)
        let zones = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo", "UTC"]
        for _ in 0..<300 {
            let zone = TimeZone(identifier: zones.randomElement(using: &random)!)!
            let people = (0..<Int.random(in: 1...5, using: &random)).map { "p\($0)" }
            let rotation = OnCallRotation(
                team: "t", timeZone: zone,
                start: .init(year: 2026, month: Int.random(in: 1...12, using: &random), day: Int.random(in: 1...28, using: &random)),
                handOffMinutes: Int.random(in: 0..<1440, using: &random), people: people)
            let first = rotation.handOff(week: 0)
            let at = first.addingTimeInterval(Double.random(in: 0..<(3 * 365 * 86_400), using: &random))
            let shift = try #require(rotation.shift(at: at))
            #expect(shift.from <= at && at < shift.until)
            let length = shift.until.timeIntervalSince(shift.from)
            #expect(abs(length - 7 * 86_400) <= 3600, "\(zone.identifier) \(shift)")
            guard case .rotation(let week) = shift.source else {
                Issue.record("no override was given")
                continue
            }
            #expect(shift.person == people[week % people.count])
            let next = try #require(rotation.shift(at: shift.until))
            #expect(next.person == people[(week + 1) % people.count] && next.from == shift.until)
            // The local weekday of every hand-off is the start's.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            #expect(calendar.component(.weekday, from: shift.from) == rotation.handOffWeekday)
        }
    }

    @Test("property: an override changes who is on call inside its range and nowhere else")
    func overrideProperty() throws {
        var random = SplitMix64(seed: 2323)
        let base = try #require(schedule.rotations["tier-2"])
        for _ in 0..<200 {
            var rotation = base
            let from = instant("2026-12-01T00:00:00Z").addingTimeInterval(Double.random(in: 0..<(60 * 86_400), using: &random))
            let until = from.addingTimeInterval(Double.random(in: 3600..<(10 * 86_400), using: &random))
            rotation.overrides = [.init(from: from, until: until, person: "stand-in")]
            let at = from.addingTimeInterval(Double.random(in: -(5 * 86_400)..<(15 * 86_400), using: &random))
            let with = rotation.shift(at: at)
            var without = rotation
            without.overrides = []
            if at >= from && at < until {
                #expect(with?.person == "stand-in")
            } else {
                #expect(with == without.shift(at: at))
            }
        }
    }

    @Test("the next changes list hand-offs and override edges with who comes on")
    func changes() throws {
        let rotation = try #require(schedule.rotations["tier-2"])
        let changes = rotation.changes(after: instant("2026-12-20T00:00:00Z"), count: 4)
        #expect(
            changes.map(\.at) == [
                instant("2026-12-21T09:00:00Z"), instant("2026-12-24T09:00:00Z"), instant("2026-12-27T09:00:00Z"),
                instant("2026-12-28T09:00:00Z"),
            ])
        #expect(changes.map(\.shift.person) == ["linus", "grace", "linus", "ada"])
    }

    @Test("oncall:<team> stands for the agent on call when the level fires; other names stay")
    func recipients() {
        #expect(OnCallSchedule.team(of: "oncall:tier-2") == "tier-2")
        #expect(OnCallSchedule.team(of: "oncall:") == nil && OnCallSchedule.team(of: "team-lead") == nil)
        #expect(schedule.recipient(for: "oncall:tier-2", at: instant("2026-12-07T09:00:00Z")) == "agent:ada")
        #expect(schedule.recipient(for: "team-lead", at: instant("2026-12-07T09:00:00Z")) == "team-lead")
        #expect(schedule.recipient(for: "oncall:tier-2", at: instant("2026-01-01T00:00:00Z")) == nil)
        #expect(schedule.recipient(for: "oncall:ghosts", at: instant("2026-12-07T09:00:00Z")) == nil)
    }

    @Test("the example file loads")
    func example() throws {
        let schedule = try OnCallSchedule.load(path: repositoryPath("config/oncall.example.yaml"))
        #expect(!schedule.rotations.isEmpty)
    }

    @Test("errors name the file, position and key")
    func errors() {
        let cases: [(String, String)] = [
            (
                "rotations:\n  t: { time_zone: Mars/Base, start: 2026-11-30, hand_off: '09:00', people: [a] }",
                "f:2:19: rotations.t.time_zone: unknown time zone 'Mars/Base'"
            ),
            (
                "rotations:\n  t: { time_zone: UTC, start: 2026-11-31, hand_off: '09:00', people: [a] }",
                "f:2:31: rotations.t.start: '2026-11-31' is not a date (YYYY-MM-DD)"
            ),
            (
                "rotations:\n  t: { time_zone: UTC, start: 2026-11-30, hand_off: '9am', people: [a] }",
                "f:2:53: rotations.t.hand_off: '9am' is not a time of day"
            ),
            (
                "rotations:\n  t: { time_zone: UTC, start: 2026-11-30, hand_off: '09:00', people: [] }",
                "f:2:70: rotations.t.people: a rotation needs at least one person"
            ),
            ("rotations:\n  t: { time_zone: UTC, start: 2026-11-30, hand_off: '09:00' }", "f:2:6: rotations.t.people: missing 'people'"),
            (
                "rotations:\n  t: { time_zone: UTC, start: 2026-11-30, hand_off: '09:00', people: [a], shift: x }",
                "f:2:75: rotations.t.shift: unknown key 'shift'"
            ),
            (
                "rotations:\n  t:\n    time_zone: UTC\n    start: 2026-11-30\n    hand_off: '09:00'\n    people: [a]\n    overrides:\n      - { from: 2026-12-02T09:00, until: 2026-12-01T09:00, person: b }",
                "f:8:42: rotations.t.overrides[0].until: the override ends before it starts"
            ),
        ]
        for (yaml, expected) in cases {
            let error = #expect(throws: ConfigurationError.self) { try OnCallSchedule.load(yaml: yaml, file: "f") }
            #expect(error?.description.hasPrefix(expected) == true, "\(error?.description ?? "no error") ≠ \(expected)")
        }
    }
}
