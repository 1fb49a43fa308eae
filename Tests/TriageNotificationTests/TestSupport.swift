import Foundation
import TriageNotification

/// A seeded, reproducible random number generator (SplitMix64) for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `2026-03-06T16:00:00Z` plus `seconds`.
func instant(_ seconds: TimeInterval = 0) -> Date { Date(timeIntervalSince1970: 1_772_812_800 + seconds) }

/// An ISO 8601 instant.
func instant(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

/// A path relative to the repository root.
func repositoryPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}

func notification(
    to recipient: String, channel: NotificationChannel? = nil, template: String = "assigned", payload: [String: String] = [:],
    urgent: Bool = false, key: String = "evt-1/someone"
) -> OutboundNotification {
    OutboundNotification(
        idempotencyKey: key, incidentID: "INC-42", requestedAt: instant(), recipient: recipient, channel: channel, template: template,
        payload: payload, urgent: urgent)
}
