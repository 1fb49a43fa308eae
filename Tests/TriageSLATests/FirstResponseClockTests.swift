import Foundation
import Testing
import TriageCore
import TriageSLA

@Suite("First-response clock")
struct FirstResponseClockTests {
    let office: BusinessCalendar
    init() throws { office = try officeHours(newYork) }

    @Test func defaultTargetsPerSeverity() throws {
        let opened = instant("2026-03-10T10:00:00-04:00")  // a Tuesday
        #expect(try FirstResponseClock(openedAt: opened, severity: .b, calendar: office).deadline() == instant("2026-03-10T14:00:00-04:00"))
        #expect(try FirstResponseClock(openedAt: opened, severity: .c, calendar: office).deadline() == instant("2026-03-11T10:00:00-04:00"))
        let critical = FirstResponseClock(openedAt: instant("2026-03-07T23:30:00-05:00"), severity: .a, calendar: .twentyFourSeven)
        #expect(try critical.deadline() == instant("2026-03-08T01:30:00-05:00"))
    }

    @Test func waitingOnTheCustomerPausesTheClock() throws {
        var clock = FirstResponseClock(openedAt: instant("2026-03-10T10:00:00-04:00"), severity: .b, calendar: office)
        clock.pause(at: instant("2026-03-10T11:00:00-04:00"))  // 60 min used
        #expect(try clock.deadline() == nil)
        #expect(try clock.milestones(after: instant("2026-03-10T11:00:00-04:00")).isEmpty)
        #expect(clock.usedMinutes(at: instant("2026-03-12T11:00:00-04:00")) == 60, "paused time is not used")
        clock.resume(at: instant("2026-03-11T16:00:00-04:00"))  // 60 min left today, 120 tomorrow
        #expect(try clock.deadline() == instant("2026-03-12T11:00:00-04:00"))
    }

    @Test func aSeverityChangeKeepsTheTimeUsed() throws {
        var clock = FirstResponseClock(openedAt: instant("2026-03-10T09:00:00-04:00"), severity: .c, calendar: office)
        clock.changeSeverity(to: .b, at: instant("2026-03-10T12:00:00-04:00"))  // 180 of 240 used
        #expect(try clock.deadline() == instant("2026-03-10T13:00:00-04:00"))
        // A change while paused is kept too, and already-overdue targets are due at once on resume.
        clock.pause(at: instant("2026-03-10T12:30:00-04:00"))
        clock.changeSeverity(to: .a, at: instant("2026-03-10T12:45:00-04:00"))
        clock.resume(at: instant("2026-03-10T14:00:00-04:00"))
        #expect(try clock.deadline() == instant("2026-03-10T14:00:00-04:00"), "210 minutes used of a 120 minute target")
    }

    @Test func acknowledgeStopsAndReopenStartsOver() throws {
        var clock = FirstResponseClock(openedAt: instant("2026-03-10T09:00:00-04:00"), severity: .b, calendar: office)
        clock.acknowledge(at: instant("2026-03-10T10:30:00-04:00"))
        #expect(clock.state == .stopped)
        #expect(clock.usedMinutes(at: instant("2026-03-20T10:30:00-04:00")) == 90)
        clock.pause(at: instant("2026-03-10T11:00:00-04:00"))
        #expect(clock.state == .stopped, "a stopped clock does not pause")
        clock.reopen(at: instant("2026-03-13T16:00:00-04:00"))  // a Friday: 60 min, then Monday
        #expect(try clock.deadline() == instant("2026-03-16T12:00:00-04:00"))
    }

    @Test func warningsThenBreachInOrder() throws {
        let clock = FirstResponseClock(openedAt: instant("2026-03-10T09:00:00-04:00"), severity: .b, calendar: office)
        let milestones = try clock.milestones(after: instant("2026-03-10T09:00:00-04:00"))
        #expect(milestones.map(\.kind) == [.warning(percent: 50), .warning(percent: 75), .breach])
        #expect(
            milestones.map(\.due) == [
                instant("2026-03-10T11:00:00-04:00"), instant("2026-03-10T12:00:00-04:00"), instant("2026-03-10T13:00:00-04:00"),
            ])
        // Later: only what is still ahead.
        #expect(try clock.milestones(after: instant("2026-03-10T11:30:00-04:00")).map(\.kind) == [.warning(percent: 75), .breach])
    }

    @Test func warningsAlreadyPassedBeforeAPauseAreNotRepeated() throws {
        var clock = FirstResponseClock(openedAt: instant("2026-03-10T09:00:00-04:00"), severity: .b, calendar: office)
        clock.pause(at: instant("2026-03-10T11:30:00-04:00"))  // 150 used: the 50 % warning is behind us
        clock.resume(at: instant("2026-03-11T09:00:00-04:00"))
        let kinds = try clock.milestones(after: instant("2026-03-11T09:00:00-04:00")).map(\.kind)
        #expect(kinds == [.warning(percent: 75), .breach])
    }
}
