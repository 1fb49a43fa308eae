public import Foundation
import HeapModule

/// The SLA state of a set of incidents (one Kafka partition's) with a timer heap.
///
/// Every change goes through ``apply(_:to:at:position:rules:)``, ``fire(upTo:rules:)`` or
/// ``restore(_:state:)``; the book keeps a min-heap of next-due instants (stale entries are
/// skipped when they surface and the heap is rebuilt when they pile up), so finding what is
/// due costs O(log n) per incident, whatever the number tracked.
public struct SlaBook: Sendable {
    struct Entry: Comparable, Sendable {
        let due: Double
        let id: String
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.due < rhs.due }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.due == rhs.due && lhs.id == rhs.id }
    }

    /// What one step changed: the actions to publish, the incidents whose state changed (write
    /// them to the changelog) and the ones forgotten (write tombstones).
    public struct Outcome: Sendable {
        public var actions: [(incident: String, action: SlaAction)] = []
        public var changed: [String] = []
        public var forgotten: [String] = []
        public init() {}
        public var isEmpty: Bool { actions.isEmpty && changed.isEmpty && forgotten.isEmpty }
    }

    /// Every tracked incident's state (a copy; for inspection, not for the hot path).
    public var incidents: [String: IncidentSla] { states.dictionary }
    private var states = DenseStates()
    private var heap = Heap<Entry>()
    /// One shared ``SlaParties`` per distinct product, customer and team.
    private var parties: [SlaParties: SlaParties] = [:]

    public init() {}

    public var count: Int { states.count }
    public subscript(incident: String) -> IncidentSla? { states[incident] }

    /// The earliest instant anything in the book is due.
    public mutating func nextDue() -> Date? {
        dropStaleTop()
        return heap.min.map { Date(timeIntervalSince1970: $0.due) }
    }

    /// Applies one lifecycle input at its event time. Inputs at or before the incident's
    /// `appliedThrough` position are replays and change nothing. Inputs other than Opened for
    /// an unknown incident are ignored (opened before the tracked history, or forgotten).
    public mutating func apply(_ input: SlaInput, to incident: String, at instant: Date, position: Int64, rules: SlaRules) -> Outcome {
        var outcome = Outcome()
        if var state = states[incident] {
            guard position > state.appliedThrough else { return outcome }
            var before = state
            for action in state.apply(input, at: instant, rules: rules) { outcome.actions.append((incident, action)) }
            state.appliedThrough = position
            states[incident] = state
            if state.nextDueSeconds != before.nextDueSeconds { schedule(incident, state) }
            // Inputs that change nothing but the position (a read-back of our own event, a
            // repeated fact) need no changelog record: replaying them is a no-op too.
            before.appliedThrough = position
            if before != state || !outcome.actions.isEmpty { outcome.changed.append(incident) }
        } else if case .opened(let severity, let coverage, let team) = input {
            let state = IncidentSla(openedAt: instant, severity: severity, coverage: coverage, team: team, rules: rules, position: position)
            states[incident] = state
            schedule(incident, state)
            outcome.changed.append(incident)
        }
        return outcome
    }

    /// Fires everything due at or before `now`; forgets closed incidents past the reopen window.
    public mutating func fire(upTo now: Date, rules: SlaRules) -> Outcome {
        var outcome = Outcome()
        let limit = now.timeIntervalSince1970
        // An incident still due after firing (it should not be) waits for the next call instead
        // of being fired again in this loop for ever.
        var stillDue: [(String, IncidentSla)] = []
        while let top = heap.min, top.due <= limit {
            heap.removeMin()
            guard var state = states[top.id], state.nextDueSeconds == top.due else { continue }  // stale
            if state.isForgettable(at: now, rules: rules) {
                states[top.id] = nil
                outcome.forgotten.append(top.id)
                continue
            }
            let actions = state.fire(upTo: now, rules: rules)
            for action in actions { outcome.actions.append((top.id, action)) }
            states[top.id] = state
            if state.nextDueSeconds <= limit {
                stillDue.append((top.id, state))
            } else {
                schedule(top.id, state)
            }
            outcome.changed.append(top.id)
        }
        for (incident, state) in stillDue { schedule(incident, state) }
        return outcome
    }

    /// Puts back a state read from the changelog.
    public mutating func restore(_ incident: String, state: IncidentSla) {
        var state = state
        if let parties = state.parties { state.parties = intern(parties) }
        states[incident] = state
        schedule(incident, state)
    }

    /// Keeps the product, customer account and team of `incident` (from its Opened event);
    /// returns whether the state changed (then it needs a changelog record).
    @discardableResult
    public mutating func setParties(product: String, customer: String, team: String, of incident: String) -> Bool {
        guard var state = states[incident] else { return false }
        let given = SlaParties(product: product, customer: customer, team: team)
        guard state.parties != given else { return false }
        state.parties = intern(given)
        states[incident] = state
        return true
    }

    /// The shared instance equal to `value` (kept while the book lives; distinct triples are
    /// few next to incidents).
    private mutating func intern(_ value: SlaParties) -> SlaParties {
        if let shared = parties[value] { return shared }
        parties[value] = value
        return value
    }

    /// Keeps the trace of the request that opened `incident` (see ``IncidentSla/trace``); returns
    /// whether the state changed (then it needs a changelog record).
    @discardableResult
    public mutating func setTrace(_ trace: SlaTraceID, of incident: String) -> Bool {
        guard var state = states[incident], state.trace == nil else { return false }
        state.trace = trace
        states[incident] = state
        return true
    }

    /// Removes an incident (a changelog tombstone).
    public mutating func remove(_ incident: String) {
        states[incident] = nil
    }

    private mutating func schedule(_ incident: String, _ state: IncidentSla) {
        guard state.nextDueSeconds.isFinite else { return }
        heap.insert(Entry(due: state.nextDueSeconds, id: incident))
        if heap.count > 2 * states.count + 1_024 { rebuildHeap() }
    }

    private mutating func dropStaleTop() {
        while let top = heap.min, states[top.id]?.nextDueSeconds != top.due { heap.removeMin() }
    }

    private mutating func rebuildHeap() {
        heap = Heap(states.all.compactMap { id, state in state.nextDueSeconds.isFinite ? Entry(due: state.nextDueSeconds, id: id) : nil })
    }
}

/// Incident states stored densely. A dictionary's buckets come in powers of two and may be half
/// empty, and each bucket holds a whole value: with the state (168 bytes) as the value, a million
/// tracked incidents cost about 420 bytes each. Here the dictionary maps the id to a 4-byte
/// slot in one array of states (reused through a free list), about 250 bytes each.
struct DenseStates: Sendable {
    private var slots: [String: Int32] = [:]
    private var states: [IncidentSla] = []
    private var free: [Int32] = []

    var count: Int { slots.count }

    subscript(id: String) -> IncidentSla? {
        get { slots[id].map { states[Int($0)] } }
        set {
            guard let newValue else {
                if let slot = slots.removeValue(forKey: id) {
                    states[Int(slot)].parties = nil  // nothing kept alive by a freed slot
                    free.append(slot)
                }
                return
            }
            if let slot = slots[id] {
                states[Int(slot)] = newValue
            } else if let slot = free.popLast() {
                states[Int(slot)] = newValue
                slots[id] = slot
            } else {
                slots[id] = Int32(states.count)
                states.append(newValue)
            }
        }
    }

    /// Every id with its state, in no particular order.
    var all: some Sequence<(String, IncidentSla)> { slots.lazy.map { ($0.key, states[Int($0.value)]) } }

    var dictionary: [String: IncidentSla] { Dictionary(uniqueKeysWithValues: all) }
}
