import TriageRouting
public import TriageStreams

/// One partition of the desk log as restored: the latest record per key of its writer (raw,
/// assembled by ``DeskRecords/restore(_:)`` when the partition is taken over).
struct DeskPartition: ChangelogState {
    var latest: [[UInt8]: [UInt8]?] = [:]
    init() {}
    mutating func restore(_ value: [UInt8], key: String) { latest[Array(key.utf8)] = .some(value) }
    mutating func forget(key: String) { latest[Array(key.utf8)] = .some(nil) }
}

extension ChangelogFencing {
    /// How `triage.router-state` is fenced.
    public static let deskLog = ChangelogFencing(fenceKey: DeskLog.fenceKey, writerHeader: DeskLog.writerHeader)
}
