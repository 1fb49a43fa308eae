public import Foundation
public import ServiceLifecycle
public import TriageEscalator

/// Publishes the roster once at start (as `triage agents apply` does), then idles. `publish` is
/// given the run's SLA time now.
public struct RosterPublisher: Service {
    let publish: @Sendable (Date) async throws -> Void
    let clock: any SlaTimeSource

    public init(clock: any SlaTimeSource, publish: @escaping @Sendable (Date) async throws -> Void) {
        self.clock = clock
        self.publish = publish
    }

    public func run() async throws {
        try await publish(clock.now())
        try? await gracefulShutdown()
    }
}
