import Foundation
import NewsletterCore
import Testing

/// What every `SummaryStore` does (and NewsletterStore's `removeSummaryOverride`), written once
/// and run against each backend: the cache of generated summaries and the editors' texts.
@Suite("SummaryStore contract", .runningStores)
struct SummaryStoreContractTests {
    let week = try! IssueWeek(parsing: "2026-W48")
    let key = SummaryCacheKey(model: "qwen2.5-0.5b", promptVersion: "p3", sourceHash: "abc123")

    func comparison(_ title: String, in store: any ContractStore) async throws -> Int64 {
        try await store.saveComparison(try StoreFixtures.comparison(title, published: "2026-11-24T10:00:00Z")).id
    }

    @Test(arguments: StoreBackend.all)
    func aCachedSummaryReadsBackUnderItsKeyOnly(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.cachedSummary(key) == nil)
        let summary = PanelSummary(
            text: "Builders ship it; the Skeptic “doubts” the pricing.", provider: "local", kind: .abstractive,
            model: "qwen2.5-0.5b-instruct-q4", promptTokens: 812, completionTokens: 64, milliseconds: 1234,
            note: nil)
        try await store.saveSummary(summary, for: key)
        await #expect(try store.cachedSummary(key) == summary)
        for other in [
            SummaryCacheKey(model: "other", promptVersion: key.promptVersion, sourceHash: key.sourceHash),
            SummaryCacheKey(model: key.model, promptVersion: "p4", sourceHash: key.sourceHash),
            SummaryCacheKey(model: key.model, promptVersion: key.promptVersion, sourceHash: "def456"),
        ] {
            await #expect(try store.cachedSummary(other) == nil)
        }
        // The fields a fallback has, and none of the model's.
        let fallback = PanelSummary(
            text: "Two ship.", provider: "extractive", kind: .extractive, note: "model timed out")
        let fallbackKey = SummaryCacheKey(model: "extractive", promptVersion: "-", sourceHash: key.sourceHash)
        try await store.saveSummary(fallback, for: fallbackKey)
        await #expect(try store.cachedSummary(fallbackKey) == fallback)
        await #expect(try store.cachedSummary(key) == summary)
    }

    @Test(arguments: StoreBackend.all, SummaryKind.allCases)
    func everyKindOfSummaryIsKept(_ backend: StoreBackend, _ kind: SummaryKind) async throws {
        let store = try await backend.makeStore()
        let summary = PanelSummary(text: "t", provider: "p", kind: kind)
        try await store.saveSummary(summary, for: key)
        await #expect(try store.cachedSummary(key)?.kind == kind)
    }

    @Test(arguments: StoreBackend.all)
    func savingUnderAKeyAgainReplacesTheSummary(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await store.saveSummary(
            PanelSummary(text: "first", provider: "local", kind: .abstractive, model: "m"), for: key)
        let second = PanelSummary(text: "second", provider: "local-grammar", kind: .grammarExtractive)
        try await store.saveSummary(second, for: key)
        await #expect(try store.cachedSummary(key) == second, "every field replaced, the model's name too")
    }

    @Test(arguments: StoreBackend.all)
    func anEditorsTextIsKeptPerWeekAndComparisonUntilRemoved(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let a = try await comparison("A vs B", in: store)
        let b = try await comparison("C vs D", in: store)
        await #expect(try store.summaryOverride(week: week, comparisonID: a) == nil)
        try await store.saveSummaryOverride(week: week, comparisonID: a, text: "Editor's words,\nin two lines.")
        await #expect(
            try store.summaryOverride(week: week, comparisonID: a)
                == PanelSummary(text: "Editor's words,\nin two lines.", provider: EditorSummary.provider, kind: .edited)
        )
        await #expect(try store.summaryOverride(week: week, comparisonID: b) == nil)
        await #expect(try store.summaryOverride(week: week.next, comparisonID: a) == nil)
        try await store.saveSummaryOverride(week: week, comparisonID: a, text: "Better words.")
        await #expect(try store.summaryOverride(week: week, comparisonID: a)?.text == "Better words.")
        try await store.saveSummaryOverride(week: week.next, comparisonID: a, text: "Next week's.")

        await #expect(try store.removeSummaryOverride(week: week, comparisonID: a))
        await #expect(try store.summaryOverride(week: week, comparisonID: a) == nil)
        await #expect(try !store.removeSummaryOverride(week: week, comparisonID: a), "the second time there is none")
        await #expect(try !store.removeSummaryOverride(week: week, comparisonID: b))
        await #expect(try store.summaryOverride(week: week.next, comparisonID: a)?.text == "Next week's.")
    }

    @Test(arguments: StoreBackend.all)
    func anEditorsTextForAComparisonThatIsNotStoredIsRefused(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let a = try await comparison("A vs B", in: store)
        await #expect(throws: (any Error).self) {
            try await store.saveSummaryOverride(week: week, comparisonID: a + 1000, text: "Nobody's.")
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: a + 1000) == nil)
    }
}
