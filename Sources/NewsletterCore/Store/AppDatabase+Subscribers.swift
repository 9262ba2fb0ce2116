import Foundation
import GRDB

extension Subscriber: SnakeCaseColumns {}
extension Subscriber.Status: DatabaseValueConvertible {}
extension Subscriber.Format: DatabaseValueConvertible {}

extension AppDatabase: SubscriberStore {
    public func addSubscriber(email: String, name: String?, status: Subscriber.Status) async throws -> Subscriber {
        let address = try MailAddress(email.trimmingCharacters(in: .whitespaces))
        return try await transaction { rows in
            try await rows.addSubscriber(address, name: name, status: status, at: clock.now())
        }
    }

    public func subscriber(email: String) async throws -> Subscriber? {
        try await readRows { rows in try await rows.subscriber(email: email, holdingRow: false) }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        try await readRows { rows in try await rows.subscriber(id: id) }
    }

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
    /// `SubscriberRows.importSubscriber` in one write transaction.
    public func importSubscriber(
        email: String, name: String?, topics: TopicChoice? = nil, source: String, at time: Date
    ) async throws -> Bool {
        try await transaction { rows in
            try await rows.importSubscriber(email: email, name: name, topics: topics, source: source, at: time)
        }
    }

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
