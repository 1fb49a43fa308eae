/// Why an incident changed teams (``RoutingDecision/teamChanged(incident:from:to:cause:detail:)``).
public enum TeamChangeCause {
    /// It waited the team's overflow threshold for its severity in the queue.
    public static let overflow = "overflow"
    /// Its agent's shift ended while it was acknowledged.
    public static let followTheSun = "follow_the_sun"
}
