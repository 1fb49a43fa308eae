/// A calendar that cannot be built or used, with what to fix.
public struct CalendarError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
