/// A configuration file that cannot be used (an SLA policy, a business calendar, a roster,
/// notification rules, a billing policy, a tenants file): where the problem is and what to do
/// about it.
///
/// ``description`` reads `FILE:LINE:COLUMN: KEY: MESSAGE` (parts that are `nil` are left out),
/// the format compilers use, so editors and terminals can jump to the position:
///
/// ```
/// config/sla-policy.yaml:14:22: targets.business_hours.B.first_response: '3d': days are not a unit …
/// roster.yaml:12:15: agents[3].capacity: '0' must be a positive integer (load units)
/// ```
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is. Compare against the `static let` cases; new cases never break
    /// callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The text is not valid YAML (or holds more than one document, or a key twice).
        public static let syntax = Code(rawValue: "syntax")
        /// A key the format does not know (often a typo; the message suggests the closest key).
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// A required key is absent.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value of the wrong shape: a list where a mapping belongs, a mapping for a duration, ...
        public static let wrongType = Code(rawValue: "wrong-type")
        /// A value of the right shape that is not acceptable: a bad duration, an unknown time zone,
        /// overlapping hours, a warning at 100 %, levels out of order, a capacity of 0, ...
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// A name that refers to something not defined in the file (a team's calendar, an agent's
        /// shift calendar).
        public static let unknownReference = Code(rawValue: "unknown-reference")
        /// Something defined twice: an agent id.
        public static let duplicate = Code(rawValue: "duplicate")
    }

    public let code: Code
    /// The file name given to `load(yaml:file:)`.
    public let file: String
    /// 1-based line of the offending key or value; `nil` when the problem has no position.
    public let line: Int?
    /// 1-based column (in Unicode scalars) of the offending key or value.
    public let column: Int?
    /// Dotted path of the offending key, such as `targets.business_hours.B.first_response`;
    /// list elements are written with a 0-based index: `escalation[1].after`.
    public let key: String?
    /// What is wrong, and what to write instead where that is known.
    public let message: String

    public init(code: Code, file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// `FILE:LINE:COLUMN: KEY: MESSAGE`, leaving out the parts that are `nil`.
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        var parts = location.isEmpty ? [] : [location]
        if let key, !key.isEmpty { parts.append(key) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
