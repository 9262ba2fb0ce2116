import Foundation
import PostgresNIO

extension PostgresStore: SubscriberStore {
    static let subscriberColumns =
        "id, email, name, status, created_at, permanent_failures, format, paused, confirmed_at"

    static func subscriber(_ row: PostgresRow) throws -> Subscriber { try subscriber(row.makeRandomAccess()) }

    /// Read by column name, so a query may put other columns before, after or among these.
    static func subscriber(_ row: PostgresRandomAccessRow) throws -> Subscriber {
        Subscriber(
            id: try row.decode(Int64.self, column: "id"), email: try row.decode(String.self, column: "email"),
            name: try row.decode(String?.self, column: "name"),
            status: try enumValue(
                Subscriber.Status.self, try row.decode(String.self, column: "status"), "subscriber.status"),
            createdAt: try row.decode(Date.self, column: "created_at"),
            permanentFailures: try row.decode(Int.self, column: "permanent_failures"),
            format: try enumValue(
                Subscriber.Format.self, try row.decode(String.self, column: "format"), "subscriber.format"),
            paused: try row.decode(Bool.self, column: "paused"),
            confirmedAt: try row.decode(Date?.self, column: "confirmed_at"))
    }

    public func removeSubscriber(email: String) async throws -> Bool {
        // Tokens, consent, ledger rows and topic choices go with it (ON DELETE CASCADE).
        try await transaction { connection in
            try await connection.run("DELETE FROM subscriber WHERE lower(email) = lower(\(email))") > 0
        }
    }

    public func setStatus(_ status: Subscriber.Status, forSubscriber id: Int64) async throws {
        try await transaction { connection in
            try await connection.run("UPDATE subscriber SET status = \(status.rawValue) WHERE id = \(id)")
        }
    }

    public func subscribers(status: Subscriber.Status?, afterID: Int64, limit: Int) async throws -> [Subscriber] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.subscriberColumns) FROM subscriber
                WHERE id > \(afterID) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY id LIMIT \(limit)
                """
            ).map(Self.subscriber)
        }
    }

    public func subscriberCount(status: Subscriber.Status?) async throws -> Int {
        try await read { connection in
            try await connection.rows(
                "SELECT COUNT(*) FROM subscriber WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue)"
            ).first?.decode(Int.self) ?? 0
        }
    }
}

/// The subscriber rows in PostgreSQL, inside the caller's transaction. An address is known in
/// any case (the unique index is on `lower(email)`).
extension PostgresSession: SubscriberRows {
    func insertSubscriber(
        email: String, name: String?, status: Subscriber.Status, confirmedAt: Date?, at time: Date
    ) async throws -> Int64? {
        try await rows(
            """
            INSERT INTO subscriber (email, name, status, created_at, confirmed_at)
            VALUES (\(email), \(name), \(status.rawValue), \(time), \(confirmedAt))
            ON CONFLICT ((lower(email))) DO NOTHING
            RETURNING id
            """
        ).first?.decode(Int64.self)
    }

    func subscriber(id: Int64) async throws -> Subscriber? {
        try await rows("SELECT \(unescaped: PostgresStore.subscriberColumns) FROM subscriber WHERE id = \(id)").first
            .map(
                PostgresStore.subscriber)
    }

    func subscriber(email: String, holdingRow: Bool) async throws -> Subscriber? {
        var query: PostgresQuery =
            "SELECT \(unescaped: PostgresStore.subscriberColumns) FROM subscriber WHERE lower(email) = lower(\(email))"
        if holdingRow { query.sql += " FOR UPDATE" }
        return try await rows(query).first.map(PostgresStore.subscriber)
    }
}

extension PostgresRandomAccessRow {
    /// One column read by its name: a column added to a query, or moved, shifts nothing. A
    /// missing column is an error naming it, not a trap.
    func decode<Value: PostgresDecodable>(_ type: Value.Type, column: String) throws -> Value {
        guard contains(column) else {
            throw PostgresStoreError.other("a query's row has no column \(column) (it has \(map(\.columnName)))")
        }
        return try self[column].decode(Value.self, context: .default)
    }
}
