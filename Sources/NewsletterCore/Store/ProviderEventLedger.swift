import Foundation
import GRDB
import PostgresNIO

/// The ids of the providers' webhook events already received, so a replayed request is refused
/// across restarts and by every server process sharing the store. Ids are kept an hour: a
/// request signed more than five minutes ago is refused for its age before its ids are read.
public protocol ProviderEventLedger: Sendable {
    /// Records `ids` as received at `time` and returns those not received before; ids received
    /// before `forgetBefore` are forgotten first.
    func claimProviderEvents(_ ids: [String], provider: String, at time: Date, forgetBefore: Date) async throws
        -> Set<String>
    /// Forgets ids whose events could not be recorded (the store failed), so the provider's
    /// retry is taken.
    func releaseProviderEvents(_ ids: [String], provider: String) async throws
}

/// The ledger's rows, one statement each, in both stores.
protocol ProviderEventRows {
    /// False when the id is there already.
    func insertProviderEvent(provider: String, id: String, at time: Date) async throws -> Bool
    func deleteProviderEvents(receivedBefore time: Date) async throws
    func deleteProviderEvent(provider: String, id: String) async throws
}

extension RowTransactions {
    public func claimProviderEvents(_ ids: [String], provider: String, at time: Date, forgetBefore: Date)
        async throws -> Set<String>
    {
        try await rowTransaction { rows in
            try await rows.deleteProviderEvents(receivedBefore: forgetBefore)
            var new: Set<String> = []
            for id in ids where try await rows.insertProviderEvent(provider: provider, id: id, at: time) {
                new.insert(id)
            }
            return new
        }
    }

    public func releaseProviderEvents(_ ids: [String], provider: String) async throws {
        try await rowTransaction { rows in
            for id in ids { try await rows.deleteProviderEvent(provider: provider, id: id) }
        }
    }
}

extension AppDatabase: ProviderEventLedger {
    /// `v15-provider-events`.
    static func migrateProviderEvents(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE provider_event (
                    provider TEXT NOT NULL, event_id TEXT NOT NULL, received_at DATETIME NOT NULL,
                    PRIMARY KEY (provider, event_id));
                CREATE INDEX provider_event_received ON provider_event (received_at);
                """)
    }
}

extension SQLiteRows: ProviderEventRows {
    func insertProviderEvent(provider: String, id: String, at time: Date) async throws -> Bool {
        try await access { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO provider_event (provider, event_id, received_at) VALUES (?, ?, ?)",
                arguments: [provider, id, StoredDate.databaseValue(time)])
            return db.changesCount > 0
        }
    }

    func deleteProviderEvents(receivedBefore time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "DELETE FROM provider_event WHERE received_at < ?", arguments: [StoredDate.databaseValue(time)])
        }
    }

    func deleteProviderEvent(provider: String, id: String) async throws {
        try await access { db in
            try db.execute(
                sql: "DELETE FROM provider_event WHERE provider = ? AND event_id = ?", arguments: [provider, id])
        }
    }
}

extension PostgresStore: ProviderEventLedger {
    static let providerEventsMigration = Migration(
        version: 9, name: "the providers' webhook event ids, against replays (SQLite: v15-provider-events)",
        statements: [
            """
            CREATE TABLE provider_event (
                provider text NOT NULL, event_id text NOT NULL, received_at timestamptz NOT NULL,
                PRIMARY KEY (provider, event_id))
            """,
            "CREATE INDEX provider_event_received ON provider_event (received_at)",
        ])
}

extension PostgresSession: ProviderEventRows {
    func insertProviderEvent(provider: String, id: String, at time: Date) async throws -> Bool {
        try await run(
            """
            INSERT INTO provider_event (provider, event_id, received_at) VALUES (\(provider), \(id), \(time))
            ON CONFLICT DO NOTHING
            """) > 0
    }

    func deleteProviderEvents(receivedBefore time: Date) async throws {
        _ = try await run("DELETE FROM provider_event WHERE received_at < \(time)")
    }

    func deleteProviderEvent(provider: String, id: String) async throws {
        _ = try await run("DELETE FROM provider_event WHERE provider = \(provider) AND event_id = \(id)")
    }
}
