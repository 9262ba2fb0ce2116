import Foundation
import PostgresNIO

extension PostgresStore: SubscriberStore {
    static let subscriberColumns =
        "id, email, name, status, created_at, permanent_failures, format, paused, confirmed_at"

    static func subscriber(_ row: PostgresRow) throws -> Subscriber {
        let (id, email, name, status, createdAt, failures, format, paused, confirmedAt) = try row.decode(
            (Int64, String, String?, String, Date, Int, String, Bool, Date?).self)
        return Subscriber(
            id: id, email: email, name: name, status: try enumValue(Subscriber.Status.self, status, "subscriber.status"),
            createdAt: createdAt, permanentFailures: failures,
            format: try enumValue(Subscriber.Format.self, format, "subscriber.format"), paused: paused,
            confirmedAt: confirmedAt)
    }

    public func addSubscriber(email: String, name: String?, status: Subscriber.Status) throws -> Subscriber {
        // What an address is, is the core's to say (MailAddress), for either store.
        let address = try MailAddress(email.trimmingCharacters(in: .whitespaces)).address
        return try transaction { connection in
            let inserted = try connection.rows(
                """
                INSERT INTO subscriber (email, name, status, created_at) VALUES (\(address), \(name), \(status.rawValue), now())
                ON CONFLICT ((lower(email))) DO NOTHING
                RETURNING \(unescaped: Self.subscriberColumns)
                """)
            if let row = inserted.first { return try Self.subscriber(row) }
            let existing = try connection.rows(
                "SELECT \(unescaped: Self.subscriberColumns) FROM subscriber WHERE lower(email) = lower(\(address))")
            guard let row = existing.first else {
                throw PostgresStoreError.other("\(address) was neither inserted nor found")
            }
            return try Self.subscriber(row)
        }
    }

    public func removeSubscriber(email: String) throws -> Bool {
        // Tokens, consent, ledger rows and topic choices go with it (ON DELETE CASCADE).
        try transaction { connection in
            try connection.run("DELETE FROM subscriber WHERE lower(email) = lower(\(email))") > 0
        }
    }

    public func subscriber(email: String) throws -> Subscriber? {
        try read { connection in
            try connection.rows(
                "SELECT \(unescaped: Self.subscriberColumns) FROM subscriber WHERE lower(email) = lower(\(email))"
            ).first.map(Self.subscriber)
        }
    }

    public func subscriber(id: Int64) throws -> Subscriber? {
        try read { connection in
            try connection.rows("SELECT \(unescaped: Self.subscriberColumns) FROM subscriber WHERE id = \(id)").first.map(
                Self.subscriber)
        }
    }

    public func setStatus(_ status: Subscriber.Status, forSubscriber id: Int64) throws {
        try transaction { connection in
            try connection.run("UPDATE subscriber SET status = \(status.rawValue) WHERE id = \(id)")
        }
    }

    public func subscribers(status: Subscriber.Status?, afterID: Int64, limit: Int) throws -> [Subscriber] {
        try read { connection in
            try connection.rows(
                """
                SELECT \(unescaped: Self.subscriberColumns) FROM subscriber
                WHERE id > \(afterID) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY id LIMIT \(limit)
                """
            ).map(Self.subscriber)
        }
    }

    public func subscriberCount(status: Subscriber.Status?) throws -> Int {
        try read { connection in
            try connection.rows(
                "SELECT COUNT(*) FROM subscriber WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue)"
            ).first?.decode(Int.self) ?? 0
        }
    }
}
