import Foundation
import Testing
import TriageKafkaTesting

@Suite("triage --help and error reporting")
struct HelpAndErrorTests {
    /// Every command path (`["sla", "deadline"]`...) from the SUBCOMMANDS sections of --help.
    func commandPaths(under path: [String] = []) async throws -> [[String]] {
        let (status, help, errors) = try await triage(path + ["--help"])
        #expect(status == 0, "\(path) --help: \(errors)")
        guard let section = help.range(of: "SUBCOMMANDS:") else { return [path] }
        var paths = [path]
        // "  name (default)   abstract" lines up to the blank line that ends the section; wrapped
        // abstracts are indented deeper.
        for line in help[section.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first, name != "help" else {
                continue
            }
            paths += try await commandPaths(under: path + [String(name)])
        }
        return paths
    }

    @Test func everyFileNamedInAnyHelpExists() async throws {
        let paths = try await commandPaths()
        #expect(paths.count > 20, "found only \(paths)")
        #expect(paths.contains(["sla", "deadline"]) && paths.contains(["agents", "apply"]))
        let pattern = try NSRegularExpression(pattern: #"(?<![\w./-])(?:config|docs|schemas|scripts|helm|Sources|Tests)/[\w./-]*[\w]"#)
        var named: Set<String> = []
        for path in paths {
            let (_, help, _) = try await triage(path + ["--help"])
            // ArgumentParser wraps long lines; a path never contains a space, so join wrapped words.
            let text = help.replacingOccurrences(of: "\n", with: " ")
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let file = String(text[Range(match.range, in: text)!])
                named.insert(file)
                #expect(
                    FileManager.default.fileExists(atPath: repositoryRoot + "/" + file),
                    "triage \(path.joined(separator: " ")) --help names \(file), which does not exist")
            }
        }
        #expect(
            named.isSuperset(of: ["config/sla-policy.example.yaml", "docs/roster.md", "config/roster.example.yaml"]), "\(named.sorted())")
    }

    @Test func theExamplesOfSlaHelpRun() async throws {
        let (status, output, errors) = try await triage([
            "sla", "deadline", "--policy", "config/sla-policy.example.yaml", "--severity", "B", "--coverage", "business", "--opened",
            "2026-03-06T16:00:00-05:00",
        ])
        #expect(status == 0, "\(errors)")
        #expect(output.contains("calendar   default (America/New_York) from config/sla-policy.example.yaml"), "\(output)")
        #expect(!errors.contains("warning"), "New York hours for a New York instant: \(errors)")
        let (explained, timeline, explainErrors) = try await triage([
            "sla", "explain", "--events", "schemas/examples/opened.json", "--until", "2026-03-09T15:00:00Z",
        ])
        #expect(explained == 0, "\(explainErrors)")
        #expect(timeline.contains("incident inc-1001: 1 event(s)"), "\(timeline)")
    }

    @Test func aDeadlineNamesItsCalendarAndWarnsOfAnotherZone() async throws {
        let opened = ["--severity", "B", "--coverage", "business", "--opened", "2026-03-06T16:00:00-05:00"]
        let (status, output, errors) = try await triage(["sla", "deadline"] + opened)
        #expect(status == 0, "\(errors)")
        #expect(output.contains("calendar   built-in default ("), "\(output)")
        #expect(errors.contains("warning:") && errors.contains("UTC-05:00") && errors.contains("UTC+00:00"), "\(errors)")
        // The same instant written in the calendar's zone, and 24x7 coverage: nothing to warn about.
        let (_, _, utcErrors) = try await triage(["sla", "deadline", "--severity", "B", "--opened", "2026-03-06T21:00:00Z"])
        #expect(!utcErrors.contains("warning"), "\(utcErrors)")
        let (_, allDay, allDayErrors) = try await triage([
            "sla", "deadline", "--severity", "B", "--coverage", "24x7", "--opened", "2026-03-06T16:00:00-05:00",
        ])
        #expect(allDay.contains("calendar   24x7") && !allDayErrors.contains("warning"), "\(allDay)\(allDayErrors)")
    }

    @Test func runtimeErrorsPrintNoUsageArgumentErrorsDo() async throws {
        let opened = ["--severity", "B", "--opened", "2026-03-06T16:00:00Z"]
        let (status, _, errors) = try await triage(["sla", "deadline", "--policy", "/nonexistent/policy.yaml"] + opened)
        #expect(status == 1)
        #expect(errors.hasPrefix("error: cannot read --policy /nonexistent/policy.yaml"), "\(errors)")
        #expect(!errors.contains("Usage"), "\(errors)")
        let (badStatus, _, badErrors) = try await triage(["sla", "deadline", "--severity", "Z", "--opened", "2026-03-06T16:00:00Z"])
        #expect(badStatus == 64)
        #expect(badErrors.contains("--severity must be A, B or C") && badErrors.contains("Usage: triage sla deadline"), "\(badErrors)")
    }

    /// A port out of range is an argument error in every command that serves one (the router
    /// took 70000 and listened on 4464).
    @Test func everyOpsPortIsCheckedForRange() async throws {
        for command in [
            ["router"], ["escalator"], ["analytics"], ["notifier", "--rules", "rules.yaml"], ["intake", "--tenants", "t.yaml"], ["dev"],
        ] {
            let (status, _, errors) = try await triage(command + ["--ops-port", "70000"])
            #expect(status == 64 && errors.contains("--ops-port must be 0...65535"), "\(command[0]): \(status) \(errors)")
        }
    }

    /// The options every worker shares are checked the same way everywhere (the router took a
    /// session timeout of 0 that the others refused).
    @Test func everyWorkerChecksItsSharedOptions() async throws {
        for command in [
            ["router"], ["escalator"], ["analytics"], ["notifier", "--rules", "rules.yaml"], ["intake", "--tenants", "t.yaml"],
        ] {
            let (status, _, errors) = try await triage(command + ["--session-timeout", "0"])
            #expect(
                status == 64 && errors.contains("--session-timeout must be 1...3600 seconds, got 0.0"), "\(command[0]): \(status) \(errors)"
            )
            let (emptyStatus, _, emptyErrors) = try await triage(command + ["--group", ""])
            #expect(emptyStatus == 64 && emptyErrors.contains("--group must not be empty"), "\(command[0]): \(emptyStatus) \(emptyErrors)")
        }
    }
}
