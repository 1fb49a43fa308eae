import Foundation
import Testing

@testable import TriageEntitlements

@Suite("Expiry boundary")
struct ExpiryTests {
    let utc = zone("UTC")

    @Test func oneYearAfterTheInstantInUTC() {
        let purchased = instant("2026-03-01T09:00:00Z")
        #expect(EntitlementTerm.expiry(purchasedAt: purchased, timeZone: utc) == instant("2027-03-01T09:00:00Z"))
        // 2027 is not a leap year, so one year from 2027-03-01 is 365 days, from 2027-02-01 366.
        #expect(EntitlementTerm.expiry(purchasedAt: instant("2027-03-01T00:00:00Z"), timeZone: utc) == instant("2028-03-01T00:00:00Z"))
        #expect(
            EntitlementTerm.expiry(purchasedAt: instant("2027-02-01T00:00:00Z"), timeZone: utc, years: 2) == instant("2029-02-01T00:00:00Z")
        )
    }

    @Test func millisecondsAreKept() {
        let purchased = instant("2026-03-01T09:00:00.123Z")
        #expect(EntitlementTerm.expiry(purchasedAt: purchased, timeZone: utc) == instant("2027-03-01T09:00:00.123Z"))
    }

    @Test func validityIsPurchaseInclusiveExpiryExclusive() {
        let purchased = instant("2026-03-01T09:00:00Z")
        let expires = EntitlementTerm.expiry(purchasedAt: purchased, timeZone: utc)
        let pack = Entitlement(
            id: "P", kind: .fivePack, coverage: .businessHours, account: "A", purchasedAt: purchased, timeZone: "UTC", expiresAt: expires,
            credits: 5)
        #expect(pack.status(at: purchased.adding(milliseconds: -1)) == .notYetValid(startsAt: purchased))
        #expect(pack.status(at: purchased) == .valid)
        #expect(pack.status(at: expires.adding(milliseconds: -1)) == .valid)
        #expect(pack.status(at: expires) == .expired(at: expires))
        #expect(pack.status(at: expires.adding(milliseconds: 1)) == .expired(at: expires))
    }

    @Test func leapDayClampsToFebruary28AndReturnsOnLeapYears() {
        let leapDay = instant("2028-02-29T10:00:00Z")
        #expect(EntitlementTerm.expiry(purchasedAt: leapDay, timeZone: utc) == instant("2029-02-28T10:00:00Z"))
        #expect(EntitlementTerm.expiry(purchasedAt: leapDay, timeZone: utc, years: 4) == instant("2032-02-29T10:00:00Z"))
        // 2100 is not a leap year (divisible by 100, not 400); 2000 was.
        #expect(
            EntitlementTerm.expiry(purchasedAt: instant("2096-02-29T10:00:00Z"), timeZone: utc, years: 4) == instant("2100-02-28T10:00:00Z")
        )
        // The clamp applies to the local date: 2028-02-29 20:00 in New York is 2028-03-01T01:00Z.
        // Local 2029-02-28 20:00 EST (-5) = 2029-03-01T01:00Z.
        #expect(
            EntitlementTerm.expiry(purchasedAt: instant("2028-03-01T01:00:00Z"), timeZone: zone("America/New_York"))
                == instant("2029-03-01T01:00:00Z"))
    }

    /// The same instant, bought in Los Angeles and in Auckland (on either side of the date line):
    ///
    /// 2026-03-10T19:00Z is 12:00 PDT (-7) on 10 March in Los Angeles (US DST began 8 March 2026),
    /// but 2027-03-10 is before the 2027 change (14 March), so the anniversary 12:00 is PST (-8):
    /// 2027-03-10T20:00Z, 365 days and one hour later.
    ///
    /// In Auckland the instant is 08:00 NZDT (+13) on 11 March; NZ daylight time lasts until April
    /// in both years, so the anniversary is 2027-03-11 08:00 NZDT = 2027-03-10T19:00Z, exactly 365
    /// days later. The two expiries differ by an hour.
    @Test func theSameInstantExpiresDifferentlyAcrossTheDateLine() {
        let purchased = instant("2026-03-10T19:00:00Z")
        let losAngeles = EntitlementTerm.expiry(purchasedAt: purchased, timeZone: zone("America/Los_Angeles"))
        let auckland = EntitlementTerm.expiry(purchasedAt: purchased, timeZone: zone("Pacific/Auckland"))
        #expect(losAngeles == instant("2027-03-10T20:00:00Z"))
        #expect(auckland == instant("2027-03-10T19:00:00Z"))
        #expect(losAngeles.timeIntervalSince(auckland) == 3600)

        // Auckland the other way: 2026-04-04 12:00 NZDT (+13) = 2026-04-03T23:00Z; NZ daylight time
        // ended 2027-04-04 at 03:00, so the anniversary 12:00 is NZST (+12) = 2027-04-04T00:00Z.
        #expect(
            EntitlementTerm.expiry(purchasedAt: instant("2026-04-03T23:00:00Z"), timeZone: zone("Pacific/Auckland"))
                == instant("2027-04-04T00:00:00Z"))
    }

    /// Local purchase times that fall into a spring-forward gap or a repeated hour on the
    /// anniversary, with the expected instants derived by hand in each comment.
    @Test(arguments: [
        // New York, 2027-03-14 02:00 EST → 03:00 EDT. Bought 2026-03-14 02:30 EDT (-4) = 06:30Z
        // (US DST began 8 March 2026). 02:30 does not exist on the anniversary: 03:30 EDT = 07:30Z.
        ("America/New_York", "2026-03-14T06:30:00Z", "2027-03-14T07:30:00Z"),
        // New York, 2027-11-07 02:00 EDT → 01:00 EST: 01:00–02:00 happens twice. Bought 2026-11-07
        // 01:30 EST (-5) = 06:30Z (DST ended 1 November 2026). The earlier 01:30 is EDT (-4) = 05:30Z.
        ("America/New_York", "2026-11-07T06:30:00Z", "2027-11-07T05:30:00Z"),
        // London, 2027-03-28 01:00 GMT → 02:00 BST. Bought 2026-03-28 01:30 GMT = 01:30Z (BST began
        // 29 March 2026). 01:30 does not exist: 02:30 BST = 01:30Z.
        ("Europe/London", "2026-03-28T01:30:00Z", "2027-03-28T01:30:00Z"),
        // London, 2027-10-31 02:00 BST → 01:00 GMT. Bought 2026-10-31 01:30 GMT = 01:30Z (BST ended
        // 25 October 2026). The earlier 01:30 is BST (+1) = 00:30Z.
        ("Europe/London", "2026-10-31T01:30:00Z", "2027-10-31T00:30:00Z"),
        // Sydney, 2027-10-03 02:00 AEST → 03:00 AEDT. Bought 2026-10-03 02:30 AEST (+10) =
        // 2026-10-02T16:30Z (DST began 4 October 2026). 02:30 does not exist: 03:30 AEDT (+11) =
        // 2027-10-02T16:30Z.
        ("Australia/Sydney", "2026-10-02T16:30:00Z", "2027-10-02T16:30:00Z"),
        // Sydney, 2027-04-04 03:00 AEDT → 02:00 AEST: 02:00–03:00 twice. Bought 2026-04-04 02:30
        // AEDT (+11) = 2026-04-03T15:30Z (DST ended 5 April 2026). The earlier 02:30 is AEDT =
        // 2027-04-03T15:30Z.
        ("Australia/Sydney", "2026-04-03T15:30:00Z", "2027-04-03T15:30:00Z"),
        // Sydney, second occurrence bought: 2026-04-05 02:30 AEST (+10) = 2026-04-04T16:30Z (after
        // the 2026 change). 2027-04-05 is an ordinary day in AEST: 2027-04-04T16:30Z.
        ("Australia/Sydney", "2026-04-04T16:30:00Z", "2027-04-04T16:30:00Z"),
        // Lord Howe's half-hour change, 2027-10-03 02:00 → 02:30 (+10:30 → +11). Bought 2026-10-03
        // 02:15 (+10:30) = 2026-10-02T15:45Z. 02:15 does not exist: 02:45 (+11) = 2027-10-02T15:45Z.
        ("Australia/Lord_Howe", "2026-10-02T15:45:00Z", "2027-10-02T15:45:00Z"),
    ])
    func daylightSavingGapsMoveForwardAndRepeatsTakeTheEarlier(_ identifier: String, _ purchased: String, _ expected: String) {
        let expiry = EntitlementTerm.expiry(purchasedAt: instant(purchased), timeZone: zone(identifier))
        #expect(text(expiry) == expected)
    }

    /// What the gap cases above look like on the local clock: 02:30 in New York becomes 03:30.
    @Test func aGapMovesTheLocalTimeForwardByTheGapLength() {
        let newYork = zone("America/New_York")
        let expiry = EntitlementTerm.expiry(purchasedAt: instant("2026-03-14T06:30:00Z"), timeZone: newYork)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = newYork
        let local = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: expiry)
        #expect([local.year, local.month, local.day, local.hour, local.minute] == [2027, 3, 14, 3, 30])
    }

    @Test func theResolverOfLocalTimes() {
        let newYork = zone("America/New_York")
        // Wall seconds of 2027-03-14 02:30 and 2027-11-07 01:30 local.
        let gap = Instant.days(year: 2027, month: 3, day: 14) * 86_400 + 2 * 3600 + 1800
        let repeated = Instant.days(year: 2027, month: 11, day: 7) * 86_400 + 3600 + 1800
        #expect(EntitlementTerm.resolve(localSeconds: gap, in: newYork) == gap + 5 * 3600)
        #expect(EntitlementTerm.resolve(localSeconds: repeated, in: newYork) == repeated + 4 * 3600)
        // An ordinary time has one answer.
        let ordinary = Instant.days(year: 2027, month: 7, day: 1) * 86_400 + 12 * 3600
        #expect(EntitlementTerm.resolve(localSeconds: ordinary, in: newYork) == ordinary + 4 * 3600)
    }

    static let propertyZones = [
        "UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata",
        "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham",
    ]

    /// 200 random instants in each zone (about a third near DST changes and leap days): the expiry is
    /// later, has the purchase's local date and time a year on (but for a clamped 29 February or a
    /// time in a gap, moved forward by the gap's length), is the earlier of a repeated time, and
    /// the entitlement is valid exactly on [purchasedAt, expiresAt).
    @Test(arguments: propertyZones)
    func expiryProperties(_ identifier: String) {
        let tz = zone(identifier)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tz
        var random = SeededGenerator(state: identifier.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 })
        let start = Instant.milliseconds(instant("2020-01-01T00:00:00Z"))
        let hotSpots = [
            "2026-03-08T00:00:00Z", "2026-03-28T00:00:00Z", "2026-04-04T00:00:00Z", "2026-09-26T00:00:00Z", "2026-10-03T00:00:00Z",
            "2026-10-31T00:00:00Z", "2026-11-07T00:00:00Z", "2028-02-28T00:00:00Z", "2027-03-13T00:00:00Z", "2027-04-03T00:00:00Z",
        ].map { Instant.milliseconds(instant($0)) }
        let fields: Set<Calendar.Component> = [.year, .month, .day, .hour, .minute, .second, .nanosecond]
        for _ in 0..<200 {
            let millis: Int64 =
                Int.random(in: 0..<3, using: &random) == 0
                ? hotSpots.randomElement(using: &random)! + Int64.random(in: -86_400_000..<(3 * 86_400_000), using: &random)
                : start + Int64.random(in: 0..<(15 * 365 * 86_400_000), using: &random)
            let purchased = Instant.date(milliseconds: millis)
            let expiry = EntitlementTerm.expiry(purchasedAt: purchased, timeZone: tz)
            #expect(expiry > purchased)
            #expect(expiry.timeIntervalSince(purchased) > 364 * 86_400 && expiry.timeIntervalSince(purchased) < 367 * 86_400)

            let before = calendar.dateComponents(fields, from: purchased)
            let after = calendar.dateComponents(fields, from: expiry)
            let clamped = before.month == 2 && before.day == 29
            #expect(after.year == before.year! + 1)
            #expect(after.month == before.month)
            #expect(after.day == (clamped ? 28 : before.day))
            #expect(
                Instant.milliseconds(expiry) % 1000 == millis % 1000 || Instant.milliseconds(expiry) % 1000 == (millis % 1000 + 1000) % 1000
            )
            let wallBefore = before.hour! * 3600 + before.minute! * 60 + before.second!
            let wallAfter = after.hour! * 3600 + after.minute! * 60 + after.second!
            if wallAfter != wallBefore {
                // Only in a gap: moved forward by exactly the jump of the offset around the expiry.
                let jump = tz.secondsFromGMT(for: expiry.adding(days: 1)) - tz.secondsFromGMT(for: expiry.adding(days: -1))
                #expect(jump > 0 && wallAfter - wallBefore == jump, "\(identifier) \(text(purchased)) → \(text(expiry))")
            } else {
                // The earlier occurrence: half an hour or an hour earlier is not the same local time.
                for earlier in [1800, 3600] {
                    let other = calendar.dateComponents(fields, from: expiry.addingTimeInterval(-Double(earlier)))
                    #expect(other != after, "\(identifier) \(text(purchased)): \(text(expiry)) is the later occurrence")
                }
            }

            let pack = Entitlement(
                id: "P", kind: .fivePack, coverage: .businessHours, account: "A", purchasedAt: purchased, timeZone: identifier,
                expiresAt: expiry, credits: 5)
            #expect(pack.status(at: purchased.adding(milliseconds: -1)) == .notYetValid(startsAt: purchased))
            #expect(pack.status(at: purchased) == .valid)
            #expect(pack.status(at: expiry.adding(milliseconds: -1)) == .valid)
            #expect(pack.status(at: expiry) == .expired(at: expiry))
        }
    }
}
