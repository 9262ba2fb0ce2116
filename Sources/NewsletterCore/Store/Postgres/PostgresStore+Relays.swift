import Foundation
import PostgresNIO

extension PostgresStore: RelayStore {
    static let relaysMigration = Migration(
        version: 7, name: "the relay of each message, and each relay's health",
        statements: [
            "ALTER TABLE delivery ADD COLUMN relay text",
            """
            CREATE TABLE relay_health (
                name text PRIMARY KEY,
                down_until timestamptz,
                failures integer NOT NULL DEFAULT 0,
                last_error text,
                updated_at timestamptz NOT NULL
            )
            """,
        ])

    public func recordRelayHealth(_ health: RelayHealthRecord) async throws {
        _ = try await single { connection in
            try await connection.run(
                """
                INSERT INTO relay_health (name, down_until, failures, last_error, updated_at)
                VALUES (\(health.name), \(health.downUntil), \(health.failures), \(health.lastError), \(health.updatedAt))
                ON CONFLICT (name) DO UPDATE SET down_until = excluded.down_until, failures = excluded.failures,
                    last_error = excluded.last_error, updated_at = excluded.updated_at
                """)
        }
    }

    public func relayHealth() async throws -> [RelayHealthRecord] {
        try await single { connection in
            try await connection.rows(
                "SELECT name, down_until, failures, last_error, updated_at FROM relay_health ORDER BY name"
            ).map {
                let (name, downUntil, failures, lastError, updatedAt) = try $0.decode(
                    (String, Date?, Int, String?, Date).self)
                return RelayHealthRecord(
                    name: name, downUntil: downUntil, failures: failures, lastError: lastError, updatedAt: updatedAt)
            }
        }
    }

    public func messagesPerRelay(_ week: IssueWeek?) async throws -> [RelayShare] {
        let week = week?.description
        return try await single { connection in
            try await connection.rows(
                """
                SELECT relay, count(*)::bigint AS messages FROM (
                    SELECT relay FROM delivery
                    WHERE state = 'sent' AND relay IS NOT NULL AND (\(week)::text IS NULL OR week = \(week))
                    UNION ALL
                    SELECT relay FROM erased_delivery
                    WHERE state = 'sent' AND relay IS NOT NULL AND (\(week)::text IS NULL OR week = \(week))
                ) AS sent GROUP BY relay ORDER BY messages DESC, relay
                """
            ).map {
                let (relay, messages) = try $0.decode((String, Int).self)
                return RelayShare(relay: relay, messages: messages)
            }
        }
    }
}
