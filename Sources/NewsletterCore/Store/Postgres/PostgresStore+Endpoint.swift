import Foundation
import PostgresNIO

/// The signup endpoint's store on PostgreSQL: several `serve` processes behind one proxy share
/// the subscribers, their tokens and the endpoint's mail queue (each claims queued mails under
/// a lease, so two never send the same mail and a crash loses none).
extension PostgresStore: SubscriberEndpointStore {
    public func subscriber(unsubscribeToken token: String) throws -> Subscriber? {
        try read { connection in try Self.tokenOwner(token, purpose: "unsubscribe", connection)?.subscriber }
    }

    public func unsubscribe(token: String, client: ClientInfo, at time: Date) throws -> UnsubscribeOutcome {
        try transaction { connection in
            guard let (subscriber, _) = try Self.tokenOwner(token, purpose: "unsubscribe", lock: true, connection)
            else { return .unknownToken }
            try connection.run(
                "UPDATE subscriber_token SET used_at = COALESCE(used_at, \(time)) WHERE token_hash = \(LinkToken.hash(token))"
            )
            if subscriber.status == .unsubscribed { return .alreadyUnsubscribed(email: subscriber.email) }
            try connection.run("UPDATE subscriber SET status = 'unsubscribed' WHERE id = \(subscriber.id)")
            try Self.recordConsent(
                subscriberID: subscriber.id, event: "unsubscribe", client: client, at: time, connection)
            return .unsubscribed(email: subscriber.email)
        }
    }

    public func requestSignup(
        _ address: MailAddress, name: String?, client: ClientInfo, policy: SignupPolicy, at time: Date
    ) throws -> SignupOutcome {
        try transaction { connection in
            try Self.requestSignup(address, name: name, client: client, policy: policy, at: time, connection)
        }
    }

    public func requestSignup(
        _ address: MailAddress, name: String?, topics: TopicChoice, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) throws -> SignupOutcome {
        try transaction { connection in
            let outcome = try Self.requestSignup(
                address, name: name, client: client, policy: policy, at: time, connection)
            if case .confirmationQueued(let subscriberID) = outcome {
                try Self.replaceTopicChoice(topics, subscriberID: subscriberID, client: client, at: time, connection)
            }
            return outcome
        }
    }

    private static func requestSignup(
        _ address: MailAddress, name: String?, client: ClientInfo, policy: SignupPolicy, at time: Date,
        _ connection: PostgresSession
    ) throws -> SignupOutcome {
        // A new address is inserted, or the known one locked: two signups for one address at
        // once (two hosts behind a proxy) are taken one after the other, so the throttle holds.
        let inserted = try connection.rows(
            """
            INSERT INTO subscriber (email, name, status, created_at) VALUES (\(address.address), \(name), 'pending', \(time))
            ON CONFLICT ((lower(email))) DO NOTHING
            RETURNING id
            """)
        let subscriberID: Int64
        if let id = try inserted.first?.decode(Int64.self) {
            subscriberID = id
        } else {
            guard
                let row = try connection.rows(
                    "SELECT \(unescaped: subscriberColumns) FROM subscriber WHERE lower(email) = lower(\(address.address)) FOR UPDATE"
                ).first
            else { throw PostgresStoreError.other("\(address.address) was neither inserted nor found") }
            let subscriber = try Self.subscriber(row)
            if subscriber.status == .confirmed { return .alreadyConfirmed }
            // Pending, or unsubscribed or bounced and back: throttled per address (the core's
            // rule), so nobody can flood a stranger's inbox by entering it again and again.
            // Such a record stays as it is until the owner confirms.
            let (today, latest, unsent) = try connection.rows(
                """
                SELECT COUNT(*), MAX(created_at), COUNT(*) FILTER (WHERE state = 'pending') FROM endpoint_mail
                WHERE subscriber_id = \(subscriber.id) AND kind = 'confirmation' AND created_at > \(time.addingTimeInterval(-24 * 3600))
                """
            ).first!.decode((Int, Date?, Int).self)
            let recent = SignupPolicy.RecentConfirmations(today: today, latest: latest, unsent: unsent)
            if !policy.allowsConfirmation(after: recent, at: time) { return .throttled }
            subscriberID = subscriber.id
        }
        try recordConsent(subscriberID: subscriberID, event: "signup", client: client, at: time, connection)
        try connection.queueEndpointMail(.confirmation, subscriberID: subscriberID, at: time)
        return .confirmationQueued(subscriberID: subscriberID)
    }

    public func confirmationLink(token: String, at time: Date) throws -> ConfirmationLink {
        try read { connection in
            guard let (subscriber, token) = try Self.tokenOwner(token, purpose: "confirm", connection) else {
                return .unknown
            }
            switch LinkToken.confirmationState(usedAt: token.usedAt, expiresAt: token.expiresAt, at: time) {
            case .used: return .used
            case .expired: return .expired
            case .usable: return .valid(email: subscriber.email)
            }
        }
    }

    public func confirm(token: String, client: ClientInfo, at time: Date) throws -> ConfirmOutcome {
        try transaction { connection in try connection.confirm(token: token, client: client, at: time) }
    }

    public func updatePreferences(token: String, _ preferences: Preferences, client: ClientInfo, at time: Date)
        throws -> Subscriber?
    {
        try transaction { connection in
            guard let (subscriber, _) = try Self.tokenOwner(token, purpose: "unsubscribe", lock: true, connection)
            else { return nil }
            try connection.run(
                """
                UPDATE subscriber SET name = \(preferences.name), format = \(preferences.format.rawValue),
                    paused = \(preferences.paused)
                WHERE id = \(subscriber.id)
                """)
            try Self.recordConsent(
                subscriberID: subscriber.id, event: "preferences", client: client, at: time,
                detail: "format=\(preferences.format.rawValue) paused=\(preferences.paused)", connection)
            if let topics = preferences.topics {
                try Self.replaceTopicChoice(topics, subscriberID: subscriber.id, client: client, at: time, connection)
            }
            return try connection.rows(
                "SELECT \(unescaped: Self.subscriberColumns) FROM subscriber WHERE id = \(subscriber.id)"
            ).first.map(Self.subscriber)
        }
    }

    public func claimEndpointMail(limit: Int, at time: Date, lease: TimeInterval) throws -> [EndpointMail] {
        try transaction { connection in
            // SKIP LOCKED: two `serve` processes draining the queue at once take different mails.
            let rows = try connection.rows(
                """
                WITH due AS (
                    SELECT id, next_attempt_at AS due_at FROM endpoint_mail
                    WHERE state = 'pending' AND next_attempt_at <= \(time)
                    ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                UPDATE endpoint_mail m SET attempts = m.attempts + 1, next_attempt_at = \(time.addingTimeInterval(lease))
                FROM due WHERE m.id = due.id
                RETURNING m.id, m.kind, m.attempts, m.created_at, m.subscriber_id, due.due_at
                """)
            var mails: [(due: Date, mail: EndpointMail)] = []
            for row in rows {
                let (id, kind, attempts, createdAt, subscriberID, due) = try row.decode(
                    (Int64, String, Int, Date, Int64, Date).self)
                guard
                    let subscriber = try connection.rows(
                        "SELECT \(unescaped: Self.subscriberColumns) FROM subscriber WHERE id = \(subscriberID)"
                    ).first.map(Self.subscriber)
                else { continue }  // cannot happen: the mail goes with its subscriber (ON DELETE CASCADE)
                mails.append(
                    (
                        due,
                        EndpointMail(
                            id: id, kind: try Self.enumValue(EndpointMail.Kind.self, kind, "endpoint_mail.kind"),
                            subscriber: subscriber, attempt: attempts, createdAt: createdAt)
                    ))
            }
            // In the order they fell due, as the SQLite store hands them out.
            return mails.sorted { ($0.due, $0.mail.id) < ($1.due, $1.mail.id) }.map(\.mail)
        }
    }

    public func recordEndpointMail(id: Int64, _ result: EndpointMailResult, at time: Date) throws {
        try transaction { connection in
            switch result {
            case .sent(let reply):
                try connection.run(
                    "UPDATE endpoint_mail SET state = 'sent', sent_at = \(time), last_reply = \(reply) WHERE id = \(id)")
            case .retry(let reply, let next):
                try connection.run(
                    "UPDATE endpoint_mail SET next_attempt_at = \(next), last_reply = \(reply) WHERE id = \(id)")
            case .failed(let reply):
                try connection.run("UPDATE endpoint_mail SET state = 'failed', last_reply = \(reply) WHERE id = \(id)")
            }
        }
    }

    public func newConfirmationToken(subscriberID: Int64, lifetime: TimeInterval, at time: Date) throws -> String {
        try insertToken(
            subscriberID: subscriberID, purpose: "confirm", expiresAt: time.addingTimeInterval(lifetime), at: time)
    }

    public func newUnsubscribeToken(subscriberID: Int64, at time: Date) throws -> String {
        try insertToken(subscriberID: subscriberID, purpose: "unsubscribe", expiresAt: nil, at: time)
    }

    public func endpointMailQueueDepth() throws -> Int {
        try read { connection in
            try connection.rows("SELECT COUNT(*) FROM endpoint_mail WHERE state = 'pending'").first?.decode(Int.self)
                ?? 0
        }
    }

    private func insertToken(subscriberID: Int64, purpose: String, expiresAt: Date?, at time: Date) throws -> String {
        let token = LinkToken.make()
        try transaction { connection in
            try connection.run(
                """
                INSERT INTO subscriber_token (token_hash, subscriber_id, purpose, created_at, expires_at)
                VALUES (\(LinkToken.hash(token)), \(subscriberID), \(purpose), \(time), \(expiresAt))
                """)
        }
        return token
    }

    /// A stored token's times, for the core's rule (`LinkToken.confirmationState`).
    struct StoredToken {
        var usedAt: Date?
        var expiresAt: Date?
    }

    /// The subscriber a token of `purpose` belongs to; `lock` holds the subscriber's row for the
    /// rest of the transaction.
    static func tokenOwner(_ token: String, purpose: String, lock: Bool = false, _ connection: PostgresSession)
        throws -> (subscriber: Subscriber, token: StoredToken)?
    {
        var query: PostgresQuery = """
            SELECT \(unescaped: prefixedSubscriberColumns), t.used_at, t.expires_at
            FROM subscriber_token t JOIN subscriber s ON s.id = t.subscriber_id
            WHERE t.token_hash = \(LinkToken.hash(token)) AND t.purpose = \(purpose)
            """
        if lock { query.sql += " FOR UPDATE OF s" }
        guard let row = try connection.rows(query).first?.makeRandomAccess() else { return nil }
        return (
            try subscriber(row),
            StoredToken(
                usedAt: try row.decode(Date?.self, column: "used_at"),
                expiresAt: try row.decode(Date?.self, column: "expires_at"))
        )
    }
}

/// The confirm flow's rows in PostgreSQL, inside the caller's transaction.
extension PostgresSession: ConfirmRows {
    func confirmationTokenOwner(_ token: String) throws -> (subscriber: Subscriber, usedAt: Date?, expiresAt: Date?)? {
        try PostgresStore.tokenOwner(token, purpose: "confirm", lock: true, self).map {
            ($0.subscriber, $0.token.usedAt, $0.token.expiresAt)
        }
    }

    func spendConfirmationTokens(subscriberID: Int64, at time: Date) throws {
        try run(
            """
            UPDATE subscriber_token SET used_at = \(time)
            WHERE subscriber_id = \(subscriberID) AND purpose = 'confirm' AND used_at IS NULL
            """)
    }

    func markConfirmed(subscriberID: Int64, at time: Date) throws {
        try run(
            """
            UPDATE subscriber SET status = 'confirmed', confirmed_at = \(time), permanent_failures = 0
            WHERE id = \(subscriberID)
            """)
    }

    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) throws {
        try run(
            """
            INSERT INTO endpoint_mail (subscriber_id, kind, state, created_at, next_attempt_at)
            VALUES (\(subscriberID), \(kind.rawValue), 'pending', \(time), \(time))
            """)
    }
}
