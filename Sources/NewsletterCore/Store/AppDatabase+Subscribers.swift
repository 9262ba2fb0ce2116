import Foundation
import GRDB

extension Subscriber: FetchableRecord {}
extension Subscriber.Status: DatabaseValueConvertible {}

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
                arguments: [address.address, name, status, Date()])
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

extension AppDatabase: UnsubscribeStore {
    public func subscriber(unsubscribeToken token: String) throws -> Subscriber? {
        try reader.read { db in
            try Subscriber.fetchOne(
                db,
                sql: """
                    SELECT s.* FROM subscriberToken t JOIN subscriber s ON s.id = t.subscriberId
                    WHERE t.tokenHash = ? AND t.purpose = 'unsubscribe'
                    """, arguments: [Self.tokenHash(token)])
        }
    }

    public func unsubscribe(token: String, at time: Date) throws -> UnsubscribeOutcome {
        try writer.write { db in
            let hash = Self.tokenHash(token)
            guard
                let subscriber = try Subscriber.fetchOne(
                    db,
                    sql: """
                        SELECT s.* FROM subscriberToken t JOIN subscriber s ON s.id = t.subscriberId
                        WHERE t.tokenHash = ? AND t.purpose = 'unsubscribe'
                        """, arguments: [hash])
            else { return .unknownToken }
            try db.execute(
                sql: "UPDATE subscriberToken SET usedAt = COALESCE(usedAt, ?) WHERE tokenHash = ?",
                arguments: [time, hash])
            if subscriber.status == .unsubscribed { return .alreadyUnsubscribed(email: subscriber.email) }
            try db.execute(
                sql: "UPDATE subscriber SET status = 'unsubscribed' WHERE id = ?", arguments: [subscriber.id])
            return .unsubscribed(email: subscriber.email)
        }
    }
}
