import Foundation
import TriageCore

/// When a shift calendar next opens or closes, found with ``BusinessCalendar``'s public queries
/// only (the calendar does not expose its intervals).
enum ShiftEdges {
    /// How far ahead an open stretch is followed before the calendar counts as never closing.
    static let horizon: TimeInterval = 400 * 86_400

    /// The first instant after `instant` at which `calendar` changes between open and closed;
    /// `nil` if it never does (always open, or open without a break beyond ``horizon``, or no
    /// working time within ten years).
    static func next(after instant: Date, in calendar: BusinessCalendar) -> Date? {
        if calendar.isAlwaysOpen { return nil }
        guard calendar.isOpen(at: instant) else {
            // Closed: zero business minutes from here lands on the next opening, which is after
            // `instant` because intervals include their start.
            return try? calendar.adding(businessMinutes: 0, to: instant)
        }
        // Open: the stretch [instant, end) is the longest span whose business time equals its
        // wall-clock time. Gallop to a span that is not all open, then bisect to the second.
        func allOpen(_ seconds: TimeInterval) -> Bool {
            calendar.businessMinutes(from: instant, to: instant.addingTimeInterval(seconds)) * 60 >= seconds - 0.001
        }
        var low: TimeInterval = 0
        var high: TimeInterval = 3_600
        while allOpen(high) {
            low = high
            high *= 2
            if high > horizon { return nil }
        }
        while high - low > 1 {
            let middle = ((low + high) / 2).rounded(.down)
            if middle <= low { break }
            if allOpen(middle) { low = middle } else { high = middle }
        }
        // [instant, end) is open and [end, instant + high) is shorter than a second, so closed:
        // the business time up to `high` is exactly the stretch. Calendar edges are whole
        // seconds (whole local minutes), which removes the floating-point residue.
        let open = calendar.businessMinutes(from: instant, to: instant.addingTimeInterval(high)) * 60
        return Date(timeIntervalSinceReferenceDate: (instant.timeIntervalSinceReferenceDate + open).rounded())
    }
}
