/// A JSON document written straight into bytes, for records written on every event.
///
/// `JSONEncoder` and SwiftProtobuf's JSON mapping build the document through boxed values,
/// dictionaries and key sorting; a worker that writes a record per event spends most of its
/// time there. With this buffer the caller writes the members itself, in the order the
/// encoder it replaces would, and picks that encoder's spelling of strings and numbers
/// (``Style``), so the bytes are the same and its readers read them alike.
///
/// ```swift
/// var json = JSONBuffer()
/// json.raw("{")
/// json.key("id", first: true)
/// json.string("INC-1", style: .jsonEncoder)
/// json.raw("}")
/// ```
public struct JSONBuffer: Sendable {
    /// Whose spelling of strings and numbers to write.
    public enum Style: Sendable {
        /// Foundation's `JSONEncoder` with `.withoutEscapingSlashes`: `\b \t \n \f \r`, other
        /// C0 controls as `\u00xx` (lowercase), `"` and `\`; a double as its shortest round-trip
        /// form without a trailing `.0` (`3840`, `1e+20`).
        case jsonEncoder
        /// SwiftProtobuf's JSON mapping: as above, but C0 and C1 controls and DEL as `\u00XX`
        /// (uppercase); a double as its shortest round-trip form (`3840.0`), NaN and the
        /// infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
        case protobuf
    }

    /// The document so far.
    public var bytes: [UInt8] { storage }
    // Internal but inlinable: the members below are small and called per field, so they are
    // inlined into the writers in other modules.
    @usableFromInline var storage: [UInt8] = []

    /// `capacity`: bytes reserved up front. Default 512.
    public init(capacity: Int = 512) { storage.reserveCapacity(capacity) }

    /// Text written as is (punctuation, literals).
    @inlinable
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { storage.append(contentsOf: $0) }
    }

    /// `"name":`, after a comma unless `first`. Names are plain ASCII and never escaped.
    @inlinable
    public mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { storage.append(UInt8(ascii: ",")) }
        storage.append(UInt8(ascii: "\""))
        raw(name)
        storage.append(UInt8(ascii: "\""))
        storage.append(UInt8(ascii: ":"))
    }

    @inlinable
    public mutating func null() { raw("null") }

    @inlinable
    public mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// A quoted string escaped as `style`'s encoder escapes it.
    @inlinable
    public mutating func string(_ value: String, style: Style) {
        storage.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var plainFrom = 0
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                let escaped: Bool
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0..<0x20: escaped = true
                case 0x7F: escaped = style == .protobuf
                // U+0080...U+009F, the C1 controls, are 0xC2 0x80...0x9F in UTF-8.
                case 0xC2: escaped = style == .protobuf && index + 1 < utf8.count && utf8[index + 1] < 0xA0
                default: escaped = false
                }
                guard escaped else {
                    index += 1
                    continue
                }
                storage.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom..<index]))
                if byte == 0xC2 {
                    index += 1
                    escape(utf8[index], style: style)
                } else {
                    escape(byte, style: style)
                }
                index += 1
                plainFrom = index
            }
            storage.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom..<utf8.count]))
        }
        storage.append(UInt8(ascii: "\""))
    }

    @usableFromInline
    mutating func escape(_ code: UInt8, style: Style) {
        switch code {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x08: raw("\\b")
        case 0x09: raw("\\t")
        case 0x0A: raw("\\n")
        case 0x0C: raw("\\f")
        case 0x0D: raw("\\r")
        default:
            let digits = style == .protobuf ? Self.upperHex : Self.lowerHex
            raw("\\u00")
            storage.append(digits[Int(code >> 4)])
            storage.append(digits[Int(code & 0x0F)])
        }
    }

    @usableFromInline static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)
    @usableFromInline static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// An integer in decimal.
    @inlinable
    public mutating func int(_ value: some BinaryInteger) {
        if value < 0 { storage.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        let start = storage.count
        repeat {
            storage.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        storage[start...].reverse()
    }

    /// A double as `style`'s encoder writes it. Under ``Style/jsonEncoder`` the value must be
    /// finite (`JSONEncoder` throws on NaN and the infinities; check first).
    @inlinable
    public mutating func double(_ value: Double, style: Style) {
        // Whole numbers below 2^53 print as their digits (`description` only switches to an
        // exponent above that): written without the float printer, the common case here.
        if value.rounded(.towardZero) == value, value.magnitude < 9_007_199_254_740_992, value != 0 || value.sign == .plus {
            int(Int64(value))
            if style == .protobuf { raw(".0") }
            return
        }
        switch style {
        case .jsonEncoder:
            precondition(value.isFinite, "JSONEncoder writes no \(value)")
            let text = value.description
            var utf8 = text.utf8[...]
            if utf8.count > 2, utf8.last == UInt8(ascii: "0"),
                utf8[utf8.index(utf8.endIndex, offsetBy: -2)] == UInt8(ascii: ".")
            {
                utf8 = utf8.dropLast(2)
            }
            storage.append(contentsOf: utf8)
        case .protobuf:
            if value.isNaN {
                raw("\"NaN\"")
            } else if value.isInfinite {
                value < 0 ? raw("\"-Infinity\"") : raw("\"Infinity\"")
            } else {
                storage.append(contentsOf: value.description.utf8)
            }
        }
    }

    /// `value` in exactly `width` decimal digits, zero-padded (`value` must fit).
    @inlinable
    public mutating func digits(_ value: Int64, width: Int) {
        precondition(value >= 0, "digits of a negative number")
        let start = storage.count
        storage.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var rest = value
        var position = start + width - 1
        while rest > 0, position >= start {
            storage[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        precondition(rest == 0, "\(value) has more than \(width) digits")
    }
}
