import Foundation
import PostgresNIO

extension PostgresStore: BounceStore {
    public func verpRecipient(token: String) async throws -> (week: IssueWeek, subscriberID: Int64)? {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    "SELECT week, subscriber_id FROM verp_token WHERE token_hash = \(LinkToken.hash(token.lowercased()))"
                ).first
            else { return nil }
            let (week, id) = try row.decode((String, Int64).self)
            return (try IssueWeek(parsing: week), id)
        }
    }

    public func delivery(messageID: String) async throws -> (week: IssueWeek, subscriberID: Int64)? {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    "SELECT week, subscriber_id FROM delivery WHERE message_id = \(messageID) LIMIT 1"
                ).first
            else { return nil }
            let (week, id) = try row.decode((String, Int64).self)
            return (try IssueWeek(parsing: week), id)
        }
    }

    public func lastDeliveredWeek(subscriberID: Int64, before time: Date) async throws -> IssueWeek? {
        try await read { connection in
            try await connection.rows(
                """
                SELECT week FROM delivery WHERE subscriber_id = \(subscriberID) AND state = 'sent' AND sent_at <= \(time)
                ORDER BY sent_at DESC LIMIT 1
                """
            ).first.map { try IssueWeek(parsing: try $0.decode(String.self)) }
        }
    }

    public func bounceTally(_ week: IssueWeek?) async throws -> BounceTally {
        try await read { connection in
            var tally = BounceTally()
            let weekText = week?.description
            for row in try await connection.rows(
                """
                SELECT kind, COUNT(*), COUNT(*) FILTER (WHERE effect LIKE 'bounced%'),
                    COUNT(*) FILTER (WHERE effect = 'unsubscribed')
                FROM bounce_event WHERE (\(weekText)::text IS NULL OR week = \(weekText)) GROUP BY kind
                """)
            {
                let (kind, count, bounced, left) = try row.decode((String, Int, Int, Int).self)
                switch BounceKind(rawValue: kind) {
                case .hard: tally.hard = count
                case .soft: tally.soft = count
                case .policy: tally.policy = count
                case .autoReply: tally.autoReplies = count
                case .complaint: tally.complaints = count
                case .delivered, nil: break
                }
                tally.markedBounced += bounced
                tally.unsubscribed += left
            }
            tally.delivered =
                try await connection.rows(
                    """
                    SELECT (SELECT COUNT(*) FROM delivery
                        WHERE state = 'sent' AND (\(weekText)::text IS NULL OR week = \(weekText)))
                        + (SELECT COUNT(*) FROM erased_delivery
                        WHERE state = 'sent' AND (\(weekText)::text IS NULL OR week = \(weekText)))
                    """
                ).first?.decode(Int.self) ?? 0
            return tally
        }
    }

    public func recentBounces(_ week: IssueWeek?, limit: Int) async throws -> [StoredBounce] {
        let weekText = week?.description
        return try await read { connection in
            try await connection.rows(
                """
                SELECT s.email, b.week, b.kind, b.status, b.diagnostic, b.source, b.effect, b.received_at
                FROM bounce_event b LEFT JOIN subscriber s ON s.id = b.subscriber_id
                WHERE (\(weekText)::text IS NULL OR b.week = \(weekText)) ORDER BY b.id DESC LIMIT \(limit)
                """
            ).map { row in
                let (email, week, kind, status, diagnostic, source, effect, receivedAt) = try row.decode(
                    (String?, String?, String, String?, String?, String, String, Date).self)
                return StoredBounce(
                    email: email, week: week, kind: BounceKind(rawValue: kind) ?? .soft, status: status,
                    diagnostic: diagnostic, source: BounceSource(rawValue: source) ?? .mailbox, effect: effect,
                    receivedAt: receivedAt)
            }
        }
    }

    /// One line of the consent trail, inside the caller's transaction.
    static func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String? = nil,
        _ connection: PostgresSession
    ) async throws {
        try await connection.run(
            """
            INSERT INTO consent (subscriber_id, event, at, client_address, user_agent, detail)
            VALUES (\(subscriberID), \(event), \(time), \(client.address), \(client.userAgent), \(detail))
            """)
    }
}

/// The bounce workflow's rows in PostgreSQL, inside the caller's transaction.
extension PostgresSession: BounceRows {
    func sentAt(of week: IssueWeek, subscriberID: Int64) async throws -> Date? {
        try await rows(
            "SELECT sent_at FROM delivery WHERE week = \(week.description) AND subscriber_id = \(subscriberID)"
        )
        .first.flatMap { try $0.decode(Date?.self) }
    }

    /// Two processes storing the same report at once: one inserts, the other finds nothing to do.
    func insertBounceEvent(_ bounce: BounceRecord, messageSentAt: Date) async throws -> Int64? {
        try await rows(
            """
            INSERT INTO bounce_event (key, subscriber_id, week, kind, status, action, diagnostic, source, received_at,
                message_sent_at, effect)
            VALUES (\(bounce.key), \(bounce.subscriberID), \(bounce.week?.description), \(bounce.kind.rawValue),
                \(bounce.evidence.status), \(bounce.evidence.action), \(bounce.evidence.diagnostic.map { String($0.prefix(1000)) }),
                \(bounce.source.rawValue), \(bounce.receivedAt), \(messageSentAt), 'none')
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """
        ).first?.decode(Int64.self)
    }

    func softBounceTimes(subscriberID: Int64) async throws -> [Date] {
        try await rows(
            "SELECT message_sent_at FROM bounce_event WHERE subscriber_id = \(subscriberID) AND kind = 'soft'"
        )
        .map { try $0.decode(Date.self) }
    }

    func lastGoodDelivery(subscriberID: Int64) async throws -> Date? {
        try await rows(
            """
            SELECT MAX(d.sent_at) FROM delivery d WHERE d.subscriber_id = \(subscriberID) AND d.state = 'sent'
            AND NOT EXISTS (SELECT 1 FROM bounce_event b WHERE b.subscriber_id = d.subscriber_id
                            AND b.week = d.week AND b.kind IN ('hard', 'soft'))
            """
        ).first.flatMap { try $0.decode(Date?.self) }
    }

    func setStatus(of subscriberID: Int64, to status: Subscriber.Status, from: [Subscriber.Status]) async throws -> Bool
    {
        try await run(
            """
            UPDATE subscriber SET status = \(status.rawValue)
            WHERE id = \(subscriberID) AND status = ANY(\(from.map(\.rawValue)))
            """) > 0
    }

    func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?
    ) async throws {
        try await PostgresStore.recordConsent(
            subscriberID: subscriberID, event: event, client: client, at: time, detail: detail, self)
    }

    func setBounceEffect(_ effect: String, ofEvent eventID: Int64) async throws {
        try await run("UPDATE bounce_event SET effect = \(effect) WHERE id = \(eventID)")
    }

    func countPermanentFailure(subscriberID: Int64) async throws {
        try await run("UPDATE subscriber SET permanent_failures = permanent_failures + 1 WHERE id = \(subscriberID)")
    }
}
