import Foundation
import Testing
import TriageNotification

@Suite("Delivery ledger")
struct DeliveryLedgerTests {
    @Test("a key is contained from its delivery until the window has passed, not at its end")
    func windowEdges() {
        var ledger = DeliveryLedger(window: 3600)
        ledger.record("evt-1/ann|mail", at: instant(0))
        #expect(ledger.contains("evt-1/ann|mail", at: instant(0)))
        #expect(ledger.contains("evt-1/ann|mail", at: instant(3599.999)))
        #expect(!ledger.contains("evt-1/ann|mail", at: instant(3600)))
        #expect(!ledger.contains("evt-2/ann|mail", at: instant(1)))
        // Delivered "later" by a worker whose clock runs ahead: still a duplicate.
        #expect(ledger.contains("evt-1/ann|mail", at: instant(-10)))
    }

    @Test("recording evicts expired keys; a re-recorded key keeps its latest time")
    func eviction() {
        var ledger = DeliveryLedger(window: 100)
        ledger.record("a", at: instant(0))
        ledger.record("b", at: instant(50))
        ledger.record("a", at: instant(60))
        ledger.record("a", at: instant(10))  // older than what is known: ignored
        #expect(ledger.count == 2)
        ledger.record("c", at: instant(155))  // b expires at 150; a (recorded again at 60) stays
        #expect(ledger.count == 2)
        #expect(ledger.contains("a", at: instant(155)) && !ledger.contains("b", at: instant(155)))
        ledger.evict(before: instant(1000))
        #expect(ledger.count == 0)
    }

    @Test("memory is bounded: past capacity the oldest keys go first")
    func capacity() {
        var ledger = DeliveryLedger(window: 86_400, capacity: 1000)
        for index in 0..<5000 { ledger.record("key-\(index)", at: instant(Double(index))) }
        #expect(ledger.count == 1000)
        #expect(!ledger.contains("key-3999", at: instant(5000)))
        #expect(ledger.contains("key-4000", at: instant(5000)) && ledger.contains("key-4999", at: instant(5000)))
    }

    @Test("changelog records round-trip, with millisecond precision and any UTF-8 key")
    func codecRoundTrip() throws {
        for record in [
            DeliveryLedger.Record(key: "evt-1/ann|mail", deliveredAt: instant(0.125)),
            DeliveryLedger.Record(
                key: "INC-7/first_response/2026-03-06T17:00:00Z/level-2/jürgen|chat ✓", deliveredAt: instant(-86_400 * 365 * 60)),
        ] {
            let bytes = record.encoded()
            #expect(bytes.count == 9 + record.key.utf8.count && bytes[0] == 1)
            #expect(try DeliveryLedger.Record(decoding: bytes) == record)
        }
        var ledger = DeliveryLedger()
        ledger.restore(try DeliveryLedger.Record(decoding: DeliveryLedger.Record(key: "k", deliveredAt: instant(5)).encoded()))
        #expect(ledger.contains("k", at: instant(6)))
    }

    @Test(
        "garbage is a typed error, never a crash",
        arguments: [
            ([], NotificationRecordError.Code.malformed), ([1], .malformed), ([1, 0, 0, 0, 0, 0, 0, 0, 0], .malformed),
            ([2, 0, 0, 0, 0, 0, 0, 0, 0, 65], .unsupportedVersion), ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe], .malformed),
        ] as [([UInt8], NotificationRecordError.Code)])
    func garbage(_ bytes: [UInt8], _ code: NotificationRecordError.Code) {
        #expect(throws: NotificationRecordError.self) { try DeliveryLedger.Record(decoding: bytes) }
        do {
            _ = try DeliveryLedger.Record(decoding: bytes)
        } catch {
            #expect(error.code == code)
        }
    }

    @Test("property: random bytes never crash the decoder (fixed seed)")
    func randomBytes() {
        var random = SplitMix64(seed: 2026)
        var decoded = 0
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...24, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if (try? DeliveryLedger.Record(decoding: [1] + bytes)) != nil { decoded += 1 }
        }
        #expect(decoded > 0 && decoded < 2000)
    }
}
