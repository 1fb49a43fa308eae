import Foundation
public import ServiceLifecycle
public import TriageDashboard

/// Prints the dashboard's address once it listens.
public struct DashboardAnnouncer: Service {
    let dashboard: Dashboard

    public init(dashboard: Dashboard) { self.dashboard = dashboard }

    public func run() async throws {
        if let port = try? await dashboard.boundPort() {
            print("dashboard: http://127.0.0.1:\(port)/")
            fflush(nil)
        }
        try? await gracefulShutdown()
    }
}
