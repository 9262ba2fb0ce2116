import Foundation
import PostgresNIO

extension PostgresStore: ListSendQuota {
    static let listSendLimitMigration = Migration(
        version: 4, name: "the list-wide send limit's bucket",
        statements: [
            """
            CREATE TABLE list_send_bucket (
                name text PRIMARY KEY,
                tokens double precision NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """
        ])

    /// Every sender takes from the same row, under its row lock: the grants of all senders
    /// together never exceed what the bucket refilled (the core's `ListSendLimit.take`).
    public func takeSendTokens(_ wanted: Int, limit: ListSendLimit, bucket: String, at time: Date) async throws -> Int {
        guard wanted > 0 else { return 0 }
        return try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO list_send_bucket (name, tokens, updated_at) VALUES (\(bucket), \(limit.burst), \(time))
                ON CONFLICT (name) DO NOTHING
                """)
            let (tokens, updated) = try await connection.rows(
                "SELECT tokens, updated_at FROM list_send_bucket WHERE name = \(bucket) FOR UPDATE"
            ).first!.decode((Double, Date).self)
            let taken = limit.take(wanted, stored: (tokens, updated), now: time)
            try await connection.run(
                "UPDATE list_send_bucket SET tokens = \(taken.tokens), updated_at = \(taken.updated) WHERE name = \(bucket)"
            )
            return taken.granted
        }
    }
}
