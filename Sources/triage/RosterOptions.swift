import ArgumentParser
import Foundation
import TriageRouting

/// `--roster`: the routing policy part of a roster file (severity weights, shift calendars).
struct RosterOptions: ParsableArguments {
    @Option(help: "Roster YAML: severity weights and shift calendars (docs/roster.md; example: config/roster.example.yaml).")
    var roster: String?

    func load() throws -> Roster? {
        try roster.map { try loadRoster($0) }
    }
}

/// Reads and validates a roster file; errors name the file, line and key.
func loadRoster(_ path: String, option: String = "roster") throws -> Roster {
    let text = try InputFile.text(path, option: option)
    do { return try Roster.load(yaml: text, file: path) } catch { throw ValidationError("invalid roster: \(error)") }
}
