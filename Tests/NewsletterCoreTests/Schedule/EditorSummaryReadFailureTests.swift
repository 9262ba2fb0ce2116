import Foundation
import Testing

@testable import NewsletterCore

/// A summary store whose editor's-text read fails (a dropped connection, a locked file); the
/// rest is the real store underneath.
struct OverrideUnreadableStore: SummaryStore {
    struct ReadFailed: Error, CustomStringConvertible {
        var description: String { "the connection was closed" }
    }
    let store: AppDatabase

    func cachedSummary(_ key: SummaryCacheKey) async throws -> PanelSummary? { try await store.cachedSummary(key) }
    func saveSummary(_ summary: PanelSummary, for key: SummaryCacheKey) async throws {
        try await store.saveSummary(summary, for: key)
    }
    func summaryOverride(week: IssueWeek, comparisonID: Int64) throws -> PanelSummary? { throw ReadFailed() }
    func saveSummaryOverride(week: IssueWeek, comparisonID: Int64, text: String) async throws {
        try await store.saveSummaryOverride(week: week, comparisonID: comparisonID, text: text)
    }
}

/// An editor's text that cannot be read stops the summary and the preview: the model's summary
/// must not ship in its place.
struct EditorSummaryReadFailureTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    let id: Int64

    init() async throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
        id = try await StoreFixtures.store(
            [try StoreFixtures.comparison("Alpha vs Beta", published: "2026-11-17T10:00:00Z")], in: store)[0]
        try await store.saveSummaryOverride(week: week, comparisonID: id, text: "The editor's own words.")
    }

    @Test func aFailedReadOfTheEditorsTextFailsTheSummaryWithoutAskingTheModel() async throws {
        let model = ScriptedProvider("local", replies: [.success("A model's summary.")])
        let chain = SummaryChain(providers: [model], store: OverrideUnreadableStore(store: store))
        let stored = try await #require(try store.comparison(id: id))
        let error = try await #require(throws: SummaryOverrideReadError.self) {
            try await chain.summarize(stored, week: week)
        }
        #expect(error.week == week && error.comparisonID == id)
        #expect(error.description.contains("could not read the editor's summary"))
        #expect(error.description.contains("the connection was closed"))
        #expect(model.calls == 0)
    }

    @Test func aFailedReadOfTheEditorsTextBuildsNoDraft() async throws {
        let preview = IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: IssueSettings(), outboxDirectory: directory.appendingPathComponent("outbox").path,
            summarizer: SummaryChain(providers: [], store: OverrideUnreadableStore(store: store)))
        await #expect(throws: SummaryOverrideReadError.self) { try await preview.preview(week) }
        await #expect(try store.issue(week) == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/\(week)").path))
    }
}
