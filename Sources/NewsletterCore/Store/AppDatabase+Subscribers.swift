import Foundation
import GRDB

extension Subscriber.Status: DatabaseValueConvertible {}
extension Subscriber.Format: DatabaseValueConvertible {}

extension Subscriber: FetchableRecord {
    /// Read by column name, as the PostgreSQL store reads its rows. GRDB's Codable decoding
    /// converted every column name from snake_case again for each row: a third of the time of
    /// an API page of subscribers, and of each page the mailer reads.
    public init(row: Row) throws {
        self.init(
            id: try row.decode(forColumn: "id"), email: try row.decode(forColumn: "email"),
            name: try row.decode(forColumn: "name"), status: try row.decode(forColumn: "status"),
            createdAt: try row.decode(forColumn: "created_at"),
            permanentFailures: try row.decode(forColumn: "permanent_failures"),
            format: try row.decode(forColumn: "format"), paused: try row.decode(forColumn: "paused"),
            confirmedAt: try row.decode(forColumn: "confirmed_at"))
    }
}

extension AppDatabase: SubscriberStore {
    public func setStatus(_ status: Subscriber.Status, forSubscriber id: Int64) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE subscriber SET status = ? WHERE id = ?", arguments: [status, id])
        }
    }

    public func subscribers(status: Subscriber.Status?, afterID: Int64, limit: Int) async throws -> [Subscriber] {
        try await read { db in
            try Subscriber.fetchAll(
                db,
                sql: "SELECT * FROM subscriber WHERE id > ? AND (? IS NULL OR status = ?) ORDER BY id LIMIT ?",
                arguments: [afterID, status, status, limit])
        }
    }

    public func subscriberCount(status: Subscriber.Status?) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM subscriber WHERE ? IS NULL OR status = ?", arguments: [status, status])
                ?? 0
        }
    }
}

extension AppDatabase {
    /// Deletes a subscriber with its tokens, consent trail and ledger rows (a request to be
    /// forgotten). Returns whether the address existed.
    public func removeSubscriber(email: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM subscriber WHERE email = ?", arguments: [email])
            return db.changesCount > 0
        }
    }
}

/// The subscriber rows in SQLite, inside the caller's write transaction (which holds the whole
/// database: `holdingRow` needs nothing more). The email column compares in any case (NOCASE).
extension Database {
    func insertSubscriber(
        email: String, name: String?, status: Subscriber.Status, confirmedAt: Date?, at time: Date
    ) throws -> Int64? {
        try execute(
            sql: """
                INSERT INTO subscriber (email, name, status, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, arguments: [email, name, status, time, confirmedAt])
        return changesCount > 0 ? lastInsertedRowID : nil
    }

    func subscriber(id: Int64) throws -> Subscriber? {
        try Subscriber.fetchOne(self, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [id])
    }

    func subscriber(email: String, holdingRow _: Bool) throws -> Subscriber? {
        try Subscriber.fetchOne(self, sql: "SELECT * FROM subscriber WHERE email = ?", arguments: [email])
    }
}
