import Foundation
import Testing

@testable import NewsletterCore

/// `/editor/reports`' numbers over each store: who joined and left each week, and the confirmed
/// count at each week's end, counted back from today's.
@Suite("PublisherTrends", .runningStores)
struct PublisherTrendsTests {
    /// Wednesday 2026-11-25 12:00 UTC, in 2026-W48.
    let now = Date(timeIntervalSince1970: 1_795_608_000)
    let day = 86400.0

    @Test(arguments: [0, 1])
    func eachWeekCountsItsSignupsAndUnsubscribesAndTheConfirmedCountWalksBackFromToday(_ backend: Int) async throws {
        let store = try await IssueReportTests.backends[backend].1(ManualTime(now))
        // Ada joins in W46, Bob in W47, Cy in W48; Bob leaves in W48.
        for (name, daysAgo) in [("ada", 15.0), ("bob", 8.0), ("cy", 1.0)] {
            _ = try await store.importSubscriber(
                email: "\(name)@example.org", name: nil, topics: nil, source: "test", at: now.addingTimeInterval(-daysAgo * day))
        }
        let bob = try #require(try await store.subscriber(email: "bob@example.org"))
        let token = try await store.newUnsubscribeToken(subscriberID: bob.id, at: now)
        _ = try await store.unsubscribe(token: token, client: .commandLine, at: now.addingTimeInterval(-day / 2))

        let trends = try await PublisherTrends.make(
            store: store, weeks: 3, now: now, timeZone: TimeZone(identifier: "UTC")!)
        #expect(trends.weeks.map(\.week.description) == ["2026-W46", "2026-W47", "2026-W48"])
        #expect(trends.weeks.map(\.movement.joined) == [1, 1, 1])
        #expect(trends.weeks.map(\.movement.unsubscribed) == [0, 0, 1])
        #expect(trends.weeks.map(\.confirmed) == [1, 2, 2])
        #expect(trends.issues.isEmpty)
        let charts = trends.charts
        #expect(charts.map(\.id) == ["confirmed", "movements", "click-rate", "top-comparisons", "complaints", "bounces"])
        #expect(charts[0].table.rows == [["2026-W46", "1"], ["2026-W47", "2"], ["2026-W48", "2"]])
        #expect(charts[4].svg.contains("No data yet"), "no sent issue yet")
    }
}
