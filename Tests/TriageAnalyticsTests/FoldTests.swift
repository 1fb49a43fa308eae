import Foundation
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageSLA
import TriageSchema

/// Monday 2 March 2026, 09:00 in New York (business hours start).
private let monday = at("2026-03-02T09:00:00-05:00")
private func minutes(_ value: Double) -> Date { monday.addingTimeInterval(value * 60) }

/// Folds `facts` (one a minute-offset from Monday 09:00 EST) into a new snapshot of INC-1.
private func folded(_ facts: [(Double, Fact)]) -> (IncidentSnapshot, [AnalyticsRecord?]) {
    var script = Script()
    for (offset, fact) in facts { _ = script.add(fact, at: minutes(offset)) }
    var snapshot = IncidentSnapshot(incidentID: "INC-1")
    let records = fold(script.events, into: &snapshot)
    return (snapshot, records)
}

@Suite("Folding lifecycle events into the incident snapshot")
struct FoldTests {
    @Test func aDuplicateEventIdGivesNoRecordAndChangesNothing() throws {
        var script = Script()
        let opened = script.add(.opened(.b, .businessHours), at: minutes(0))
        let assigned = script.add(.assigned("agent-1"), at: minutes(5))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        _ = fold(script.events, into: &snapshot)
        let before = snapshot
        #expect(snapshot.apply(opened, rules: rules) == nil)
        #expect(snapshot.apply(assigned, rules: rules) == nil)
        #expect(snapshot == before)
        #expect(snapshot.eventCount == 2 && snapshot.recentEventIDs == ["INC-1-1", "INC-1-2"])
    }

    /// Duplicates are recognised among the last ``IncidentSnapshot/dedupeWindow`` events: one
    /// event older than that is taken for new (documented in docs/analytics.md).
    @Test func theDedupeWindowHoldsTheLast32EventIds() {
        var script = Script()
        _ = script.add(.opened(.b, .businessHours), at: minutes(0))
        for offset in 1...IncidentSnapshot.dedupeWindow { _ = script.add(.note, at: minutes(Double(offset))) }
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        _ = fold(script.events, into: &snapshot)
        #expect(snapshot.recentEventIDs.count == IncidentSnapshot.dedupeWindow)
        #expect(snapshot.apply(script.events[1], rules: rules) == nil, "the oldest id still in the window")
        #expect(snapshot.apply(script.events[0], rules: rules) != nil, "33 events back: outside the window")
    }

    @Test func reopenStartsOverButKeepsTheFirstResponse() throws {
        let (snapshot, records) = folded([
            (0, .opened(.b, .businessHours)), (10, .assigned("agent-1")), (90, .acknowledged("agent-1")),
            (120, .solutionDelivered), (150, .closedResolved), (200, .reopened), (300, .acknowledged("agent-1")),
        ])
        let reopened = try #require(records[5])
        #expect(reopened.outcome == "" && reopened.firstResponseBusinessMinutes == 90 && !reopened.breached)
        #expect(records[4]?.outcome == "resolved")
        #expect(snapshot.reopenCount == 1 && snapshot.closedAt == nil && snapshot.status == .acknowledged)
        #expect(snapshot.acknowledgedAt == minutes(90), "the first acknowledgement stays")
        #expect(records[6]?.firstResponseBusinessMinutes == 90, "the reopened clock's response is not the first response")
        // Resolution resumes with its time used: 120 before the solution, 100 since the reopen.
        #expect(snapshot.resolution.usedBusinessMinutes == 220 && !snapshot.resolution.isFinal)
    }

    /// A reopen of an incident that is not closed (two reopens that raced through two intakes)
    /// is recorded but leaves the lifecycle as it is: the wait goes on, the reopen counts once.
    @Test func aReopenOfAnOpenIncidentChangesNothing() {
        let (snapshot, records) = folded([
            (0, .opened(.b, .businessHours)), (10, .assigned("agent-1")), (20, .closedResolved), (30, .reopened),
            (40, .waitingOnCustomer), (100, .reopened), (130, .customerResponded),
        ])
        #expect(records[5] != nil, "the second reopen is recorded")
        #expect(records[5]?.waitingOnCustomerMinutes == 60, "still waiting at the second reopen")
        #expect(records[6]?.waitingOnCustomerMinutes == 90)
        #expect(snapshot.status == .assigned && snapshot.waitingSince == nil && snapshot.reopenCount == 1)
    }

    @Test func unresolvedCloseWithRefundWhileWaitingOnTheCustomer() throws {
        let (snapshot, records) = folded([
            (0, .opened(.c, .businessHours)), (30, .assigned("agent-1")), (60, .acknowledged("agent-1")),
            (90, .waitingOnCustomer), (200, .note), (330, .closedUnresolved(refunded: true)),
        ])
        #expect(records[4]?.waitingOnCustomerMinutes == 110, "a record while waiting counts the wait so far")
        let closed = try #require(records[5])
        #expect(closed.outcome == "unresolved" && closed.waitingOnCustomerMinutes == 240 && closed.firstResponseBusinessMinutes == 60)
        #expect(snapshot.status == .closedUnresolved && snapshot.creditRefunded && snapshot.closedAt == minutes(330))
        #expect(snapshot.statusBeforeWaiting == nil && snapshot.waitingSince == nil)
    }

    @Test func reassignmentsCountChangesOfTheHoldingAgent() {
        let (snapshot, records) = folded([
            (0, .opened(.b, .businessHours)),
            (1, .assigned("agent-1")),  // first assignment: not a reassignment
            (2, .reassigned(from: "agent-1", to: "agent-2")),  // 1
            (3, .unassigned(from: "agent-2")),  // back to the queue
            (4, .assigned("agent-3")),  // 2
            (5, .assigned("agent-3")),  // the same holder again
            (6, .reassignRequested),  // a request: nobody moved yet
            (7, .reassigned(from: "agent-3", to: "agent-1")),  // 3
        ])
        #expect(records.map { $0?.reassignmentCount } == [0, 0, 1, 1, 2, 2, 2, 3])
        #expect(records.map { $0?.assignedAgentID } == ["", "agent-1", "agent-2", "", "agent-3", "agent-3", "agent-3", "agent-1"])
        #expect(snapshot.status == .assigned && snapshot.lastAgentID == "agent-1")
    }

    @Test func theRouterPuttingItBackInTheQueueReopensTheStatus() {
        let (snapshot, _) = folded([(0, .opened(.b, .businessHours)), (1, .assigned("agent-1")), (2, .unassigned(from: "agent-1"))])
        #expect(snapshot.status == .open && snapshot.assignedAgentID.isEmpty)
    }

    /// B → A after 150 business minutes is past A's 120: breached by 30 at the change. The
    /// downgrade to C does not take the breach back; by how much is measured against C's target.
    @Test func severityChangesKeepTheTimeUsedAndTheBreach() {
        let (snapshot, records) = folded([
            (0, .opened(.b, .businessHours)), (150, .severityChanged(.b, .a)), (180, .severityChanged(.a, .c)),
            (200, .acknowledged("agent-1")),
        ])
        #expect(records.map { $0?.severity } == [.b, .a, .c, .c])
        #expect(records.map { $0?.breached } == [false, true, true, true])
        #expect(records[1]?.breachedBy == 30)
        #expect(records[2]?.breachedBy == 0)
        #expect(records[3]?.firstResponseBusinessMinutes == 200)
        #expect(snapshot.firstResponse.targetBusinessMinutes == 480 && snapshot.sla?.severity == .c)
    }

    /// Events of an incident whose Opened was never seen still give records: no attributes and
    /// no clock, but an escalator's breach, the agent and the status are known.
    @Test func orphanEventsGiveRecordsWithWhatIsKnown() throws {
        var script = Script("INC-ORPHAN")
        _ = script.add(.assigned("agent-4"), at: minutes(10))
        var escalated = event(.note, id: "sla-x", incident: "INC-ORPHAN", at: minutes(20))
        escalated.producer = "escalator"
        escalated.escalated = .with {
            $0.level = 1
            $0.target = "first_response"
            $0.breachedDeadline = Google_Protobuf_Timestamp(date: minutes(20))
        }
        script.add(escalated)
        _ = script.add(.severityChanged(.b, .a), at: minutes(30))
        var snapshot = IncidentSnapshot(incidentID: "INC-ORPHAN")
        let records = fold(script.events, into: &snapshot)
        let last = try #require(records[2])
        #expect(last.product.isEmpty && last.customerAccount.isEmpty && last.coverage == .unspecified)
        #expect(last.severity == .a && last.assignedAgentID == "agent-4" && last.breached)
        #expect(!last.hasBreachedByBusinessMinutes && !last.hasFirstResponseBusinessMinutes)
        #expect(records[0]?.breached == false)
        #expect(snapshot.isOrphan && snapshot.sla == nil && snapshot.status == .assigned)
        // A late Opened fills the attributes and starts the clock at its own time.
        _ = snapshot.apply(event(.opened(.b, .businessHours), id: "late-open", incident: "INC-ORPHAN", at: minutes(5)), rules: rules)
        let applied = snapshot.apply(event(.acknowledged("agent-4"), id: "ack", incident: "INC-ORPHAN", at: minutes(65)), rules: rules)
        let acknowledged = try #require(applied)
        #expect(!snapshot.isOrphan && acknowledged.product == "ledger" && acknowledged.firstResponseBusinessMinutes == 60)
        #expect(acknowledged.breached && acknowledged.breachedBy == 0, "the escalator's breach stays")
    }

    /// An acknowledgement published after the escalation but dated before the deadline: the
    /// escalator did escalate, so the record says breached, by 0 minutes.
    @Test func theEscalatorsEscalationCountsEvenIfAnEarlierAcknowledgementArrivesLater() throws {
        var script = Script()
        _ = script.add(.opened(.a, .businessHours), at: minutes(0))
        for event in escalatorEvents(for: script.events, until: minutes(120)) { script.add(event) }
        _ = script.add(.acknowledged("agent-1"), at: minutes(100))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        let records = fold(script.events, into: &snapshot)
        #expect(records.map { $0?.eventType } == ["opened", "sla_warning", "sla_warning", "escalated", "acknowledged"])
        let acknowledged = try #require(records.last ?? nil)
        #expect(acknowledged.breached && acknowledged.breachedBy == 0 && acknowledged.firstResponseBusinessMinutes == 100)
    }

    /// The escalator escalated at minute 100 (its policy, or a deadline between two
    /// milliseconds, put the breach earlier than our clock does): the record trusts it.
    @Test func anEscalationIsABreachEvenWhereOurClockDisagrees() throws {
        var script = Script()
        _ = script.add(.opened(.a, .businessHours), at: minutes(0))
        var escalated = event(.note, id: "sla-early", at: minutes(100))
        escalated.producer = "escalator"
        escalated.escalated = .with {
            $0.level = 1
            $0.target = "first_response"
            $0.breachedDeadline = Google_Protobuf_Timestamp(date: minutes(100))
        }
        script.add(escalated)
        _ = script.add(.acknowledged("agent-1"), at: minutes(110))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        let records = fold(script.events, into: &snapshot)
        #expect(records.map { $0?.breached } == [false, true, true])
        #expect(records.map { $0?.breachedBy } == [nil, 0, 0])
        #expect(records.last??.firstResponseBusinessMinutes == 110)
    }

    @Test func aManualEscalationIsNotABreach() {
        let (snapshot, records) = folded([(0, .opened(.b, .businessHours)), (30, .manualEscalation)])
        #expect(records[1]?.breached == false && !snapshot.firstResponse.breached)
    }

    @Test func waitingIsWallClockAndPausesTheSlaClock() throws {
        // Waiting from Monday 16:00 to Tuesday 10:00 EST: 18 wall-clock hours; the two business
        // hours in between (16:00–17:00, 09:00–10:00) do not count.
        let (snapshot, records) = folded([
            (0, .opened(.c, .businessHours)), (420, .waitingOnCustomer), (420 + 18 * 60, .customerResponded),
            (420 + 18 * 60 + 30, .acknowledged("agent-1")),
        ])
        #expect(records[2]?.waitingOnCustomerMinutes == 1_080)
        #expect(records[3]?.firstResponseBusinessMinutes == 450, "420 before the wait, 30 after")
        #expect(snapshot.status == .acknowledged)
    }

    @Test func splitChildrenAreListedOnceAndTheTeamCalendarApplies() {
        var script = Script()
        _ = script.add(.opened(.b, .businessHours, team: "emea"), at: at("2026-04-02T16:00:00+01:00"))  // Thursday, London
        _ = script.add(.split(["INC-2", "INC-3"]), at: at("2026-04-02T16:30:00+01:00"))
        _ = script.add(.split(["INC-3", "INC-4"]), at: at("2026-04-02T16:45:00+01:00"))
        // Good Friday is a London holiday: Thursday 16:00–17:30 and Monday 09:00–10:00.
        _ = script.add(.acknowledged("agent-1"), at: at("2026-04-06T10:00:00+01:00"))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        let records = fold(script.events, into: &snapshot)
        #expect(snapshot.splitChildren == ["INC-2", "INC-3", "INC-4"])
        #expect(snapshot.sla?.calendar == "london" && records.last??.team == "emea")
        #expect(records.last??.firstResponseBusinessMinutes == 150)
    }

    @Test func statusFollowsTheLifecycle() {
        let (snapshot, _) = folded([
            (0, .opened(.b, .businessHours)), (5, .waitingOnCustomer), (6, .assigned("agent-1")), (9, .customerResponded),
        ])
        #expect(snapshot.status == .assigned, "an assignment while waiting is where the customer's answer returns to")
        let (requested, _) = folded([(0, .opened(.b, .businessHours)), (5, .closeRequested), (7, .note)])
        #expect(requested.status == .closeRequested && requested.outcome == .none)
        let (closed, _) = folded([(0, .opened(.b, .businessHours)), (5, .closedResolved), (6, .waitingOnCustomer), (7, .solutionDelivered)])
        #expect(closed.status == .closedResolved && closed.waitingSince == nil, "a closed incident stays closed until reopened")
    }

    @Test func eventTypesAreTheProtoCaseNames() {
        // `triage-event-type` header names (Opened, SeverityChanged, ...) in snake_case.
        let cases: [Fact] = [
            .opened(.a, .coverage24X7), .assigned("a"), .reassigned(from: "a", to: "b"), .acknowledged("a"), .severityChanged(.a, .b),
            .waitingOnCustomer, .customerResponded, .manualEscalation, .split(["x"]), .solutionDelivered, .closedResolved,
            .closedUnresolved(refunded: false), .closeRequested, .reopened, .note,
        ]
        var events = cases.map { event($0, id: "e", at: monday) }
        events.append(escalatorEvents(for: [events[0]], until: minutes(61))[0])
        for event in events {
            let header = event.eventTypeName!
            let snake = header.enumerated().map { index, character in
                character.isUppercase ? (index == 0 ? "" : "_") + character.lowercased() : String(character)
            }.joined()
            #expect(event.analyticsEventType == snake)
        }
        #expect(IncidentEvent().analyticsEventType == "unknown")
    }

    @Test func factsKeepOneSnapshotPerIncident() throws {
        var facts = IncidentFacts(rules: rules)
        var first = Script("INC-1")
        var second = Script("INC-2")
        let events = [
            first.add(.opened(.b, .businessHours), at: minutes(0)), second.add(.opened(.a, .coverage24X7), at: minutes(1)),
            first.add(.assigned("agent-1"), at: minutes(2)), second.add(.acknowledged("agent-2"), at: minutes(31)),
        ]
        let records = events.map { facts.apply($0) }
        #expect(records.allSatisfy { $0 != nil } && facts.apply(events[3]) == nil)
        #expect(facts.count == 2 && facts["INC-1"]?.assignedAgentID == "agent-1" && facts["INC-2"]?.firstResponseBusinessMinutes == 30)
        var restored = IncidentFacts(rules: rules)
        restored.restore(try IncidentSnapshot(jsonData: facts["INC-2"]!.jsonData()))
        #expect(restored.apply(events[3]) == nil, "the dedupe window survives the restore")
        restored.remove("INC-2")
        #expect(restored.count == 0)
    }

    /// The feed serializes a snapshot after the loop moved on (on the runtime's writer): what
    /// it froze must be the snapshot as it was, whatever the facts apply meanwhile.
    @Test func aFrozenSnapshotKeepsItsContentWhileTheFactsChange() throws {
        var facts = IncidentFacts(rules: rules)
        var script = Script("INC-1")
        _ = facts.apply(script.add(.opened(.b, .businessHours), at: minutes(0)))
        let before = facts["INC-1"]!
        let frozen = try #require(facts.frozen("INC-1"))
        #expect(facts.frozen("INC-9") == nil)
        #expect(facts.apply(script.add(.assigned("agent-1"), at: minutes(2))) != nil)
        #expect(facts["INC-1"]?.assignedAgentID == "agent-1")
        let thawed = try IncidentSnapshot(jsonData: Data(frozen.jsonBytes()))
        #expect(frozen.incidentID == "INC-1" && thawed == before && thawed.assignedAgentID.isEmpty)
        // And the facts' copy, changed after the freeze, serializes its own content.
        #expect(try IncidentSnapshot(jsonData: Data(facts.frozen("INC-1")!.jsonBytes())).assignedAgentID == "agent-1")
    }

    /// The intake builds a split's children from the parent's snapshot when a Kafka-native
    /// producer opened it (no directory entry): without the customer's time zone the ledger
    /// refused the split ("opened.customer_time_zone: '' is not an IANA time zone").
    @Test func theSnapshotKeepsTheCustomersTimeZoneAndOlderSnapshotsReadWithout() throws {
        var facts = IncidentFacts(rules: rules)
        var script = Script("INC-1")
        _ = facts.apply(script.add(.opened(.b, .businessHours), at: minutes(0)))
        let snapshot = try #require(facts["INC-1"])
        #expect(snapshot.customerTimeZone == "America/New_York")
        let json = try snapshot.jsonData()
        #expect(try IncidentSnapshot(jsonData: json).customerTimeZone == "America/New_York")
        #expect(String(decoding: json, as: UTF8.self).contains(#""customer_time_zone":"America/New_York""#))
        // A snapshot stored before the field existed.
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        object["customer_time_zone"] = nil
        let older = try IncidentSnapshot(jsonData: try JSONSerialization.data(withJSONObject: object))
        #expect(older.customerTimeZone.isEmpty && older.customerAccount == snapshot.customerAccount)
    }
}
