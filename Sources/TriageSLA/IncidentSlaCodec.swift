import Foundation
import TriageCore

/// The changelog encoding of an ``IncidentSla`` (docs/escalator.md): fixed-size little-endian
/// fields after a version byte, then the calendar's name (not its index, so a record stays
/// meaningful when the policy's calendars change), then optional tagged extensions.
///
///     u8 version (1) | u8 severity (1 A, 2 B, 3 C) | u8 coverage (1 24x7, 2 business hours)
///     | u8 flags (bit 0: paused, whatever the reason) | f64 closedAt (NaN = open)
///     | 2 × clock [u8 phase | u8 warnings done | u8 levels done | f64 since | f64 used | f64 breachedAt]
///     | i64 appliedThrough | u8 name length | calendar name (UTF-8)
///     [| u8 1 | u64 trace id high | u64 trace id low]   (optional: the incident's W3C trace)
///     [| u8 tag (2...) | u16 length | payload]…          (optional extensions; unknown tags skipped)
///
/// Extensions (each written only when it differs from its default, so a record of an incident
/// that uses none is byte for byte what the first version wrote, and older records decode with
/// the defaults):
///
///     tag 2 pause:    u8 name length | pause-reason name | f64 resumeAt (NaN = none)
///                     (a paused record without it is paused as waiting_on_customer)
///     tag 3 update:   u8 progress (bit 0 acknowledged, bit 1 solution delivered) | clock
///     tag 4 parties:  3 × [u8 length | UTF-8]: product, customer account, team
///
/// The trace comes first because the first version's decoder reads it only there.
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
        bytes.append(state.isPaused ? 1 : 0)
        append(state.closedAt.bitPattern, to: &bytes)
        for clock in [state.firstResponse, state.resolution] { append(clock, to: &bytes) }
        append(UInt64(bitPattern: state.appliedThrough), to: &bytes)
        let name = Array(rules.calendarNames[Int(state.calendarIndex)].utf8.prefix(255))
        bytes.append(UInt8(name.count))
        bytes.append(contentsOf: name)
        if let trace = state.trace {
            bytes.append(1)
            append(trace.high, to: &bytes)
            append(trace.low, to: &bytes)
        }
        if let reason = state.pauseReason(rules: rules), reason != SlaPolicy.waitingOnCustomer || !state.resumeAt.isNaN {
            let name = Array(reason.utf8.prefix(255))
            var payload: [UInt8] = [UInt8(name.count)] + name
            append(state.resumeAt.bitPattern, to: &payload)
            appendExtension(Self.pauseTag, payload, to: &bytes)
        }
        if state.update.phase != .off || state.progress != 0 {
            var payload: [UInt8] = [state.progress]
            append(state.update, to: &payload)
            appendExtension(Self.updateTag, payload, to: &bytes)
        }
        if let parties = state.parties, !parties.isEmpty {
            var payload: [UInt8] = []
            for text in [parties.product, parties.customer, parties.team] {
                let utf8 = Array(text.utf8.prefix(255))
                payload.append(UInt8(utf8.count))
                payload += utf8
            }
            appendExtension(Self.partiesTag, payload, to: &bytes)
        }
        return bytes
    }

    static let traceTag: UInt8 = 1
    static let pauseTag: UInt8 = 2
    static let updateTag: UInt8 = 3
    static let partiesTag: UInt8 = 4

    private static func append(_ clock: SlaClockState, to bytes: inout [UInt8]) {
        bytes.append(clock.phase.rawValue)
        bytes.append(clock.firedWarnings)
        bytes.append(clock.firedLevels)
        append(clock.since.bitPattern, to: &bytes)
        append(clock.used.bitPattern, to: &bytes)
        append(clock.breachedAt.bitPattern, to: &bytes)
    }

    private static func appendExtension(_ tag: UInt8, _ payload: [UInt8], to bytes: inout [UInt8]) {
        bytes.append(tag)
        withUnsafeBytes(of: UInt16(payload.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: payload)
    }

    private static func readClock(_ reader: inout Reader) throws(DecodingError) -> SlaClockState {
        guard let phase = SlaClockState.Phase(rawValue: try reader.byte()) else {
            throw DecodingError(description: "unknown clock phase")
        }
        return SlaClockState(
            phase: phase, firedWarnings: try reader.byte(), firedLevels: try reader.byte(),
            since: Double(bitPattern: try reader.word()), used: Double(bitPattern: try reader.word()),
            breachedAt: Double(bitPattern: try reader.word())
        )
    }

    private static func check(_ clock: SlaClockState) throws(DecodingError) {
        guard clock.phase == .off || Self.plausibleInstants.contains(clock.since),
            clock.breachedAt.isNaN || Self.plausibleInstants.contains(clock.breachedAt),
            (0...Self.maximumUsedMinutes).contains(clock.used)
        else {
            throw DecodingError(
                description: "clock since \(clock.since), used \(clock.used), breachedAt \(clock.breachedAt) is out of range")
        }
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
        let clocks = [try readClock(&reader), try readClock(&reader)]
        // Instants and minutes feed business-calendar math, which is not meant for non-finite
        // instants and walks every day between an instant and now (a clock "started" in 1970 took
        // 21 s to restore): a corrupt record is refused instead.
        guard closedAt.isNaN || Self.plausibleInstants.contains(closedAt) else {
            throw DecodingError(description: "closedAt \(closedAt) is out of range")
        }
        for clock in clocks { try check(clock) }
        let applied = Int64(bitPattern: try reader.word())
        let length = Int(try reader.byte())
        let name = try reader.string(length)
        var trace: SlaTraceID?
        var pauseReason = flags & 1 != 0 ? rules.waitingOnCustomerIndex : nil
        var resumeAt = Double.nan
        var progress: UInt8 = 0
        var update = SlaClockState.off
        var parties: SlaParties?
        while reader.remaining > 0 {
            let tag = try reader.byte()
            if tag == traceTag {
                trace = SlaTraceID(high: try reader.word(), low: try reader.word())
                continue
            }
            let length = Int(try reader.byte()) | Int(try reader.byte()) << 8
            guard length <= reader.remaining else { throw DecodingError(description: "SLA state extension \(tag) truncated") }
            var payload = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[reader.offset..<(reader.offset + length)]))
            reader.offset += length
            switch tag {
            case pauseTag:
                let reason = try payload.string(Int(try payload.byte()))
                resumeAt = Double(bitPattern: try payload.word())
                guard resumeAt.isNaN || Self.plausibleInstants.contains(resumeAt) else {
                    throw DecodingError(description: "resumeAt \(resumeAt) is out of range")
                }
                // A reason the policy no longer has pauses as waiting_on_customer does.
                if flags & 1 != 0 { pauseReason = rules.effectivePauseReasonIndex(named: reason) }
            case updateTag:
                progress = try payload.byte()
                update = try readClock(&payload)
                try check(update)
            case partiesTag:
                let product = try payload.string(Int(try payload.byte()))
                let customer = try payload.string(Int(try payload.byte()))
                let team = try payload.string(Int(try payload.byte()))
                parties = SlaParties(product: product, customer: customer, team: team)
            default:
                break  // written by a newer version: skipped
            }
        }
        var state = IncidentSla(
            severity: severity, coverage: coverage,
            calendarIndex: coverage == .twentyFourSeven ? 0 : rules.calendarIndex(named: name),
            pauseReasonIndex: pauseReason, resumeAt: resumeAt, progress: progress, closedAt: closedAt,
            firstResponse: clocks[0], resolution: clocks[1], update: update, appliedThrough: applied, rules: rules
        )
        state.trace = trace
        state.parties = parties
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
