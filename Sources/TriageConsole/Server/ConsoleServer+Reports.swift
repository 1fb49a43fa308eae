import Foundation
import HTTPTypes
import Hummingbird
import TriageReports
import TriageSchema

extension ConsoleServer {
    /// `GET /reports[?from=&to=&by=&format=]`: the SLA compliance report of the analytics records
    /// (``ReportsPage``), for leads and admins; agents get 403 (it spans every team and customer).
    func reportsPage(_ request: Request) async throws -> Response {
        guard let signed = signedIn(request) else { return Self.redirect("/signin?next=\(HTML.url(request.uri.path))") }
        let context = context(signed)
        guard signed.account.role.seesEveryTeam else { return leadsOnly(context) }
        let query: ReportsPage.Query
        switch ReportsPage.parse(FormData.parse(request.uri.query ?? ""), now: board.now()) {
        case .failure(let problem):
            return Self.html(
                ReportsPage.render(report: nil, query: nil, problem: problem.message, unreadable: 0, context: context), status: .badRequest)
        case .success(let parsed): query = parsed
        }
        guard let reports else {
            return Self.html(
                ReportsPage.render(
                    report: nil, query: query, problem: "Reports are not available in this console.", unreadable: 0, context: context),
                status: .serviceUnavailable)
        }
        let read: (records: [AnalyticsRecord], unreadable: Int)
        do {
            read = try await reports.records()
        } catch {
            logger.warning("reading the analytics records failed", metadata: ["error": "\(error)"])
            return Self.html(
                ReportsPage.render(
                    report: nil, query: query, problem: "The analytics records could not be read (\(error)); try again in a moment.",
                    unreadable: 0, context: context), status: .serviceUnavailable)
        }
        let report = SlaComplianceReport(
            records: read.records, window: DateInterval(start: query.from, end: query.to), groupBy: query.grouping, asOf: board.now())
        switch query.format {
        case "csv":
            return Self.download(report.csv(), type: "text/csv; charset=utf-8", name: "sla-report.csv")
        case "json":
            return Self.download(report.json(), type: "application/json", name: "sla-report.json")
        default:
            return Self.html(ReportsPage.render(report: report, query: query, problem: nil, unreadable: read.unreadable, context: context))
        }
    }

    /// 403 for an agent: the reports and back-tests span every team and customer.
    func leadsOnly(_ context: PageContext) -> Response {
        Self.html(
            MessagePage.render(
                title: "Leads only", message: "The SLA reports span every team and customer; ask a lead.", context: context, id: "forbidden"
            ),
            status: .forbidden)
    }

    static func download(_ text: String, type: String, name: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
