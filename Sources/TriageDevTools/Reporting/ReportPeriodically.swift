import ServiceLifecycle

/// Calls `report` with the whole seconds elapsed every `interval` seconds until the service group
/// shuts down (the live lines of `triage dev`).
public func reportPeriodically(every interval: Double, _ report: @escaping @Sendable (Int64) async -> Void) async {
    let started = ContinuousClock.now
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            if Task.isCancelled { break }
            await report((ContinuousClock.now - started).components.seconds)
        }
    }
}
