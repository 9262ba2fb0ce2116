import Foundation
import PostgresNIO

/// The signup endpoint's store on PostgreSQL: several `serve` processes behind one proxy share
/// the subscribers, their tokens and the endpoint's mail queue. Each flow is `EndpointRows`'
/// (written once for both stores) in one transaction; the rows below hold what they must.
extension PostgresStore: SubscriberEndpointStore {
    public func endpointMailQueueDepth() async throws -> Int {
        try await read { connection in
            try await connection.rows("SELECT COUNT(*) FROM endpoint_mail WHERE state = 'pending'").first?.decode(
                Int.self)
                ?? 0
        }
    }
}

/// The endpoint's rows in PostgreSQL, inside the caller's transaction.
extension PostgresSession: EndpointRows {
    func tokenOwner(_ token: String, purpose: TokenPurpose, holdingRow: Bool) async throws -> TokenOwner? {
        var query: PostgresQuery = """
            SELECT \(unescaped: PostgresStore.prefixedSubscriberColumns), t.used_at, t.expires_at
            FROM subscriber_token t JOIN subscriber s ON s.id = t.subscriber_id
            WHERE t.token_hash = \(LinkToken.hash(token)) AND t.purpose = \(purpose.rawValue)
            """
        if holdingRow { query.sql += " FOR UPDATE OF s" }
        guard let row = try await rows(query).first?.makeRandomAccess() else { return nil }
        return TokenOwner(
            subscriber: try PostgresStore.subscriber(row), usedAt: try row.decode(Date?.self, column: "used_at"),
            expiresAt: try row.decode(Date?.self, column: "expires_at"))
    }

    func insertToken(hash: String, subscriberID: Int64, purpose: TokenPurpose, expiresAt: Date?, at time: Date)
        async throws
    {
        try await run(
            """
            INSERT INTO subscriber_token (token_hash, subscriber_id, purpose, created_at, expires_at)
            VALUES (\(hash), \(subscriberID), \(purpose.rawValue), \(time), \(expiresAt))
            """)
    }

    func spendToken(_ token: String, at time: Date) async throws {
        try await run(
            "UPDATE subscriber_token SET used_at = COALESCE(used_at, \(time)) WHERE token_hash = \(LinkToken.hash(token))"
        )
    }

    func spendConfirmationTokens(subscriberID: Int64, at time: Date) async throws {
        try await run(
            """
            UPDATE subscriber_token SET used_at = \(time)
            WHERE subscriber_id = \(subscriberID) AND purpose = 'confirm' AND used_at IS NULL
            """)
    }

    func markConfirmed(subscriberID: Int64, at time: Date) async throws {
        try await run(
            """
            UPDATE subscriber SET status = 'confirmed', confirmed_at = \(time), permanent_failures = 0
            WHERE id = \(subscriberID)
            """)
    }

    func setPreferences(_ preferences: Preferences, subscriberID: Int64) async throws {
        try await run(
            """
            UPDATE subscriber SET name = \(preferences.name), format = \(preferences.format.rawValue),
                paused = \(preferences.paused)
            WHERE id = \(subscriberID)
            """)
    }

    func confirmationsQueued(subscriberID: Int64, since time: Date) async throws -> SignupPolicy.RecentConfirmations {
        let counts = try await rows(
            """
            SELECT COUNT(*), MAX(created_at), COUNT(*) FILTER (WHERE state = 'pending') FROM endpoint_mail
            WHERE subscriber_id = \(subscriberID) AND kind = 'confirmation' AND created_at > \(time)
            """
        ).first.map { try $0.decode((Int, Date?, Int).self) }
        return SignupPolicy.RecentConfirmations(today: counts?.0 ?? 0, latest: counts?.1, unsent: counts?.2 ?? 0)
    }

    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) async throws {
        try await run(
            """
            INSERT INTO endpoint_mail (subscriber_id, kind, state, created_at, next_attempt_at)
            VALUES (\(subscriberID), \(kind.rawValue), 'pending', \(time), \(time))
            """)
    }

    func dueEndpointMails(limit: Int, at time: Date) async throws -> [EndpointMail] {
        // SKIP LOCKED: two `serve` processes draining the queue at once take different mails.
        try await rows(
            """
            SELECT m.id AS mail_id, m.kind AS mail_kind, m.attempts AS mail_attempts, m.created_at AS mail_created_at,
                \(unescaped: PostgresStore.prefixedSubscriberColumns)
            FROM endpoint_mail m JOIN subscriber s ON s.id = m.subscriber_id
            WHERE m.state = 'pending' AND m.next_attempt_at <= \(time)
            ORDER BY m.next_attempt_at, m.id LIMIT \(limit)
            FOR UPDATE OF m SKIP LOCKED
            """
        ).map { row in
            let row = row.makeRandomAccess()
            return EndpointMail(
                id: try row.decode(Int64.self, column: "mail_id"),
                kind: try PostgresStore.enumValue(
                    EndpointMail.Kind.self, try row.decode(String.self, column: "mail_kind"), "endpoint_mail.kind"),
                subscriber: try PostgresStore.subscriber(row),
                attempt: try row.decode(Int.self, column: "mail_attempts"),
                createdAt: try row.decode(Date.self, column: "mail_created_at"))
        }
    }

    func leaseEndpointMails(ids: [Int64], until time: Date) async throws {
        try await run(
            "UPDATE endpoint_mail SET attempts = attempts + 1, next_attempt_at = \(time) WHERE id = ANY(\(ids))")
    }

    func unleaseEndpointMails(ids: [Int64], dueAt time: Date) async throws {
        try await run(
            """
            UPDATE endpoint_mail SET attempts = greatest(attempts - 1, 0), next_attempt_at = \(time)
            WHERE state = 'pending' AND id = ANY(\(ids))
            """)
    }

    func updateEndpointMail(id: Int64, state: String?, sentAt: Date?, nextAttemptAt: Date?, reply: String) async throws
    {
        try await run(
            """
            UPDATE endpoint_mail SET state = COALESCE(\(state), state), sent_at = COALESCE(\(sentAt), sent_at),
                next_attempt_at = COALESCE(\(nextAttemptAt), next_attempt_at), last_reply = \(reply)
            WHERE id = \(id)
            """)
    }
}
