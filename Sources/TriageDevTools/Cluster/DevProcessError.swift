/// A dev tool could not do its work (a process that did not start, a cluster that stopped
/// answering, a tool that failed); the description says what happened and where to look.
public struct DevProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
