import Foundation
import PostgresNIO

extension PostgresStore {
    /// The SQLite store's `v14-reports`, under the same name.
    static let reportsMigration = Migration(
        version: 8, name: "the consent trail by event and time, for the reports",
        statements: ["CREATE INDEX consent_event_at ON consent (event, at)"])
}

/// The reports' reads in PostgreSQL.
extension PostgresSession: ReportRows {
    func sentPerMinute(_ week: IssueWeek) async throws -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for row in try await rows(
            """
            SELECT floor(extract(epoch FROM date_trunc('minute', sent_at)))::bigint AS minute, COUNT(*)
            FROM delivery WHERE week = \(week.description) AND state = 'sent' AND sent_at IS NOT NULL GROUP BY minute
            UNION ALL
            SELECT floor(extract(epoch FROM date_trunc('minute', sent_at)))::bigint AS minute, COUNT(*)
            FROM erased_delivery WHERE week = \(week.description) AND state = 'sent' AND sent_at IS NOT NULL
            GROUP BY minute
            """)
        {
            let (minute, count) = try row.decode((Int64, Int).self)
            counts[minute, default: 0] += count
        }
        return counts
    }

    func unsubscribedRecipients(_ week: IssueWeek, within window: DateInterval) async throws -> Int {
        try await rows(
            """
            SELECT COUNT(DISTINCT c.subscriber_id) FROM consent c
            JOIN delivery d ON d.subscriber_id = c.subscriber_id AND d.week = \(week.description) AND d.state = 'sent'
            WHERE c.event = 'unsubscribe' AND c.at >= \(window.start) AND c.at < \(window.end)
            """
        ).first?.decode(Int.self) ?? 0
    }

    func consentEvents(_ events: [String], within window: DateInterval) async throws -> Int {
        try await rows(
            """
            SELECT COUNT(*) FROM consent
            WHERE event = ANY(\(events)) AND at >= \(window.start) AND at < \(window.end)
            """
        ).first?.decode(Int.self) ?? 0
    }

    func subscribersMarkedBounced(within window: DateInterval) async throws -> Int {
        try await rows(
            """
            SELECT COUNT(DISTINCT subscriber_id) FROM bounce_event
            WHERE effect LIKE 'bounced%' AND received_at >= \(window.start) AND received_at < \(window.end)
            """
        ).first?.decode(Int.self) ?? 0
    }

    func confirmedSubscribers() async throws -> Int {
        try await rows("SELECT COUNT(*) FROM subscriber WHERE status = 'confirmed'").first?.decode(Int.self) ?? 0
    }
}
