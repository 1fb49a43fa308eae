/// Random event ids, as Triage's tools fill in one an event lacks (`triage publish`).
public enum RandomEventID {
    /// A random (version 4) UUID in lower case, e.g. `1b4e28ba-2fa1-4d2e-883f-0016d3cca427`,
    /// from the system's generator. Foundation's `UUID()` opens and reads /dev/urandom for each
    /// id on Linux; publishing tens of thousands of events a second, that was a tenth of the work.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return make(using: &generator)
    }

    /// The same from `generator` (tests pass a seeded one).
    public static func make(using generator: inout some RandomNumberGenerator) -> String {
        // Version 4 in the high nibble of byte 6; variant 10 in the top bits of byte 8.
        let high = (generator.next() as UInt64) & ~0xF000 | 0x4000
        let low = (generator.next() as UInt64) & ~(0xC0 << 56) | (0x80 << 56)
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, word) in [high, low].enumerated() {
            for nibble in 0..<16 {
                let position = index * 16 + nibble
                if position == 8 || position == 12 || position == 16 || position == 20 { text.append(UInt8(ascii: "-")) }
                text.append(digits[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
