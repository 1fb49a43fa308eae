import Testing
import TriageIntake

/// Ids derived from a request must never change between releases: a retry after an upgrade
/// must find the incident and event its first try made. The expected values were computed
/// outside Swift (SHA-256 of the length-prefixed parts, lowercase hex).
@Suite("Intake ids")
struct IntakeIDsTests {
    @Test func idsAreTheSameAsEver() {
        #expect(IntakeIDs.incident(tenant: "acme-portal", account: "ACME", requestID: "r-1", fingerprint: "fp") == "INC-2677C285FC52C22C")
        #expect(
            IntakeIDs.requestKey("open", tenant: "acme-portal", scope: "ACME", requestID: "r-1") == "REQ-a918013d0fe631c8d07786e8b3ce3cbf")
        #expect(
            IntakeIDs.event(tenant: "acme-portal", incident: "INC-1", requestID: "r-1", kind: "ack")
                == "intake-4677eb15b3a91ed9febe195b22338821")
    }
}
