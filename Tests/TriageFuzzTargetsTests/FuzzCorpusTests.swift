import Testing
@testable import TriageFuzzTargets

@Suite struct FuzzCorpusTests {
    @Test func entryPointNamesAreUnique() {
        #expect(Set(FuzzTargets.names).count == FuzzTargets.names.count)
    }
}
