import Crypto
public import Foundation

/// The `Triage-Signature` header of webhook deliveries, by which receivers know a delivery came
/// from Triage, unaltered and recently:
///
///     Triage-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(key, "<t>." + body bytes)>
///
/// Receivers recompute the HMAC over the exact body bytes, compare in constant time and refuse
/// timestamps more than ``defaultTolerance`` (300 s) from their clock; docs/notifier.md has the
/// recipe with Python and `openssl`. A header may carry several `v1=` entries (one per key while
/// keys are rotated); one match suffices. Unknown schemes (`v0=`, `v2=`) are ignored.
public enum WebhookSignature {
    public static let headerName = "Triage-Signature"
    /// How far a signature's timestamp may be from the receiver's clock, either way. 300 s.
    public static let defaultTolerance: TimeInterval = 300

    /// The header value for `body` signed with `key` at `instant` (whole seconds).
    public static func sign(body: some DataProtocol, key: some DataProtocol, at instant: Date) -> String {
        Signer(key: key).sign(body: body, at: instant)
    }

    /// Signs with one key, prepared once: a sender signing every delivery with the same key
    /// keeps one instead of deriving the HMAC's key state for each.
    public struct Signer: Sendable {
        private let prepared: HMAC<SHA256>

        public init(key: some DataProtocol) {
            prepared = HMAC<SHA256>(key: SymmetricKey(data: Array(key)))
        }

        /// The header value for `body` signed at `instant` (whole seconds).
        public func sign(body: some DataProtocol, at instant: Date) -> String {
            let timestamp = Int64(instant.timeIntervalSince1970.rounded(.down))
            var hmac = prepared
            hmac.update(data: Array("\(timestamp).".utf8))
            hmac.update(data: body)
            return "t=\(timestamp),v1=\(hex(hmac.finalize()))"
        }
    }

    /// Checks a header against `body`, `key` and `now`.
    ///
    /// - Throws: ``WebhookSignatureError``: ``WebhookSignatureError/Code/malformed`` (not
    ///   `t=...,v1=...`), ``WebhookSignatureError/Code/mismatch`` (no `v1` matches: another key,
    ///   or an altered body or timestamp), ``WebhookSignatureError/Code/stale`` (authentic, but
    ///   its timestamp is more than `tolerance` away from `now`: a replay or a skewed clock).
    public static func verify(
        header: String, body: some DataProtocol, key: some DataProtocol, now: Date, tolerance: TimeInterval = defaultTolerance
    ) throws(WebhookSignatureError) {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw WebhookSignatureError(code: .malformed, message: "'\(part)' is not NAME=VALUE") }
            switch pair[0] {
            case "t":
                guard timestamp == nil, !pair[1].isEmpty, pair[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(pair[1])
                else {
                    throw WebhookSignatureError(code: .malformed, message: "t must be one whole number of seconds since 1970")
                }
                timestamp = value
            case "v1":
                guard let bytes = bytes(hex: pair[1]), bytes.count == SHA256.byteCount else {
                    throw WebhookSignatureError(code: .malformed, message: "v1 must be \(SHA256.byteCount * 2) hexadecimal digits")
                }
                signatures.append(bytes)
            default:
                continue
            }
        }
        guard let timestamp else { throw WebhookSignatureError(code: .malformed, message: "no t= timestamp") }
        guard !signatures.isEmpty else { throw WebhookSignatureError(code: .malformed, message: "no v1= signature") }
        let expected = authenticationCode(timestamp: timestamp, body: body, key: key)
        // Every candidate is compared in full, so timing tells nothing about which or how much matched.
        let matched = signatures.reduce(false) { constantTimeEquals($1, expected) || $0 }
        guard matched else { throw WebhookSignatureError(code: .mismatch, message: "no v1 signature matches the body with this key") }
        let age = now.timeIntervalSince1970 - Double(timestamp)
        guard abs(age) <= tolerance else {
            throw WebhookSignatureError(
                code: .stale,
                message: "signed \(Int(abs(age))) s \(age >= 0 ? "ago" : "in the future"), more than the tolerated \(Int(tolerance)) s")
        }
    }

    // MARK: Internals

    static func authenticationCode(timestamp: Int64, body: some DataProtocol, key: some DataProtocol) -> [UInt8] {
        hmacSHA256(key: key, message: [Array("\(timestamp).".utf8), Array(body)])
    }

    /// HMAC-SHA256 of the concatenated `message` pieces.
    static func hmacSHA256(key: some DataProtocol, message: [[UInt8]]) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Array(key)))
        for piece in message { hmac.update(data: piece) }
        return Array(hmac.finalize())
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        var text: [UInt8] = []
        text.reserveCapacity(SHA256.byteCount * 2)
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String {
        code.withUnsafeBytes { hex($0) }
    }

    /// Accepts either case of hex digits (the header is lowercase; a proxy might not keep it).
    static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Int(String(UnicodeScalar(digits[index])), radix: 16),
                let low = Int(String(UnicodeScalar(digits[index + 1])), radix: 16)
            else { return nil }
            bytes.append(UInt8(high << 4 | low))
        }
        return bytes
    }
}

/// Why a `Triage-Signature` header was refused.
public struct WebhookSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Compare against the `static let` cases; new cases never break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not `t=<seconds>,v1=<64 hex digits>`.
        public static let malformed = Code(rawValue: "malformed")
        /// Authentic, but signed too long ago (or too far ahead).
        public static let stale = Code(rawValue: "stale")
        /// No signature matches: another key, or the body or timestamp was altered.
        public static let mismatch = Code(rawValue: "mismatch")
    }

    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
