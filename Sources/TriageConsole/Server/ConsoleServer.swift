public import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization
public import TriageAnalyticsFeed
import TriageDashboard
import TriageOps
public import TriageSLABacktestLog
import TriageSLAEvents

/// The console's HTTP side (Hummingbird): server-rendered pages, form POSTs, `GET /api/live`
/// for the pages' live figures, `/healthz` and `/readyz`.
///
/// | route | what |
/// |---|---|
/// | `GET /signin`, `POST /signin`, `POST /signout` | sessions (cookie `triage_console`: HttpOnly, SameSite=Strict, Secure) |
/// | `GET /queues`, `POST /queues/TEAM/take` | queues; "take next" |
/// | `GET /incidents`, `GET /incidents/ID` | the list with filters; one incident |
/// | `POST /incidents/ID/actions/NAME` | ``IncidentAction`` through the intake |
/// | `GET /agents`, `POST /agents/ID/presence` | agents; set presence |
/// | `GET /reports` | the SLA compliance report (leads and admins), also `?format=csv` and `json` |
/// | `GET /reports/backtest`, `POST /reports/backtest`, `GET /reports/backtest/RUN` | SLA policy back-tests (leads and admins) |
/// | `GET /api/live` | `{"at": …, "values": {KEY: text}}` for `data-live` elements |
/// | `GET /healthz`, `GET /readyz` | alive; caught up with the topics |
///
/// Every POST needs a live session, the session's CSRF token (`csrf`) and an `Origin` (or
/// `Referer`) of the console itself; otherwise 403 and nothing is sent to the intake.
public final class ConsoleServer: Service, Sendable {
    static let cookieName = "triage_console"

    let board: ConsoleBoard
    let gateway: IntakeGateway
    let directory: StaffDirectory
    let configuration: ConsoleConfiguration
    let sessions: SessionStore
    let throttle: SignInThrottle
    let submitted = SubmittedForms()
    let originCheck: OriginCheck
    /// The analytics records of the reports page; `nil`: the page says reports are not available.
    let reports: AnalyticsRecordCache?
    /// The back-tests of `/reports/backtest`; `nil`: the page says back-tests are not available.
    let backtests: BacktestRuns?
    let logger: Logger
    private let listening = BoundPort()
    /// Verified when a username has no account, at the cost of the accounts' own hashes, so
    /// that a failure takes as long either way (a cost-12 decoy beside cost-10 accounts told
    /// which usernames exist by timing).
    let decoyHash: String

    /// - Parameters:
    ///   - reports: where the reports page reads `triage.analytics`. Default `nil`: no reports.
    ///   - backtests: where the back-test page reads `triage.incident-events`. Default `nil`: no
    ///     back-tests.
    ///   - recordTime: the SLA instant of a record's timestamp (the escalator's clock). Default:
    ///     the same instant.
    public init(
        board: ConsoleBoard, gateway: IntakeGateway, directory: StaffDirectory, configuration: ConsoleConfiguration,
        reports: AnalyticsHistory? = nil, backtests: BacktestLogReader? = nil,
        recordTime: @escaping @Sendable (Date) -> Date = { $0 }, logger: Logger
    ) {
        self.reports = reports.map { AnalyticsRecordCache(history: $0) }
        self.backtests = backtests.map { BacktestRuns(reader: $0, slaInstant: recordTime, logger: logger) }
        decoyHash = Bcrypt.hash("decoy password of no account", cost: directory.bcryptCost)
        self.board = board
        self.gateway = gateway
        self.directory = directory
        self.configuration = configuration
        sessions = SessionStore(configuration: configuration.sessions, now: configuration.wallClock)
        throttle = SignInThrottle(configuration: configuration.signIn, now: configuration.wallClock)
        originCheck = OriginCheck(allowedOrigins: configuration.allowedOrigins)
        self.logger = logger
    }

    /// The bound port, once listening; throws if the server stopped or failed before that.
    public func boundPort() async throws -> Int {
        try await listening.wait()
    }

    public func run() async throws {
        let idle = TimeAmount.nanoseconds(Int64(configuration.connectionIdleTimeout.inSeconds * 1_000_000_000))
        let application = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "triage-console"),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("console listening", metadata: ["url": "http://\(configuration.host):\(bound)/"])
                listening.listened(on: bound)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            listening.failed(
                ConsoleError(
                    code: .notListening, message: "the console server on \(configuration.host):\(configuration.port) failed",
                    underlying: error))
            throw error
        }
        listening.failed(ConsoleError(code: .notListening, message: "the console server stopped before it listened"))
    }

    // MARK: Routes

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in Self.text("ok\n") }
        router.head("/healthz") { _, _ in Self.text("ok\n") }
        router.get("/readyz") { [board] _, _ in Self.readiness(board) }
        router.head("/readyz") { [board] _, _ in Self.readiness(board) }
        router.get("/") { _, _ in Self.redirect("/queues") }
        router.get("/signin") { request, _ in
            Self.html(SignInPage.render(next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
        }
        router.post("/signin") { [self] request, _ in try await signIn(request) }
        router.post("/signout") { [self] request, _ in try await signOut(request) }
        router.get("/queues") { [self] request, _ in
            page(request) { context in QueuesPage.render(queues: board.queues(for: context.access), context: context) }
        }
        router.get("/incidents") { [self] request, _ in
            page(request) { context in
                let filter = IncidentFilter(query: Self.query(request))
                let (rows, total) = board.incidents(filter, for: context.access)
                let teams = Set(board.records.snapshots().filter(context.access.allows).map(\.team)).filter { !$0.isEmpty }.sorted()
                return IncidentsPage.render(rows: rows, total: total, filter: filter, teams: teams, context: context)
            }
        }
        router.get("/incidents/:id") { [self] request, context in try incidentPage(request, id: try context.parameters.require("id")) }
        router.post("/incidents/:id/actions/:action") { [self] request, context in
            try await incidentAction(request, id: try context.parameters.require("id"), action: try context.parameters.require("action"))
        }
        router.post("/queues/:team/take") { [self] request, context in
            try await takeNext(request, team: try context.parameters.require("team"))
        }
        router.get("/agents") { [self] request, _ in page(request) { context in agentsPage(context) } }
        router.post("/agents/:id/presence") { [self] request, context in
            try await setPresence(request, agentID: try context.parameters.require("id"))
        }
        router.get("/reports") { [self] request, _ in try await reportsPage(request) }
        router.get("/reports/backtest") { [self] request, _ in backtestForm(request) }
        router.post("/reports/backtest") { [self] request, _ in try await startBacktest(request) }
        router.get("/reports/backtest/:run") { [self] request, context in
            try await backtestRunPage(request, id: try context.parameters.require("run"))
        }
        router.get("/api/live") { [self] request, _ in live(request) }
        return router
    }

    // MARK: Sessions

    /// The live session and its account, from the cookie. `touching`: the request is the
    /// person's activity and keeps the session from its idle end (not so `/api/live`).
    func signedIn(_ request: Request, touching: Bool = true) -> (session: StaffSession, account: StaffAccount)? {
        guard let id = request.cookies[Self.cookieName]?.value, let session = sessions.resume(id, touching: touching),
            let account = directory[session.username]
        else { return nil }
        return (session, account)
    }

    func context(_ signed: (session: StaffSession, account: StaffAccount)) -> PageContext {
        PageContext(
            account: signed.account, csrf: signed.session.csrfToken, flash: sessions.takeFlash(signed.session.id), now: board.now(),
            liveIntervalMilliseconds: Int(configuration.liveInterval.inSeconds * 1000))
    }

    /// A signed-in page; without a session, the sign-in page (coming back here after).
    func page(_ request: Request, _ render: (PageContext) -> String) -> Response {
        guard let signed = signedIn(request) else { return Self.redirect("/signin?next=\(HTML.url(request.uri.path))") }
        return Self.html(render(context(signed)))
    }

    func signIn(_ request: Request) async throws -> Response {
        var request = request
        guard originCheck.allows(origin: request.headers[.origin], referer: request.headers[.referer], host: request.head.authority) else {
            return Self.html(SignInPage.render(message: "Refused: the sign-in form did not come from this console."), status: .forbidden)
        }
        let form = FormData.parse(String(buffer: try await request.collectBody(upTo: 16 * 1024)))
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let next = Self.safeNext(form["next"])
        if throttle.isLocked(username) {
            logger.notice("sign-in refused: too many failures", metadata: ["username": "\(username)"])
            return Self.html(SignInPage.render(message: SignInPage.failure, username: username, next: next), status: .tooManyRequests)
        }
        let account = directory[username]
        let hash = account?.passwordHash ?? decoyHash
        // bcrypt is meant to be slow: off the cooperative pool.
        let verified = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard let account, verified else {
            throttle.failed(username)
            logger.notice("sign-in failed", metadata: ["username": "\(username)"])
            return Self.html(SignInPage.render(message: SignInPage.failure, username: username, next: next), status: .unauthorized)
        }
        throttle.succeeded(username)
        let session = sessions.start(username: account.username)
        logger.info("signed in", metadata: ["username": "\(account.username)", "role": "\(account.role.rawValue)"])
        var response = Self.redirect(next)
        response.setCookie(
            Cookie(
                name: Self.cookieName, value: session.id, path: "/", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
        )
        return response
    }

    func signOut(_ request: Request) async throws -> Response {
        switch try await authorizedForm(request) {
        case .refused(let response): return response
        case .accepted(let signed, _):
            sessions.end(signed.session.id)
            var response = Self.redirect("/signin")
            response.setCookie(
                Cookie(
                    name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: configuration.secureCookies, httpOnly: true,
                    sameSite: .strict))
            return response
        }
    }

    enum FormCheck {
        case accepted((session: StaffSession, account: StaffAccount), [String: String])
        case refused(Response)
    }

    /// A POST from a signed-in page: a live session, its CSRF token, the console's own origin.
    func authorizedForm(_ request: Request) async throws -> FormCheck {
        var request = request
        guard let signed = signedIn(request) else {
            return .refused(Self.html(SignInPage.render(message: "Your session has ended; sign in again."), status: .unauthorized))
        }
        let form = FormData.parse(String(buffer: try await request.collectBody(upTo: 64 * 1024)))
        if let refusal = forgeryRefusal(request, signed: signed, form: form) { return .refused(refusal) }
        return .accepted(signed, form)
    }

    /// The 403 for a form without the session's CSRF token (`csrf`) or from another origin;
    /// `nil` when it is the console's own.
    func forgeryRefusal(_ request: Request, signed: (session: StaffSession, account: StaffAccount), form: [String: String]) -> Response? {
        let originOK = originCheck.allows(
            origin: request.headers[.origin], referer: request.headers[.referer], host: request.head.authority)
        guard originOK, let token = form["csrf"], Self.constantTimeEqual(token, signed.session.csrfToken) else {
            logger.warning("form refused (CSRF)", metadata: ["username": "\(signed.account.username)", "path": "\(request.uri.path)"])
            return Self.html(
                MessagePage.render(
                    title: "Refused",
                    message: "This form is stale or did not come from this console; nothing was done. Reload the page and try again.",
                    context: context(signed), id: "csrf-refused"), status: .forbidden)
        }
        return nil
    }

    // MARK: Incidents

    func incidentPage(_ request: Request, id: String) throws -> Response {
        guard let signed = signedIn(request) else { return Self.redirect("/signin?next=\(HTML.url(request.uri.path))") }
        let context = context(signed)
        guard let snapshot = board.records.snapshot(id), let row = board.row(of: id) else {
            return Self.html(
                MessagePage.render(title: "Not found", message: "No incident \(id) is known (yet).", context: context, id: "not-found"),
                status: .notFound)
        }
        guard context.access.allows(snapshot) else { return forbidden(context) }
        let timeline = board.records.timeline(id)
        let explanation = SlaExplanation(incident: id, events: timeline.events, rules: board.rules, until: board.now())
        let agents = board.collector.agentRows().filter { $0.team == snapshot.team }
        let page = IncidentPage(
            snapshot: snapshot, row: row, timeline: timeline, explanation: explanation, notifications: board.records.notifications(id),
            agents: agents,
            pauseReasons: board.rules.policy.pauseReasons.sorted { $0.key < $1.key }.map { name, clocks in
                (name, clocks.map(\.rawValue).sorted().joined(separator: ", "))
            })
        return Self.html(page.render(context: context))
    }

    func forbidden(_ context: PageContext) -> Response {
        Self.html(
            MessagePage.render(
                title: "Not your team's",
                message: "This incident belongs to another team; you can see and act on your own team's incidents.",
                context: context, id: "forbidden"), status: .forbidden)
    }

    func incidentAction(_ request: Request, id: String, action name: String) async throws -> Response {
        let (signed, form): ((session: StaffSession, account: StaffAccount), [String: String])
        switch try await authorizedForm(request) {
        case .refused(let response): return response
        case .accepted(let who, let fields): (signed, form) = (who, fields)
        }
        let account = signed.account
        guard let snapshot = board.records.snapshot(id) else {
            return Self.html(
                MessagePage.render(
                    title: "Not found", message: "No incident \(id) is known (yet).", context: context(signed), id: "not-found"),
                status: .notFound)
        }
        guard StaffAccess(account).allows(snapshot) else {
            logger.warning("action refused: another team's incident", metadata: ["username": "\(account.username)", "incident": "\(id)"])
            return forbidden(context(signed))
        }
        let back = "/incidents/\(HTML.url(id))"
        let action: IncidentAction
        switch IncidentAction.parse(name: name, form: form) {
        case .failure(let problem): return finish(signed, .refused(problem.message), redirect: back)
        case .success(let parsed): action = parsed
        }
        if case .reassign(let target?, _, _) = action,
            !board.collector.agentRows().contains(where: { $0.id == target && $0.team == snapshot.team })
        {
            // Only the agents the form offers: another team's agent (or an id nobody has) would
            // publish a request the router ignores, and put it in the incident's history.
            return finish(
                signed, .refused("\(target) is not an agent of team \(snapshot.team); choose one the form offers."), redirect: back)
        }
        let requestID = ActionRequestID.make(username: account.username, action: name, target: id, nonce: form["nonce"] ?? "")
        let agentID = account.agentID ?? snapshot.assignedAgentID
        return await once(signed, requestID: requestID, redirect: back) {
            await gateway.perform(action, incident: id, agentID: agentID, actor: account.username, requestID: requestID)
        }
    }

    /// Sends a form once (``SubmittedForms``) and goes back to `redirect` with its outcome.
    func once(
        _ signed: (session: StaffSession, account: StaffAccount), requestID: String, redirect: String,
        _ send: () async -> ActionOutcome
    ) async -> Response {
        switch submitted.claim(requestID) {
        case .done(let outcome): return finish(signed, outcome, redirect: redirect, repeated: true)
        case .inFlight: return finish(signed, .done("Already being sent (the same form twice)."), redirect: redirect, repeated: true)
        case .first:
            let outcome = await send()
            submitted.finish(requestID, with: outcome)
            logger.info(
                "action", metadata: ["username": "\(signed.account.username)", "request": "\(requestID)", "done": "\(outcome.succeeded)"])
            return finish(signed, outcome, redirect: redirect)
        }
    }

    func finish(
        _ signed: (session: StaffSession, account: StaffAccount), _ outcome: ActionOutcome, redirect: String, repeated: Bool = false
    )
        -> Response
    {
        sessions.setFlash(signed.session.id, outcome)
        var response = Self.redirect(redirect)
        response.headers[HTTPField.Name("X-Triage-Outcome")!] = outcome.succeeded ? (repeated ? "repeated" : "done") : "refused"
        return response
    }

    // MARK: Queues and agents

    func takeNext(_ request: Request, team: String) async throws -> Response {
        let (signed, form): ((session: StaffSession, account: StaffAccount), [String: String])
        switch try await authorizedForm(request) {
        case .refused(let response): return response
        case .accepted(let who, let fields): (signed, form) = (who, fields)
        }
        guard let agentID = signed.account.agentID, signed.account.team == team else {
            return forbidden(context(signed))
        }
        let requestID = ActionRequestID.make(
            username: signed.account.username, action: "take-next", target: team, nonce: form["nonce"] ?? "")
        return await once(signed, requestID: requestID, redirect: "/queues") {
            guard let desk = board.collector.desks()[team],
                let incident = desk.nextTakeable(by: agentID, policy: board.routing)
            else { return .refused("Nothing waiting in \(team) fits you now (product, language, room for its weight).") }
            return await gateway.takeNext(agentID: agentID, incident: incident, actor: signed.account.username, requestID: requestID)
        }
    }

    func agentsPage(_ context: PageContext) -> String {
        let agents = board.agents(for: context.access)
        var assignments: [String: [String]] = [:]
        var shifts: [String: String] = [:]
        for desk in board.collector.desks().values {
            for (incident, agent) in desk.assignments { assignments[agent, default: []].append(incident) }
            for agent in desk.agents { if let shift = agent.shiftCalendar { shifts[agent.id] = shift } }
        }
        let weights = DashboardSnapshot.PerSeverity(
            a: board.routing.weight(of: .a), b: board.routing.weight(of: .b), c: board.routing.weight(of: .c))
        return AgentsPage.render(agents: agents, assignments: assignments, shifts: shifts, weights: weights, context: context)
    }

    func setPresence(_ request: Request, agentID: String) async throws -> Response {
        let (signed, form): ((session: StaffSession, account: StaffAccount), [String: String])
        switch try await authorizedForm(request) {
        case .refused(let response): return response
        case .accepted(let who, let fields): (signed, form) = (who, fields)
        }
        guard StaffAccess(signed.account).mayManage(agentID: agentID) else { return forbidden(context(signed)) }
        guard let presence = form["presence"], ["online", "away", "offline"].contains(presence) else {
            return finish(signed, .refused("Choose online, away or offline."), redirect: "/agents")
        }
        let requestID = ActionRequestID.make(
            username: signed.account.username, action: "presence", target: agentID, nonce: form["nonce"] ?? "")
        return await once(signed, requestID: requestID, redirect: "/agents") {
            await gateway.setPresence(agentID: agentID, presence: presence, actor: signed.account.username, requestID: requestID)
        }
    }

    // MARK: Live

    func live(_ request: Request) -> Response {
        guard let signed = signedIn(request, touching: false) else {
            return Response(
                status: .unauthorized, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"signed out\"}")))
        }
        let query = Self.query(request)
        let values = LiveValues.collect(
            board: board, access: StaffAccess(signed.account), scope: LiveValues.Scope(kinds: query["kinds"], ids: query["ids"]))
        let body = (try? JSONEncoder.sorted.encode(LiveValues.Payload(at: HTML.instant(board.now()), values: values))) ?? Data("{}".utf8)
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    // MARK: Responses

    static func readiness(_ board: ConsoleBoard) -> Response {
        board.collector.isCaughtUp ? text("ready\n") : text("not ready: reading the topics\n", status: .serviceUnavailable)
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let securityHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ]

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: securityHeaders, body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// 303 See Other: after a POST the browser GETs the target.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// A local path to go to after signing in (never another site).
    static func safeNext(_ next: String?) -> String {
        // A path of this console only: browsers drop tabs and newlines from URLs, so "/\t/evil"
        // would become "//evil", another site.
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next != "/signin",
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { return "/queues" }
        return next
    }

    static func query(_ request: Request) -> [String: String] {
        FormData.parse(request.uri.query ?? "")
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
