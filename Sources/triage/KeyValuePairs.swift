import ArgumentParser

/// Parses repeated `KEY=VALUE` option values; later keys win. A value without `=` is never
/// quoted back (`--kafka-property 'sasl.password:…'` holds a secret): the error counts it and
/// names the key it seems to start with.
func keyValuePairs(_ values: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for (index, value) in values.enumerated() {
        guard let equals = value.firstIndex(of: "=") else {
            let ordinal = values.count > 1 ? " (number \(index + 1))" : ""
            let fix = propertyKey(startingWith: value).map { "write \($0)=VALUE" } ?? "write it as KEY=VALUE, e.g. sasl.username=NAME"
            throw ValidationError(
                "\(option)\(ordinal) is not KEY=VALUE: found \(value.count) characters without '=' (not shown: a value may be a secret); \(fix)"
            )
        }
        guard equals != value.startIndex else {
            throw ValidationError(
                "\(option)\(values.count > 1 ? " (number \(index + 1))" : "") has an empty KEY: write KEY=VALUE, e.g. sasl.username=NAME")
        }
        result[String(value[..<equals])] = String(value[value.index(after: equals)...])
    }
    return result
}

/// The property name `text` starts with, when one (lower-case words joined by dots, such as
/// `sasl.password`) is followed by a separator other than `=` (`sasl.password:…`, `sasl.password …`).
private func propertyKey(startingWith text: String) -> String? {
    guard let separator = text.firstIndex(where: { $0 == ":" || $0.isWhitespace }) else { return nil }
    let key = text[..<separator]
    let isName =
        key.contains(".") && key.first?.isLetter == true
        && key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
    return isName ? String(key) : nil
}
