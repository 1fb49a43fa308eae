import Foundation
import ServiceLifecycle
import TriageConsole

/// Prints the console's address once it listens (the port may have been 0).
struct ConsoleAnnouncer: Service {
    let console: Console
    let host: String
    let accounts: Int

    func run() async throws {
        if let port = try? await console.boundPort() {
            print("console: http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/ (\(accounts) account(s))")
            fflush(nil)
        }
        try? await gracefulShutdown()
    }
}
