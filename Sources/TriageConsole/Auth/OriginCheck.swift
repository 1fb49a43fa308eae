import Foundation

/// The second CSRF defence beside the per-session token: a POST must say where it comes from
/// (`Origin`, or failing that `Referer`), and that must be the console itself — the scheme and
/// the request's own `Host`, or one of ``ConsoleConfiguration/allowedOrigins``. A request with
/// neither header, or `Origin: null`, is refused.
struct OriginCheck: Sendable {
    var allowedOrigins: [String]

    func allows(origin: String?, referer: String?, host: String?) -> Bool {
        var accepted = allowedOrigins.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        if let host, !host.isEmpty { accepted += ["http://\(host.lowercased())", "https://\(host.lowercased())"] }
        if let origin, !origin.isEmpty {
            return accepted.contains(origin.lowercased())
        }
        if let referer, !referer.isEmpty {
            let lowered = referer.lowercased()
            return accepted.contains { lowered == $0 || lowered.hasPrefix($0 + "/") }
        }
        return false
    }
}
