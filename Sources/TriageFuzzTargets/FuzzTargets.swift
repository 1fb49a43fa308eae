// Entry points for the fuzzers in Fuzz/ and for the corpus replay test. Filled in by the fuzzing work.
public enum FuzzTargets {
    /// Every fuzz entry point by name.
    public static let names: [String] = []
}
