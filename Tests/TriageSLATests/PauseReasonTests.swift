import Foundation
import Testing
import TriageCore
import TriageSLA

private let monday = instant("2026-03-02T14:00:00Z")  // a Monday, 09:00 in New York

private func at(_ minutes: Double, after start: Date = monday) -> Date { start.addingTimeInterval(minutes * 60) }

private func drainAll(_ state: inout IncidentSla, until end: Date, rules: SlaRules) -> [SlaAction] {
    var actions: [SlaAction] = []
    while let next = state.nextDue, next <= end { actions += state.fire(upTo: next, rules: rules) }
    return actions
}

/// The breach instant (deadline of the first escalation) of every target that breached.
private func deadlines(_ actions: [SlaAction]) -> [SlaTarget: Date] {
    var result: [SlaTarget: Date] = [:]
    for action in actions {
        if case .escalation = action.kind, result[action.target] == nil { result[action.target] = action.deadline }
    }
    return result
}

/// Every target on: first response, resolution and update, 24x7 and business hours alike.
private func allTargets(calendar: BusinessCalendar = .officeHoursUTC, reasons: [String: Set<SlaTarget>] = SlaPolicy.defaultPauseReasons)
    -> SlaRules
{
    let targets = SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 960, updateMinutes: 240)
    let perSeverity: [SupportSeverity: SlaTargets] = [.a: targets, .b: targets, .c: targets]
    return SlaRules(
        SlaPolicy(
            targets: [.twentyFourSeven: perSeverity, .businessHours: perSeverity],
            escalation: [.init(level: 1, afterMinutes: 0, notify: ["lead"])], defaultCalendar: calendar, pauseReasons: reasons))
}

@Suite("Pause reasons: which clocks pause, resume instants, unknown reasons, the changelog")
struct PauseReasonTests {
    @Test func waitingOnVendorPausesResolutionButNotFirstResponse() {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_vendor", resumeAt: nil), at: at(10), rules: rules)
        #expect(state.pauseReason(rules: rules) == "waiting_on_vendor")
        #expect(state.firstResponse.phase == .running)
        #expect(state.resolution.phase == .paused)
        state.apply(.customerResponded, at: at(70), rules: rules)
        #expect(state.resolution.phase == .running && !state.isPaused)
        let found = deadlines(drainAll(&state, until: at(100_000), rules: rules))
        #expect(found[.firstResponse] == at(120), "first response is not paused by a vendor wait")
        #expect(found[.resolution] == at(960 + 60), "resolution paused 60 minutes")
    }

    @Test func anEmptyOrUnknownReasonPausesLikeWaitingOnCustomer() {
        let rules = allTargets()
        #expect(rules.pauseReasonIndex(named: "") == rules.waitingOnCustomerIndex)
        #expect(rules.pauseReasonIndex(named: "waiting_on_aliens") == nil)
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_aliens", resumeAt: nil), at: at(10), rules: rules)
        #expect(state.pauseReason(rules: rules) == SlaPolicy.waitingOnCustomer)
        #expect(state.firstResponse.phase == .paused && state.resolution.phase == .paused)
    }

    @Test func aPauseEndsByItselfAtItsResumeInstant() {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_customer", resumeAt: at(100)), at: at(10), rules: rules)
        #expect(state.nextDue == at(100), "the end of the pause is the next thing due")
        let found = deadlines(drainAll(&state, until: at(100_000), rules: rules))
        #expect(!state.isPaused)
        #expect(found[.firstResponse] == at(120 + 90))
        #expect(found[.resolution] == at(960 + 90))
    }

    @Test func aCustomerResponseBeforeTheResumeInstantResumesAtOnce() {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_customer", resumeAt: at(100)), at: at(10), rules: rules)
        state.apply(.customerResponded, at: at(40), rules: rules)
        #expect(!state.isPaused && state.resumesAt == nil)
        #expect(deadlines(drainAll(&state, until: at(100_000), rules: rules))[.firstResponse] == at(120 + 30))
    }

    @Test func aResumeInstantNotAfterThePauseIsNoPause() {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_customer", resumeAt: at(5)), at: at(10), rules: rules)
        #expect(!state.isPaused && state.firstResponse.phase == .running)
    }

    @Test func switchingReasonsResumesWhatTheNewReasonDoesNotPause() {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_customer", resumeAt: nil), at: at(10), rules: rules)
        state.apply(.paused(reason: "waiting_on_engineering", resumeAt: nil), at: at(40), rules: rules)
        #expect(state.firstResponse.phase == .running, "engineering does not hold the first response")
        #expect(state.resolution.phase == .paused)
        state.apply(.customerResponded, at: at(100), rules: rules)
        let found = deadlines(drainAll(&state, until: at(100_000), rules: rules))
        #expect(found[.firstResponse] == at(120 + 30))
        #expect(found[.resolution] == at(960 + 90))
    }

    @Test func aPolicyCanRedefineWhatAReasonPauses() {
        var reasons = SlaPolicy.defaultPauseReasons
        reasons["waiting_on_vendor"] = [.firstResponse, .resolution]
        let rules = allTargets(reasons: reasons)
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.paused(reason: "waiting_on_vendor", resumeAt: nil), at: at(10), rules: rules)
        #expect(state.firstResponse.phase == .paused)
    }

    /// A pause never makes a deadline earlier; a clock the reason does not pause keeps its
    /// deadline exactly; in a New York business calendar and 24x7, around both DST changes.
    @Test func aPauseNeverMakesADeadlineEarlier() throws {
        let nyc = try officeHours(newYork, days: 1...7)
        let rules = allTargets(calendar: nyc)
        let reasons = rules.pauseReasonNames + ["not_in_the_policy"]
        var random = SeededGenerator(state: 2303)
        let starts = [instant("2026-03-06T15:00:00Z"), instant("2026-10-30T15:00:00Z")]  // the Friday before each DST change
        for round in 0..<300 {
            let opened = starts[round % 2].addingTimeInterval(Double(Int.random(in: 0..<(3 * 24 * 60), using: &random)) * 60)
            let coverage: SlaCoverage = round % 3 == 0 ? .twentyFourSeven : .businessHours
            let acknowledged = opened.addingTimeInterval(Double(Int.random(in: 0...100, using: &random)) * 60)
            let reason = reasons.randomElement(using: &random)!
            let pauseAt = opened.addingTimeInterval(Double(Int.random(in: 0...3_000, using: &random)) * 60)
            let pauseLength = Double(Int.random(in: 1...4_000, using: &random)) * 60
            let resumeAt: Date? = round % 2 == 0 ? pauseAt.addingTimeInterval(pauseLength) : nil
            var plain = IncidentSla(openedAt: opened, severity: .b, coverage: coverage, team: nil, rules: rules)
            var paused = plain
            var plainActions: [SlaAction] = []
            var pausedActions: [SlaAction] = []
            var steps: [(Date, SlaInput?)] = [(acknowledged, .acknowledged), (pauseAt, nil)]
            steps.sort { $0.0 < $1.0 }
            for (when, input) in steps {
                if let input {
                    plainActions += plain.apply(input, at: when, rules: rules)
                    pausedActions += paused.apply(input, at: when, rules: rules)
                } else {
                    plainActions += plain.fire(upTo: when, rules: rules)
                    pausedActions += paused.apply(.paused(reason: reason, resumeAt: resumeAt), at: when, rules: rules)
                }
            }
            if resumeAt == nil {
                pausedActions += paused.apply(.customerResponded, at: pauseAt.addingTimeInterval(pauseLength), rules: rules)
            }
            let end = opened.addingTimeInterval(120 * 24 * 3600)
            let before = deadlines(plainActions + drainAll(&plain, until: end, rules: rules))
            let after = deadlines(pausedActions + drainAll(&paused, until: end, rules: rules))
            let mask = rules.pauseMasks[Int(rules.effectivePauseReasonIndex(named: reason))]
            for target in SlaTarget.allCases {
                guard let without = before[target] else { continue }
                let with = try #require(after[target], "\(target) breached without the pause but not with it (round \(round))")
                #expect(with >= without, "round \(round) \(reason) \(target): \(with) earlier than \(without)")
                if mask & target.pauseBit == 0 {
                    #expect(with == without, "round \(round): \(reason) does not pause \(target), yet its deadline moved")
                }
            }
        }
    }
}

@Suite("SLA changelog: records of the previous encoder still decode")
struct IncidentSlaCodecCompatibilityTests {
    /// The record layout of the encoder before pause reasons and the update clock (commit
    /// 4e15686), written out field by field as that encoder did.
    static func previousEncoding(
        severity: UInt8, coverage: UInt8, waiting: Bool, closedAt: Double, clocks: [(UInt8, UInt8, UInt8, Double, Double, Double)],
        appliedThrough: Int64, calendar: String, trace: (UInt64, UInt64)?
    ) -> [UInt8] {
        var bytes: [UInt8] = [1, severity, coverage, waiting ? 1 : 0]
        func word(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        word(closedAt.bitPattern)
        for (phase, warnings, levels, since, used, breached) in clocks {
            bytes += [phase, warnings, levels]
            word(since.bitPattern)
            word(used.bitPattern)
            word(breached.bitPattern)
        }
        word(UInt64(bitPattern: appliedThrough))
        bytes.append(UInt8(calendar.utf8.count))
        bytes += Array(calendar.utf8)
        if let trace {
            bytes.append(1)
            word(trace.0)
            word(trace.1)
        }
        return bytes
    }

    @Test func aPausedRecordOfThePreviousEncoderDecodesAsWaitingOnCustomer() throws {
        let rules = SlaRules(SlaPolicy())
        let since = 1_780_000_000.0
        let bytes = Self.previousEncoding(
            severity: 2, coverage: 2, waiting: true, closedAt: .nan, clocks: [(2, 1, 0, since, 42.5, .nan), (0, 0, 0, 0, 0, .nan)],
            appliedThrough: 77, calendar: "default", trace: (0x4bf9_2f35_77b3_4da6, 0xa3ce_929d_0e0e_4736))
        // The same bytes as hex, so a change to the helper above cannot hide a change of format.
        #expect(bytes.count == 99)
        let state = try IncidentSlaCodec.decode(bytes, rules: rules)
        #expect(state.severity == .b && state.coverage == .businessHours && state.calendarIndex == 1)
        #expect(state.pauseReason(rules: rules) == SlaPolicy.waitingOnCustomer && state.resumesAt == nil)
        #expect(
            state.firstResponse
                == SlaClockState(phase: .paused, firedWarnings: 1, firedLevels: 0, since: since, used: 42.5, breachedAt: .nan))
        #expect(state.resolution.phase == .off && state.update.phase == .off && state.progress == 0)
        #expect(state.appliedThrough == 77)
        #expect(state.trace?.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        // What this encoder writes for that state is the very same record.
        #expect(IncidentSlaCodec.encode(state, rules: rules) == bytes)
    }

    @Test func aRecordWithoutTraceOrPauseStillDecodes() throws {
        let rules = SlaRules(SlaPolicy())
        let since = 1_780_000_000.0
        let bytes = Self.previousEncoding(
            severity: 1, coverage: 1, waiting: false, closedAt: since + 600,
            clocks: [(3, 3, 2, since, 130, since + 7_200), (3, 0, 0, since, 10, .nan)], appliedThrough: 5, calendar: "24x7", trace: nil)
        let state = try IncidentSlaCodec.decode(bytes, rules: rules)
        #expect(!state.isPaused && state.isClosed && state.firstResponse.firedLevels == 2 && state.resolution.used == 10)
        #expect(state.trace == nil)
        #expect(IncidentSlaCodec.encode(state, rules: rules) == bytes)
    }

    @Test func pauseReasonResumeInstantAndUpdateClockRoundTrip() throws {
        let rules = allTargets()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(5), rules: rules)
        state.apply(.paused(reason: "scheduled_follow_up", resumeAt: at(600)), at: at(30), rules: rules)
        state.trace = SlaTraceID(high: 7, low: 9)
        let decoded = try IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: rules), rules: rules)
        #expect(decoded == state)
        #expect(decoded.pauseReason(rules: rules) == "scheduled_follow_up" && decoded.resumesAt == at(600))
        #expect(decoded.update.phase == .paused && decoded.isAcknowledged)
        #expect(decoded.nextDue == state.nextDue)
        // A reason the policy no longer has: paused as waiting_on_customer.
        let narrower = SlaRules(SlaPolicy(pauseReasons: [SlaPolicy.waitingOnCustomer: [.firstResponse]]))
        let fallback = try IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: rules), rules: narrower)
        #expect(fallback.pauseReason(rules: narrower) == SlaPolicy.waitingOnCustomer)
    }

    @Test func unknownExtensionsAreSkipped() throws {
        let rules = SlaRules(SlaPolicy())
        let state = IncidentSla(openedAt: monday, severity: .c, coverage: .twentyFourSeven, team: nil, rules: rules)
        let bytes = IncidentSlaCodec.encode(state, rules: rules) + [0x40, 3, 0, 0xAA, 0xBB, 0xCC]
        #expect(try IncidentSlaCodec.decode(bytes, rules: rules) == state)
        #expect(throws: IncidentSlaCodec.DecodingError.self) {
            try IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: rules) + [0x40, 9, 0, 1], rules: rules)
        }
    }
}
