import Logging
import Synchronization
import Testing
import TriageKafka
import TriageStreams

/// Waiting on a topic view for a key written elsewhere a moment ago (the intake's lookups of an
/// incident its directory view has not read yet). The views here never follow their topic:
/// values arrive through `remember`, as a record read by the follower would.
@Suite("A topic view wakes whoever waits for a key")
struct KeyedTopicViewTests {
    final class Answers: Sendable { let values = Mutex<[String?]>([]) }

    func view() -> KeyedTopicView<String> {
        KeyedTopicView<String>(
            topic: "unread", partitions: [0], client: KafkaClientConfiguration(bootstrap: "127.0.0.1:1"), logger: Logger(label: "test")
        ) { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aValueAlreadyThereIsReturnedAtOnce() async {
        let view = view()
        view.remember("k", "v")
        #expect(await view.value(for: "k", within: .zero) == "v")
    }

    @Test func aValueStoredWhileWaitingWakesEveryWaiterOfItsKey() async {
        let view = view()
        let answers = Answers()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let value = await view.value(for: "k", within: .seconds(60))
                    answers.values.withLock { $0.append(value) }
                }
            }
            // Other keys wake nobody; the waiters are registered before "k" is stored.
            while view.waiting(for: "k") < 20 { await Task.yield() }
            view.remember("other", "x")
            #expect(answers.values.withLock { $0.isEmpty })
            view.remember("k", "v")
        }
        #expect(answers.values.withLock { $0 } == Array(repeating: "v", count: 20))
        #expect(view.waiting(for: "k") == 0)
    }

    @Test func aValueTheWaiterDoesNotAcceptKeepsItWaiting() async {
        let view = view()
        let waiting = Task { await view.value(for: "k", within: .seconds(60)) { $0 != "empty" } }
        while view.waiting(for: "k") < 1 { await Task.yield() }
        view.remember("k", "empty")
        #expect(view.waiting(for: "k") == 1)
        view.remember("k", "full")
        #expect(await waiting.value == "full")
    }

    @Test func nothingWithinTheTimeIsNil() async {
        let view = view()
        #expect(await view.value(for: "k", within: .milliseconds(50)) == nil)
        #expect(view.waiting(for: "k") == 0)
    }

    /// A cancelled wait ends at once, not when its minute is up.
    @Test func aCancelledWaitEndsWithNil() async throws {
        let view = view()
        let waiting = Task { await view.value(for: "k", within: .seconds(3_600)) }
        while view.waiting(for: "k") < 1 { await Task.yield() }
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(view.waiting(for: "k") == 0)
        // Cancelled before it began: nil too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await view.value(for: "k", within: .seconds(3_600))
        }
        #expect(await early.value == nil)
    }
}
