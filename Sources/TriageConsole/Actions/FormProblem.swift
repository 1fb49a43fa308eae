/// Why a submitted form cannot be acted on: a sentence for the person who sent it.
public struct FormProblem: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
