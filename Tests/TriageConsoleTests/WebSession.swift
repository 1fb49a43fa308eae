import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A browser's part, over loopback HTTP: one cookie jar (the session cookie), GETs and form
/// POSTs with the console's own Origin (or another, or none).
final class WebSession: @unchecked Sendable {
    struct Page {
        var status: Int
        var body: String
        var headers: HTTPHeaders
        var location: String? { headers.first(name: "location") }
        var outcome: String? { headers.first(name: "x-triage-outcome") }
    }

    let http: HTTPClient
    let base: String
    var cookie: String?
    /// The last Set-Cookie header received.
    var lastSetCookie: String?

    init(http: HTTPClient, base: String) {
        self.http = http
        self.base = base
    }

    func get(_ path: String) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        return try await send(request)
    }

    /// POSTs `fields`; `origin` defaults to the console's own (`nil`: no Origin header).
    func post(_ path: String, _ fields: [(String, String)], origin: String?? = .some(nil)) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        switch origin {
        case .some(.some(let value)): request.headers.add(name: "origin", value: value)
        case .some(.none): request.headers.add(name: "origin", value: base)
        case .none: break
        }
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> Page {
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 8 * 1024 * 1024)
        if let setCookie = response.headers.first(name: "set-cookie") {
            lastSetCookie = setCookie
            let pair = String(setCookie.split(separator: ";")[0])
            cookie = pair.hasSuffix("=") ? nil : pair
        }
        return Page(status: Int(response.status.code), body: String(buffer: body), headers: response.headers)
    }

    /// Signs in; returns the sign-in response.
    @discardableResult
    func signIn(_ username: String, password: String = ConsoleHarness.password) async throws -> Page {
        try await post("/signin", [("username", username), ("password", password), ("next", "/queues")])
    }

    /// The hidden fields (csrf, nonce) and the action of the form `id` on `html`.
    static func form(_ id: String, in html: String) -> (action: String, fields: [(String, String)])? {
        guard let start = html.range(of: "id=\"\(id)\"") else { return nil }
        guard let formStart = html[..<start.lowerBound].range(of: "<form", options: .backwards),
            let formEnd = html[start.upperBound...].range(of: "</form>")
        else { return nil }
        let form = String(html[formStart.lowerBound..<formEnd.upperBound])
        let action = capture(#"action="([^"]*)""#, in: form) ?? ""
        var fields: [(String, String)] = []
        for name in ["csrf", "nonce", "agent"] {
            if let value = capture(#"name="\#(name)" value="([^"]*)""#, in: form) { fields.append((name, value)) }
        }
        return (action, fields)
    }

    static func capture(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), match.numberOfRanges > 1,
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }
}

extension WebSession {
    /// POSTs `multipart/form-data` as a browser does: `fields`, then `files` (field name, file
    /// name, text), with the console's own Origin.
    func postMultipart(_ path: String, _ fields: [(String, String)], files: [(name: String, fileName: String, text: String)]) async throws
        -> Page
    {
        let boundary = "----TriageTestBoundary\(UUID().uuidString.prefix(8))"
        var body = ""
        for (name, value) in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        for file in files {
            body +=
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.fileName)\"\r\nContent-Type: application/x-yaml\r\n\r\n\(file.text)\r\n"
        }
        body += "--\(boundary)--\r\n"
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "multipart/form-data; boundary=\(boundary)")
        request.headers.add(name: "origin", value: base)
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let received = try await response.body.collect(upTo: 8 * 1024 * 1024)
        return Page(status: Int(response.status.code), body: String(buffer: received), headers: response.headers)
    }
}
