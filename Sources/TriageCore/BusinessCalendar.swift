public import Foundation

/// When a support team works: a time zone, weekly working intervals per weekday and dated holidays.
///
/// All arithmetic is done on local wall-clock times of ``timeZone`` and converted to instants per
/// day, so a 09:00–17:00 day is eight business hours on the 23- and 25-hour days of a DST change
/// too. Intervals may cross midnight (`22:00–06:00` belongs to the day it starts on). Holidays
/// close a whole local day or a part of it.
///
/// ``twentyFourSeven`` is always open: business time equals wall-clock time.
public struct BusinessCalendar: Sendable, Hashable {
    /// Minutes after local midnight; `end` may exceed 1,440 for an interval that crosses midnight.
    public struct DailyInterval: Sendable, Hashable, CustomStringConvertible {
        public let startMinute: Int
        public let endMinute: Int

        /// `start` and `end` as `HH:mm`; an `end` at or before `start` crosses midnight
        /// (`"00:00"` as end means midnight at the end of the day).
        public init(_ start: String, _ end: String) throws(CalendarError) {
            let from = try Self.minutes(start)
            var to = try Self.minutes(end)
            if to <= from { to += 24 * 60 }
            guard to - from <= 24 * 60 else { throw CalendarError("interval \(start)–\(end) is longer than a day") }
            self.startMinute = from
            self.endMinute = to
        }

        public init(startMinute: Int, endMinute: Int) throws(CalendarError) {
            guard startMinute >= 0, startMinute < 24 * 60, endMinute > startMinute, endMinute - startMinute <= 24 * 60 else {
                throw CalendarError("interval minutes \(startMinute)–\(endMinute) are out of range")
            }
            self.startMinute = startMinute
            self.endMinute = endMinute
        }

        public var description: String {
            String(format: "%02d:%02d–%02d:%02d", startMinute / 60, startMinute % 60, (endMinute / 60) % 24, endMinute % 60)
        }

        static func minutes(_ text: String) throws(CalendarError) -> Int {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
                (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60
            else { throw CalendarError("'\(text)' is not a time of day (HH:mm)") }
            return hours * 60 + minutes
        }
    }

    /// A local calendar date in the calendar's zone.
    public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
        public let year: Int
        public let month: Int
        public let day: Int

        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// `YYYY-MM-DD`.
        public init(_ text: String) throws(CalendarError) {
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else {
                throw CalendarError("'\(text)' is not a date (YYYY-MM-DD)")
            }
            self.init(year: parts[0], month: parts[1], day: parts[2])
        }

        public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }
        public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day) }
    }

    /// A closed day, or a closed part of a day.
    public struct Holiday: Sendable, Hashable {
        public let date: LocalDate
        /// `nil`: the whole day is closed.
        public let closed: DailyInterval?
        public let name: String

        public init(date: LocalDate, closed: DailyInterval? = nil, name: String = "") {
            self.date = date
            self.closed = closed
            self.name = name
        }
    }

    public let timeZone: TimeZone
    /// Working intervals per weekday, 1 = Sunday ... 7 = Saturday (Foundation's numbering).
    public let weekly: [Int: [DailyInterval]]
    public let holidays: [Holiday]
    /// Always open (24x7 coverage).
    public let isAlwaysOpen: Bool
    /// Gregorian in ``timeZone``; built once, used for every local-time conversion.
    let calendar: Calendar

    /// Always open, in UTC.
    public static let twentyFourSeven = BusinessCalendar(alwaysOpenIn: TimeZone(identifier: "UTC")!)

    /// Monday to Friday 09:00–17:00 UTC, no holidays: an SLA policy's default calendar, and the
    /// hours of a calendar file that names a time zone but no `hours`.
    public static let officeHoursUTC: BusinessCalendar = {
        let day = try! BusinessCalendar.DailyInterval(startMinute: 9 * 60, endMinute: 17 * 60)
        return try! BusinessCalendar(
            timeZone: TimeZone(identifier: "UTC")!,
            weekly: [2: [day], 3: [day], 4: [day], 5: [day], 6: [day]]
        )
    }()

    public init(timeZone: TimeZone, weekly: [Int: [DailyInterval]], holidays: [Holiday] = []) throws(CalendarError) {
        for weekday in weekly.keys where !(1...7).contains(weekday) {
            throw CalendarError("weekday \(weekday) is not 1 (Sunday) ... 7 (Saturday)")
        }
        for (weekday, intervals) in weekly {
            let sorted = intervals.sorted { $0.startMinute < $1.startMinute }
            for (first, second) in zip(sorted, sorted.dropFirst()) where second.startMinute < first.endMinute {
                throw CalendarError("weekday \(weekday): intervals \(first) and \(second) overlap")
            }
            // An interval that crosses midnight must end before the next day's intervals start.
            let next = weekday % 7 + 1
            for late in intervals where late.endMinute > 24 * 60 {
                if let early = weekly[next]?.first(where: { $0.startMinute < late.endMinute - 24 * 60 }) {
                    throw CalendarError("weekday \(weekday): interval \(late) runs past midnight into \(early) of weekday \(next)")
                }
            }
        }
        guard weekly.values.contains(where: { !$0.isEmpty }) else { throw CalendarError("the calendar has no working hours") }
        self.timeZone = timeZone
        self.weekly = weekly.mapValues { $0.sorted { $0.startMinute < $1.startMinute } }
        self.holidays = holidays
        self.isAlwaysOpen = false
        self.calendar = Self.gregorian(in: timeZone)
    }

    public init(alwaysOpenIn timeZone: TimeZone) {
        self.timeZone = timeZone
        self.weekly = [:]
        self.holidays = []
        self.isAlwaysOpen = true
        self.calendar = Self.gregorian(in: timeZone)
    }

    // MARK: Queries

    /// Whether `instant` is inside working time.
    public func isOpen(at instant: Date) -> Bool {
        if isAlwaysOpen { return true }
        let day = localDate(of: instant)
        // Intervals of the previous day may reach past midnight into this one.
        for candidate in [day.adding(days: -1, in: calendar), day] {
            if openIntervals(on: candidate).contains(where: { $0.contains(instant) }) { return true }
        }
        return false
    }

    /// The instant `minutes` business minutes after `start` (DST- and holiday-aware).
    /// Throws if no working time is found within ten years.
    public func adding(businessMinutes minutes: Double, to start: Date) throws(CalendarError) -> Date {
        precondition(minutes >= 0, "business minutes must not be negative")
        if isAlwaysOpen { return start.addingTimeInterval(minutes * 60) }
        var remaining = minutes * 60
        var day = localDate(of: start).adding(days: -1, in: calendar)
        let lastDay = day.adding(days: 3_660, in: calendar)
        while day <= lastDay {
            for interval in openIntervals(on: day) where interval.upperBound > start {
                let from = max(interval.lowerBound, start)
                let available = interval.upperBound.timeIntervalSince(from)
                if remaining <= available { return from.addingTimeInterval(remaining) }
                remaining -= available
            }
            day = day.adding(days: 1, in: calendar)
        }
        throw CalendarError("no working time within ten years of \(start)")
    }

    /// Business minutes in `[from, to)`; zero if `to` is not after `from`.
    public func businessMinutes(from: Date, to: Date) -> Double {
        guard to > from else { return 0 }
        if isAlwaysOpen { return to.timeIntervalSince(from) / 60 }
        var total: TimeInterval = 0
        var day = localDate(of: from).adding(days: -1, in: calendar)
        let lastDay = localDate(of: to)
        while day <= lastDay {
            for interval in openIntervals(on: day) {
                let start = max(interval.lowerBound, from)
                let end = min(interval.upperBound, to)
                if end > start { total += end.timeIntervalSince(start) }
            }
            day = day.adding(days: 1, in: calendar)
        }
        return total / 60
    }

    // MARK: Internals

    static func gregorian(in timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    func localDate(of instant: Date) -> LocalDate {
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        return LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// The instant of a local wall-clock time `minute` minutes after the start of `day` (minutes
    /// past 1,440 fall on the next day). A time repeated when the clocks fall back is its first
    /// occurrence; a time that does not exist because the clocks spring forward is the instant
    /// of the change (the clock jumps past it then).
    func instant(_ day: LocalDate, minute: Int) -> Date {
        let date = day.adding(days: minute / (24 * 60), in: calendar)
        let minuteOfDay = minute % (24 * 60)
        var parts = DateComponents()
        parts.year = date.year
        parts.month = date.month
        parts.day = date.day
        parts.hour = minuteOfDay / 60
        parts.minute = minuteOfDay % 60
        let result = calendar.date(from: parts)!
        // Foundation moves a time inside the gap forward by the gap's length (02:30 → 03:30),
        // which would carry an interval's end past the start of the next one (02:45 → 03:45
        // overlaps 03:00–04:00) or drop time that exists (01:30–02:30 in London).
        let shown = calendar.dateComponents([.hour, .minute], from: result)
        if shown.hour != parts.hour || shown.minute != parts.minute,
            let change = timeZone.nextDaylightSavingTimeTransition(after: result.addingTimeInterval(-86_400)),
            abs(change.timeIntervalSince(result)) < 86_400
        {
            return change
        }
        return result
    }

    /// Working intervals that start on `day`, minus holidays, as instants.
    func openIntervals(on day: LocalDate) -> [Range<Date>] {
        let weekday = calendar.component(.weekday, from: instant(day, minute: 12 * 60))
        var open: [Range<Date>] = (weekly[weekday] ?? []).compactMap { interval in
            let start = instant(day, minute: interval.startMinute)
            let end = instant(day, minute: interval.endMinute)
            return end > start ? start..<end : nil
        }
        guard !open.isEmpty else { return [] }
        // Holidays of this day, of the next (an interval crossing midnight reaches into it) and of
        // the previous one (a closed part crossing midnight reaches into this day).
        let nearby = [day.adding(days: -1, in: calendar), day, day.adding(days: 1, in: calendar)]
        for holiday in holidays where nearby.contains(holiday.date) {
            let closed: Range<Date>
            if let part = holiday.closed {
                closed = instant(holiday.date, minute: part.startMinute)..<instant(holiday.date, minute: part.endMinute)
            } else {
                closed = instant(holiday.date, minute: 0)..<instant(holiday.date, minute: 24 * 60)
            }
            open = open.flatMap { $0.subtracting(closed) }
        }
        return open
    }
}

extension BusinessCalendar.LocalDate {
    func adding(days: Int, in calendar: Calendar) -> BusinessCalendar.LocalDate {
        var parts = DateComponents()
        parts.year = year
        parts.month = month
        parts.day = day
        parts.hour = 12  // noon exists on every day, whatever DST does
        let noon = calendar.date(from: parts)!
        let moved = calendar.date(byAdding: .day, value: days, to: noon)!
        let result = calendar.dateComponents([.year, .month, .day], from: moved)
        return .init(year: result.year!, month: result.month!, day: result.day!)
    }
}

extension Range where Bound == Date {
    func subtracting(_ other: Range<Date>) -> [Range<Date>] {
        guard overlaps(other) else { return [self] }
        var pieces: [Range<Date>] = []
        if lowerBound < other.lowerBound { pieces.append(lowerBound..<other.lowerBound) }
        if other.upperBound < upperBound { pieces.append(other.upperBound..<upperBound) }
        return pieces
    }
}
