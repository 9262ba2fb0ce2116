import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// Migration v11: the SQLite store takes the PostgreSQL schema's snake_case names, and a store
/// made before keeps every row under them.
struct SnakeCaseMigrationTests {
    @Test func aStoreMadeBeforeKeepsItsRowsUnderTheNewNames() async throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("v10.sqlite").path
        try AppDatabase.createMigrated(
            path: path, upTo: "v10-archive",
            // The names as they were before v11.
            then: """
                INSERT INTO subscriber (id, email, name, status, createdAt, permanentFailures, confirmedAt)
                VALUES (7, 'ada@example.org', 'Ada', 'confirmed', '2026-11-17 10:00:00', 2, '2026-11-17 10:05:00');
                INSERT INTO subscriberToken (tokenHash, subscriberId, purpose, createdAt)
                VALUES ('h', 7, 'unsubscribe', '2026-11-17 10:05:00');
                INSERT INTO delivery (week, subscriberId, state, attempts, messageId, sentAt, updatedAt)
                VALUES ('2026-W47', 7, 'sent', 1, '<m@x>', '2026-11-17 11:00:00', '2026-11-17 11:00:00');
                """)
        let store = try AppDatabase.open(path: path)
        let ada = try #require(try await store.subscriber(email: "ada@example.org"))
        #expect(ada.id == 7 && ada.name == "Ada" && ada.status == .confirmed && ada.permanentFailures == 2)
        #expect(ada.createdAt == Date(timeIntervalSince1970: 1_794_909_600))  // 2026-11-17 10:00:00 UTC
        #expect(try await store.deliveryCounts(try IssueWeek(parsing: "2026-W47")) == [.sent: 1])
        #expect(try await store.delivery(messageID: "<m@x>")?.subscriberID == 7)

        // No table or column is left with a capital letter: one convention, as in PostgreSQL.
        let names = try await store.read { db in
            var names: [String] = []
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb_%'")
            for table in tables { names += [table] + (try db.columns(in: table).map(\.name)) }
            return names
        }
        #expect(names.contains("subscriber_token") && names.contains("permanent_failures"))
        #expect(names.filter { $0.contains(where: \.isUppercase) } == [])
    }
}
