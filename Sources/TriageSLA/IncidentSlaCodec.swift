import Foundation
import TriageCore

/// The changelog encoding of an ``IncidentSla`` (docs/escalator.md): fixed-size little-endian
/// fields after a version byte, then the calendar's name (not its index, so a record stays
/// meaningful when the policy's calendars change).
///
///     u8 version (1) | u8 severity (1 A, 2 B, 3 C) | u8 coverage (1 24x7, 2 business hours)
///     | u8 flags (bit 0: waiting on customer) | f64 closedAt (NaN = open)
///     | 2 × clock [u8 phase | u8 warnings done | u8 levels done | f64 since | f64 used | f64 breachedAt]
///     | i64 appliedThrough | u8 name length | calendar name (UTF-8)
///     [| u8 1 | u64 trace id high | u64 trace id low]   (optional: the incident's W3C trace)
public enum IncidentSlaCodec {
    public static let version: UInt8 = 1

    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func encode(_ state: IncidentSla, rules: SlaRules) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96)
        bytes.append(version)
        bytes.append(severityCode(state.severity))
        bytes.append(state.coverage == .twentyFourSeven ? 1 : 2)
        bytes.append(state.waitingOnCustomer ? 1 : 0)
        append(state.closedAt.bitPattern, to: &bytes)
        for clock in [state.firstResponse, state.resolution] {
            bytes.append(clock.phase.rawValue)
            bytes.append(clock.firedWarnings)
            bytes.append(clock.firedLevels)
            append(clock.since.bitPattern, to: &bytes)
            append(clock.used.bitPattern, to: &bytes)
            append(clock.breachedAt.bitPattern, to: &bytes)
        }
        append(UInt64(bitPattern: state.appliedThrough), to: &bytes)
        let name = Array(rules.calendarNames[Int(state.calendarIndex)].utf8.prefix(255))
        bytes.append(UInt8(name.count))
        bytes.append(contentsOf: name)
        if let trace = state.trace {
            bytes.append(1)
            append(trace.high, to: &bytes)
            append(trace.low, to: &bytes)
        }
        return bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, rules: SlaRules) throws(DecodingError) -> IncidentSla {
        var reader = Reader(bytes: bytes)
        let version = try reader.byte()
        guard version == Self.version else { throw DecodingError(description: "unknown SLA state version \(version)") }
        let severity: SupportSeverity
        switch try reader.byte() {
        case 1: severity = .a
        case 2: severity = .b
        case 3: severity = .c
        case let other: throw DecodingError(description: "unknown severity code \(other)")
        }
        let coverage: SlaCoverage = try reader.byte() == 1 ? .twentyFourSeven : .businessHours
        let flags = try reader.byte()
        let closedAt = Double(bitPattern: try reader.word())
        var clocks: [SlaClockState] = []
        for _ in 0..<2 {
            guard let phase = SlaClockState.Phase(rawValue: try reader.byte()) else {
                throw DecodingError(description: "unknown clock phase")
            }
            clocks.append(
                SlaClockState(
                    phase: phase, firedWarnings: try reader.byte(), firedLevels: try reader.byte(),
                    since: Double(bitPattern: try reader.word()), used: Double(bitPattern: try reader.word()),
                    breachedAt: Double(bitPattern: try reader.word())
                )
            )
        }
        // Instants and minutes feed business-calendar math, which is not meant for non-finite
        // instants and walks every day between an instant and now (a clock "started" in 1970 took
        // 21 s to restore): a corrupt record is refused instead.
        guard closedAt.isNaN || Self.plausibleInstants.contains(closedAt) else {
            throw DecodingError(description: "closedAt \(closedAt) is out of range")
        }
        for clock in clocks {
            guard clock.phase == .off || Self.plausibleInstants.contains(clock.since),
                clock.breachedAt.isNaN || Self.plausibleInstants.contains(clock.breachedAt),
                (0...Self.maximumUsedMinutes).contains(clock.used)
            else {
                throw DecodingError(
                    description: "clock since \(clock.since), used \(clock.used), breachedAt \(clock.breachedAt) is out of range")
            }
        }
        let applied = Int64(bitPattern: try reader.word())
        let length = Int(try reader.byte())
        let name = try reader.string(length)
        var trace: SlaTraceID?
        if reader.remaining >= 17, try reader.byte() == 1 {
            trace = SlaTraceID(high: try reader.word(), low: try reader.word())
        }
        var state = IncidentSla(
            severity: severity, coverage: coverage,
            calendarIndex: coverage == .twentyFourSeven ? 0 : rules.calendarIndex(named: name),
            waitingOnCustomer: flags & 1 != 0, closedAt: closedAt,
            firstResponse: clocks[0], resolution: clocks[1], appliedThrough: applied, rules: rules
        )
        state.trace = trace
        return state
    }

    /// Instants a record may hold (seconds since 1970): 2000-01-01 up to 2100-01-01.
    static let plausibleInstants: ClosedRange<Double> = 946_684_800...4_102_444_800
    /// Minutes a clock may have used: ten years.
    static let maximumUsedMinutes: Double = 10 * 366 * 24 * 60

    public static func decode(_ bytes: [UInt8], rules: SlaRules) throws(DecodingError) -> IncidentSla {
        let result: Result<IncidentSla, DecodingError> = bytes.withUnsafeBytes { buffer in
            do throws(DecodingError) { return .success(try decode(buffer, rules: rules)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func severityCode(_ severity: SupportSeverity) -> UInt8 {
        switch severity {
        case .a: 1
        case .b: 2
        case .c: 3
        }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        var remaining: Int { bytes.count - offset }

        mutating func byte() throws(DecodingError) -> UInt8 {
            guard offset < bytes.count else { throw DecodingError(description: "SLA state truncated at byte \(offset)") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func word() throws(DecodingError) -> UInt64 {
            guard offset + 8 <= bytes.count else { throw DecodingError(description: "SLA state truncated at byte \(offset)") }
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func string(_ length: Int) throws(DecodingError) -> String {
            guard offset + length <= bytes.count else { throw DecodingError(description: "SLA state truncated at byte \(offset)") }
            defer { offset += length }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), as: UTF8.self)
        }
    }
}
