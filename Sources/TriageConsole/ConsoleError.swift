/// Why the console could not start or serve. Codes are extensible (`static let`s).
public struct ConsoleError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The HTTP server stopped (or failed) before it listened.
        public static let notListening = Code(name: "not listening")
        /// The intake's address or token cannot be used.
        public static let intake = Code(name: "intake")
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(code: Code, message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "console: \(message)" + (underlying.map { " (\($0))" } ?? "")
    }
}
