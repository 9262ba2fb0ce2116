import Foundation
import Testing

@testable import NewsletterCore

/// A process that starts while another migrates waits for it, however long that takes, and is
/// not failed by its own statement deadline as if the server had stopped answering.
@Suite("PostgreSQL migration lock", .runningStores)
struct PostgresMigrationLockTests {
    @Test func aMigrationWaitsForTheSchemaLockPastAStatementsDeadline() async throws {
        var location = try await PostgresCluster.freshDatabase()
        // Short, but not so short that a busy machine's migration statements outlast it.
        location.queryTimeout = 3
        let impatient = location
        // Another session holds the schema's lock for 8 s, as a long migration would.
        let holder = Task {
            try await PostgresCluster.psql(
                impatient, "SELECT pg_advisory_lock(\(PostgresStore.schemaLockKey)), pg_sleep(8)")
        }
        var held = false
        for _ in 0..<300 where !held {
            held =
                try await PostgresCluster.psql(
                    impatient,
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = \(PostgresStore.schemaLockKey & 0xFFFF_FFFF)"
                ) == "1"
            if !held { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(held, "the other session never took the lock")
        let store = try await PostgresStore.openRunning(impatient, opening: .connect)
        #expect(try await store.migrate() == Array(1...PostgresStore.knownSchemaVersion))
        _ = try await holder.value
    }
}
