import Foundation
import PostgresNIO

extension PostgresStore: BounceStore {
    public func verpRecipient(token: String) throws -> (week: IssueWeek, subscriberID: Int64)? {
        try read { connection in
            guard
                let row = try connection.rows(
                    "SELECT week, subscriber_id FROM verp_token WHERE token_hash = \(LinkToken.hash(token.lowercased()))"
                ).first
            else { return nil }
            let (week, id) = try row.decode((String, Int64).self)
            return (try IssueWeek(parsing: week), id)
        }
    }

    public func delivery(messageID: String) throws -> (week: IssueWeek, subscriberID: Int64)? {
        try read { connection in
            guard
                let row = try connection.rows(
                    "SELECT week, subscriber_id FROM delivery WHERE message_id = \(messageID) LIMIT 1"
                ).first
            else { return nil }
            let (week, id) = try row.decode((String, Int64).self)
            return (try IssueWeek(parsing: week), id)
        }
    }

    public func lastDeliveredWeek(subscriberID: Int64, before time: Date) throws -> IssueWeek? {
        try read { connection in
            try connection.rows(
                """
                SELECT week FROM delivery WHERE subscriber_id = \(subscriberID) AND state = 'sent' AND sent_at <= \(time)
                ORDER BY sent_at DESC LIMIT 1
                """
            ).first.map { try IssueWeek(parsing: try $0.decode(String.self)) }
        }
    }

    public func recordBounce(_ bounce: BounceRecord, rule: BounceRule) throws -> BounceRecordOutcome {
        try transaction { connection in try Self.recordBounce(bounce, rule: rule, connection) }
    }

    /// Stores the report and applies the core's rule (`BounceRule.effect`), inside the caller's
    /// transaction (shared with `recordFailed`, so a refusal at send time and a mailbox bounce
    /// take the same path).
    static func recordBounce(_ bounce: BounceRecord, rule: BounceRule, _ connection: PostgresSession) throws
        -> BounceRecordOutcome
    {
        var sentAt: Date?
        if let week = bounce.week, let id = bounce.subscriberID {
            sentAt = try connection.rows(
                "SELECT sent_at FROM delivery WHERE week = \(week.description) AND subscriber_id = \(id)"
            ).first.flatMap { try $0.decode(Date?.self) }
        }
        // The key makes a report fetched twice count once; two processes storing the same
        // report at once: one inserts, the other finds nothing to do.
        let inserted = try connection.rows(
            """
            INSERT INTO bounce_event (key, subscriber_id, week, kind, status, action, diagnostic, source, received_at,
                message_sent_at, effect)
            VALUES (\(bounce.key), \(bounce.subscriberID), \(bounce.week?.description), \(bounce.kind.rawValue),
                \(bounce.evidence.status), \(bounce.evidence.action), \(bounce.evidence.diagnostic.map { String($0.prefix(1000)) }),
                \(bounce.source.rawValue), \(bounce.receivedAt), \(sentAt ?? bounce.receivedAt), 'none')
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """)
        guard let eventID = try inserted.first?.decode(Int64.self) else { return .duplicate }
        guard let subscriberID = bounce.subscriberID else { return .recorded(.none) }

        var softBounces: [Date] = []
        var lastGood: Date?
        if bounce.kind == .soft {
            softBounces = try connection.rows(
                "SELECT message_sent_at FROM bounce_event WHERE subscriber_id = \(subscriberID) AND kind = 'soft'"
            ).map { try $0.decode(Date.self) }
            // The last copy accepted for which no bounce of any address-related kind came back.
            lastGood = try connection.rows(
                """
                SELECT MAX(d.sent_at) FROM delivery d WHERE d.subscriber_id = \(subscriberID) AND d.state = 'sent'
                AND NOT EXISTS (SELECT 1 FROM bounce_event b WHERE b.subscriber_id = d.subscriber_id
                                AND b.week = d.week AND b.kind IN ('hard', 'soft'))
                """
            ).first.flatMap { try $0.decode(Date?.self) }
        }
        let effect = rule.effect(
            of: bounce.kind, softBounces: softBounces, lastGoodDelivery: lastGood, now: bounce.receivedAt)
        var applied = "none"
        switch effect {
        case .none: break
        case .markBounced(let reason):
            let changed = try connection.run(
                "UPDATE subscriber SET status = 'bounced' WHERE id = \(subscriberID) AND status IN ('confirmed', 'pending')")
            if changed > 0 { applied = "bounced: \(reason)" }
        case .unsubscribe:
            let changed = try connection.run(
                "UPDATE subscriber SET status = 'unsubscribed' WHERE id = \(subscriberID) AND status <> 'unsubscribed'")
            if changed > 0 {
                applied = "unsubscribed"
                try recordConsent(
                    subscriberID: subscriberID, event: "unsubscribe",
                    client: ClientInfo(address: nil, userAgent: "complaint (feedback report)"), at: bounce.receivedAt,
                    detail: "complaint\(bounce.week.map { " about \($0)" } ?? ""): \(bounce.evidence.diagnostic ?? "")",
                    connection)
            }
        }
        if applied != "none" {
            try connection.run("UPDATE bounce_event SET effect = \(applied) WHERE id = \(eventID)")
        }
        return .recorded(effect)
    }

    public func bounceTally(_ week: IssueWeek?) throws -> BounceTally {
        try read { connection in
            var tally = BounceTally()
            let weekText = week?.description
            for row in try connection.rows(
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
                try connection.rows(
                    """
                    SELECT COUNT(*) FROM delivery WHERE state = 'sent' AND (\(weekText)::text IS NULL OR week = \(weekText))
                    """
                ).first?.decode(Int.self) ?? 0
            return tally
        }
    }

    public func recentBounces(_ week: IssueWeek?, limit: Int) throws -> [StoredBounce] {
        let weekText = week?.description
        return try read { connection in
            try connection.rows(
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
    ) throws {
        try connection.run(
            """
            INSERT INTO consent (subscriber_id, event, at, client_address, user_agent, detail)
            VALUES (\(subscriberID), \(event), \(time), \(client.address), \(client.userAgent), \(detail))
            """)
    }
}
