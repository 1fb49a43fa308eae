import Testing
import TriageRouting

/// The scale-out audit reads queue returns as their own move: the holder lets go, nobody holds
/// the incident, and a return from someone who did not hold it is a violation.
@Suite("AssignmentAuditor: queue returns")
struct AssignmentAuditorTests {
    @Test func aReturnReleasesTheHolderAndItsLoad() {
        var audit = AssignmentAuditor(capacities: ["ada": 3, "bob": 3])
        audit.opened("i1", severity: .a)
        audit.assigned("i1", to: "ada")
        audit.returnedToQueue("i1", from: "ada")
        #expect(audit.violations.isEmpty)
        #expect(audit.holder(of: "i1") == nil && audit.unassigned == ["i1"])
        #expect(audit.returnedCount == 1 && audit.reassignedCount == 0)
        // ada's load went with it: a Sev A (3 units) more fits her capacity of 3.
        audit.opened("i2", severity: .a)
        audit.assigned("i2", to: "ada")
        audit.assigned("i1", to: "bob")
        #expect(audit.violations.isEmpty, "\(audit.violations)")
    }

    @Test func aReturnFromSomeoneElseIsAViolationAndAfterACloseIsNot() {
        var audit = AssignmentAuditor(capacities: ["ada": 3, "bob": 3])
        audit.opened("i1", severity: .c)
        audit.assigned("i1", to: "ada")
        audit.returnedToQueue("i1", from: "bob")
        #expect(audit.violations == ["i1 returned to the queue from bob but held by ada"])
        audit.opened("i2", severity: .c)
        audit.assigned("i2", to: "bob")
        audit.released("i2")
        audit.returnedToQueue("i2", from: "bob")
        #expect(audit.violations.count == 1 && audit.assignedAfterClose == 1)
    }
}
