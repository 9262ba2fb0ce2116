import Foundation
import GRDB

extension AppDatabase: RelayStore {
    /// `v13-relays`: the relay that accepted each message, and each relay's health.
    static func migrateRelays(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE delivery ADD COLUMN relay TEXT;
                CREATE TABLE relay_health (
                    name TEXT PRIMARY KEY NOT NULL,
                    down_until DATETIME,
                    failures INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    updated_at DATETIME NOT NULL);
                """)
    }

    public func recordRelayHealth(_ health: RelayHealthRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO relay_health (name, down_until, failures, last_error, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET down_until = excluded.down_until, failures = excluded.failures,
                        last_error = excluded.last_error, updated_at = excluded.updated_at
                    """,
                arguments: [health.name, health.downUntil, health.failures, health.lastError, health.updatedAt])
        }
    }

    public func relayHealth() async throws -> [RelayHealthRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT name, down_until, failures, last_error, updated_at FROM relay_health ORDER BY name"
            ).map {
                RelayHealthRecord(
                    name: $0["name"], downUntil: $0["down_until"], failures: $0["failures"], lastError: $0["last_error"],
                    updatedAt: $0["updated_at"])
            }
        }
    }

    public func messagesPerRelay(_ week: IssueWeek?) async throws -> [RelayShare] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT relay, COUNT(*) AS messages FROM (
                        SELECT relay FROM delivery WHERE state = 'sent' AND relay IS NOT NULL AND (? IS NULL OR week = ?)
                        UNION ALL
                        SELECT relay FROM erased_delivery
                        WHERE state = 'sent' AND relay IS NOT NULL AND (? IS NULL OR week = ?))
                    GROUP BY relay ORDER BY messages DESC, relay
                    """, arguments: [week?.description, week?.description, week?.description, week?.description]
            ).map { RelayShare(relay: $0["relay"], messages: $0["messages"]) }
        }
    }
}
