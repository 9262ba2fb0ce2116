import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// The SQLite store stamps the time of the clock it was given, as the mailer and the PostgreSQL
/// store do: what it stores and what the mailer compares it with come from one clock.
struct AppDatabaseClockTests {
    let time = ManualTime(Date(timeIntervalSince1970: 1_790_000_000))
    let week = try! IssueWeek(parsing: "2026-W39")

    @Test func storedStampsMoveWithTheInjectedClock() async throws {
        let store = try AppDatabase.inMemory(clock: time)
        let reader = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        #expect(reader.createdAt == time.now())

        time.advance(by: .seconds(86_400))
        let id = try await store.saveComparison(
            try StoreFixtures.comparison("Alpha vs Beta", published: "2026-09-20T10:00:00Z")
        ).id
        await #expect(try store.comparison(id: id)?.firstSeenAt == time.now())

        time.advance(by: .seconds(3_600))
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        _ = try await store.claimDeliveries(week, limit: 1, runStarted: time.now())
        time.advance(by: .seconds(60))
        try await store.recordSent(week, subscriberID: reader.id, messageID: "<m@x>", reply: "250 ok")
        let sentAt = try await store.reader.read { db in
            try Date.fetchOne(db, sql: "SELECT sent_at FROM delivery WHERE subscriber_id = ?", arguments: [reader.id])
        }
        #expect(sentAt == time.now())
    }

    /// A run retries what an earlier run deferred (`updatedAt < runStarted`), the run's start
    /// read from the mailer's clock: the store's stamp must come from the same one.
    @Test func aLaterRunOnTheSameClockRetriesWhatAnEarlierRunDeferred() async throws {
        let store = try AppDatabase.inMemory(clock: time)
        let reader = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let firstRun = time.now()
        await #expect(
            try store.claimDeliveries(week, limit: 1, runStarted: firstRun).map(\.subscriber.id) == [reader.id])
        try await store.recordDeferred(week, subscriberID: reader.id, reply: "451 later")
        await #expect(
            try store.claimDeliveries(week, limit: 1, runStarted: firstRun).isEmpty, "not again in the same run")

        time.advance(by: .seconds(3_600))
        let retried = try await store.claimDeliveries(week, limit: 1, runStarted: time.now())
        #expect(retried.map(\.subscriber.id) == [reader.id])
    }
}
