import Foundation
import NewsletterCore
import Testing

struct WeekSelectionTests {
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test func theWindowIsHalfOpenInTheConfiguredZone() async throws {
        let store = try AppDatabase.inMemory()
        try await StoreFixtures.store(
            [
                try StoreFixtures.comparison("Before", published: "2026-11-15T22:59:59Z"),  // Sun 23:59:59 Berlin, W46
                try StoreFixtures.comparison("First", published: "2026-11-15T23:00:00Z"),  // Mon 00:00:00 Berlin, W47
                try StoreFixtures.comparison("Last", published: "2026-11-22T22:59:59Z"),  // Sun 23:59:59 Berlin, W47
                try StoreFixtures.comparison("After", published: "2026-11-22T23:00:00Z"),  // Mon 00:00:00 Berlin, W48
            ], in: store)
        let selection = try await WeekSelector.select(
            try IssueWeek(parsing: "2026-W47"), from: store, timeZone: berlin, policy: SelectionPolicy())
        #expect(Set(selection.selected.map(\.comparison.title)) == ["First", "Last"])
        let utc = try await WeekSelector.select(
            try IssueWeek(parsing: "2026-W47"), from: store, timeZone: TimeZone(identifier: "UTC")!,
            policy: SelectionPolicy())
        #expect(Set(utc.selected.map(\.comparison.title)) == ["Last", "After"])
    }

    @Test func mostDividedPanelFirstThenMostTakes() async throws {
        let store = try AppDatabase.inMemory()
        try await StoreFixtures.store(
            [
                try StoreFixtures.comparison("Unanimous", published: "2026-11-17T10:00:00Z", shipPercents: [100, 100]),
                try StoreFixtures.comparison("Split", published: "2026-11-18T10:00:00Z", shipPercents: [50, 50]),
                try StoreFixtures.comparison(
                    "Leaning", published: "2026-11-19T10:00:00Z", shipPercents: [75, 100], takes: 5),
                try StoreFixtures.comparison(
                    "Leaning more takes", published: "2026-11-20T10:00:00Z", shipPercents: [100, 75]),
            ], in: store)
        let selection = try await WeekSelector.select(
            try IssueWeek(parsing: "2026-W47"), from: store, timeZone: berlin,
            policy: SelectionPolicy(maxComparisons: 3))
        #expect(selection.selected.map(\.comparison.title) == ["Split", "Leaning more takes", "Leaning"])
        #expect(selection.leftOut.count == 1)
    }

    @Test func comparisonsFeaturedByAnEarlierSentIssueAreNotSelectedAgain() async throws {
        let store = try AppDatabase.inMemory()
        let ids = try await StoreFixtures.store(
            [
                try StoreFixtures.comparison("Old news", published: "2026-11-17T10:00:00Z"),
                try StoreFixtures.comparison("Fresh", published: "2026-11-18T10:00:00Z"),
            ], in: store)
        let w46 = try IssueWeek(parsing: "2026-W46")
        try await store.saveDraft(
            IssueDraft(
                week: w46, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [ids[0]], hash: "x"))
        let w47 = try IssueWeek(parsing: "2026-W47")
        let beforeSending = try await WeekSelector.select(w47, from: store, timeZone: berlin, policy: SelectionPolicy())
        #expect(beforeSending.selected.count == 2)  // a draft that was never sent features nothing
        try await store.markSent(w46, at: Date())
        let afterSending = try await WeekSelector.select(w47, from: store, timeZone: berlin, policy: SelectionPolicy())
        #expect(afterSending.selected.map(\.comparison.title) == ["Fresh"])
        #expect(afterSending.alreadyFeatured == [ids[0]])
    }

    @Test func divisionReadsVotesBeforePercentages() throws {
        var comparison = try StoreFixtures.comparison("x", published: "2026-11-17T10:00:00Z", shipPercents: [100, 100])
        #expect(WeekSelector.division(comparison) == 0)
        comparison.tools[0].shipVotes = 2
        comparison.tools[0].skipVotes = 2
        #expect(WeekSelector.division(comparison) == 0.5)  // (1 + 0) / 2
        comparison.tools = comparison.tools.map {
            var tool = $0; tool.panelShipPercent = nil; tool.shipVotes = nil; return tool
        }
        #expect(WeekSelector.division(comparison) == 0)
    }
}
