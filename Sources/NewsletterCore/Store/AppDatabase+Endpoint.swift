import Foundation
import GRDB

extension EndpointMail.Kind: DatabaseValueConvertible {}

/// The signup endpoint's store in SQLite: each flow is `EndpointRows`' (written once for both
/// stores) in one write transaction, which holds the whole database.
extension AppDatabase: SubscriberEndpointStore {
    public func endpointMailQueueDepth() async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM endpoint_mail WHERE state = 'pending'") ?? 0
        }
    }

    /// The endpoint mails of one subscriber, oldest first: for `subscribers show` and tests.
    public func endpointMails(subscriberID: Int64) async throws -> [(
        kind: EndpointMail.Kind, state: String, attempts: Int
    )] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT kind, state, attempts FROM endpoint_mail WHERE subscriber_id = ? ORDER BY id",
                arguments: [subscriberID]
            ).map { ($0["kind"], $0["state"], $0["attempts"]) }
        }
    }

    /// The consent trail of one subscriber, oldest first.
    public func consentRecords(subscriberID: Int64) async throws -> [ConsentRecord] {
        try await read { db in try db.consentRecords(subscriberID: subscriberID) }
    }

    static func recordConsent(
        _ db: Database, subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String? = nil
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO consent (subscriber_id, event, at, client_address, user_agent, detail)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [subscriberID, event, time, client.address, client.userAgent, detail])
    }
}

/// One line of a subscriber's consent trail: what was agreed to, when, and from where.
public struct ConsentRecord: Sendable, Equatable, Codable {
    public var event: String
    public var at: Date
    public var clientAddress: String?
    public var userAgent: String?
    public var detail: String?
}

/// The endpoint's rows in SQLite, inside the caller's write transaction (which holds the whole
/// database, so no row needs a lock of its own).
extension Database {
    /// The consent trail of one subscriber, oldest first.
    func consentRecords(subscriberID: Int64) throws -> [ConsentRecord] {
        try Row.fetchAll(self, sql: "SELECT * FROM consent WHERE subscriber_id = ? ORDER BY id", arguments: [subscriberID])
            .map {
                ConsentRecord(
                    event: $0["event"], at: $0["at"], clientAddress: $0["client_address"], userAgent: $0["user_agent"],
                    detail: $0["detail"])
            }
    }

    func tokenOwner(_ token: String, purpose: TokenPurpose, holdingRow _: Bool) throws -> TokenOwner? {
        try Row.fetchOne(
            self,
            sql: """
                SELECT s.*, t.used_at AS tokenUsedAt, t.expires_at AS tokenExpiresAt
                FROM subscriber_token t JOIN subscriber s ON s.id = t.subscriber_id
                WHERE t.token_hash = ? AND t.purpose = ?
                """, arguments: [LinkToken.hash(token), purpose.rawValue]
        ).map {
            TokenOwner(subscriber: try Subscriber(row: $0), usedAt: $0["tokenUsedAt"], expiresAt: $0["tokenExpiresAt"])
        }
    }

    func insertToken(hash: String, subscriberID: Int64, purpose: TokenPurpose, expiresAt: Date?, at time: Date) throws {
        try execute(
            sql: """
                INSERT INTO subscriber_token (token_hash, subscriber_id, purpose, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?)
                """, arguments: [hash, subscriberID, purpose.rawValue, time, expiresAt])
    }

    func spendToken(_ token: String, at time: Date) throws {
        try execute(
            sql: "UPDATE subscriber_token SET used_at = COALESCE(used_at, ?) WHERE token_hash = ?",
            arguments: [time, LinkToken.hash(token)])
    }

    func spendConfirmationTokens(subscriberID: Int64, at time: Date) throws {
        try execute(
            sql:
                "UPDATE subscriber_token SET used_at = ? WHERE subscriber_id = ? AND purpose = 'confirm' AND used_at IS NULL",
            arguments: [time, subscriberID])
    }

    func markConfirmed(subscriberID: Int64, at time: Date) throws {
        try execute(
            sql: "UPDATE subscriber SET status = 'confirmed', confirmed_at = ?, permanent_failures = 0 WHERE id = ?",
            arguments: [time, subscriberID])
    }

    func setPreferences(_ preferences: Preferences, subscriberID: Int64) throws {
        try execute(
            sql: "UPDATE subscriber SET name = ?, format = ?, paused = ? WHERE id = ?",
            arguments: [preferences.name, preferences.format, preferences.paused, subscriberID])
    }

    func confirmationsQueued(subscriberID: Int64, since time: Date) throws -> SignupPolicy.RecentConfirmations {
        let row = try Row.fetchOne(
            self,
            sql: """
                SELECT COUNT(*) AS today, MAX(created_at) AS latest, SUM(state = 'pending') AS unsent
                FROM endpoint_mail WHERE subscriber_id = ? AND kind = 'confirmation' AND created_at > ?
                """, arguments: [subscriberID, time])
        return SignupPolicy.RecentConfirmations(
            today: row?["today"] ?? 0, latest: row?["latest"], unsent: row?["unsent"] ?? 0)
    }

    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) throws {
        try execute(
            sql: """
                INSERT INTO endpoint_mail (subscriber_id, kind, state, created_at, next_attempt_at)
                VALUES (?, ?, 'pending', ?, ?)
                """, arguments: [subscriberID, kind.rawValue, time, time])
    }

    func dueEndpointMails(limit: Int, at time: Date) throws -> [EndpointMail] {
        try Row.fetchAll(
            self,
            sql: """
                SELECT m.id AS mailId, m.kind AS mailKind, m.attempts AS mailAttempts, m.created_at AS mailCreatedAt, s.*
                FROM endpoint_mail m JOIN subscriber s ON s.id = m.subscriber_id
                WHERE m.state = 'pending' AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.id LIMIT ?
                """, arguments: [time, limit]
        ).map { row in
            EndpointMail(
                id: row["mailId"], kind: row["mailKind"], subscriber: try Subscriber(row: row),
                attempt: row["mailAttempts"] as Int? ?? 0, createdAt: row["mailCreatedAt"])
        }
    }

    func leaseEndpointMails(ids: [Int64], until time: Date) throws {
        let placeholders = ids.map { _ in "?" }.joined(separator: ", ")
        var arguments: StatementArguments = [time]
        arguments += StatementArguments(ids)
        try execute(
            sql: "UPDATE endpoint_mail SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN (\(placeholders))",
            arguments: arguments)
    }

    func unleaseEndpointMails(ids: [Int64], dueAt time: Date) throws {
        let placeholders = ids.map { _ in "?" }.joined(separator: ", ")
        var arguments: StatementArguments = [time]
        arguments += StatementArguments(ids)
        try execute(
            sql: """
                UPDATE endpoint_mail SET attempts = max(attempts - 1, 0), next_attempt_at = ?
                WHERE state = 'pending' AND id IN (\(placeholders))
                """,
            arguments: arguments)
    }

    func updateEndpointMail(id: Int64, state: String?, sentAt: Date?, nextAttemptAt: Date?, reply: String) throws {
        try execute(
            sql: """
                UPDATE endpoint_mail SET state = COALESCE(?, state), sent_at = COALESCE(?, sent_at),
                    next_attempt_at = COALESCE(?, next_attempt_at), last_reply = ?
                WHERE id = ?
                """, arguments: [state, sentAt, nextAttemptAt, reply, id])
    }
}
