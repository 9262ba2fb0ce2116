import Foundation
import Testing

@testable import NewsletterCore

/// The rules `summaries edit` and the editor page share: what may be edited, in which scope, and
/// how the text is stored.
struct SummaryEditsTests {
    let store: AppDatabase
    let edits: SummaryEdits<AppDatabase>
    let week = try! IssueWeek(parsing: "2026-W47")
    let id: Int64

    init() async throws {
        store = try AppDatabase.inMemory()
        id = try await StoreFixtures.store(
            [try StoreFixtures.comparison("Alpha vs Beta", published: "2026-11-17T10:00:00Z")], in: store)[0]
        edits = SummaryEdits(store: store)
    }

    @Test func theCommandLineMayWriteASummaryBeforeTheWeeksFirstDraft() async throws {
        let replaced = try await edits.replace(
            week: week, comparisonID: id, with: "  Mine,\r\nin two lines.\u{7}  ", scope: .anyComparison)
        #expect(replaced == .init(title: "Alpha vs Beta", text: "Mine,\nin two lines."))
        await #expect(try store.summaryOverride(week: week, comparisonID: id)?.kind == .edited)
        await #expect(try edits.revert(week: week, comparisonID: id, scope: .anyComparison))
        await #expect(try !edits.revert(week: week, comparisonID: id, scope: .anyComparison))
    }

    @Test func thePageEditsOnlyTheDraftsComparisons() async throws {
        await #expect(throws: SummaryEditError.noDraft(week)) {
            try await edits.replace(week: week, comparisonID: id, with: "x", scope: .draftComparisons)
        }
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [id], hash: "ab"))
        await #expect(throws: SummaryEditError.notInIssue(week, comparisonID: id + 1)) {
            try await edits.revert(week: week, comparisonID: id + 1, scope: .draftComparisons)
        }
        await #expect(try edits.replace(week: week, comparisonID: id, with: "x", scope: .draftComparisons).text == "x")
    }

    @Test func unknownComparisonsBadTextAndSentWeeksAreRefusedAndNothingIsStored() async throws {
        await #expect(throws: SummaryEditError.noComparison(99)) {
            try await edits.replace(week: week, comparisonID: 99, with: "x", scope: .anyComparison)
        }
        await #expect(throws: SummaryEditError.unusableText(.empty)) {
            try await edits.replace(week: week, comparisonID: id, with: " \n\t", scope: .anyComparison)
        }
        await #expect(throws: SummaryEditError.unusableText(.tooLong(2001))) {
            try await edits.replace(
                week: week, comparisonID: id, with: String(repeating: "a", count: 2001), scope: .anyComparison)
        }
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [id], hash: "ab"))
        try await store.approve(week, hash: "ab", at: Date())
        try await store.markSent(week, at: Date())
        for scope in [SummaryEdits<AppDatabase>.Scope.anyComparison, .draftComparisons] {
            await #expect(throws: SummaryEditError.alreadySent(week)) {
                try await edits.replace(week: week, comparisonID: id, with: "Too late.", scope: scope)
            }
            await #expect(throws: SummaryEditError.alreadySent(week)) {
                try await edits.revert(week: week, comparisonID: id, scope: scope)
            }
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: id) == nil)
    }
}
