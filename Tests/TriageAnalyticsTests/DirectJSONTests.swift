import Foundation
import SwiftProtobuf
import Testing
import TriageCore
import TriageSLA
import TriageSchema

@testable import TriageAnalytics

/// The record as the feed wrote it before ``AnalyticsRecord/publishedJSONBytes()``: SwiftProtobuf's
/// JSON mapping, then the defaults it leaves out. The oracle the direct writer must match.
private func mappedJSON(_ record: AnalyticsRecord) throws -> String {
    var json = try record.jsonString(options: AnalyticsRecord.publishedJSONOptions)
    let defaults = defaultColumns.filter { $0.isDefault(record) }.map { "\"\($0.name)\":\($0.literal)" }
    guard !defaults.isEmpty, json.last == "}" else { return json }
    json.removeLast()
    return json + (json == "{" ? "" : ",") + defaults.joined(separator: ",") + "}"
}

private let defaultColumns: [(name: String, literal: String, isDefault: @Sendable (AnalyticsRecord) -> Bool)] = [
    ("event_id", "\"\"", { $0.eventID.isEmpty }),
    ("incident_id", "\"\"", { $0.incidentID.isEmpty }),
    ("event_type", "\"\"", { $0.eventType.isEmpty }),
    ("severity", "\"SEVERITY_UNSPECIFIED\"", { $0.severity == .unspecified }),
    ("coverage", "\"COVERAGE_UNSPECIFIED\"", { $0.coverage == .unspecified }),
    ("product", "\"\"", { $0.product.isEmpty }),
    ("customer_account", "\"\"", { $0.customerAccount.isEmpty }),
    ("team", "\"\"", { $0.team.isEmpty }),
    ("assigned_agent_id", "\"\"", { $0.assignedAgentID.isEmpty }),
    ("breached", "false", { !$0.breached }),
    ("reassignment_count", "0", { $0.reassignmentCount == 0 }),
    ("waiting_on_customer_minutes", "0.0", { $0.waitingOnCustomerMinutes == 0 }),
    ("outcome", "\"\"", { $0.outcome.isEmpty }),
    ("escalation_level", "0", { $0.escalationLevel == 0 }),
    ("sla_target", "\"\"", { $0.slaTarget.isEmpty }),
]

/// The snapshot as `JSONEncoder` writes its `Codable` form: the oracle of ``IncidentSnapshot/jsonBytes()``.
private func encodedSnapshot(_ snapshot: IncidentSnapshot) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(snapshot))
}

/// Random values that make JSON writers stumble, reproducible from a seed.
private struct AwkwardValues {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func pick<T>(_ options: [T]) -> T { options.randomElement(using: &random)! }

    /// Quotes, backslashes, slashes, every C0 control, DEL, C1 controls, non-breaking and other
    /// spaces, accents, combining marks, CJK, emoji, line and paragraph separators.
    static let alphabet: [String] =
        (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + [
            "\"", "\\", "/", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}", "\u{A0}", "\u{A9}", "\u{C2}", "é", "e\u{301}", "€", "中", "😀",
            "👩‍💻", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFF}", "\u{10FFFF}", " ", "\t", "a", "Z", "0", "-", "_", "{", "}", ":", ",",
            "INC-42", "agent-7",
        ]

    mutating func string(emptyChance: Double = 0.3) -> String {
        if chance(emptyChance) { return "" }
        return (0..<Int.random(in: 1...12, using: &random)).map { _ in pick(Self.alphabet) }.joined()
    }

    /// Edge values and random ones; `finite` leaves out NaN and the infinities.
    mutating func double(finite: Bool) -> Double {
        var options: [Double] = [
            0, 1, -1, 0.1, 0.5, 3840, 285.004167, 1e15, 1e16, 1e20, 1.5e-7, 2e-5, 1e-4, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1_764_921_600.123, 123_456_789_012_345_680,
            Double.random(in: -1e6...1e6, using: &random), Double.random(in: 0...1, using: &random),
            Double(Int.random(in: 0...100_000, using: &random)),
            Double(bitPattern: random.next()),
        ]
        if !finite { options += [.nan, .infinity, -.infinity] }
        let value = pick(options)
        return finite && !value.isFinite ? 0.25 : value
    }

    /// Whole milliseconds over the years 1 to 9999, with whole seconds and whole days now and then.
    mutating func instant() -> Date {
        var millis = Int64.random(
            in: AnalyticsInstant.secondsRange.lowerBound * 1000...AnalyticsInstant.secondsRange.upperBound * 1000, using: &random)
        if chance(0.3) { millis = millis / 1000 * 1000 }
        if chance(0.1) { millis = millis / 86_400_000 * 86_400_000 }
        if chance(0.3) { millis = 1_772_000_000_000 + Int64.random(in: 0...100_000_000_000, using: &random) }
        return AnalyticsInstant.date(milliseconds: millis)
    }

    mutating func timestamp() -> Google_Protobuf_Timestamp {
        let seconds =
            chance(0.2)
            ? pick([AnalyticsInstant.secondsRange.lowerBound, AnalyticsInstant.secondsRange.upperBound, 0, -1])
            : Int64.random(in: AnalyticsInstant.secondsRange, using: &random)
        let nanos: Int32 = pick([
            0, 999_999_999, 1, Int32.random(in: 0...999, using: &random) * 1_000_000,
            Int32.random(in: 0...999_999, using: &random) * 1_000, Int32.random(in: 0...999_999_999, using: &random),
        ])
        return Google_Protobuf_Timestamp(seconds: seconds, nanos: nanos)
    }

    mutating func record() -> AnalyticsRecord {
        var record = AnalyticsRecord()
        record.eventID = string()
        record.incidentID = string()
        record.eventType = string()
        if chance(0.9) { record.occurredAt = timestamp() }
        record.severity = pick([.unspecified, .a, .b, .c, .UNRECOGNIZED(7)])
        record.coverage = pick([.unspecified, .coverage24X7, .businessHours, .UNRECOGNIZED(9)])
        record.product = string()
        record.customerAccount = string()
        record.team = string()
        record.assignedAgentID = string()
        if chance(0.5) { record.firstResponseBusinessMinutes = double(finite: false) }
        record.breached = chance(0.5)
        if chance(0.5) { record.breachedByBusinessMinutes = double(finite: false) }
        record.reassignmentCount = chance(0.5) ? 0 : pick([1, 2, UInt32.max, UInt32.random(in: 0...UInt32.max, using: &random)])
        // -0.0 is the one value the old writer printed twice (see `negativeZeroWaitingIsOneColumn`).
        let waiting = chance(0.4) ? 0 : double(finite: false)
        record.waitingOnCustomerMinutes = waiting == 0 ? 0 : waiting
        record.outcome = chance(0.5) ? "" : pick(["resolved", "unresolved", string()])
        record.escalationLevel = chance(0.5) ? 0 : pick([1, 2, 3, UInt32.max])
        record.slaTarget = chance(0.5) ? "" : pick(["first_response", "resolution", string()])
        return record
    }

    mutating func measure() -> SlaMeasure {
        SlaMeasure(
            targetBusinessMinutes: chance(0.3) ? nil : double(finite: true),
            usedBusinessMinutes: chance(0.3) ? nil : double(finite: true), breached: chance(0.5),
            breachedByBusinessMinutes: chance(0.5) ? nil : double(finite: true), isFinal: chance(0.5)
        )
    }

    mutating func clock() -> SlaTrackerState.Clock {
        SlaTrackerState.Clock(
            SlaClockState(
                phase: pick([.off, .running, .paused, .stopped]), firedWarnings: UInt8.random(in: 0...255, using: &random),
                firedLevels: UInt8.random(in: 0...255, using: &random), since: double(finite: true), used: double(finite: true),
                breachedAt: chance(0.5) ? .nan : double(finite: true)
            )
        )
    }

    mutating func sla(base: SlaTrackerState) -> SlaTrackerState {
        var sla = base
        sla.severity = pick(SupportSeverity.allCases)
        sla.coverage = pick(SlaCoverage.allCases)
        sla.calendar = pick(["24x7", "default", "london", string(emptyChance: 0)])
        sla.waitingOnCustomer = chance(0.5)
        sla.pauseReason = chance(0.5) ? nil : string()
        sla.resumeAt = chance(0.5) ? nil : double(finite: true)
        sla.progress = pick([0, 1, 2, 3])
        sla.closedAt = chance(0.5) ? nil : double(finite: true)
        sla.firstResponse = clock()
        sla.resolution = clock()
        // An `off` update clock is left out, and read back as `SlaClockState.off`.
        sla.update = clock()
        if chance(0.5) || sla.update.phase == .off { sla.update = SlaTrackerState.Clock(.off) }
        return sla
    }

    mutating func snapshot(slaBase: SlaTrackerState) -> IncidentSnapshot {
        var snapshot = IncidentSnapshot(incidentID: string(emptyChance: 0.05))
        snapshot.severity = pick([.unspecified, .a, .b, .c])
        snapshot.coverage = pick([.unspecified, .coverage24X7, .businessHours])
        snapshot.product = string()
        snapshot.customerAccount = string()
        snapshot.entitlementID = string()
        snapshot.language = string()
        snapshot.team = string()
        snapshot.parentIncidentID = string()
        snapshot.title = string()
        snapshot.status = pick(IncidentStatus.allCases)
        snapshot.statusBeforeWaiting = chance(0.5) ? nil : pick(IncidentStatus.allCases)
        snapshot.assignedAgentID = string()
        snapshot.lastAgentID = string()
        snapshot.reassignmentCount = pick([0, 1, 7, Int.max, Int.min])
        snapshot.openedAt = chance(0.2) ? nil : instant()
        snapshot.acknowledgedAt = chance(0.5) ? nil : instant()
        snapshot.closedAt = chance(0.5) ? nil : instant()
        snapshot.closedBy = string()
        snapshot.creditRefunded = chance(0.5)
        snapshot.outcome = pick(IncidentOutcome.allCases)
        snapshot.reopenCount = Int.random(in: -3...1_000_000, using: &random)
        snapshot.splitChildren = (0..<Int.random(in: 0...3, using: &random)).map { _ in string() }
        snapshot.firstResponseBusinessMinutes = chance(0.5) ? nil : double(finite: true)
        snapshot.firstResponse = measure()
        snapshot.resolution = measure()
        snapshot.waitingOnCustomerMinutes = double(finite: true)
        snapshot.waitingSince = chance(0.5) ? nil : instant()
        snapshot.sla = chance(0.2) ? nil : sla(base: slaBase)
        snapshot.recentEventIDs = (0..<Int.random(in: 0...IncidentSnapshot.dedupeWindow, using: &random)).map { _ in string() }
        snapshot.eventCount = Int.random(in: 0...Int.max, using: &random)
        snapshot.lastEventAt = chance(0.2) ? nil : instant()
        return snapshot
    }
}

/// An SLA state to start random ones from (its type has no memberwise initialiser).
private func someSla() throws -> SlaTrackerState {
    var snapshot = IncidentSnapshot(incidentID: "INC-1")
    _ = snapshot.apply(event(.opened(.b, .businessHours), id: "e-1", at: at("2026-03-06T16:00:00-05:00")), rules: rules)
    return try #require(snapshot.sla)
}

@Suite("The direct JSON writers give the bytes of the encoders they replace (fixed seeds)")
struct DirectJSONTests {
    @Test(arguments: Array(UInt64(1)...40))
    func recordsAsTheProtobufMappingWroteThem(seed: UInt64) throws {
        var values = AwkwardValues(seed: seed)
        for _ in 0..<100 {
            let record = values.record()
            let direct = try record.publishedJSONBytes()
            let expected = try mappedJSON(record)
            #expect(direct == Array(expected.utf8), "seed \(seed): \(expected)")
            #expect(try record.publishedJSON() == expected)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            let parsed = try AnalyticsRecord(jsonUTF8Bytes: direct, options: options)
            if !record.firstResponseBusinessMinutes.isNaN && !record.breachedByBusinessMinutes.isNaN
                && !record.waitingOnCustomerMinutes.isNaN
            {
                #expect(parsed == record, "seed \(seed)")
            }
        }
    }

    @Test(arguments: Array(UInt64(1)...40))
    func snapshotsAsJSONEncoderWroteThem(seed: UInt64) throws {
        let base = try someSla()
        var values = AwkwardValues(seed: seed)
        for _ in 0..<100 {
            let snapshot = values.snapshot(slaBase: base)
            let direct = try snapshot.jsonBytes()
            #expect(direct == (try encodedSnapshot(snapshot)), "seed \(seed): \(String(decoding: direct, as: UTF8.self))")
            #expect(try snapshot.jsonData() == Data(direct))
            #expect(try IncidentSnapshot(jsonData: Data(direct)) == snapshot, "seed \(seed)")
        }
    }

    /// The folded stories' snapshots, not only random ones (real SLA clocks, real instants).
    @Test func foldedSnapshotsAsJSONEncoderWroteThem() throws {
        var script = Script()
        _ = script.add(.opened(.b, .businessHours), at: at("2026-03-06T16:00:00-05:00"))
        _ = script.add(.assigned("agent-7"), at: at("2026-03-06T16:10:00-05:00"))
        _ = script.add(.waitingOnCustomer, at: at("2026-03-06T16:30:00-05:00"))
        _ = script.add(.customerResponded, at: at("2026-03-09T09:30:00-04:00"))
        _ = script.add(.acknowledged("agent-7"), at: at("2026-03-09T13:45:00.250-04:00"))
        _ = script.add(.closedUnresolved(refunded: true), at: at("2026-03-10T10:00:00-04:00"))
        _ = script.add(.reopened, at: at("2026-03-11T10:00:00.5-04:00"))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        for event in withEscalator(script.events) {
            guard let record = snapshot.apply(event, rules: rules) else { continue }
            #expect(try snapshot.jsonBytes() == (try encodedSnapshot(snapshot)))
            #expect(try record.publishedJSONBytes() == Array(try mappedJSON(record).utf8))
        }
    }

    /// The mapping printed `-0.0` (it tells a default by its bit pattern) and the old writer then
    /// added the `0.0` default as well, a key twice; now the column is written once.
    @Test func negativeZeroWaitingIsOneColumn() throws {
        let record = AnalyticsRecord.with {
            $0.occurredAt = .init(seconds: 0)
            $0.waitingOnCustomerMinutes = -0.0
        }
        let json = try record.publishedJSON()
        #expect(json.components(separatedBy: "\"waiting_on_customer_minutes\":").count == 2, "\(json)")
        #expect(json.contains("\"waiting_on_customer_minutes\":-0.0"))
        #expect(try AnalyticsRecord(jsonString: json).waitingOnCustomerMinutes == 0)
    }

    @Test func aTimestampOutOfRangeThrowsAsTheMappingDoes() throws {
        for timestamp in [
            Google_Protobuf_Timestamp(seconds: AnalyticsInstant.secondsRange.upperBound + 1),
            Google_Protobuf_Timestamp(seconds: AnalyticsInstant.secondsRange.lowerBound - 1),
            Google_Protobuf_Timestamp(seconds: 0, nanos: -1), Google_Protobuf_Timestamp(seconds: 0, nanos: 1_000_000_000),
        ] {
            let record = AnalyticsRecord.with { $0.occurredAt = timestamp }
            #expect(throws: JSONEncodingError.timestampRange) { try record.publishedJSONBytes() }
            #expect(throws: JSONEncodingError.timestampRange) { try mappedJSON(record) }
        }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aSnapshotDoubleThatIsNotFiniteThrowsAsJSONEncoderDoes(_ value: Double) throws {
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        snapshot.waitingOnCustomerMinutes = value
        #expect(throws: EncodingError.self) { try snapshot.jsonBytes() }
        #expect(throws: EncodingError.self) { try encodedSnapshot(snapshot) }
        snapshot.waitingOnCustomerMinutes = 0
        snapshot.resolution.usedBusinessMinutes = value
        #expect(throws: EncodingError.self) { try snapshot.jsonBytes() }
    }

    @Test(arguments: Array(UInt64(1)...10))
    func instantsAsTheStringFormWritesThem(seed: UInt64) {
        var values = AwkwardValues(seed: seed)
        // Years before 1 and after 9999 too (not four digits: the string form's own spelling).
        let outside = [-62_200_000_000_000, 253_402_400_000_000, -62_135_596_800_001].map { AnalyticsInstant.date(milliseconds: $0) }
        for date in (0..<500).map({ _ in values.instant() }) + outside {
            var json = JSONBuffer()
            AnalyticsInstant.write(date, into: &json)
            #expect(json.bytes == Array("\"\(AnalyticsInstant.string(date))\"".utf8), "\(date.timeIntervalSince1970)")
        }
    }
}
