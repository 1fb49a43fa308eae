import Foundation
import Testing

@testable import TriageSchema

/// The validator's own checks that replaced Foundation calls (issue 24) say what those said.
@Suite("Validation without Foundation on the hot path")
struct ValidationFastPathTests {
    /// A small seeded generator, so a failure names a reproducible case.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func blankMeansWhatTrimmingWhitespaceMeant() {
        // Spaces of every kind, tab, and characters that are not white space to `.whitespaces`
        // (line breaks, zero-width space, letters).
        let pieces: [String] = [
            " ", "\t", "\u{00A0}", "\u{2003}", "\u{3000}", "\u{202F}", "\n", "\r", "\u{200B}", "\u{FEFF}", "a", "é", "😀", "",
        ]
        var generator = Seeded(state: 24)
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(
                IncidentEventValidator.isBlank(text) == text.trimmingCharacters(in: .whitespaces).isEmpty,
                "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test func everyScalarIsWhiteSpaceExactlyWhenFoundationSaysSo() {
        let whitespace = CharacterSet.whitespaces
        var disagreements: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if IncidentEventValidator.isBlank(String(scalar)) != whitespace.contains(scalar) {
                disagreements.append("U+" + String(value, radix: 16))
            }
        }
        #expect(disagreements.isEmpty)
    }

    @Test func timeZonesAreJudgedAsFoundationJudgesThem() {
        let names =
            TimeZone.knownTimeZoneIdentifiers.prefix(50) + ["UTC", "GMT", "Europe/Berlin", "Mars/Olympus", "", "europe/berlin", "GMT+2"]
        for _ in 0..<2 {  // the second time from memory
            for name in names {
                #expect(IncidentEventValidator.isTimeZone(name) == (TimeZone(identifier: name) != nil), "\(name)")
            }
        }
    }

    @Test func randomEventIDsAreVersionFourUUIDsInLowerCase() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RandomEventID.make()
            #expect(id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil, "\(id)")
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
        // The same generator state gives the same id; every bit outside version and variant varies.
        var one = Seeded(state: 7)
        var two = Seeded(state: 7)
        #expect(RandomEventID.make(using: &one) == RandomEventID.make(using: &two))
        var zeros = ZeroGenerator()
        #expect(RandomEventID.make(using: &zeros) == "00000000-0000-4000-8000-000000000000")
        var ones = OnesGenerator()
        #expect(RandomEventID.make(using: &ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
    }

    struct ZeroGenerator: RandomNumberGenerator { mutating func next() -> UInt64 { 0 } }
    struct OnesGenerator: RandomNumberGenerator { mutating func next() -> UInt64 { .max } }
}
