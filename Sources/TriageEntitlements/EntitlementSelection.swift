public import Foundation

/// Which entitlement pays for an incident when the caller names none.
public enum EntitlementSelection {
    /// Entitlements of `account` that can open an incident at `at`, best first.
    ///
    /// Only entitlements owned by `account` whose ``Entitlement/status(at:)`` is `.valid` are
    /// returned, ordered by:
    /// 1. contracts (unlimited) before packs;
    /// 2. when `coverage` is given, entitlements with that coverage first;
    /// 3. packs: earliest expiry first (use the credits that would lapse soonest), then fewest
    ///    credits remaining;
    /// 4. ties by id.
    public static func candidates(
        for account: String, at: Date, among entitlements: some Sequence<Entitlement>, coverage: EntitlementCoverage?
    )
        -> [Entitlement]
    {
        entitlements
            .filter { $0.account == account && $0.status(at: at) == .valid }
            .sorted { a, b in
                if a.kind.isPack != b.kind.isPack { return !a.kind.isPack }
                if let coverage, (a.coverage == coverage) != (b.coverage == coverage) { return a.coverage == coverage }
                if a.kind.isPack {
                    if a.expiresAt != b.expiresAt { return a.expiresAt < b.expiresAt }
                    let (left, right) = (a.creditsRemaining ?? .max, b.creditsRemaining ?? .max)
                    if left != right { return left < right }
                }
                return a.id < b.id
            }
    }
}
