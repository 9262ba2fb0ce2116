import Foundation
import GRDB

extension EndpointMail.Kind: DatabaseValueConvertible {}

extension AppDatabase: SubscriberEndpointStore {
    public func subscriber(unsubscribeToken token: String) throws -> Subscriber? {
        try reader.read { db in try Self.subscriber(token: token, purpose: "unsubscribe", in: db)?.subscriber }
    }

    public func unsubscribe(token: String, client: ClientInfo, at time: Date) throws -> UnsubscribeOutcome {
        try writer.write { db in
            guard let (subscriber, _) = try Self.subscriber(token: token, purpose: "unsubscribe", in: db) else {
                return .unknownToken
            }
            try db.execute(
                sql: "UPDATE subscriberToken SET usedAt = COALESCE(usedAt, ?) WHERE tokenHash = ?",
                arguments: [time, Self.tokenHash(token)])
            if subscriber.status == .unsubscribed { return .alreadyUnsubscribed(email: subscriber.email) }
            try db.execute(
                sql: "UPDATE subscriber SET status = 'unsubscribed' WHERE id = ?", arguments: [subscriber.id])
            try Self.recordConsent(db, subscriberID: subscriber.id, event: "unsubscribe", client: client, at: time)
            return .unsubscribed(email: subscriber.email)
        }
    }

    public func requestSignup(
        _ address: MailAddress, name: String?, client: ClientInfo, policy: SignupPolicy, at time: Date
    ) throws -> SignupOutcome {
        try writer.write { db in try Self.requestSignup(address, name: name, client: client, policy: policy, at: time, db) }
    }

    public func requestSignup(
        _ address: MailAddress, name: String?, topics: TopicChoice, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) throws -> SignupOutcome {
        try writer.write { db in
            let outcome = try Self.requestSignup(address, name: name, client: client, policy: policy, at: time, db)
            if case .confirmationQueued(let subscriberID) = outcome {
                try Self.replaceTopicChoice(topics, subscriberID: subscriberID, client: client, at: time, db)
            }
            return outcome
        }
    }

    private static func requestSignup(
        _ address: MailAddress, name: String?, client: ClientInfo, policy: SignupPolicy, at time: Date,
        _ db: Database
    ) throws -> SignupOutcome {
        let existing = try Subscriber.fetchOne(
            db, sql: "SELECT * FROM subscriber WHERE email = ?", arguments: [address.address])
        let subscriberID: Int64
        switch existing {
        case .some(let subscriber) where subscriber.status == .confirmed:
            return .alreadyConfirmed
        case .some(let subscriber):
            // Pending, or unsubscribed or bounced and back: throttled per address, so that
            // nobody can flood a stranger's inbox by entering it again and again.
            let recent = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS today, MAX(createdAt) AS latest,
                           SUM(state = 'pending') AS unsent
                    FROM endpointMail WHERE subscriberId = ? AND kind = 'confirmation' AND createdAt > ?
                    """, arguments: [subscriber.id, time.addingTimeInterval(-24 * 3600)])
            let recentMails = SignupPolicy.RecentConfirmations(
                today: recent?["today"] ?? 0, latest: recent?["latest"], unsent: recent?["unsent"] ?? 0)
            if !policy.allowsConfirmation(after: recentMails, at: time) { return .throttled }
            // An unsubscribed or bounced record stays as it is until the owner confirms: a
            // stranger typing the address changes nothing but sending one confirmation.
            subscriberID = subscriber.id
        case .none:
            try db.execute(
                sql: "INSERT INTO subscriber (email, name, status, createdAt) VALUES (?, ?, 'pending', ?)",
                arguments: [address.address, name, time])
            subscriberID = db.lastInsertedRowID
        }
        try Self.recordConsent(db, subscriberID: subscriberID, event: "signup", client: client, at: time)
        try db.queueEndpointMail(.confirmation, subscriberID: subscriberID, at: time)
        return .confirmationQueued(subscriberID: subscriberID)
    }

    public func confirmationLink(token: String, at time: Date) throws -> ConfirmationLink {
        try reader.read { db in
            guard let (subscriber, row) = try Self.subscriber(token: token, purpose: "confirm", in: db) else {
                return .unknown
            }
            switch LinkToken.confirmationState(usedAt: row["usedAt"], expiresAt: row["expiresAt"], at: time) {
            case .used: return .used
            case .expired: return .expired
            case .usable: return .valid(email: subscriber.email)
            }
        }
    }

    public func confirm(token: String, client: ClientInfo, at time: Date) throws -> ConfirmOutcome {
        try writer.write { db in try db.confirm(token: token, client: client, at: time) }
    }

    public func updatePreferences(token: String, _ preferences: Preferences, client: ClientInfo, at time: Date)
        throws -> Subscriber?
    {
        try writer.write { db in
            guard let (subscriber, _) = try Self.subscriber(token: token, purpose: "unsubscribe", in: db) else {
                return nil
            }
            try db.execute(
                sql: "UPDATE subscriber SET name = ?, format = ?, paused = ? WHERE id = ?",
                arguments: [preferences.name, preferences.format, preferences.paused, subscriber.id])
            try Self.recordConsent(
                db, subscriberID: subscriber.id, event: "preferences", client: client, at: time,
                detail: "format=\(preferences.format.rawValue) paused=\(preferences.paused)")
            if let topics = preferences.topics {
                try Self.replaceTopicChoice(topics, subscriberID: subscriber.id, client: client, at: time, db)
            }
            return try Subscriber.fetchOne(db, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [subscriber.id])
        }
    }

    public func claimEndpointMail(limit: Int, at time: Date, lease: TimeInterval) throws -> [EndpointMail] {
        try writer.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.id AS mailId, m.kind AS mailKind, m.attempts AS mailAttempts, m.createdAt AS mailCreatedAt, s.*
                    FROM endpointMail m JOIN subscriber s ON s.id = m.subscriberId
                    WHERE m.state = 'pending' AND m.nextAttemptAt <= ? ORDER BY m.nextAttemptAt, m.id LIMIT ?
                    """, arguments: [time, limit])
            var mails: [EndpointMail] = []
            for row in rows {
                let id: Int64 = row["mailId"]
                try db.execute(
                    sql: "UPDATE endpointMail SET attempts = attempts + 1, nextAttemptAt = ? WHERE id = ?",
                    arguments: [time.addingTimeInterval(lease), id])
                mails.append(
                    EndpointMail(
                        id: id, kind: row["mailKind"], subscriber: try Subscriber(row: row),
                        attempt: (row["mailAttempts"] as Int? ?? 0) + 1, createdAt: row["mailCreatedAt"]))
            }
            return mails
        }
    }

    public func recordEndpointMail(id: Int64, _ result: EndpointMailResult, at time: Date) throws {
        try writer.write { db in
            switch result {
            case .sent(let reply):
                try db.execute(
                    sql: "UPDATE endpointMail SET state = 'sent', sentAt = ?, lastReply = ? WHERE id = ?",
                    arguments: [time, reply, id])
            case .retry(let reply, let next):
                try db.execute(
                    sql: "UPDATE endpointMail SET nextAttemptAt = ?, lastReply = ? WHERE id = ?",
                    arguments: [next, reply, id])
            case .failed(let reply):
                try db.execute(
                    sql: "UPDATE endpointMail SET state = 'failed', lastReply = ? WHERE id = ?", arguments: [reply, id])
            }
        }
    }

    public func newConfirmationToken(subscriberID: Int64, lifetime: TimeInterval, at time: Date) throws -> String {
        try insertToken(subscriberID: subscriberID, purpose: "confirm", expiresAt: time.addingTimeInterval(lifetime), at: time)
    }

    public func newUnsubscribeToken(subscriberID: Int64, at time: Date) throws -> String {
        try insertToken(subscriberID: subscriberID, purpose: "unsubscribe", expiresAt: nil, at: time)
    }

    public func endpointMailQueueDepth() throws -> Int {
        try reader.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM endpointMail WHERE state = 'pending'") ?? 0
        }
    }

    /// The endpoint mails of one subscriber, oldest first: for `subscribers show` and tests.
    public func endpointMails(subscriberID: Int64) throws -> [(kind: EndpointMail.Kind, state: String, attempts: Int)] {
        try reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT kind, state, attempts FROM endpointMail WHERE subscriberId = ? ORDER BY id",
                arguments: [subscriberID]
            ).map { ($0["kind"], $0["state"], $0["attempts"]) }
        }
    }

    /// The consent trail of one subscriber, oldest first.
    public func consentRecords(subscriberID: Int64) throws -> [ConsentRecord] {
        try reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consent WHERE subscriberId = ? ORDER BY id", arguments: [subscriberID]
            ).map {
                ConsentRecord(
                    event: $0["event"], at: $0["at"], clientAddress: $0["clientAddress"], userAgent: $0["userAgent"],
                    detail: $0["detail"])
            }
        }
    }

    private func insertToken(subscriberID: Int64, purpose: String, expiresAt: Date?, at time: Date) throws -> String {
        let token = Self.newToken()
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO subscriberToken (tokenHash, subscriberId, purpose, createdAt, expiresAt)
                    VALUES (?, ?, ?, ?, ?)
                    """, arguments: [Self.tokenHash(token), subscriberID, purpose, time, expiresAt])
        }
        return token
    }

    static func subscriber(token: String, purpose: String, in db: Database) throws -> (subscriber: Subscriber, token: Row)? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM subscriberToken WHERE tokenHash = ? AND purpose = ?",
                arguments: [tokenHash(token), purpose]),
            let subscriber = try Subscriber.fetchOne(
                db, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [row["subscriberId"] as Int64])
        else { return nil }
        return (subscriber, row)
    }

    static func recordConsent(
        _ db: Database, subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String? = nil
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO consent (subscriberId, event, at, clientAddress, userAgent, detail)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [subscriberID, event, time, client.address, client.userAgent, detail])
    }
}

/// One line of a subscriber's consent trail.
public struct ConsentRecord: Sendable, Equatable {
    public var event: String
    public var at: Date
    public var clientAddress: String?
    public var userAgent: String?
    public var detail: String?
}

/// The confirm flow's rows in SQLite, inside the caller's write transaction (which holds the
/// whole database, so the token's owner needs no lock of its own).
extension Database: ConfirmRows {
    func confirmationTokenOwner(_ token: String) throws -> (subscriber: Subscriber, usedAt: Date?, expiresAt: Date?)? {
        try AppDatabase.subscriber(token: token, purpose: "confirm", in: self).map {
            ($0.subscriber, $0.token["usedAt"], $0.token["expiresAt"])
        }
    }

    func spendConfirmationTokens(subscriberID: Int64, at time: Date) throws {
        try execute(
            sql: "UPDATE subscriberToken SET usedAt = ? WHERE subscriberId = ? AND purpose = 'confirm' AND usedAt IS NULL",
            arguments: [time, subscriberID])
    }

    func markConfirmed(subscriberID: Int64, at time: Date) throws {
        try execute(
            sql: "UPDATE subscriber SET status = 'confirmed', confirmedAt = ?, permanentFailures = 0 WHERE id = ?",
            arguments: [time, subscriberID])
    }

    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) throws {
        try execute(
            sql: """
                INSERT INTO endpointMail (subscriberId, kind, state, createdAt, nextAttemptAt)
                VALUES (?, ?, 'pending', ?, ?)
                """, arguments: [subscriberID, kind.rawValue, time, time])
    }
}
