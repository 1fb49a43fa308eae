import Crypto
import Foundation

/// The `request_id` of an intake call, derived from the form's nonce (a random value in every
/// rendered form): the same form sent twice (a double click, a browser retry) makes the same
/// request id, so the intake gives the same event id, and the console's ``SubmittedForms``
/// sends it once.
public enum ActionRequestID {
    /// `console-` and 32 hex digits of SHA-256 over who, what, on what, and the nonce.
    public static func make(username: String, action: String, target: String, nonce: String) -> String {
        let digest = SHA256.hash(data: Data("\(username)\n\(action)\n\(target)\n\(nonce)".utf8))
        return "console-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh nonce for a form: 128 random bits, hex.
    public static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}
