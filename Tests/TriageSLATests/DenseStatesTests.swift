import Foundation
import Testing

@testable import TriageSLA

/// The book's dense storage (issue 24) behaves as the dictionary it replaced.
@Suite("SLA book: dense state storage")
struct DenseStatesTests {
    @Test func insertsReplacesAndRemovesAsADictionaryDoes() {
        let rules = SlaRules(SlaPolicy())
        var dense = DenseStates()
        var model: [String: IncidentSla] = [:]
        var generator = SeededGenerator(state: 24)
        let opened = Date(timeIntervalSince1970: 1_780_000_000)
        for step in 0..<20_000 {
            let id = "INC-\(Int.random(in: 0..<500, using: &generator))"
            if Int.random(in: 0..<3, using: &generator) == 0 {
                dense[id] = nil
                model[id] = nil
            } else {
                let state = IncidentSla(
                    openedAt: opened.addingTimeInterval(Double(step)), severity: [.a, .b, .c][step % 3], coverage: .twentyFourSeven,
                    team: nil, rules: rules, position: Int64(step))
                dense[id] = state
                model[id] = state
            }
            if step % 1_000 == 0 || step == 19_999 {
                #expect(dense.count == model.count)
                #expect(dense.dictionary == model)
                for (id, state) in model { #expect(dense[id] == state) }
            }
        }
        #expect(dense["INC-missing"] == nil)
    }
}
