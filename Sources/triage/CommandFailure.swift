/// A command that could not do its work, for a reason that is not its arguments: printed as
/// `error: <message>` (without the usage) with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
