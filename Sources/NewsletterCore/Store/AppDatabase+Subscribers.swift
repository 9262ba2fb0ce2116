import Foundation
import GRDB

extension Subscriber: FetchableRecord {}
extension Subscriber.Status: DatabaseValueConvertible {}
extension Subscriber.Format: DatabaseValueConvertible {}

extension AppDatabase: SubscriberStore {
    public func addSubscriber(email: String, name: String?, status: Subscriber.Status) throws -> Subscriber {
        let address = try MailAddress(email.trimmingCharacters(in: .whitespaces))
        return try writer.write { db in
            if let existing = try Subscriber.fetchOne(
                db, sql: "SELECT * FROM subscriber WHERE email = ?", arguments: [address.address])
            {
                return existing
            }
            try db.execute(
                sql: "INSERT INTO subscriber (email, name, status, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [address.address, name, status, clock.now()])
            return try Subscriber.fetchOne(
                db, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [db.lastInsertedRowID])!
        }
    }

    public func subscriber(email: String) throws -> Subscriber? {
        try reader.read { db in
            try Subscriber.fetchOne(db, sql: "SELECT * FROM subscriber WHERE email = ?", arguments: [email])
        }
    }

    public func subscriber(id: Int64) throws -> Subscriber? {
        try reader.read { db in
            try Subscriber.fetchOne(db, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [id])
        }
    }

    public func setStatus(_ status: Subscriber.Status, forSubscriber id: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE subscriber SET status = ? WHERE id = ?", arguments: [status, id])
        }
    }

    public func subscribers(status: Subscriber.Status?, afterID: Int64, limit: Int) throws -> [Subscriber] {
        try reader.read { db in
            try Subscriber.fetchAll(
                db,
                sql: "SELECT * FROM subscriber WHERE id > ? AND (? IS NULL OR status = ?) ORDER BY id LIMIT ?",
                arguments: [afterID, status, status, limit])
        }
    }

    public func subscriberCount(status: Subscriber.Status?) throws -> Int {
        try reader.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM subscriber WHERE ? IS NULL OR status = ?", arguments: [status, status])
                ?? 0
        }
    }
}


extension AppDatabase {
    /// Adds a subscriber from an import, with a consent record naming where it came from; an
    /// address already known is left exactly as it is (an unsubscribe is never undone by an
    /// import). Returns whether the address was new.
    public func importSubscriber(
        email: String, name: String?, topics: TopicChoice? = nil, source: String, at time: Date
    ) throws -> Bool {
        try writer.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM subscriber WHERE email = ?", arguments: [email]) != nil {
                return false
            }
            try db.execute(
                sql: """
                    INSERT INTO subscriber (email, name, status, createdAt, confirmedAt)
                    VALUES (?, ?, 'confirmed', ?, ?)
                    """, arguments: [email, name, time, time])
            let subscriberID = db.lastInsertedRowID
            try Self.recordConsent(
                db, subscriberID: subscriberID, event: "import", client: .commandLine, at: time, detail: source)
            if let topics {
                try Self.replaceTopicChoice(
                    topics, subscriberID: subscriberID, client: .commandLine, at: time, event: "import-topics", db)
            }
            return true
        }
    }

    /// Deletes a subscriber with its tokens, consent trail and ledger rows (a request to be
    /// forgotten). Returns whether the address existed.
    public func removeSubscriber(email: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM subscriber WHERE email = ?", arguments: [email])
            return db.changesCount > 0
        }
    }
}
