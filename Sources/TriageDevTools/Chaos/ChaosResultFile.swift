/// What `--result-json` writes: the verdict and every figure of the audit.
public struct ChaosResultFile: Codable, Sendable {
    public var seed: UInt64
    public var passed: Bool
    public var failures: [String]
    public var figures: ChaosAuditResult

    public init(seed: UInt64, passed: Bool, failures: [String], figures: ChaosAuditResult) {
        self.seed = seed
        self.passed = passed
        self.failures = failures
        self.figures = figures
    }
}
