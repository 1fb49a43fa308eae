/// Where an incident stands in its lifecycle.
///
/// A Reopened incident goes back to ``open`` (or ``assigned`` when an agent still holds it);
/// ``closeRequested`` is the customer's request, not yet a close (the outcome stays empty).
public enum IncidentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    case assigned
    case acknowledged
    case waitingOnCustomer = "waiting_on_customer"
    case solutionDelivered = "solution_delivered"
    case closeRequested = "close_requested"
    case closedResolved = "closed_resolved"
    case closedUnresolved = "closed_unresolved"

    /// Closed resolved or unresolved.
    public var isClosed: Bool { self == .closedResolved || self == .closedUnresolved }
}

/// What a caller asks to do to an existing incident (one intake call each).
public enum LifecycleAction: String, Sendable, Hashable, CaseIterable {
    case acknowledge
    case addNote = "add_note"
    case changeSeverity = "change_severity"
    case waitOnCustomer = "wait_on_customer"
    case customerResponded = "customer_responded"
    case deliverSolution = "deliver_solution"
    case requestClose = "request_close"
    case split
    case closeResolved = "close_resolved"
    case closeUnresolved = "close_unresolved"
    case reopen
    /// Ask the router to move the incident (to anyone, a named agent, or the queue), or take it.
    case reassign
}

/// The part of an incident's state its lifecycle rules look at.
public struct LifecycleState: Sendable, Hashable {
    public var status: IncidentStatus
    /// While waiting on the customer: the status the wait interrupted (it resumes when the
    /// customer responds).
    public var statusBeforeWaiting: IncidentStatus?
    /// Whether an agent holds the incident (a reopened incident goes back to them).
    public var hasAgent: Bool

    public init(status: IncidentStatus = .open, statusBeforeWaiting: IncidentStatus? = nil, hasAgent: Bool = false) {
        self.status = status
        self.statusBeforeWaiting = statusBeforeWaiting
        self.hasAgent = hasAgent
    }

    /// A new incident: open, nobody holds it.
    public static let opened = LifecycleState()
}

/// Why an action is not possible in the incident's current state.
public struct LifecycleRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var action: LifecycleAction
    public var status: IncidentStatus
    /// `incident is closed_resolved; close_resolved is possible only while it is open (...)`.
    public var description: String {
        "the incident is \(status.rawValue); \(action.rawValue) is possible only when it is \(IncidentLifecycle.allowedText(action))"
    }
}

/// The incident lifecycle's rules, defined once: which action is allowed in which status, and
/// the status it leads to. The intake refuses anything else with FAILED_PRECONDITION naming the
/// status; the analytics fold follows the same rules for the statuses it keeps. Pure: no I/O.
///
/// | action | allowed when the incident is | leads to |
/// |---|---|---|
/// | acknowledge | open (any status but closed) | acknowledged (from open or assigned), else unchanged |
/// | add_note | any status, closed included | unchanged |
/// | change_severity | open | unchanged |
/// | wait_on_customer | open and not already waiting | waiting_on_customer |
/// | customer_responded | open | the status the wait interrupted (unchanged when not waiting) |
/// | deliver_solution | open | solution_delivered |
/// | request_close | open | close_requested |
/// | split | open | unchanged (the children are new incidents) |
/// | close_resolved | open | closed_resolved |
/// | close_unresolved | open | closed_unresolved |
/// | reopen | closed (resolved or unresolved) | assigned when an agent holds it, else open |
///
/// "Open" means every status but `closed_resolved` and `closed_unresolved`.
public enum IncidentLifecycle {
    /// The statuses in which `action` is allowed.
    public static func allowed(_ action: LifecycleAction) -> Set<IncidentStatus> {
        let open = Set(IncidentStatus.allCases.filter { !$0.isClosed })
        switch action {
        case .addNote: return Set(IncidentStatus.allCases)
        case .reopen: return [.closedResolved, .closedUnresolved]
        case .waitOnCustomer: return open.subtracting([.waitingOnCustomer])
        case .acknowledge, .changeSeverity, .customerResponded, .deliverSolution, .requestClose, .split, .closeResolved, .closeUnresolved,
            .reassign:
            return open
        }
    }

    /// Whether `action` is allowed in `status`.
    public static func allows(_ action: LifecycleAction, in status: IncidentStatus) -> Bool { allowed(action).contains(status) }

    /// The state after `action`, or why it is refused (the state is then unchanged).
    public static func apply(_ action: LifecycleAction, to state: LifecycleState) -> Result<LifecycleState, LifecycleRefusal> {
        guard allows(action, in: state.status) else { return .failure(LifecycleRefusal(action: action, status: state.status)) }
        var next = state
        switch action {
        case .addNote, .changeSeverity, .split, .reassign:
            break
        case .acknowledge:
            if next.status == .open || next.status == .assigned { next.status = .acknowledged }
            if next.statusBeforeWaiting == .open || next.statusBeforeWaiting == .assigned { next.statusBeforeWaiting = .acknowledged }
        case .waitOnCustomer:
            next.statusBeforeWaiting = next.status
            next.status = .waitingOnCustomer
        case .customerResponded:
            next.endWaiting()
        case .deliverSolution:
            next.endWaiting()
            next.status = .solutionDelivered
        case .requestClose:
            next.endWaiting()
            next.status = .closeRequested
        case .closeResolved:
            next.endWaiting()
            next.status = .closedResolved
        case .closeUnresolved:
            next.endWaiting()
            next.status = .closedUnresolved
        case .reopen:
            next.status = next.hasAgent ? .assigned : .open
        }
        return .success(next)
    }

    /// "open (any status but closed_resolved, closed_unresolved)", "closed_resolved or closed_unresolved", ...
    static func allowedText(_ action: LifecycleAction) -> String {
        switch action {
        case .addNote: "in any status"
        case .reopen: "closed_resolved or closed_unresolved"
        case .waitOnCustomer: "open and not already waiting_on_customer"
        default: "open (any status but closed_resolved or closed_unresolved)"
        }
    }
}

extension LifecycleState {
    fileprivate mutating func endWaiting() {
        guard status == .waitingOnCustomer else { return }
        status = statusBeforeWaiting ?? .open
        statusBeforeWaiting = nil
    }
}
