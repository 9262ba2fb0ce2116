import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// The SQLite store's transaction spans several writer accesses (SQLiteRows.swift): one that
/// ends in a cancelled task must still end, or SQLite's write lock stays with the store.
struct SQLiteTransactionTests {
    @Test func aWorkflowCancelledMidWayRollsBackAndReleasesTheFile() async throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path
        let store = try AppDatabase.open(path: path)
        let workflow = Task {
            try await store.transaction { rows in
                try await rows.insertTopic("half-done", at: Date())
                withUnsafeCurrentTask { $0?.cancel() }
                throw CancellationError()
            }
        }
        _ = await workflow.result

        // Another process's connection writes at once: no transaction was left holding the lock.
        let other = try DatabaseQueue(path: path)
        try await other.write { db in
            try db.execute(sql: "INSERT INTO topic (name, first_seen_at) VALUES ('after', ?)", arguments: [Date()])
        }
        try other.close()
        let topics = try await store.read { db in try String.fetchAll(db, sql: "SELECT name FROM topic ORDER BY name") }
        #expect(topics == ["after"])
    }
}
