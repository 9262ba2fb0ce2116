import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// The SQLite store reads a subscriber's columns by name, as the PostgreSQL store does: every
/// field comes back as stored, whatever order a query puts the columns in, and a value this
/// binary does not know is an error, never a crash.
@Suite("SQLite row decoding")
struct SQLiteRowDecodingTests {
    static func store() throws -> AppDatabase {
        try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
    }

    @Test func everyFieldOfASubscriberComesBackAsStoredWhateverTheColumnsOrder() async throws {
        let store = try Self.store()
        let plain = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .pending)
        let full = try await store.addSubscriber(email: "bo@example.org", name: "Bo \"B\"", status: .confirmed)
        let confirmed = Date(timeIntervalSince1970: 1_780_000_000.25)
        try await store.write { db in
            try db.execute(
                sql: "UPDATE subscriber SET format = 'text', paused = 1, permanent_failures = 2, confirmed_at = ? WHERE id = ?",
                arguments: [confirmed, full.id])
        }
        let page = try await store.subscribers(status: nil, afterID: 0, limit: 10)
        #expect(page.map(\.email) == ["ada@example.org", "bo@example.org"])
        #expect(page.first == plain)
        let second = try #require(page.last)
        #expect(second.name == "Bo \"B\"")
        #expect(second.format == .text)
        #expect(second.paused)
        #expect(second.permanentFailures == 2)
        #expect(second.confirmedAt == confirmed)
        #expect(second.createdAt == full.createdAt)
        let reordered = try await store.read { db in
            try Subscriber.fetchOne(
                db, sql: "SELECT 3 AS attempts, confirmed_at, paused, format, permanent_failures, created_at, status, name, email, id FROM subscriber WHERE id = ?",
                arguments: [full.id])
        }
        #expect(reordered == second)
    }

    @Test func aStatusThisBinaryDoesNotKnowIsAnErrorNotACrash() async throws {
        let store = try Self.store()
        let added = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.write { db in
            try db.execute(sql: "UPDATE subscriber SET status = 'vip' WHERE id = ?", arguments: [added.id])
        }
        await #expect(throws: (any Error).self) { try await store.subscriber(id: added.id) }
        await #expect(throws: (any Error).self) { try await store.subscribers(status: nil, afterID: 0, limit: 10) }
    }
}
