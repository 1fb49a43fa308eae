/// The environment variables through which a process that starts `triage` commands (`triage
/// dev --processes`, `triage chaos`, `triage interop`) tunes them: the contract between
/// ``DevProcessCluster`` and the executable, which reads them.
public enum TriageProcessEnvironment {
    /// The parent's pid. A child whose parent is gone (it crashed, or was SIGKILLed) stops itself
    /// gracefully (SIGTERM to itself, then exit after 30 s) instead of running on unattended.
    public static let exitWithParent = "TRIAGE_EXIT_WITH_PARENT"

    /// The longest wait of a Fetch without new records, in milliseconds, for every consumer of
    /// the command (`--fetch-wait-ms` wins): set for the workers started on the embedded broker.
    public static let fetchWait = "TRIAGE_FETCH_WAIT_MS"
}
