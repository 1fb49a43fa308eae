import Foundation

/// A `multipart/form-data` body (RFC 7578) as the console's upload forms send it: each part's
/// field name, file name (for a file input) and bytes. Hummingbird has no multipart parser; the
/// body is collected with a size bound before it gets here, so this reads it whole.
///
/// Only what browsers send is accepted: a `boundary` parameter, parts with a
/// `Content-Disposition: form-data; name="…"` header. Anything else is refused with a reason
/// (``Problem``), never guessed at.
struct MultipartFormData: Sendable {
    struct Part: Sendable, Hashable {
        var name: String
        /// The file name the browser sent (a file input), without any directory.
        var fileName: String?
        var bytes: [UInt8]
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Why a body is not a form this console can read.
    struct Problem: Error, Sendable, Hashable {
        var message: String
    }

    var parts: [Part]

    /// The first part named `name`.
    subscript(name: String) -> Part? { parts.first { $0.name == name } }

    /// The text fields (file parts left out) as ``FormData`` gives them: the last value of a
    /// repeated name wins.
    var fields: [String: String] {
        var result: [String: String] = [:]
        for part in parts where part.fileName == nil { result[part.name] = part.text }
        return result
    }

    /// The boundary of a `multipart/form-data; boundary=…` content type; `nil` for any other.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            // RFC 2046: 1 to 70 characters.
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Parses `body`; at most `maximumParts` parts.
    static func parse(_ body: [UInt8], boundary: String, maximumParts: Int = 32) throws(Problem) -> MultipartFormData {
        let delimiter = Array("--\(boundary)".utf8)
        guard var start = find(delimiter, in: body, from: 0) else { throw Problem(message: "the form has no parts") }
        var parts: [Part] = []
        while true {
            var cursor = start + delimiter.count
            // "--" after a delimiter ends the body.
            if cursor + 1 < body.count, body[cursor] == 0x2D, body[cursor + 1] == 0x2D { break }
            guard cursor + 1 < body.count, body[cursor] == 0x0D, body[cursor + 1] == 0x0A else {
                throw Problem(message: "the form is cut short or malformed")
            }
            cursor += 2
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: cursor) else {
                throw Problem(message: "a part of the form has no end of headers")
            }
            let headers = String(decoding: body[cursor..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = find(Array("\r\n".utf8) + delimiter, in: body, from: contentStart) else {
                throw Problem(message: "the form is cut short (no closing boundary)")
            }
            guard parts.count < maximumParts else { throw Problem(message: "the form has more than \(maximumParts) parts") }
            parts.append(try part(headers: headers, bytes: Array(body[contentStart..<next])))
            start = next + 2
        }
        return MultipartFormData(parts: parts)
    }

    private static func part(headers: String, bytes: [UInt8]) throws(Problem) -> Part {
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            let parameters = Self.parameters(String(pair[1]))
            guard let name = parameters["name"] else { break }
            // Browsers send the bare name; anything with a path keeps its last component only.
            let fileName = parameters["filename"].map { name in
                String(name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
            }
            return Part(name: name, fileName: fileName, bytes: bytes)
        }
        throw Problem(message: "a part of the form has no Content-Disposition name")
    }

    /// `form-data; name="policy"; filename="a.yaml"` → `["name": "policy", "filename": "a.yaml"]`.
    static func parameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var index = value.startIndex
        while index < value.endIndex {
            guard let semicolon = value[index...].firstIndex(of: ";") else { break }
            index = value.index(after: semicolon)
            while index < value.endIndex, value[index] == " " { index = value.index(after: index) }
            guard let equals = value[index...].firstIndex(of: "=") else { break }
            let key = value[index..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            index = value.index(after: equals)
            var text = ""
            if index < value.endIndex, value[index] == "\"" {
                index = value.index(after: index)
                while index < value.endIndex, value[index] != "\"" {
                    if value[index] == "\\", value.index(after: index) < value.endIndex { index = value.index(after: index) }
                    text.append(value[index])
                    index = value.index(after: index)
                }
                if index < value.endIndex { index = value.index(after: index) }
            } else {
                let end = value[index...].firstIndex(of: ";") ?? value.endIndex
                text = value[index..<end].trimmingCharacters(in: .whitespaces)
                index = end
            }
            result[key] = text
        }
        return result
    }

    /// The first index of `needle` in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = from
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
