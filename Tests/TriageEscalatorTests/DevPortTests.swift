import Testing
import TriageDevTools

@Suite("Dev and interop clusters: ops ports for worker processes")
struct DevPortTests {
    /// Workers started together each get a port of their own: a port found free is not handed
    /// out again before a child could bind it (an interop run's router once lost its ops port to
    /// another start). 500 draws from the 12,768 ports of the range collide almost surely when
    /// drawn independently.
    @Test func freePortsAreNeverHandedOutTwice() throws {
        let ports = try (0..<500).map { _ in try DevProcessCluster.freePort() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { (1..<65_536).contains($0) })
    }
}
