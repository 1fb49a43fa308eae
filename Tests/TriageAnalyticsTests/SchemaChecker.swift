import Foundation

/// A JSON value, decoded without Foundation's number/boolean ambiguity.
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    static func parse(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// A structural check of JSON against the subset of JSON Schema (2020-12) our schema files use:
/// `type` (one or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `anyOf`, `items`, `maxItems`, `minimum`, `maximum`, `pattern` and local `$ref`s into `$defs`. Enough to keep the
/// schema files and the code from drifting; full validation is a job for a real validator.
struct SchemaChecker {
    let root: JSONValue

    /// Reads a schema file of the repository, relative to this source file.
    init(repositoryFile path: String, from file: String = #filePath) throws {
        let repository = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
        root = try JSONValue.parse(text)
    }

    /// Every violation, with its JSON path; empty when `value` conforms.
    func violations(of value: JSONValue) -> [String] {
        var found: [String] = []
        check(value, against: root, at: "$", into: &found)
        return found
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard let reference = schema["$ref"]?.string else { return schema }
        let name = reference.replacingOccurrences(of: "#/$defs/", with: "")
        return root["$defs"]?[name] ?? .null
    }

    private func check(_ value: JSONValue, against rawSchema: JSONValue, at path: String, into found: inout [String]) {
        let schema = resolve(rawSchema)
        if case .null = schema { return found.append("\(path): unresolvable schema \(rawSchema)") }
        if let types = schema["type"] {
            let allowed: [String] = if case .array(let list) = types { list.compactMap(\.string) } else { [types.string ?? ""] }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                return found.append("\(path): \(value) is not of type \(allowed)")
            }
        }
        if case .array(let branches) = schema["anyOf"] ?? .null {
            let conforming = branches.contains { branch in
                var branchFound: [String] = []
                check(value, against: branch, at: path, into: &branchFound)
                return branchFound.isEmpty
            }
            if !conforming { found.append("\(path): \(value) matches none of anyOf") }
        }
        if case .array(let options) = schema["enum"] ?? .null, !options.contains(value) {
            found.append("\(path): \(value) is not one of \(options)")
        }
        switch value {
        case .object(let members):
            guard case .object(let properties) = schema["properties"] ?? .object([:]) else { return }
            if case .array(let required) = schema["required"] ?? .null {
                for case .string(let key) in required where members[key] == nil { found.append("\(path): missing \(key)") }
            }
            for (key, member) in members {
                if let property = properties[key] {
                    check(member, against: property, at: "\(path).\(key)", into: &found)
                } else if schema["additionalProperties"] == .bool(false) {
                    found.append("\(path): unexpected key \(key)")
                }
            }
        case .array(let elements):
            if case .number(let maximum) = schema["maxItems"] ?? .null, Double(elements.count) > maximum {
                found.append("\(path): \(elements.count) items, at most \(maximum)")
            }
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() { check(element, against: items, at: "\(path)[\(index)]", into: &found) }
            }
        case .number(let number):
            if case .number(let minimum) = schema["minimum"] ?? .null, number < minimum { found.append("\(path): \(number) < \(minimum)") }
            if case .number(let maximum) = schema["maximum"] ?? .null, number > maximum { found.append("\(path): \(number) > \(maximum)") }
        case .string(let text):
            if let pattern = schema["pattern"]?.string, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): '\(text)' does not match \(pattern)")
            }
        case .null, .bool:
            break
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"): true
        case (.number(let number), "integer"): number.rounded() == number
        default: false
        }
    }
}
