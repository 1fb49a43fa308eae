import GRPCCore
import Testing
import TriageIntake

@Suite("gRPC status names in metrics and messages")
struct StatusNameTests {
    /// Every code by the name of the gRPC specification: the `code` label of
    /// `triage_intake_calls_total` (docs/intake.md lists `INTERNAL`), `triage call`'s error line
    /// and the console's refusals. A name derived from the Swift case gave `INTERNAL_ERROR`.
    @Test func everyCodeHasItsSpecificationName() {
        let expected: [(RPCError.Code, String)] = [
            (.cancelled, "CANCELLED"), (.unknown, "UNKNOWN"), (.invalidArgument, "INVALID_ARGUMENT"),
            (.deadlineExceeded, "DEADLINE_EXCEEDED"), (.notFound, "NOT_FOUND"), (.alreadyExists, "ALREADY_EXISTS"),
            (.permissionDenied, "PERMISSION_DENIED"), (.resourceExhausted, "RESOURCE_EXHAUSTED"),
            (.failedPrecondition, "FAILED_PRECONDITION"), (.aborted, "ABORTED"), (.outOfRange, "OUT_OF_RANGE"),
            (.unimplemented, "UNIMPLEMENTED"), (.internalError, "INTERNAL"), (.unavailable, "UNAVAILABLE"), (.dataLoss, "DATA_LOSS"),
            (.unauthenticated, "UNAUTHENTICATED"),
        ]
        for (code, name) in expected { #expect(IntakeService.statusName(code) == name, "\(code)") }
    }
}
