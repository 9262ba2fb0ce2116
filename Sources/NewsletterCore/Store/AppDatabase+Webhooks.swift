import Foundation
import GRDB

extension AppDatabase: WebhookStore {
    /// `v18-webhooks`: the endpoints, the outbox (an event, and one delivery per endpoint, so a
    /// slow endpoint holds up no other) and the log of attempts.
    static func migrateWebhooks(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE webhook_endpoint (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, secret TEXT NOT NULL,
                    events TEXT NOT NULL, created_at DATETIME NOT NULL, failing_since DATETIME,
                    disabled_at DATETIME, disabled_reason TEXT);
                CREATE TABLE webhook_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, body TEXT NOT NULL,
                    created_at DATETIME NOT NULL);
                CREATE TABLE webhook_delivery (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE,
                    event_id INTEGER NOT NULL REFERENCES webhook_event(id) ON DELETE CASCADE,
                    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0, created_at DATETIME NOT NULL,
                    next_attempt_at DATETIME NOT NULL, delivered_at DATETIME);
                CREATE INDEX webhook_delivery_due ON webhook_delivery (state, next_attempt_at);
                CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint_id);
                CREATE TABLE webhook_attempt (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
                    message_id TEXT NOT NULL, event_type TEXT NOT NULL, attempt INTEGER NOT NULL,
                    at DATETIME NOT NULL, status INTEGER, duration_ms INTEGER NOT NULL, error TEXT);
                CREATE INDEX webhook_attempt_endpoint ON webhook_attempt (endpoint_id, id);
                """)
    }
}

extension SQLiteRows: WebhookRows {
    private static func endpoint(_ row: Row) -> WebhookEndpoint {
        WebhookEndpoint(
            id: row["id"], url: row["url"], events: WebhookEventType.parseStored(row["events"]),
            createdAt: row["created_at"], failingSince: row["failing_since"], disabledAt: row["disabled_at"],
            disabledReason: row["disabled_reason"])
    }

    private static let endpointColumns = "id, url, events, created_at, failing_since, disabled_at, disabled_reason"

    func enabledWebhookEndpoints() async throws -> [WebhookEndpoint] {
        try await access { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.endpointColumns) FROM webhook_endpoint WHERE disabled_at IS NULL ORDER BY id"
            ).map(Self.endpoint)
        }
    }

    func webhookEndpoints() async throws -> [WebhookEndpoint] {
        try await access { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.endpointColumns) FROM webhook_endpoint ORDER BY id").map(
                Self.endpoint)
        }
    }

    func webhookEndpoint(id: Int64) async throws -> WebhookEndpoint? {
        try await access { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.endpointColumns) FROM webhook_endpoint WHERE id = ?", arguments: [id]
            ).map(Self.endpoint)
        }
    }

    func webhookSecret(endpointID: Int64) async throws -> String? {
        try await access { db in
            try String.fetchOne(db, sql: "SELECT secret FROM webhook_endpoint WHERE id = ?", arguments: [endpointID])
        }
    }

    func insertWebhookEndpoint(url: String, secret: String, events: String, at time: Date) async throws -> Int64 {
        try await access { db in
            try db.execute(
                sql: "INSERT INTO webhook_endpoint (url, secret, events, created_at) VALUES (?, ?, ?, ?)",
                arguments: [url, secret, events, time])
            return db.lastInsertedRowID
        }
    }

    func deleteWebhookEndpoint(id: Int64) async throws -> Bool {
        try await access { db in
            try db.execute(sql: "DELETE FROM webhook_endpoint WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    func setWebhookEndpointHealth(id: Int64, failingSince: Date?, disabledAt: Date?, disabledReason: String?)
        async throws
    {
        try await access { db in
            try db.execute(
                sql: "UPDATE webhook_endpoint SET failing_since = ?, disabled_at = ?, disabled_reason = ? WHERE id = ?",
                arguments: [failingSince, disabledAt, disabledReason, id])
        }
    }

    func insertWebhookEvent(type: String, body: String, at time: Date) async throws -> Int64 {
        try await access { db in
            try db.execute(
                sql: "INSERT INTO webhook_event (type, body, created_at) VALUES (?, ?, ?)",
                arguments: [type, body, StoredDate.databaseValue(time)])
            return db.lastInsertedRowID
        }
    }

    func insertWebhookDelivery(messageID: String, eventID: Int64, endpointID: Int64, at time: Date) async throws {
        try await access { db in
            let stamp = StoredDate.databaseValue(time)
            try db.execute(
                sql: """
                    INSERT INTO webhook_delivery (message_id, event_id, endpoint_id, state, created_at, next_attempt_at)
                    VALUES (?, ?, ?, 'pending', ?, ?)
                    """, arguments: [messageID, eventID, endpointID, stamp, stamp])
        }
    }

    func dueWebhookDeliveries(limit: Int, at time: Date) async throws -> [WebhookDelivery] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.message_id, d.endpoint_id, d.attempts, e.url, e.secret, v.type, v.body
                    FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
                    JOIN webhook_event v ON v.id = d.event_id
                    WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND e.disabled_at IS NULL
                    ORDER BY d.next_attempt_at, d.id LIMIT ?
                    """, arguments: [StoredDate.databaseValue(time), limit]
            ).map { row in
                WebhookDelivery(
                    id: row["id"], messageID: row["message_id"], endpointID: row["endpoint_id"], url: row["url"],
                    secret: try WebhookSecret(row["secret"] as String),
                    type: WebhookEventType(rawValue: row["type"]) ?? .test, body: row["body"],
                    attempt: row["attempts"])
            }
        }
    }

    func leaseWebhookDeliveries(ids: [Int64], until time: Date) async throws {
        try await access { db in
            let placeholders = ids.map { _ in "?" }.joined(separator: ", ")
            var arguments: StatementArguments = [StoredDate.databaseValue(time)]
            arguments += StatementArguments(ids)
            try db.execute(
                sql:
                    "UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN (\(placeholders))",
                arguments: arguments)
        }
    }

    func updateWebhookDelivery(id: Int64, state: String, nextAttemptAt: Date?, deliveredAt: Date?) async throws {
        try await access { db in
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = ?, next_attempt_at = COALESCE(?, next_attempt_at),
                        delivered_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    state, nextAttemptAt.map(StoredDate.databaseValue), deliveredAt.map(StoredDate.databaseValue), id,
                ])
        }
    }

    func rescheduleWebhookDeliveries(endpointID: Int64, at time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "UPDATE webhook_delivery SET next_attempt_at = ? WHERE endpoint_id = ? AND state = 'pending'",
                arguments: [StoredDate.databaseValue(time), endpointID])
        }
    }

    func insertWebhookAttempt(_ attempt: WebhookAttempt) async throws {
        try await access { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_attempt (endpoint_id, message_id, event_type, attempt, at, status, duration_ms, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    attempt.endpointID, attempt.messageID, attempt.eventType, attempt.attempt,
                    StoredDate.databaseValue(attempt.at), attempt.status, attempt.durationMilliseconds, attempt.error,
                ])
        }
    }

    func webhookAttempts(endpointID: Int64?, before beforeID: Int64?, limit: Int) async throws -> [WebhookAttempt] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM webhook_attempt WHERE (? IS NULL OR endpoint_id = ?) AND (? IS NULL OR id < ?)
                    ORDER BY id DESC LIMIT ?
                    """, arguments: [endpointID, endpointID, beforeID, beforeID, limit]
            ).map { row in
                WebhookAttempt(
                    endpointID: row["endpoint_id"], messageID: row["message_id"], eventType: row["event_type"],
                    attempt: row["attempt"], at: row["at"], status: row["status"],
                    durationMilliseconds: row["duration_ms"], error: row["error"], id: row["id"])
            }
        }
    }

    func pendingWebhookDeliveries() async throws -> [Int64: Int] {
        try await access { db in
            var counts: [Int64: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT endpoint_id, COUNT(*) AS n FROM webhook_delivery WHERE state = 'pending' GROUP BY endpoint_id")
            {
                counts[row["endpoint_id"]] = row["n"]
            }
            return counts
        }
    }
}
