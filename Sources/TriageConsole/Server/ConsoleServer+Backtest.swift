import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix

extension ConsoleServer {
    /// Bodies of the back-test form at most: the policy (256 KiB) and the other fields.
    static let backtestBodyLimit = BacktestForm.maximumPolicyBytes + 16 * 1024
    /// How long a run's page waits for a run to finish before it answers "still working".
    static let backtestPageWait: Duration = .seconds(3)

    /// `GET /reports/backtest`: the form, for leads and admins.
    func backtestForm(_ request: Request) -> Response {
        guard let signed = signedIn(request) else { return Self.redirect("/signin?next=\(HTML.url(request.uri.path))") }
        let context = context(signed)
        guard signed.account.role.seesEveryTeam else { return leadsOnly(context) }
        return Self.html(BacktestPage.renderForm(BacktestForm.initial(now: board.now()), problem: nil, context: context))
    }

    /// `POST /reports/backtest` (multipart/form-data with the policy file, or urlencoded): checks
    /// the form as every console form is checked (session, CSRF token, origin), loads the
    /// policies and starts a run (``BacktestRuns``), then sends the browser to the run's page.
    /// A refused form comes back with what was entered and why.
    func startBacktest(_ request: Request) async throws -> Response {
        var request = request
        guard let signed = signedIn(request) else {
            return Self.html(SignInPage.render(message: "Your session has ended; sign in again."), status: .unauthorized)
        }
        let context = context(signed)
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.backtestBodyLimit)
        } catch {
            let problem = BacktestForm.Problem(
                field: "policy_file", message: "The form is larger than 256 KiB; a policy is a few kilobytes.")
            return Self.html(
                BacktestPage.renderForm(BacktestForm.initial(now: board.now()), problem: problem, context: context),
                status: .contentTooLarge)
        }
        let fields: [String: String]
        var file: MultipartFormData.Part?
        if let boundary = request.headers[.contentType].flatMap(MultipartFormData.boundary(contentType:)) {
            do {
                let parsed = try MultipartFormData.parse(Array(buffer: body), boundary: boundary)
                fields = parsed.fields
                file = parsed["policy_file"]
            } catch {
                logger.notice(
                    "back-test form unreadable", metadata: ["username": "\(signed.account.username)", "reason": "\(error.message)"])
                return Self.html(
                    MessagePage.render(
                        title: "Unreadable form", message: "The form could not be read: \(error.message).", context: context),
                    status: .badRequest)
            }
        } else {
            fields = FormData.parse(String(buffer: body))
        }
        if let refusal = forgeryRefusal(request, signed: signed, form: fields) { return refusal }
        guard signed.account.role.seesEveryTeam else { return leadsOnly(context) }
        let form = BacktestForm(fields: fields, file: file)
        guard let backtests else {
            return Self.html(
                BacktestPage.renderForm(
                    form, problem: .init(field: "", message: "Back-tests are not available in this console."), context: context),
                status: .serviceUnavailable)
        }
        let asked: BacktestRequest
        // Loading a policy of up to 256 KiB is CPU work: off the cooperative pool.
        let (inForce, now) = (board.rules.policy, board.now())
        switch try await NIOThreadPool.singleton.runIfActive({ form.request(inForce: inForce, now: now) }) {
        case .failure(let problem):
            return Self.html(BacktestPage.renderForm(form, problem: problem, context: context), status: .badRequest)
        case .success(let parsed): asked = parsed
        }
        do throws(BacktestRuns.Busy) {
            let run = try await backtests.submit(asked, by: signed.account.username, at: board.now())
            return Self.redirect("/reports/backtest/\(HTML.url(run.id))")
        } catch {
            return Self.html(
                BacktestPage.renderForm(form, problem: .init(field: "", message: error.message), context: context),
                status: .serviceUnavailable)
        }
    }

    /// `GET /reports/backtest/RUN[?format=csv|json]`: a run's progress or result; waits up to
    /// ``backtestPageWait`` for a pending run, so a short replay shows its result at once.
    func backtestRunPage(_ request: Request, id: String) async throws -> Response {
        guard let signed = signedIn(request) else { return Self.redirect("/signin?next=\(HTML.url(request.uri.path))") }
        let context = context(signed)
        guard signed.account.role.seesEveryTeam else { return leadsOnly(context) }
        guard let backtests, let run = await backtests.run(id) else {
            return Self.html(
                MessagePage.render(
                    title: "Not found", message: "No such back-test (the console keeps the latest 20); start another.", context: context,
                    id: "not-found"), status: .notFound)
        }
        let deadline = ContinuousClock.now + Self.backtestPageWait
        while run.isPending, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let format = Self.query(request)["format"] ?? "html"
        if let result = run.result {
            switch format {
            case "csv": return Self.download(result.csv(), type: "text/csv; charset=utf-8", name: "sla-backtest.csv")
            case "json": return Self.download(try result.json() + "\n", type: "application/json", name: "sla-backtest.json")
            default: break
            }
        }
        let ahead = await backtests.ahead(of: run)
        // 202 while it works: the request was taken, the answer is not there yet.
        return Self.html(BacktestPage.renderRun(run, ahead: ahead, context: context), status: run.isPending ? .accepted : .ok)
    }
}
