import Foundation
import Testing
import TriageConsole
import TriageKafkaTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Outside attack on issue 22: ~20,000 connections that sent half a request and then nothing
/// stayed open for good (no idle timeout), until `triage dev` ran out of file descriptors and
/// died. A connection that sends nothing for `connectionIdleTimeout` is now closed.
@Suite("Console: idle connections", .serialized)
struct ConsoleConnectionTests {
    @Test func aHalfSentRequestIsClosedOnceIdle() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness { $0.connectionIdleTimeout = .seconds(1) }
            defer { Task { try? await harness.stop() } }
            let started = ContinuousClock.now
            let closed = try await Self.sendHalfARequestAndWaitForTheClose(port: harness.port, giveUpAfter: 20)
            let waited = ContinuousClock.now - started
            #expect(closed, "the server kept a half-sent request open for 20 s")
            #expect(waited < .seconds(15), "closed after \(waited)")
            // Still serving.
            let browser = WebSession(http: harness.http, base: harness.base)
            #expect(try await browser.get("/healthz").status == 200)
            try await harness.stop()
        }
    }

    /// Connects, sends the first line and one header of a request (never the blank line), and
    /// reads on a thread of its own until the server closes (true) or `giveUpAfter` seconds pass.
    static func sendHalfARequestAndWaitForTheClose(port: Int, giveUpAfter seconds: Int) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard socket >= 0 else { return continuation.resume(throwing: POSIXError(.EMFILE)) }
                defer { close(socket) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { return continuation.resume(throwing: POSIXError(.ECONNREFUSED)) }
                var timeout = timeval(tv_sec: seconds, tv_usec: 0)
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let partial = Array("GET /queues HTTP/1.1\r\nHost: x\r\n".utf8)
                _ = partial.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
                var buffer = [UInt8](repeating: 0, count: 512)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                    if count == 0 { return continuation.resume(returning: true) }  // closed by the server
                    if count < 0 { return continuation.resume(returning: errno == ECONNRESET) }  // timed out: still open
                }
            }
        }
    }
}
