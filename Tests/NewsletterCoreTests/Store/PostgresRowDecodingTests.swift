import Foundation
import PostgresNIO
import Testing

@testable import NewsletterCore

/// The PostgreSQL store reads a subscriber's columns by name: a query that adds a column to the
/// list, or puts the subscriber's columns after others (a token's times, a ledger row's
/// attempts), shifts nothing.
@Suite("PostgreSQL row decoding", .runningStores)
struct PostgresRowDecodingTests {
    @Test func aSubscriberRowDecodesByColumnNameWhateverTheColumnsOrder() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await PostgresStore.openRunning(location)
        let added = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        let reversed = PostgresStore.subscriberColumns.split(separator: ", ").reversed().joined(separator: ", ")
        let (subscriber, attempts) = try await store.read { connection in
            let row = try #require(
                try await connection.rows(
                    "SELECT 3 AS attempts, \(unescaped: reversed), 'x' AS topics FROM subscriber WHERE id = \(added.id)"
                ).first?.makeRandomAccess())
            return (try PostgresStore.subscriber(row), try row.decode(Int.self, column: "attempts"))
        }
        #expect(subscriber == added)
        #expect(attempts == 3)
        let missing = try await store.read { connection in
            try #require(try await connection.rows("SELECT 1 AS id").first?.makeRandomAccess())
        }
        #expect(throws: PostgresStoreError.self) { try missing.decode(String.self, column: "email") }
    }
}
