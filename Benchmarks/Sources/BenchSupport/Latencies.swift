import Histogram
import Synchronization

/// Latencies recorded into an HdrHistogram (microsecond resolution, 3 significant digits, up to
/// one hour), safe to record into from any task or thread.
public final class Latencies: Sendable {
    private let histogram: Mutex<Histogram<UInt64>>

    public init() {
        histogram = Mutex(
            Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three))
    }

    /// Records one latency; negative values (clock skew between two clocks) count as zero.
    public func record(seconds: Double) {
        let microseconds = UInt64(max(0, min(seconds, 3_600) * 1_000_000).rounded())
        histogram.withLock { _ = $0.record(max(1, microseconds)) }
    }

    public func reset() { histogram.withLock { $0.reset() } }

    public var count: Int { histogram.withLock { Int($0.totalCount) } }

    /// The summary of everything recorded so far.
    public var summary: LatencySummary {
        histogram.withLock { histogram in
            guard histogram.totalCount > 0 else { return LatencySummary(count: 0, p50: .nan, p99: .nan, p999: .nan, max: .nan) }
            func ms(_ value: UInt64) -> Double { Double(value) / 1_000 }
            return LatencySummary(
                count: Int(histogram.totalCount), p50: ms(histogram.valueAtPercentile(50)), p99: ms(histogram.valueAtPercentile(99)),
                p999: ms(histogram.valueAtPercentile(99.9)), max: ms(histogram.max)
            )
        }
    }
}

/// Percentiles of a ``Latencies``, in milliseconds.
public struct LatencySummary: Sendable, Codable {
    public var count: Int
    public var p50: Double
    public var p99: Double
    public var p999: Double
    public var max: Double

    /// "p50 1.2 ms  p99 3.4 ms  p99.9 5.6 ms  max 7.8 ms"
    public var text: String {
        func f(_ value: Double) -> String { value < 10 ? String(format: "%.2f", value) : String(format: "%.1f", value) }
        return "p50 \(f(p50)) ms  p99 \(f(p99)) ms  p99.9 \(f(p999)) ms  max \(f(max)) ms"
    }
}
