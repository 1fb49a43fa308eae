import Foundation
import TriageReports
import TriageSLA
import TriageSLABacktest

/// The back-test form as it was filled in: kept as text so that a refused form comes back with
/// everything entered (an uploaded file's text lands in the paste box, as browsers cannot
/// refill a file input).
struct BacktestForm: Sendable, Hashable {
    /// Where a policy comes from.
    enum PolicySource: String, Sendable, Hashable, CaseIterable {
        /// The console's SLA policy: what the escalator runs.
        case inForce = "in-force"
        /// The built-in defaults (the escalator without --policy).
        case defaults
        /// A YAML file sent with the form.
        case upload
        /// YAML pasted into the form.
        case paste

        var words: String {
            switch self {
            case .inForce: "the policy in force"
            case .defaults: "the built-in defaults"
            case .upload: "a file"
            case .paste: "pasted YAML"
            }
        }
    }

    var from = ""
    var to = ""
    var by = BacktestGrouping.team.rawValue
    var baseline = PolicySource.inForce.rawValue
    var candidate = PolicySource.upload.rawValue
    /// The candidate's YAML: pasted, or the uploaded file's text.
    var policyText = ""
    /// The uploaded file's name (no directory).
    var fileName = ""

    /// The largest policy accepted, uploaded or pasted. 256 KiB.
    static let maximumPolicyBytes = 256 * 1024
    /// How far after now `to` may be (``BacktestHorizon``, the rule `triage sla backtest`
    /// applies too): a `to` years ahead held the console's one back-test runner for hours.
    static let maximumDaysAhead = BacktestHorizon.maximumDaysAhead

    /// A form with the defaults: the 30 days up to the end of today (SLA time), by team, the
    /// policy in force as the baseline.
    static func initial(now: Date) -> BacktestForm {
        var form = BacktestForm()
        if let window = try? ReportsPage.parse([:], now: now).get() {
            form.from = window.fromText
            form.to = window.toText
        }
        return form
    }

    /// The fields of a submitted form (and the file part, if one was sent).
    init(fields: [String: String], file: MultipartFormData.Part? = nil) {
        from = fields["from"] ?? ""
        to = fields["to"] ?? ""
        by = fields["by"] ?? BacktestGrouping.team.rawValue
        baseline = fields["baseline"] ?? PolicySource.inForce.rawValue
        candidate = fields["candidate"] ?? PolicySource.upload.rawValue
        policyText = fields["policy_text"] ?? ""
        if let file, !file.bytes.isEmpty {
            fileName = file.fileName ?? ""
            if candidate == PolicySource.upload.rawValue { policyText = file.text }
        }
    }

    init() {}

    /// Why a form was refused: the message, and the field it is about (for the page to mark).
    struct Problem: Error, Sendable, Hashable {
        var field: String
        var message: String
    }

    /// Reads the form: the window, the grouping and both policies (`inForce` for
    /// ``PolicySource/inForce``). A policy that does not load is refused with the loader's
    /// message (file, line, column, key).
    func request(inForce: SlaPolicy, now: Date) -> Result<BacktestRequest, Problem> {
        let window: ReportsPage.Query
        switch ReportsPage.parse(["from": from, "to": to], now: now) {
        case .failure(let problem):
            let field = problem.message.hasPrefix("to") ? "to" : "from"
            return .failure(Problem(field: field, message: problem.message))
        case .success(let parsed): window = parsed
        }
        guard BacktestHorizon.allows(end: window.to, now: now) else {
            return .failure(
                Problem(field: "to", message: "to: at most \(Self.maximumDaysAhead) days after now (\(BacktestHorizon.reason))"))
        }
        guard let grouping = BacktestGrouping(rawValue: by) else {
            return .failure(Problem(field: "by", message: "by: choose team, severity, customer or month"))
        }
        guard let baselineSource = PolicySource(rawValue: baseline), [.inForce, .defaults].contains(baselineSource) else {
            return .failure(Problem(field: "baseline", message: "baseline: choose the policy in force or the built-in defaults"))
        }
        guard let candidateSource = PolicySource(rawValue: candidate) else {
            return .failure(
                Problem(field: "candidate", message: "candidate: choose a file, pasted YAML, the policy in force or the defaults"))
        }
        let candidatePolicy: SlaPolicy
        let candidateName: String
        switch candidateSource {
        case .inForce, .defaults:
            candidatePolicy = candidateSource == .inForce ? inForce : SlaPolicy()
            candidateName = candidateSource.words
        case .upload, .paste:
            let name = candidateSource == .upload ? (fileName.isEmpty ? "uploaded policy" : fileName) : "pasted policy"
            guard !policyText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                let message =
                    candidateSource == .upload
                    ? "policy: choose a YAML file to upload (or paste the policy)" : "policy: paste the candidate policy's YAML"
                return .failure(Problem(field: candidateSource == .upload ? "policy_file" : "policy_text", message: message))
            }
            guard policyText.utf8.count <= Self.maximumPolicyBytes else {
                return .failure(Problem(field: "policy_text", message: "policy: larger than 256 KiB; a policy is a few kilobytes"))
            }
            do {
                candidatePolicy = try SlaPolicy.load(yaml: policyText, file: name)
            } catch {
                return .failure(Problem(field: "policy_text", message: "The candidate policy does not load: \(error)"))
            }
            candidateName = name
        }
        return .success(
            BacktestRequest(
                window: DateInterval(start: window.from, end: window.to), fromText: window.fromText, toText: window.toText,
                grouping: grouping, baseline: baselineSource == .inForce ? inForce : SlaPolicy(), baselineName: baselineSource.words,
                candidate: candidatePolicy, candidateName: candidateName,
                key: BacktestRequest.key(
                    window.fromText, window.toText, grouping.rawValue, baselineSource.rawValue, candidateSource.rawValue,
                    candidateSource == .upload || candidateSource == .paste ? policyText : "")))
    }
}
