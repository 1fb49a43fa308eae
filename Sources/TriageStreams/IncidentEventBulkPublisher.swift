public import TriageKafka
public import TriageSchema

/// Publishes many lifecycle events at the broker's pace, not one round trip per event
/// (`triage publish --file`): events are validated and handed to the producer in chunks, several
/// chunks in flight at once, in input order (so the events of one incident keep their order),
/// and every entry's outcome is reported in input order as soon as it and those before it are known.
///
/// When the broker does not take a chunk within the producer's `message.timeout.ms` (the cluster
/// went away), nothing more is handed over: the chunks in flight are reported as they come back
/// and every later entry fails as not sent, instead of each chunk waiting out the timeout in turn.
public struct IncidentEventBulkPublisher: Sendable {
    /// What became of one entry of the input.
    public struct Outcome: Sendable {
        /// 1-based line the entry starts on.
        public let line: Int
        /// The event as published (with the ids and stamps `prepare` filled in), or `nil` when
        /// the entry was not an event.
        public let event: IncidentEvent?
        /// Where the event was stored, or why it was not published.
        public let result: Result<KafkaDeliveryReport, Failure>
    }

    /// Why an entry was not published: not an event, invalid, or refused by Kafka.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public let publisher: IncidentEventPublisher
    /// Events handed to the producer together. Default 1,000.
    public var chunkSize: Int
    /// Chunks handed over and not yet fully acknowledged before the next waits. Default 16.
    public var chunksInFlight: Int

    public init(publisher: IncidentEventPublisher, chunkSize: Int = 1_000, chunksInFlight: Int = 16) {
        self.publisher = publisher
        self.chunkSize = max(1, chunkSize)
        self.chunksInFlight = max(1, chunksInFlight)
    }

    /// Publishes every event of `entries` in order. `prepare` completes an event before it is
    /// validated (e.g. a missing id or time); `report` is called once per entry, in input order.
    /// Returns how many were published and how many failed.
    public func publish(
        _ entries: [IncidentEventText.Entry], prepare: (inout IncidentEvent) -> Void, report: (Outcome) -> Void
    ) async -> (published: Int, failed: Int) {
        let (done, delivered) = AsyncStream.makeStream(of: (chunk: Int, results: [Result<KafkaDeliveryReport, KafkaError>]).self)
        var finished = done.makeAsyncIterator()
        // Per chunk: its entries, each either a local failure or the index of its record.
        var chunks: [[(line: Int, event: IncidentEvent?, local: Failure?)]] = []
        var arrived: [Int: [Result<KafkaDeliveryReport, KafkaError>]] = [:]
        var reported = 0
        var published = 0
        var failed = 0
        /// Why no more chunks are handed over: a record timed out waiting for the broker.
        var stopped: (line: Int, error: KafkaError)?

        func reportChunk(_ index: Int, _ results: [Result<KafkaDeliveryReport, KafkaError>]) {
            var next = 0
            for entry in chunks[index] {
                let result: Result<KafkaDeliveryReport, Failure>
                if let local = entry.local {
                    result = .failure(local)
                } else {
                    result = results[next].mapError { Failure(message: "\($0)") }
                    if case .failure(let error) = results[next], error.code == .messageTimedOut, stopped == nil {
                        stopped = (entry.line, error)
                    }
                    next += 1
                }
                if case .success = result { published += 1 } else { failed += 1 }
                report(Outcome(line: entry.line, event: entry.event, result: result))
            }
            chunks[index] = []
        }
        func awaitOne() async {
            guard let (chunk, results) = await finished.next() else { return }
            arrived[chunk] = results
            while let results = arrived.removeValue(forKey: reported) {
                reportChunk(reported, results)
                reported += 1
            }
        }

        var start = entries.startIndex
        while start < entries.endIndex, stopped == nil {
            let end = entries.index(start, offsetBy: chunkSize, limitedBy: entries.endIndex) ?? entries.endIndex
            var described: [(line: Int, event: IncidentEvent?, local: Failure?)] = []
            var records: [KafkaProducerMessage] = []
            described.reserveCapacity(end - start)
            records.reserveCapacity(end - start)
            for entry in entries[start..<end] {
                switch entry.event {
                case .failure(let problem):
                    described.append((entry.line, nil, Failure(message: problem.message)))
                case .success(var event):
                    prepare(&event)
                    do {
                        try publisher.validator.validate(event)
                        records.append(try publisher.record(for: event))
                        described.append((entry.line, event, nil))
                    } catch {
                        described.append((entry.line, event, Failure(message: "\(error)")))
                    }
                }
            }
            let chunk = chunks.count
            chunks.append(described)
            await publisher.producer.submitEach(records) { delivered.yield((chunk, $0)) }
            start = end
            while chunks.count - reported >= chunksInFlight { await awaitOne() }
        }
        while reported < chunks.count { await awaitOne() }
        delivered.finish()
        if let stopped {
            // The chunks handed over were reported above; every later entry was never sent.
            let reason = Failure(
                message:
                    "not sent: line \(stopped.line) was not delivered within the delivery timeout (\(stopped.error)), so the rest of the input was not published"
            )
            for entry in entries[start...] {
                failed += 1
                report(Outcome(line: entry.line, event: try? entry.event.get(), result: .failure(reason)))
            }
        }
        return (published, failed)
    }
}
