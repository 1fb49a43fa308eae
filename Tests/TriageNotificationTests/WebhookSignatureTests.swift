import Foundation
import Testing

@testable import TriageNotification

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let key = Array("whsec_test".utf8)
    let body = Array(#"{"incident_id":"INC-1"}"#.utf8)
    let signedAt = Date(timeIntervalSince1970: 1_767_225_600)
    /// Computed independently with Python's hmac and `openssl dgst` (the recipe in docs/notifier.md).
    let expected = "t=1767225600,v1=db0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f"

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1, 2 and 6")
    func rfc4231() {
        let cases: [(key: [UInt8], data: String, mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                [UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
        ]
        for item in cases {
            // Split the message to check that pieces are concatenated.
            let data = Array(item.data.utf8)
            let mac = WebhookSignature.hmacSHA256(key: item.key, message: [Array(data.prefix(3)), Array(data.dropFirst(3))])
            #expect(WebhookSignature.hex(mac) == item.mac)
        }
    }

    @Test("sign produces t=<seconds>,v1=<hex HMAC of \"<t>.\" + body>, whole seconds")
    func sign() throws {
        #expect(WebhookSignature.sign(body: body, key: key, at: signedAt) == expected)
        #expect(WebhookSignature.sign(body: body, key: key, at: signedAt.addingTimeInterval(0.999)) == expected)
        try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt)
    }

    @Test("one prepared signer signs body after body as a fresh signature would, the RFC 4231 key sizes included")
    func reusedSigner() throws {
        let signer = WebhookSignature.Signer(key: key)
        #expect(signer.sign(body: body, at: signedAt) == expected)
        // The prepared state is copied per signature: earlier bodies leave nothing behind.
        var random = SystemRandomNumberGenerator()
        for keyLength in [1, 20, 64, 65, 131] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
            let signer = WebhookSignature.Signer(key: key)
            for length in [0, 1, 55, 56, 63, 64, 65, 1000] {
                let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                let at = signedAt.addingTimeInterval(Double(length))
                let header = signer.sign(body: body, at: at)
                #expect(header == WebhookSignature.sign(body: body, key: key, at: at))
                #expect(header.hasPrefix("t=\(Int(at.timeIntervalSince1970)),v1="))
                try WebhookSignature.verify(header: header, body: body, key: key, now: at)
            }
        }
    }

    @Test("an altered body, timestamp, signature or key is a mismatch")
    func tampering() {
        var alteredBody = body
        alteredBody[5] ^= 0x01
        let otherTime = expected.replacingOccurrences(of: "t=1767225600", with: "t=1767225601")
        let flipped = String(expected.dropLast()) + (expected.hasSuffix("f") ? "e" : "f")
        for (header, body, key) in [
            (expected, alteredBody, key), (otherTime, body, key), (flipped, body, key), (expected, body, Array("whsec_other".utf8)),
            (expected, body + [0x20], key),
        ] {
            #expect(code { try WebhookSignature.verify(header: header, body: body, key: key, now: signedAt) } == .mismatch)
        }
    }

    @Test("timestamps exactly at the tolerance pass; one second beyond is stale, either way")
    func tolerance() throws {
        try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(300))
        try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(-300))
        #expect(
            code { try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(301)) } == .stale)
        #expect(
            code { try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(-301)) } == .stale)
        try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(3600), tolerance: 3600)
        #expect(
            code {
                try WebhookSignature.verify(header: expected, body: body, key: key, now: signedAt.addingTimeInterval(11), tolerance: 10)
            } == .stale)
    }

    @Test("rotation: one matching v1 among several suffices; unknown schemes and spaces are ignored")
    func rotation() throws {
        let old = WebhookSignature.sign(body: body, key: Array("old".utf8), at: signedAt)
        let v1Old = old.split(separator: ",")[1]
        try WebhookSignature.verify(header: "\(expected), \(v1Old), v0=zzz", body: body, key: key, now: signedAt)
        try WebhookSignature.verify(
            header: "\(expected.uppercased().replacingOccurrences(of: "T=", with: "t=").replacingOccurrences(of: "V1=", with: "v1="))",
            body: body, key: key, now: signedAt)
    }

    @Test(
        "malformed headers are refused before any HMAC",
        arguments: [
            "", "v1=db0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f", "t=1767225600", "t=1767225600,v1=abc",
            "t=abc,v1=db0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f",
            "t=-5,v1=db0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f",
            "t=1,t=2,v1=db0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f",
            "t=1767225600,v1=zz0821ee6f3def27db550f1d4308223911548cd06b7a4707d80f7392b2146f8f", "t=1767225600;v1=00",
        ])
    func malformed(_ header: String) {
        #expect(code { try WebhookSignature.verify(header: header, body: body, key: key, now: signedAt) } == .malformed)
    }

    @Test("constant-time comparison compares whole values")
    func comparison() {
        #expect(WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2]))
    }

    /// The code of the signature error `body` throws; `nil` if it passes.
    private func code(_ body: () throws -> Void) -> WebhookSignatureError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? WebhookSignatureError)?.code
        }
    }
}
