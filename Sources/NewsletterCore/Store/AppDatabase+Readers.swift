import Foundation
import GRDB

extension AppDatabase {
    /// `v17-readers`: a reader's own data. The suppression list (keyed hashes of erased
    /// addresses), the secrets the store makes for itself (the list's key, the preferences
    /// page's form key), and the ledger rows of erased readers, kept without who they were so
    /// the issue reports keep their counts.
    static func migrateReaders(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE store_secret (
                    name TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL,
                    created_at DATETIME NOT NULL);
                CREATE TABLE suppression (
                    address_hash TEXT PRIMARY KEY NOT NULL,
                    erased_at DATETIME NOT NULL);
                CREATE TABLE erased_delivery (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    week TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    relay TEXT,
                    sent_at DATETIME,
                    updated_at DATETIME NOT NULL);
                CREATE INDEX erased_delivery_week ON erased_delivery (week, state);
                """)
    }
}

/// The reader-data rows in SQLite, inside the caller's write transaction.
extension SQLiteRows: ReaderDataRows {
    func storedSecret(_ name: String) async throws -> String? {
        try await access { try String.fetchOne($0, sql: "SELECT value FROM store_secret WHERE name = ?", arguments: [name]) }
    }

    func insertStoreSecret(_ name: String, hex: String, at time: Date) async throws {
        try await access {
            try $0.execute(
                sql: "INSERT INTO store_secret (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [name, hex, time])
        }
    }

    func suppressionExists(_ hash: String) async throws -> Bool {
        try await access {
            try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM suppression WHERE address_hash = ?)", arguments: [hash])
                ?? false
        }
    }

    func insertSuppression(_ hash: String, at time: Date) async throws {
        try await access {
            try $0.execute(
                sql: "INSERT INTO suppression (address_hash, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                arguments: [hash, time])
        }
    }

    func deleteSuppression(_ hash: String) async throws {
        try await access { try $0.execute(sql: "DELETE FROM suppression WHERE address_hash = ?", arguments: [hash]) }
    }

    func consentEvents(subscriberID: Int64) async throws -> [ConsentRecord] {
        try await access { try $0.consentRecords(subscriberID: subscriberID) }
    }

    func deliveries(subscriberID: Int64) async throws -> [ReaderData.Delivery] {
        try await access { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM delivery WHERE subscriber_id = ? ORDER BY week", arguments: [subscriberID]
            ).map {
                ReaderData.Delivery(
                    week: $0["week"], state: $0["state"], attempts: $0["attempts"], sentAt: $0["sent_at"],
                    updatedAt: $0["updated_at"], relay: $0["relay"], lastReply: $0["last_reply"])
            }
        }
    }

    func bounces(subscriberID: Int64) async throws -> [ReaderData.Bounce] {
        try await access { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM bounce_event WHERE subscriber_id = ? ORDER BY id", arguments: [subscriberID]
            ).map {
                ReaderData.Bounce(
                    week: $0["week"], kind: $0["kind"], status: $0["status"], action: $0["action"],
                    diagnostic: $0["diagnostic"], source: $0["source"], receivedAt: $0["received_at"],
                    effect: $0["effect"])
            }
        }
    }

    func readerClicks(subscriberID: Int64) async throws -> [ReaderData.Click] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.week, l.target, r.clicks, r.scanner_clicks FROM issue_link_reader r
                    JOIN issue_link l ON l.id = r.link_id WHERE r.subscriber_id = ? ORDER BY l.week, l.position
                    """, arguments: [subscriberID]
            ).map {
                ReaderData.Click(
                    week: $0["week"], target: $0["target"], clicks: $0["clicks"], scannerClicks: $0["scanner_clicks"])
            }
        }
    }

    func keepDeliveriesAnonymised(subscriberID: Int64) async throws {
        try await access {
            try $0.execute(
                sql: """
                    INSERT INTO erased_delivery (week, state, attempts, relay, sent_at, updated_at)
                    SELECT week, CASE WHEN state IN ('sent', 'failed', 'skipped') THEN state ELSE 'skipped' END,
                        attempts, relay, sent_at, updated_at
                    FROM delivery WHERE subscriber_id = ? ORDER BY week
                    """, arguments: [subscriberID])
        }
    }

    func detachBounces(subscriberID: Int64) async throws {
        try await access {
            try $0.execute(
                sql: "UPDATE bounce_event SET subscriber_id = NULL, diagnostic = NULL WHERE subscriber_id = ?",
                arguments: [subscriberID])
        }
    }

    func deleteSubscriber(id: Int64) async throws {
        try await access { try $0.execute(sql: "DELETE FROM subscriber WHERE id = ?", arguments: [id]) }
    }

    func deleteWebhookEvents(subscriberID: Int64) async throws {
        try await access {
            try $0.execute(
                sql: """
                    DELETE FROM webhook_event
                    WHERE type LIKE 'subscriber.%' AND json_extract(body, '$.data.id') = ?
                    """, arguments: [subscriberID])
        }
    }

    func renameAuditSubject(_ email: String, to replacement: String) async throws {
        try await access {
            try $0.execute(
                sql: "UPDATE audit_log SET subject = ? WHERE lower(subject) = lower(?)", arguments: [replacement, email])
        }
    }
}
