import Foundation
import GRDB

extension BounceKind: DatabaseValueConvertible {}
extension BounceSource: DatabaseValueConvertible {}

extension AppDatabase: BounceStore {

    public func verpRecipient(token: String) async throws -> (week: IssueWeek, subscriberID: Int64)? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT week, subscriber_id FROM verp_token WHERE token_hash = ?",
                    arguments: [Self.tokenHash(token.lowercased())]),
                let week = try? IssueWeek(parsing: row["week"] as String)
            else { return nil }
            return (week, row["subscriber_id"])
        }
    }

    public func delivery(messageID: String) async throws -> (week: IssueWeek, subscriberID: Int64)? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT week, subscriber_id FROM delivery WHERE message_id = ? LIMIT 1",
                    arguments: [messageID]),
                let week = try? IssueWeek(parsing: row["week"] as String)
            else { return nil }
            return (week, row["subscriber_id"])
        }
    }

    public func lastDeliveredWeek(subscriberID: Int64, before time: Date) async throws -> IssueWeek? {
        try await read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT week FROM delivery WHERE subscriber_id = ? AND state = 'sent' AND sent_at <= ?
                    ORDER BY sent_at DESC LIMIT 1
                    """, arguments: [subscriberID, time]
            ).flatMap { try? IssueWeek(parsing: $0) }
        }
    }

    public func bounceTally(_ week: IssueWeek?) async throws -> BounceTally {
        try await read { db in
            var tally = BounceTally()
            let weekFilter = week == nil ? "1" : "week = ?"
            let arguments: StatementArguments = week.map { [$0.description] } ?? []
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, COUNT(*) AS n, SUM(effect LIKE 'bounced%') AS bounced, SUM(effect = 'unsubscribed') AS left
                    FROM bounce_event WHERE \(weekFilter) GROUP BY kind
                    """, arguments: arguments)
            {
                let count: Int = row["n"]
                switch BounceKind(rawValue: row["kind"]) {
                case .hard: tally.hard = count
                case .soft: tally.soft = count
                case .policy: tally.policy = count
                case .autoReply: tally.autoReplies = count
                case .complaint: tally.complaints = count
                case .delivered, nil: break
                }
                tally.markedBounced += row["bounced"] as Int? ?? 0
                tally.unsubscribed += row["left"] as Int? ?? 0
            }
            tally.delivered =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT (SELECT COUNT(*) FROM delivery WHERE state = 'sent' AND \(weekFilter))
                            + (SELECT COUNT(*) FROM erased_delivery WHERE state = 'sent' AND \(weekFilter))
                        """, arguments: arguments + arguments) ?? 0
            return tally
        }
    }

    public func recentBounces(_ week: IssueWeek?, limit: Int) async throws -> [StoredBounce] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.email, b.* FROM bounce_event b LEFT JOIN subscriber s ON s.id = b.subscriber_id
                    WHERE \(week == nil ? "1" : "b.week = ?") ORDER BY b.id DESC LIMIT ?
                    """, arguments: (week.map { [$0.description] } ?? []) + [limit]
            ).map { row in
                StoredBounce(
                    email: row["email"], week: row["week"], kind: BounceKind(rawValue: row["kind"]) ?? .soft,
                    status: row["status"], diagnostic: row["diagnostic"],
                    source: BounceSource(rawValue: row["source"]) ?? .mailbox, effect: row["effect"],
                    receivedAt: row["received_at"])
            }
        }
    }
}

/// The bounce workflow's rows in SQLite, inside the caller's write transaction.
extension Database {
    func sentAt(of week: IssueWeek, subscriberID: Int64) throws -> Date? {
        try Date.fetchOne(
            self, sql: "SELECT sent_at FROM delivery WHERE week = ? AND subscriber_id = ?",
            arguments: [week.description, subscriberID])
    }

    func insertBounceEvent(_ bounce: BounceRecord, messageSentAt: Date) throws -> Int64? {
        if try Int.fetchOne(self, sql: "SELECT 1 FROM bounce_event WHERE key = ?", arguments: [bounce.key]) != nil {
            return nil
        }
        try execute(
            sql: """
                INSERT INTO bounce_event (key, subscriber_id, week, kind, status, action, diagnostic, source, received_at, message_sent_at, effect)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'none')
                """,
            arguments: [
                bounce.key, bounce.subscriberID, bounce.week?.description, bounce.kind, bounce.evidence.status,
                bounce.evidence.action, bounce.evidence.diagnostic.map { String($0.prefix(1000)) }, bounce.source,
                bounce.receivedAt, messageSentAt,
            ])
        return lastInsertedRowID
    }

    func softBounceTimes(subscriberID: Int64) throws -> [Date] {
        try Date.fetchAll(
            self, sql: "SELECT message_sent_at FROM bounce_event WHERE subscriber_id = ? AND kind = 'soft'",
            arguments: [subscriberID])
    }

    func lastGoodDelivery(subscriberID: Int64) throws -> Date? {
        try Date.fetchOne(
            self,
            sql: """
                SELECT MAX(d.sent_at) FROM delivery d WHERE d.subscriber_id = ? AND d.state = 'sent'
                AND NOT EXISTS (SELECT 1 FROM bounce_event b WHERE b.subscriber_id = d.subscriber_id
                                AND b.week = d.week AND b.kind IN ('hard', 'soft'))
                """, arguments: [subscriberID])
    }

    func setStatus(of subscriberID: Int64, to status: Subscriber.Status, from: [Subscriber.Status]) throws -> Bool {
        let placeholders = from.map { _ in "?" }.joined(separator: ", ")
        var arguments: StatementArguments = [status.rawValue, subscriberID]
        arguments += StatementArguments(from.map(\.rawValue))
        try execute(
            sql: "UPDATE subscriber SET status = ? WHERE id = ? AND status IN (\(placeholders))", arguments: arguments)
        return changesCount > 0
    }

    func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?
    ) throws {
        try AppDatabase.recordConsent(
            self, subscriberID: subscriberID, event: event, client: client, at: time, detail: detail)
    }

    func setBounceEffect(_ effect: String, ofEvent eventID: Int64) throws {
        try execute(sql: "UPDATE bounce_event SET effect = ? WHERE id = ?", arguments: [effect, eventID])
    }

    func countPermanentFailure(subscriberID: Int64) throws {
        try execute(
            sql: "UPDATE subscriber SET permanent_failures = permanent_failures + 1 WHERE id = ?",
            arguments: [subscriberID])
    }
}
