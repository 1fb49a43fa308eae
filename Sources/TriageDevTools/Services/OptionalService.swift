public import Logging
public import ServiceLifecycle

/// Runs a service whose failure should be reported, not end the group (the dev dashboard):
/// except failures `isFatal` says end the run (a taken port is the user's to fix).
public struct OptionalService<Wrapped: Service>: Service {
    let name: String
    let service: Wrapped
    let isFatal: @Sendable (any Error) -> Bool
    let logger: Logger

    public init(name: String, service: Wrapped, isFatal: @escaping @Sendable (any Error) -> Bool, logger: Logger) {
        self.name = name
        self.service = service
        self.isFatal = isFatal
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await service.run()
        } catch  where isFatal(error) {
            throw error
        } catch {
            logger.error("\(name) stopped", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}
