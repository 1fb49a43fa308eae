import Foundation

/// A W3C trace context (`traceparent: 00-<trace id>-<parent span id>-<flags>`), carried in the
/// `traceparent` Kafka header from the intake to the notification: every record a worker
/// publishes because of another record continues that record's trace with a new span id.
public struct TraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 16 bytes as 32 lowercase hex digits, never all zero.
    public let traceID: String
    /// 8 bytes as 16 lowercase hex digits, never all zero.
    public let spanID: String
    public let flags: UInt8

    /// Parses a `traceparent` value; `nil` unless it is a valid version-00 header (or a later
    /// version with at least the version-00 fields, as the spec asks).
    public init?(traceparent: String) {
        // Trimming goes through Foundation's string bridge: only when there is anything to trim.
        let padded = traceparent.first?.isWhitespace == true || traceparent.last?.isWhitespace == true
        let parts = (padded ? traceparent.trimmingCharacters(in: .whitespaces) : traceparent)
            .split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", Self.isHex(parts[0]),
            parts[1].count == 32, Self.isHex(parts[1]), parts[1] != Substring(String(repeating: "0", count: 32)),
            parts[2].count == 16, Self.isHex(parts[2]), parts[2] != Substring(String(repeating: "0", count: 16)),
            parts[3].count == 2, Self.isHex(parts[3]), let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        if parts[0] == "00" && parts.count != 4 { return nil }
        traceID = parts[1].lowercased()
        spanID = parts[2].lowercased()
        self.flags = flags
    }

    public init(traceID: String, spanID: String, flags: UInt8 = 1) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// A new trace (sampled).
    public static func newTrace() -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), flags: 1)
    }

    /// The same trace, a new span: what a record published because of this one carries.
    public func child() -> TraceContext { TraceContext(traceID: traceID, spanID: Self.randomHex(bytes: 8), flags: flags) }

    public var traceparent: String { "00-\(traceID)-\(spanID)-" + Self.hex([flags]) }
    public var description: String { traceparent }

    private static func isHex(_ text: Substring) -> Bool { text.allSatisfy(\.isHexDigit) }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            // Eight bytes per draw: each draw is a system call.
            var value: [UInt8] = []
            value.reserveCapacity(bytes + 7)
            while value.count < bytes { withUnsafeBytes(of: generator.next() as UInt64) { value += $0 } }
            value.removeLast(value.count - bytes)
            if value.contains(where: { $0 != 0 }) { return hex(value) }
        }
    }

    /// Lowercase hex digits (`String(format:)` per byte cost the intake a twentieth of its CPU).
    private static func hex(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            for (index, byte) in bytes.enumerated() {
                buffer[2 * index] = hexDigits[Int(byte >> 4)]
                buffer[2 * index + 1] = hexDigits[Int(byte & 0x0f)]
            }
            return bytes.count * 2
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
