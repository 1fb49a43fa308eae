public import Foundation
public import TriageSLA
import TriageSLAEvents
public import TriageSchema

/// The update-clock escalation levels the escalator must have published by a cutoff, found by
/// replaying every incident's lifecycle events (in topic order, as the escalator reads them)
/// through the escalator's own SLA code.
///
/// Levels are compared per incident and level, not per deadline: an event stored late (a
/// producer retry under broker faults) can let the escalator fire a level against the deadline
/// it knew before the event arrived, which the replay, applying the event at its time, dates
/// differently. Such an extra or re-dated level is not a loss; a level the replay says is due and
/// the topic does not hold at all is.
public enum ChaosUpdateExpectation {
    /// `incident|level` of every update-clock escalation level due at or before `cutoff`.
    public static func expected(_ records: [(partition: Int32, offset: Int64, event: IncidentEvent)], rules: SlaRules, cutoff: Date) -> Set<
        String
    > {
        var book = SlaBook()
        var expected = Set<String>()
        func collect(_ outcome: SlaBook.Outcome) {
            for (incident, action) in outcome.actions where action.target == .update && action.due <= cutoff {
                if case .escalation(let level) = action.kind { expected.insert("\(incident)|\(level.level)") }
            }
        }
        let ordered = records.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        for record in ordered where record.event.producer != escalatorProducerName {
            guard let input = SlaInput(record.event) else { continue }
            collect(book.apply(input, to: record.event.incidentID, at: record.event.occurredAt.date, position: record.offset, rules: rules))
        }
        collect(book.fire(upTo: cutoff, rules: rules))
        return expected
    }
}
