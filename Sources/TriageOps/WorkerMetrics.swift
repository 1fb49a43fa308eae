import Metrics

/// The figures every worker reports through swift-metrics (a Prometheus `/metrics` endpoint in
/// the executables; nothing at all when no metrics backend is bootstrapped):
///
/// - `triage_events_processed_total{worker}`: records handled (applied, dropped as duplicates or
///   dead-lettered);
/// - `triage_processing_seconds{worker}`: how long each batch took, as a histogram;
/// - `triage_dead_lettered_total{worker}`: poison records sent to the dead-letter topic;
/// - `triage_errors_total{worker}`: failures a worker recovered from (a failed delivery, a call
///   answered with an error);
/// - `triage_consumer_lag{worker,topic}`: records not yet processed (``ConsumerLagReporter``).
public struct WorkerMetrics: Sendable {
    public let worker: String
    private let processedCounter: Counter
    private let deadLetterCounter: Counter
    private let errorCounter: Counter
    private let batchTimer: Metrics.Timer

    public init(worker: String) {
        self.worker = worker
        let dimensions = [("worker", worker)]
        processedCounter = Counter(label: "triage_events_processed_total", dimensions: dimensions)
        deadLetterCounter = Counter(label: "triage_dead_lettered_total", dimensions: dimensions)
        errorCounter = Counter(label: "triage_errors_total", dimensions: dimensions)
        batchTimer = Metrics.Timer(label: "triage_processing_seconds", dimensions: dimensions)
    }

    /// A batch of `count` records was handled; it started at `start`.
    public func processed(_ count: Int, since start: ContinuousClock.Instant) {
        guard count > 0 else { return }
        processedCounter.increment(by: count)
        batchTimer.recordInterval(since: start)
    }

    public func deadLettered(_ count: Int = 1) {
        if count > 0 { deadLetterCounter.increment(by: count) }
    }

    public func failed(_ count: Int = 1) {
        if count > 0 { errorCounter.increment(by: count) }
    }
}

extension Metrics.Timer {
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).components
        recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}
