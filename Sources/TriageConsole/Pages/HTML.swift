import Foundation

/// Small pieces of HTML: escaping and formatting shared by the pages. Everything that comes from
/// data (titles, notes, names) goes through ``escape(_:)``.
enum HTML {
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Percent-encodes a path segment or query value.
    static func url(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    /// `2 h 05 min`, `3 min`, `45 s`, `2 d 4 h` for a number of seconds (its magnitude).
    static func duration(_ seconds: Double) -> String {
        let total = Int(abs(seconds).rounded())
        let (days, hours, minutes) = (total / 86_400, (total % 86_400) / 3600, (total % 3600) / 60)
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return String(format: "%d h %02d min", hours, minutes) }
        if minutes > 0 { return "\(minutes) min" }
        return "\(total) s"
    }

    /// `2026-03-06 16:00:05Z`.
    static func instant(_ date: Date?) -> String {
        guard let date else { return "—" }
        return date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ")
    }

    /// `A`, `B`, `C` with a colour class.
    static func severity(_ letter: String) -> String {
        letter.isEmpty ? "—" : "<span class=\"sev sev-\(escape(letter.lowercased()))\">\(escape(letter))</span>"
    }

    /// `waiting_on_customer` → `waiting on customer`.
    static func words(_ status: String) -> String { status.replacingOccurrences(of: "_", with: " ") }

    /// Hidden fields every form carries: the session's CSRF token and a fresh nonce.
    static func formFields(csrf: String) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(csrf))\"><input type=\"hidden\" name=\"nonce\" value=\"\(ActionRequestID.nonce())\">"
    }
}
