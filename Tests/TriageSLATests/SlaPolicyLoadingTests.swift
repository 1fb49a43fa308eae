import Foundation
import Testing
import TriageCore
import TriageSLA

/// The policy loaded, or the error it was refused with.
private func loadError(_ yaml: String, file: String = "policy.yaml") -> SlaPolicyError? {
    do {
        _ = try SlaPolicy.load(yaml: yaml, file: file)
        return nil
    } catch {
        return error
    }
}

@Suite("SLA policy files")
struct SlaPolicyLoadingTests {
    static let fullExample = """
        calendars:
          default:
            time_zone: America/New_York
            hours:
              monday: ["09:00-17:00"]
              tuesday: ["09:00-12:00", "13:00-17:00"]
              friday: ["22:00-06:00"]
            holidays:
              - date: 2026-12-25
                name: Christmas Day
              - date: 2026-12-24
                closed: "13:00-24:00"
          emea:
            time_zone: Europe/London
            hours: { monday: ["09:00-17:30"], wednesday: [] }
          follow-the-sun:
            always_open: true
        teams:
          emea-support: emea
          sre: follow-the-sun
        targets:
          business_hours:
            A: { first_response: 2h, resolution: 24h }
            b: { first_response: 4h }
            C: { first_response: 8h, resolution: 40h }
          24x7:
            A: { first_response: 1h30m }
        warnings:
          at: [75, 50]
          notify: [assigned-agent, queue-watch]
        escalation:
          - level: 1
            after: 0m
            notify: [team-lead]
          - level: 2
            after: 1h
            notify: [support-manager]
            reassign: true
        reopen_window: 720h
        """

    @Test func aFullPolicyLoadsToTheExpectedValues() throws {
        let policy = try SlaPolicy.load(yaml: Self.fullExample, file: "policy.yaml")

        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        #expect(policy.defaultCalendar.timeZone == newYork)
        #expect(policy.defaultCalendar.weekly[2] == [try .init("09:00", "17:00")])
        #expect(policy.defaultCalendar.weekly[3] == [try .init("09:00", "12:00"), try .init("13:00", "17:00")])
        #expect(policy.defaultCalendar.weekly[6] == [try .init("22:00", "06:00")])
        #expect(policy.defaultCalendar.weekly[6]?.first?.endMinute == 30 * 60, "crosses midnight")
        #expect(policy.defaultCalendar.weekly.keys.sorted() == [2, 3, 6], "days not listed are closed")
        #expect(
            policy.defaultCalendar.holidays == [
                .init(date: try .init("2026-12-25"), name: "Christmas Day"),
                .init(date: try .init("2026-12-24"), closed: try .init("13:00", "24:00")),
            ])
        #expect(policy.calendars["default"] == policy.defaultCalendar)

        let emea = try #require(policy.calendars["emea"])
        #expect(emea.timeZone.identifier == "Europe/London")
        #expect(emea.weekly[2] == [try .init("09:00", "17:30")])
        #expect(emea.weekly[4] == [])
        let sun = try #require(policy.calendars["follow-the-sun"])
        #expect(sun.isAlwaysOpen && sun.timeZone.secondsFromGMT() == 0, "UTC unless a time_zone is given")
        #expect(policy.calendars.count == 3)
        #expect(policy.teamCalendars == ["emea-support": "emea", "sre": "follow-the-sun"])
        #expect(policy.calendar(for: .businessHours, team: "emea-support") == emea)
        #expect(policy.calendar(for: .businessHours, team: "unknown-team") == policy.defaultCalendar)

        #expect(policy.targets(for: .a, coverage: .businessHours) == SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 1_440))
        #expect(policy.targets(for: .b, coverage: .businessHours) == SlaTargets(firstResponseMinutes: 240), "lower-case severity")
        #expect(policy.targets(for: .c, coverage: .businessHours) == SlaTargets(firstResponseMinutes: 480, resolutionMinutes: 2_400))
        // Severity A keeps its default resolution target (24 h under 24x7) unless turned off.
        #expect(policy.targets(for: .a, coverage: .twentyFourSeven) == SlaTargets(firstResponseMinutes: 90, resolutionMinutes: 1_440))
        #expect(policy.targets(for: .b, coverage: .twentyFourSeven) == SlaTargets(firstResponseMinutes: 240), "default kept")

        #expect(policy.warningPercents == [50, 75], "sorted")
        #expect(policy.warningNotify == ["assigned-agent", "queue-watch"])
        #expect(
            policy.escalation == [
                EscalationLevel(level: 1, afterMinutes: 0, notify: ["team-lead"]),
                EscalationLevel(level: 2, afterMinutes: 60, notify: ["support-manager"], reassign: true),
            ])
        #expect(policy.reopenWindowMinutes == 720 * 60)
    }

    @Test func missingSectionsKeepTheDefaults() throws {
        #expect(try SlaPolicy.load(yaml: "", file: "empty.yaml") == SlaPolicy())
        #expect(try SlaPolicy.load(yaml: "# nothing configured yet\n", file: "comments.yaml") == SlaPolicy())
        #expect(try SlaPolicy.load(yaml: "calendars:\nteams:\n", file: "empty-sections.yaml") == SlaPolicy())

        let partial = try SlaPolicy.load(
            yaml: "targets:\n  business_hours:\n    B: { resolution: 16h }\nwarnings:\n  at: [80]\n", file: "p.yaml")
        #expect(partial.targets(for: .b, coverage: .businessHours) == SlaTargets(firstResponseMinutes: 240, resolutionMinutes: 960))
        #expect(partial.targets(for: .a, coverage: .businessHours) == SlaPolicy.defaultTargets[.businessHours]![.a]!)
        #expect(partial.targets[.twentyFourSeven] == SlaPolicy.defaultTargets[.twentyFourSeven])
        #expect(partial.warningPercents == [80])
        #expect(partial.warningNotify == ["assigned-agent"])
        #expect(partial.escalation == SlaPolicy.defaultEscalation)
        #expect(partial.defaultCalendar == SlaPolicy.defaultBusinessCalendar)
        #expect(partial.reopenWindowMinutes == 30 * 24 * 60)

        // A calendar without `hours` works Monday to Friday 09:00–17:00 in its own zone.
        let zoned = try SlaPolicy.load(yaml: "calendars:\n  default:\n    time_zone: Asia/Kolkata\n", file: "z.yaml")
        #expect(zoned.defaultCalendar.timeZone.identifier == "Asia/Kolkata")
        #expect(zoned.defaultCalendar.weekly == SlaPolicy.defaultBusinessCalendar.weekly)
        // Warnings and escalation can be turned off.
        let quiet = try SlaPolicy.load(yaml: "warnings: { at: [] }\nescalation: []\n", file: "q.yaml")
        #expect(quiet.warningPercents.isEmpty && quiet.escalation.isEmpty)
    }

    @Test func durationsAreHoursAndMinutes() throws {
        let yaml = "targets:\n  24x7:\n    A: { first_response: 90m }\n    B: { first_response: 1h 30m }\n    C: { first_response: 4H }\n"
        let policy = try SlaPolicy.load(yaml: yaml, file: "d.yaml")
        #expect(policy.targets(for: .a, coverage: .twentyFourSeven).firstResponseMinutes == 90)
        #expect(policy.targets(for: .b, coverage: .twentyFourSeven).firstResponseMinutes == 90)
        #expect(policy.targets(for: .c, coverage: .twentyFourSeven).firstResponseMinutes == 240)
    }

    /// One refused file: where the error must point, and words its message must contain.
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let code: SlaPolicyError.Code
        let line: Int
        let column: Int?
        let key: String?
        let says: [String]
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(
            name: "duration without a unit",
            yaml: """
                targets:
                  business_hours:
                    B:
                      first_response: 240
                """,
            code: .invalidValue, line: 4, column: 23, key: "targets.business_hours.B.first_response", says: ["'240' needs a unit", "90m"]
        ),
        Refusal(
            name: "unparsable duration",
            yaml: "reopen_window: soon\n",
            code: .invalidValue, line: 1, column: 16, key: "reopen_window", says: ["'soon' is not a duration"]
        ),
        Refusal(
            name: "days are refused",
            yaml: """
                targets:
                  business_hours:
                    A: { first_response: 2h, resolution: 3d }
                """,
            code: .invalidValue, line: 3, column: 42, key: "targets.business_hours.A.resolution",
            says: ["days are not a unit", "ambiguous", "72h", "24h"]
        ),
        // Outside attack (issue 23): 1h99999999999999999999m crashed the loader (an Int conversion).
        Refusal(
            name: "a duration too long to be an SLA time",
            yaml: """
                targets:
                  24x7:
                    A: { first_response: 2h, update: 1h99999999999999999999m }
                """,
            code: .invalidValue, line: 3, column: 38, key: "targets.24x7.A.update",
            says: ["longer than ten years"]
        ),
        Refusal(
            name: "a duration just over ten years",
            yaml: """
                targets:
                  24x7:
                    A: { first_response: 87601h }
                """,
            code: .invalidValue, line: 3, column: 26, key: "targets.24x7.A.first_response",
            says: ["longer than ten years"]
        ),
        Refusal(
            name: "unknown key with a suggestion",
            yaml: """
                targets:
                  business_hours:
                    C: { frist_response: 8h }
                """,
            code: .unknownKey, line: 3, column: 10, key: "targets.business_hours.C.frist_response",
            says: ["unknown key 'frist_response'", "did you mean 'first_response'?"]
        ),
        Refusal(
            name: "unknown top-level section",
            yaml: "warnings:\n  at: [50]\ncalender:\n  default:\n    time_zone: UTC\n",
            code: .unknownKey, line: 3, column: 1, key: "calender", says: ["did you mean 'calendars'?"]
        ),
        Refusal(
            name: "unknown key without a close match lists the known ones",
            yaml: "warnings:\n  recipients: [x]\n",
            code: .unknownKey, line: 2, column: 3, key: "warnings.recipients", says: ["'at', 'notify'"]
        ),
        Refusal(
            name: "unknown time zone",
            yaml: """
                calendars:
                  default:
                    time_zone: America/New_Yrok
                """,
            code: .invalidValue, line: 3, column: 16, key: "calendars.default.time_zone",
            says: ["unknown time zone 'America/New_Yrok'", "did you mean 'America/New_York'?"]
        ),
        Refusal(
            name: "business hours without a time zone",
            yaml: """
                calendars:
                  emea:
                    hours: { monday: ["09:00-17:00"] }
                """,
            code: .missingKey, line: 3, column: 5, key: "calendars.emea.time_zone", says: ["missing 'time_zone'"]
        ),
        Refusal(
            name: "overlapping intervals",
            yaml: """
                calendars:
                  default:
                    time_zone: America/New_York
                    hours:
                      monday: ["09:00-17:00"]
                      tuesday: ["09:00-13:00", "12:00-17:00"]
                """,
            code: .invalidValue, line: 6, column: 32, key: "calendars.default.hours.tuesday[1]", says: ["12:00–17:00 overlaps 09:00–13:00"]
        ),
        Refusal(
            name: "an overnight interval overlapping the next morning",
            yaml: """
                calendars:
                  default:
                    time_zone: UTC
                    hours:
                      friday: ["22:00-06:00"]
                      saturday: ["05:00-09:00"]
                """,
            code: .invalidValue, line: 6, column: 18, key: "calendars.default.hours.saturday[0]",
            says: ["overlaps friday's 22:00–06:00", "past midnight"]
        ),
        Refusal(
            name: "bad time of day",
            yaml: "calendars:\n  default:\n    time_zone: UTC\n    hours:\n      monday: [\"9-17\"]\n",
            code: .invalidValue, line: 5, column: 16, key: "calendars.default.hours.monday[0]", says: ["'9' is not a time of day (HH:mm)"]
        ),
        Refusal(
            name: "unknown weekday",
            yaml: "calendars:\n  default:\n    time_zone: UTC\n    hours:\n      mon: [\"09:00-17:00\"]\n",
            code: .unknownKey, line: 5, column: 7, key: "calendars.default.hours.mon",
            says: ["unknown weekday 'mon'", "did you mean 'monday'?"]
        ),
        Refusal(
            name: "an interval starting at 24:00",
            yaml: "calendars:\n  default:\n    time_zone: UTC\n    hours:\n      sunday: [\"24:00-08:00\"]\n",
            code: .invalidValue, line: 5, column: 16, key: "calendars.default.hours.sunday[0]", says: ["start at 00:00"]
        ),
        Refusal(
            name: "an always-open calendar with hours",
            yaml: "calendars:\n  follow-the-sun:\n    always_open: true\n    hours: { monday: [\"09:00-17:00\"] }\n",
            code: .invalidValue, line: 4, column: 5, key: "calendars.follow-the-sun.hours", says: ["has no hours"]
        ),
        Refusal(
            name: "a date that does not exist",
            yaml: "calendars:\n  default:\n    time_zone: UTC\n    holidays:\n      - date: 2026-02-30\n",
            code: .invalidValue, line: 5, column: 15, key: "calendars.default.holidays[0].date", says: ["'2026-02-30' is not a date"]
        ),
        Refusal(
            name: "a calendar with no working hours at all",
            yaml: "calendars:\n  default:\n    time_zone: UTC\n    hours:\n      monday: []\n",
            code: .invalidValue, line: 5, column: 7, key: "calendars.default.hours", says: ["no working hours"]
        ),
        Refusal(
            name: "unknown calendar referenced by a team",
            yaml: """
                calendars:
                  emea:
                    time_zone: Europe/London
                teams:
                  emea-support: emia
                """,
            code: .unknownReference, line: 5, column: 17, key: "teams.emea-support",
            says: ["'emia'", "not defined", "did you mean 'emea'?"]
        ),
        Refusal(
            name: "the reserved calendar name 24x7",
            yaml: "calendars:\n  24x7:\n    always_open: true\n",
            code: .invalidValue, line: 2, column: 3, key: "calendars.24x7", says: ["reserved"]
        ),
        Refusal(
            name: "non-consecutive escalation levels",
            yaml: """
                escalation:
                  - level: 1
                    after: 0m
                    notify: [team-lead]
                  - level: 3
                    after: 1h
                    notify: [support-manager]
                """,
            code: .invalidValue, line: 5, column: 12, key: "escalation[1].level", says: ["expected level 2 here, found 3"]
        ),
        Refusal(
            name: "escalation after decreasing",
            yaml: """
                escalation:
                  - { level: 1, after: 2h, notify: [team-lead] }
                  - { level: 2, after: 30m, notify: [support-manager] }
                """,
            code: .invalidValue, line: 3, column: 24, key: "escalation[1].after", says: ["before level 1", "must not decrease"]
        ),
        Refusal(
            name: "escalation level without 'after'",
            yaml: "escalation:\n  - level: 1\n    notify: [team-lead]\n",
            code: .missingKey, line: 2, column: 5, key: "escalation[0].after", says: ["missing 'after'"]
        ),
        Refusal(
            name: "escalation level without recipients",
            yaml: "escalation:\n  - level: 1\n    after: 0m\n    notify: []\n",
            code: .invalidValue, line: 4, column: 13, key: "escalation[0].notify", says: ["must notify someone"]
        ),
        Refusal(
            name: "a warning at 100 %",
            yaml: "warnings:\n  at: [50, 100]\n",
            code: .invalidValue, line: 2, column: 12, key: "warnings.at[1]", says: ["100 is not a warning percentage", "1 to 99"]
        ),
        Refusal(
            name: "a duplicated warning",
            yaml: "warnings:\n  at: [50, 75, 50]\n",
            code: .invalidValue, line: 2, column: 16, key: "warnings.at[2]", says: ["listed twice"]
        ),
        Refusal(
            name: "an empty recipient name",
            yaml: "warnings:\n  notify: [assigned-agent, \"\"]\n",
            code: .invalidValue, line: 2, column: 28, key: "warnings.notify[1]", says: ["must not be empty"]
        ),
        Refusal(
            name: "a zero target",
            yaml: "targets:\n  24x7:\n    A: { first_response: 0m }\n",
            code: .invalidValue, line: 3, column: 26, key: "targets.24x7.A.first_response", says: ["more than zero"]
        ),
        Refusal(
            name: "an unknown severity",
            yaml: "targets:\n  24x7:\n    D: { first_response: 1h }\n",
            code: .unknownKey, line: 3, column: 5, key: "targets.24x7.D", says: ["unknown severity 'D'"]
        ),
        Refusal(
            name: "an unknown coverage",
            yaml: "targets:\n  business-hours:\n    A: { first_response: 1h }\n",
            code: .unknownKey, line: 2, column: 3, key: "targets.business-hours", says: ["did you mean 'business_hours'?"]
        ),
        Refusal(
            name: "a list where a mapping belongs",
            yaml: "targets:\n  - A\n",
            code: .wrongType, line: 2, column: 3, key: "targets", says: ["expected a mapping of coverages", "found a list"]
        ),
        Refusal(
            name: "YAML syntax error",
            yaml: """
                warnings:
                  at: [50, 75
                escalation: []
                """,
            code: .syntax, line: 3, column: 11, key: nil, says: ["invalid YAML"]
        ),
        Refusal(
            name: "a key given twice",
            yaml: "warnings:\n  at: [50]\n  at: [75]\n",
            code: .syntax, line: 3, column: 3, key: "warnings.at", says: ["'at' appears more than once"]
        ),
    ]

    @Test(arguments: refusals)
    func errorsNameTheFileLineAndKey(_ refusal: Refusal) throws {
        let error = try #require(loadError(refusal.yaml, file: "config/sla.yaml"))
        #expect(error.file == "config/sla.yaml")
        #expect(error.code == refusal.code, "\(error)")
        #expect(error.line == refusal.line, "\(error)")
        if let column = refusal.column { #expect(error.column == column, "\(error)") }
        #expect(error.key == refusal.key, "\(error)")
        for words in refusal.says {
            #expect(error.message.contains(words), "\(error)")
        }
    }

    @Test func theDescriptionReadsLikeACompilerDiagnostic() throws {
        let yaml = "targets:\n  business_hours:\n    B: { first_response: 1d }\n"
        let error = try #require(loadError(yaml, file: "sla.yaml"))
        #expect(error.description.hasPrefix("sla.yaml:3:26: targets.business_hours.B.first_response: '1d': days are not a unit"))
        #expect(SlaPolicyError(code: .syntax, file: "x.yaml", message: "bad").description == "x.yaml: bad")
        #expect(SlaPolicyError(code: .syntax, file: "x.yaml", line: 4, message: "bad").description == "x.yaml:4: bad")
    }

    @Test func anchorsAndMergeKeysAreFollowed() throws {
        let yaml = """
            calendars:
              default:
                time_zone: America/New_York
                hours: &office
                  monday: ["09:00-17:00"]
                  friday: ["09:00-15:00"]
              chicago:
                time_zone: America/Chicago
                hours:
                  <<: *office
                  friday: ["09:00-17:00"]
            """
        let policy = try SlaPolicy.load(yaml: yaml, file: "anchors.yaml")
        let chicago = try #require(policy.calendars["chicago"])
        #expect(chicago.weekly[2] == [try .init("09:00", "17:00")])
        #expect(chicago.weekly[6] == [try .init("09:00", "17:00")], "keys written next to the merge win")
    }

    @Test func aStandaloneCalendarFileHasTheShapeOfOneCalendarEntry() throws {
        let yaml = """
            time_zone: Europe/London
            hours:
              monday: ["09:00-17:00"]
            holidays:
              - 2026-04-06
              - { date: 2026-04-03, name: Good Friday }
            """
        let calendar = try BusinessCalendar.load(yaml: yaml, file: "london.yaml")
        #expect(calendar.timeZone.identifier == "Europe/London")
        #expect(calendar.holidays.map(\.date.description) == ["2026-04-06", "2026-04-03"])

        let typo = try #require(throws: SlaPolicyError.self) {
            try BusinessCalendar.load(yaml: "time_zone: UTC\nhours:\n  monday: [\"09:00-17:00\"]\nholiday: []\n", file: "cal.yaml")
        }
        #expect(typo.description == "cal.yaml:4:1: holiday: unknown key 'holiday'; did you mean 'holidays'?")
        let empty = try #require(throws: SlaPolicyError.self) { try BusinessCalendar.load(yaml: "", file: "cal.yaml") }
        #expect(empty.code == .missingKey && empty.line == nil)
        let always = try BusinessCalendar.load(yaml: "always_open: true\ntime_zone: Asia/Kolkata\n", file: "cal.yaml")
        #expect(always.isAlwaysOpen && always.timeZone.identifier == "Asia/Kolkata")
    }

    // MARK: The shipped example

    static var examplePath: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/sla-policy.example.yaml")
    }

    @Test func theExamplePolicyLoads() throws {
        let text = try String(contentsOf: Self.examplePath, encoding: .utf8)
        let policy = try SlaPolicy.load(yaml: text, file: "config/sla-policy.example.yaml")

        #expect(policy.defaultCalendar.timeZone.identifier == "America/New_York")
        #expect(policy.defaultCalendar.holidays.count == 23)
        #expect(Set(policy.calendars.keys) == ["default", "emea", "night-desk", "follow-the-sun"])
        #expect(policy.teamCalendars["emea-support"] == "emea")
        #expect(policy.calendar(for: .businessHours, team: "platform-sre").isAlwaysOpen)
        #expect(
            policy.targets(for: .b, coverage: .businessHours)
                == SlaTargets(firstResponseMinutes: 240, resolutionMinutes: 1_440, updateMinutes: 480))
        #expect(policy.targets(for: .c, coverage: .twentyFourSeven).resolutionMinutes == nil, "resolution: off")
        #expect(policy.pauseReasons["legal_review"] == [.resolution, .update])
        #expect(policy.warningPercents == [50, 75, 90])
        #expect(policy.escalation.map(\.level) == [1, 2, 3])
        #expect(policy.reopenWindowMinutes == 30 * 24 * 60)

        // Independence Day 2026 is observed on Friday July 3: Thursday 16:00 + 2 business hours
        // runs over the long weekend to Monday 10:00.
        let office = policy.defaultCalendar
        #expect(try office.adding(businessMinutes: 120, to: instant("2026-07-02T16:00:00-04:00")) == instant("2026-07-06T10:00:00-04:00"))
        // ... and in 2027 on Monday July 5: Friday 16:00 + 2 h is Tuesday 10:00.
        #expect(try office.adding(businessMinutes: 120, to: instant("2027-07-02T16:00:00-04:00")) == instant("2027-07-06T10:00:00-04:00"))
        // Christmas Eve closes at 13:00.
        #expect(try office.adding(businessMinutes: 60, to: instant("2026-12-24T12:30:00-05:00")) == instant("2026-12-28T09:30:00-05:00"))
        // The London desk's lunch break and Easter weekend (Good Friday to Easter Monday).
        let london = try #require(policy.calendars["emea"])
        #expect(try london.adding(businessMinutes: 120, to: instant("2026-04-02T16:30:00+01:00")) == instant("2026-04-07T09:30:00+01:00"))
        #expect(try london.adding(businessMinutes: 60, to: instant("2026-04-07T12:00:00+01:00")) == instant("2026-04-07T14:00:00+01:00"))
        // The night desk covers Sunday night into Monday morning.
        let night = try #require(policy.calendars["night-desk"])
        #expect(night.isOpen(at: instant("2026-03-09T03:00:00-04:00")))
        #expect(!night.isOpen(at: instant("2026-03-09T12:00:00-04:00")))
    }
}
