import Foundation
import Testing
import TriageKafkaTesting

#if canImport(Glibc)
    import Glibc
#endif

/// A socket listening on 127.0.0.1 (any free port) until deinit: a port another process holds.
final class ListeningSocket {
    let port: Int
    private let descriptor: Int32

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let descriptor = self.descriptor
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 8) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard listening else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Issue 18, item 8: the notifier crashed (SIGILL, "Client not shut down before the deinit") when
/// its --ops-port was taken; `triage dev` hung (its embedded broker was cancelled with its
/// clients) and the intake's taken --port read "serverIsStopped". Every worker given a taken
/// port now prints one line naming the address and the option and exits 1, promptly.
@Suite("A taken port is one clear error on every worker")
struct PortTakenTests {
    @Test func everyWorkerNamesTheTakenAddressAndExitsOne() async throws { try await HeavyTests.run { try await self.body() } }

    func body() async throws {
        let taken = try ListeningSocket()
        let port = "\(taken.port)"
        let broker = try await BrokerProcess(arguments: ["--brokers", "1", "--triage-topics", "2"])
        let rules = try temporaryFile(
            "endpoints:\n  hook: { channel: webhook, url: \"http://127.0.0.1:1/\", secret_env: HOOK_KEY }\nrecipients:\n  ops: { endpoints: [hook] }\n",
            suffix: ".yaml")
        let tenants = try temporaryFile("tenants:\n  - name: acme\n    token: port-test-token\n    accounts: [A]\n", suffix: ".yaml")
        let worker = ["--bootstrap", broker.bootstrap, "--session-timeout", "3", "--log-level", "warning"]
        let dev = ["dev", "--brokers", "1", "--log-level", "warning", "--rate", "20", "--incident-rate", "1"]
        let free = ["--ops-port", "0", "--dashboard-port", "0", "--intake-port", "0", "--console-port", "0"]
        let cases: [(arguments: [String], option: String)] = [
            (["escalator", "--ops-port", port] + worker, "--ops-port"),
            (["router", "--ops-port", port] + worker, "--ops-port"),
            (["analytics", "--ops-port", port] + worker, "--ops-port"),
            (["notifier", "--rules", rules, "--ops-port", port] + worker, "--ops-port"),
            (["intake", "--tenants", tenants, "--port", "0", "--ops-port", port] + worker, "--ops-port"),
            (["intake", "--tenants", tenants, "--host", "127.0.0.1", "--port", port, "--ops-port", "0"] + worker, "--port"),
            // (Each dev run: every other port free; the last option given wins.)
            (dev + free + ["--ops-port", port], "--ops-port"),
            (dev + free + ["--dashboard-port", port], "--dashboard-port"),
            (dev + free + ["--intake-port", port], "--intake-port"),
            (dev + free + ["--console-port", port], "--console-port"),
        ]
        for (arguments, option) in cases {
            let started = ContinuousClock.now
            // Bounded: runProcess fails the test if the process is still running after 60 s.
            let (status, _, errors) = try await runProcess(
                "/usr/bin/env", ["HOOK_KEY=k", triageExecutable] + arguments, timeout: .seconds(60))
            let elapsed = ContinuousClock.now - started
            let command = "triage " + arguments.prefix(while: { $0 != "--bootstrap" }).joined(separator: " ")
            print("\(command): exit \(status) after \(elapsed)")
            #expect(status == 1, "\(command) exited \(status): \(errors.suffix(1500))")
            #expect(!errors.contains("Fatal error"), "\(command) crashed: \(errors.suffix(1500))")
            let failures = errors.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            #expect(failures == ["error: 127.0.0.1:\(port) is already in use (\(option))"], "\(command): \(errors.suffix(1500))")
            #expect(elapsed < .seconds(45), "\(command) took \(elapsed) to give up")
        }
        _ = try await broker.stop()
        _ = taken
    }
}
