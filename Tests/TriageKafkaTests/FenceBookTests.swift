import Logging
import Testing
@testable import TriageKafka
@testable import TriageStreams

/// When a fenced changelog's writer must read a partition back after its own writes.
@Suite("Fence checks read only real gaps")
struct FenceBookTests {
    let book = FenceBook(
        topic: "state", fencing: ChangelogFencing(writerHeader: "writer"), client: KafkaClientConfiguration(),
        logger: Logger(label: "test"))

    func stored(_ offsets: Int64..., partition: Int32 = 0) {
        book.stored(offsets.map { KafkaDeliveryReport(topic: "state", partition: partition, offset: $0, timestamp: nil) })
    }

    /// Regression (issue 24): a later pipelined step acknowledged before the step in between made
    /// the earlier step's check read the partition back (0.1–1 s on the embedded broker).
    @Test func laterStepsAcknowledgedFirstLeaveNoGapBelowTheCheckedRecords() {
        book.take(0, writer: "me-1", through: 10)
        stored(11, 12)  // step 1
        stored(15, 16)  // step 3, acknowledged before step 2 (13, 14)
        #expect(book.gap(in: 0, through: 12) == nil)
        stored(13, 14)
        #expect(book.gap(in: 0, through: 16) == nil)
    }

    @Test func anOffsetNotOursBelowTheCheckedRecordsIsAGap() {
        book.take(0, writer: "me-1", through: 10)
        stored(11)
        stored(13)  // 12 is somebody else's
        let gap = book.gap(in: 0, through: 13)
        #expect(gap?.from == 12)
        #expect(gap?.writer == "me-1")
    }

    @Test func partitionsNotTakenHaveNoGapAndRecordsAlreadyVerifiedNeedNoRead() {
        #expect(book.gap(in: 3, through: 100) == nil)
        book.take(1, writer: "me-2", through: 50)
        #expect(book.gap(in: 1, through: 40) == nil)
        #expect(book.gap(in: 1, through: 51)?.from == 51)
    }
}
