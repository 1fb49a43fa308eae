import Testing
import TriageRouterWorker
import TriageRouting
import TriageStreams

@Suite("Desk log fencing: after a takeover's fence only its writer's records count")
struct DeskLogFencingTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func beforeAnyFenceEveryRecordCountsAndTheLastPerKeyWins() {
        var log = FencedLog(fencing: .deskLog)
        log.add(key: bytes("tier-1"), value: bytes("v1"), writer: nil)
        log.add(key: bytes("tier-1"), value: bytes("v2"), writer: "a-1")
        log.add(key: bytes("tier-2"), value: nil, writer: nil)
        #expect(log.writer == nil)
        #expect(log.latest[bytes("tier-1")] == .some(bytes("v2")))
        #expect(log.latest[bytes("tier-2")] == .some(nil), "a tombstone is kept as the key's latest value")
        #expect(log.ignored == 0)
    }

    @Test func recordsOfAnotherWriterAfterAFenceAreIgnored() {
        var log = FencedLog(fencing: .deskLog)
        log.add(key: bytes("tier-1"), value: bytes("by a, before any fence"), writer: "a-1")
        log.add(key: DeskLog.fenceKey, value: bytes("b-1"), writer: "b-1")
        // A's late step (it lost the partition without knowing): ignored.
        log.add(key: bytes("tier-1"), value: bytes("late write of a"), writer: "a-1")
        log.add(key: bytes("tier-1\u{1F}INC-1"), value: bytes("late queue entry of a"), writer: "a-1")
        log.add(key: bytes("tier-3"), value: bytes("no writer"), writer: nil)
        #expect(log.writer == "b-1")
        #expect(log.ignored == 3)
        #expect(log.latest[bytes("tier-1")] == .some(bytes("by a, before any fence")))
        #expect(log.latest[bytes("tier-1\u{1F}INC-1")] == nil)
        #expect(log.latest[bytes("tier-3")] == nil)
        // B's own writes count, tombstones too.
        log.add(key: bytes("tier-1"), value: bytes("by b"), writer: "b-1")
        log.add(key: bytes("tier-2"), value: nil, writer: "b-1")
        #expect(log.latest[bytes("tier-1")] == .some(bytes("by b")))
        #expect(log.latest[bytes("tier-2")] == .some(nil))
        #expect(log.latest[DeskLog.fenceKey] == nil, "fences are not desk records")
        #expect(log.fences == 1)
    }

    @Test func theLastFenceDecidesEvenWhenAnOlderWriterFencesAgain() {
        var log = FencedLog(fencing: .deskLog)
        log.add(key: DeskLog.fenceKey, value: bytes("a-1"), writer: "a-1")
        log.add(key: DeskLog.fenceKey, value: bytes("b-1"), writer: "b-1")
        log.add(key: bytes("tier-1"), value: bytes("b"), writer: "b-1")
        // A takes the partition over again (a new takeover, a new token): B's later writes stop counting.
        log.add(key: DeskLog.fenceKey, value: bytes("a-2"), writer: "a-2")
        log.add(key: bytes("tier-1"), value: bytes("late b"), writer: "b-1")
        log.add(key: bytes("tier-1"), value: bytes("stale token of a"), writer: "a-1")
        #expect(log.writer == "a-2")
        #expect(log.latest[bytes("tier-1")] == .some(bytes("b")))
        #expect(log.ignored == 2)
        #expect(log.fences == 3)
    }

    @Test func aForeignFenceIsAnotherWritersFenceOnly() {
        let fencing = ChangelogFencing.deskLog
        func foreign(_ key: [UInt8], _ value: [UInt8]?, me: String) -> Bool {
            guard let value else { return fencing.isForeignFence(key: key, value: nil, me: me) }
            return value.withUnsafeBytes { fencing.isForeignFence(key: key, value: $0, me: me) }
        }
        #expect(!foreign(DeskLog.fenceKey, bytes("a-1"), me: "a-1"))
        #expect(foreign(DeskLog.fenceKey, bytes("b-7"), me: "a-1"))
        #expect(!foreign(bytes("tier-1"), nil, me: "a-1"))
        #expect(!foreign(bytes("tier-1"), bytes("b-7"), me: "a-1"))
        #expect(fencing.isFence(key: DeskLog.fenceKey))
        #expect(!fencing.isFence(key: bytes("fence")))
    }
}
