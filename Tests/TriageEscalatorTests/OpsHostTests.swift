import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// `--ops-host`: where a worker's /healthz, /readyz and /metrics listen, and what a taken port does.
@Suite("Ops endpoint address")
struct OpsHostTests {
    @Test func aWorkerOnLoopbackIsNotReachableOnAnotherLocalAddress() async throws {
        let broker = try await BrokerProcess(arguments: TriageTopic.all.flatMap { ["--topic", "\($0):1"] })
        let port = try freeLoopbackPort()
        let worker = try TriageProcess(
            ["analytics", "--bootstrap", broker.bootstrap, "--session-timeout", "3", "--ops-host", "127.0.0.1", "--ops-port", "\(port)"]
        )
        try await eventually("GET http://127.0.0.1:\(port)/healthz answers", timeout: .seconds(60)) {
            guard worker.process.isRunning else { throw TopicTestError("the worker exited: \(worker.output.suffix(2_000))") }
            return Self.get("127.0.0.1", port: port, path: "/healthz")?.hasPrefix("HTTP/1.1 200") == true
        }
        // HEAD answers like GET, without a body (probes and monitors that only look).
        for path in ["/healthz", "/readyz", "/metrics"] {
            let head = Self.get("127.0.0.1", port: port, path: path, method: "HEAD") ?? ""
            #expect(head.hasPrefix("HTTP/1.1 200") || (path == "/readyz" && head.hasPrefix("HTTP/1.1 503")), "HEAD \(path): \(head)")
            #expect(head.lowercased().contains("content-type: text/plain"), "HEAD \(path): \(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "HEAD \(path) has no body: \(head)")
        }
        // The whole of 127/8 is loopback on Linux: a server bound to 0.0.0.0 would answer here.
        #expect(Self.get("127.0.0.2", port: port, path: "/healthz") == nil, "127.0.0.2 must be refused")
        #expect(try await worker.stop() == 0, "\(worker.output.suffix(2_000))")
        _ = try await broker.stop()
    }

    /// Every worker: a taken ops port is a clear error and exit 1, not a crash (with `--ops-host`;
    /// Tests/TriageCLITests/PortTakenTests covers the intake's and `triage dev`'s other ports).
    @Test func aTakenOpsPortIsAClearErrorInEveryWorker() async throws {
        try await HeavyTests.run { try await self.aTakenOpsPortIsAClearErrorInEveryWorkerBody() }
    }

    func aTakenOpsPortIsAClearErrorInEveryWorkerBody() async throws {
        let broker = try await BrokerProcess(arguments: TriageTopic.all.flatMap { ["--topic", "\($0):1"] })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("ops-host")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "tenants:\n  - name: acme\n    token: t\n    accounts: [acct-1]\n".write(
            toFile: folder + "/tenants.yaml", atomically: true, encoding: .utf8)
        try """
        endpoints:
          hook: { channel: webhook, url: "http://127.0.0.1:1/refused", secret_env: OPS_KEY }
        recipients:
          team-lead: { endpoints: [hook] }
          support-manager: { endpoints: [hook] }
        """.write(toFile: folder + "/rules.yaml", atomically: true, encoding: .utf8)
        let (listener, port) = try Self.listen()
        defer { close(listener) }
        let common = [
            "--bootstrap", broker.bootstrap, "--session-timeout", "3", "--ops-host", "127.0.0.1", "--ops-port", "\(port)", "--log-level",
            "error",
        ]
        let workers: [[String]] = [
            ["escalator"], ["router"], ["analytics"], ["notifier", "--rules", folder + "/rules.yaml"],
            ["intake", "--tenants", folder + "/tenants.yaml", "--host", "127.0.0.1", "--port", "\(try freeLoopbackPort())"],
        ]
        for arguments in workers {
            let process = try TriageProcess(arguments + common, environment: ["OPS_KEY": "k"])
            try await eventually("triage \(arguments[0]) exits", timeout: .seconds(60)) { !process.process.isRunning }
            let termination = await process.process.terminated()
            #expect(termination == .exited(1), "triage \(arguments[0]): \(termination) \(process.output.suffix(2_000))")
            #expect(
                process.output.contains("error: 127.0.0.1:\(port) is already in use (--ops-port)"),
                "triage \(arguments[0]): \(process.output.suffix(2_000))")
        }
        _ = try await broker.stop()
    }

    /// A listening socket on 127.0.0.1, any port.
    static func listen() throws -> (Int32, Int) {
        let port = try freeLoopbackPort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, Foundation.listen(fd, 8) == 0 else { throw TopicTestError("cannot listen on 127.0.0.1:\(port)") }
        return (fd, port)
    }

    /// A plain HTTP/1.1 request (GET unless said) over a socket; the response, or nil when the
    /// connection is refused.
    static func get(_ host: String, port: Int, path: String, method: String = "GET") -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return nil }
        let request = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }
}

struct TopicTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
