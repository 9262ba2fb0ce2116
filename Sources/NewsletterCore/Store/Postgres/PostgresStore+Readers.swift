import Foundation
import PostgresNIO

extension PostgresStore {
    /// The SQLite store's `v17-readers`, under the same names (AppDatabase+Readers.swift).
    static let readersMigration = Migration(
        version: 11, name: "a reader's own data: the suppression list, the store's secrets, erased readers' ledger rows",
        statements: [
            """
            CREATE TABLE store_secret (
                name text PRIMARY KEY,
                value text NOT NULL,
                created_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE suppression (
                address_hash text PRIMARY KEY,
                erased_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE erased_delivery (
                id bigserial PRIMARY KEY,
                week text NOT NULL,
                state text NOT NULL,
                attempts integer NOT NULL,
                relay text,
                sent_at timestamptz,
                updated_at timestamptz NOT NULL)
            """,
            "CREATE INDEX erased_delivery_week ON erased_delivery (week, state)",
        ])
}

/// The reader-data rows in PostgreSQL, inside the caller's transaction.
extension PostgresSession: ReaderDataRows {
    func storedSecret(_ name: String) async throws -> String? {
        try await rows("SELECT value FROM store_secret WHERE name = \(name)").first?.decode(String.self)
    }

    func insertStoreSecret(_ name: String, hex: String, at time: Date) async throws {
        try await run(
            "INSERT INTO store_secret (name, value, created_at) VALUES (\(name), \(hex), \(time)) ON CONFLICT DO NOTHING")
    }

    func suppressionExists(_ hash: String) async throws -> Bool {
        try await rows("SELECT EXISTS (SELECT 1 FROM suppression WHERE address_hash = \(hash))").first?.decode(
            Bool.self) ?? false
    }

    func insertSuppression(_ hash: String, at time: Date) async throws {
        try await run(
            "INSERT INTO suppression (address_hash, erased_at) VALUES (\(hash), \(time)) ON CONFLICT DO NOTHING")
    }

    func deleteSuppression(_ hash: String) async throws {
        try await run("DELETE FROM suppression WHERE address_hash = \(hash)")
    }

    func consentEvents(subscriberID: Int64) async throws -> [ConsentRecord] {
        try await rows(
            """
            SELECT event, at, client_address, user_agent, detail FROM consent WHERE subscriber_id = \(subscriberID)
            ORDER BY id
            """
        ).map {
            let (event, at, address, agent, detail) = try $0.decode((String, Date, String?, String?, String?).self)
            return ConsentRecord(
                event: event, at: at, clientAddress: address, userAgent: agent, detail: detail)
        }
    }

    func deliveries(subscriberID: Int64) async throws -> [ReaderData.Delivery] {
        try await rows(
            """
            SELECT week, state, attempts, sent_at, updated_at, relay, last_reply FROM delivery
            WHERE subscriber_id = \(subscriberID) ORDER BY week
            """
        ).map {
            let (week, state, attempts, sentAt, updatedAt, relay, reply) = try $0.decode(
                (String, String, Int, Date?, Date, String?, String?).self)
            return ReaderData.Delivery(
                week: week, state: state, attempts: attempts, sentAt: sentAt, updatedAt: updatedAt, relay: relay,
                lastReply: reply)
        }
    }

    func bounces(subscriberID: Int64) async throws -> [ReaderData.Bounce] {
        try await rows(
            """
            SELECT week, kind, status, action, diagnostic, source, received_at, effect FROM bounce_event
            WHERE subscriber_id = \(subscriberID) ORDER BY id
            """
        ).map {
            let (week, kind, status, action, diagnostic, source, receivedAt, effect) = try $0.decode(
                (String?, String, String?, String?, String?, String, Date, String).self)
            return ReaderData.Bounce(
                week: week, kind: kind, status: status, action: action, diagnostic: diagnostic, source: source,
                receivedAt: receivedAt, effect: effect)
        }
    }

    func readerClicks(subscriberID: Int64) async throws -> [ReaderData.Click] {
        try await rows(
            """
            SELECT l.week, l.target, r.clicks, r.scanner_clicks FROM issue_link_reader r
            JOIN issue_link l ON l.id = r.link_id WHERE r.subscriber_id = \(subscriberID) ORDER BY l.week, l.position
            """
        ).map {
            let (week, target, clicks, scannerClicks) = try $0.decode((String, String, Int64, Int64).self)
            return ReaderData.Click(week: week, target: target, clicks: Int(clicks), scannerClicks: Int(scannerClicks))
        }
    }

    func keepDeliveriesAnonymised(subscriberID: Int64) async throws {
        try await run(
            """
            INSERT INTO erased_delivery (week, state, attempts, relay, sent_at, updated_at)
            SELECT week, CASE WHEN state IN ('sent', 'failed', 'skipped') THEN state ELSE 'skipped' END,
                attempts, relay, sent_at, updated_at
            FROM delivery WHERE subscriber_id = \(subscriberID) ORDER BY week
            """)
    }

    func detachBounces(subscriberID: Int64) async throws {
        try await run(
            "UPDATE bounce_event SET subscriber_id = NULL, diagnostic = NULL WHERE subscriber_id = \(subscriberID)")
    }

    func deleteSubscriber(id: Int64) async throws {
        try await run("DELETE FROM subscriber WHERE id = \(id)")
    }

    func deleteWebhookEvents(subscriberID: Int64) async throws {
        try await run(
            """
            DELETE FROM webhook_event
            WHERE type LIKE 'subscriber.%' AND (body::jsonb -> 'data' ->> 'id') = \(String(subscriberID))
            """)
    }

    func renameAuditSubject(_ email: String, to replacement: String) async throws {
        try await run("UPDATE audit_log SET subject = \(replacement) WHERE lower(subject) = lower(\(email))")
    }
}
