/// Where a worker listens and the option that chose it.
struct ListenAddress: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    /// The command-line option to change, such as `--ops-port`.
    var option: String

    var description: String { "\(host):\(port)" }
}
