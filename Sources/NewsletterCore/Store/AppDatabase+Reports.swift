import Foundation
import GRDB

extension AppDatabase {
    /// `v14-reports`: the consent trail by event and time. The charts count each week's
    /// signups and unsubscribes, and the report the unsubscribes after a send, which would
    /// otherwise read every consent record (two per subscriber) each time.
    static func migrateReports(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX consent_event_at ON consent (event, at)")
    }
}

/// The reports' reads in SQLite (dates are UTC text, `yyyy-MM-dd HH:mm:ss.SSS`).
extension SQLiteRows: ReportRows {
    func sentPerMinute(_ week: IssueWeek) async throws -> [Int64: Int] {
        try await access { db in
            // Grouped by the text's minute (cheap), turned into seconds once per group; erased
            // readers' copies (`erased_delivery`) count as they did.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(strftime('%s', substr(sent_at, 1, 16) || ':00') AS INTEGER) AS minute, COUNT(*) AS n
                    FROM delivery WHERE week = ? AND state = 'sent' AND sent_at IS NOT NULL
                    GROUP BY substr(sent_at, 1, 16)
                    UNION ALL
                    SELECT CAST(strftime('%s', substr(sent_at, 1, 16) || ':00') AS INTEGER) AS minute, COUNT(*) AS n
                    FROM erased_delivery WHERE week = ? AND state = 'sent' AND sent_at IS NOT NULL
                    GROUP BY substr(sent_at, 1, 16)
                    """, arguments: [week.description, week.description])
            return Dictionary(rows.map { ($0["minute"] as Int64, $0["n"] as Int) }, uniquingKeysWith: +)
        }
    }

    func unsubscribedRecipients(_ week: IssueWeek, within window: DateInterval) async throws -> Int {
        try await access { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(DISTINCT c.subscriber_id) FROM consent c
                    JOIN delivery d ON d.subscriber_id = c.subscriber_id AND d.week = ? AND d.state = 'sent'
                    WHERE c.event = 'unsubscribe' AND c.at >= ? AND c.at < ?
                    """,
                arguments: [
                    week.description, StoredDate.databaseValue(window.start), StoredDate.databaseValue(window.end),
                ]) ?? 0
        }
    }

    func consentEvents(_ events: [String], within window: DateInterval) async throws -> Int {
        try await access { db in
            let placeholders = Array(repeating: "?", count: events.count).joined(separator: ", ")
            return try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM consent WHERE event IN (\(placeholders)) AND at >= ? AND at < ?",
                arguments: StatementArguments(events)
                    + [StoredDate.databaseValue(window.start), StoredDate.databaseValue(window.end)]) ?? 0
        }
    }

    func subscribersMarkedBounced(within window: DateInterval) async throws -> Int {
        try await access { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(DISTINCT subscriber_id) FROM bounce_event
                    WHERE effect LIKE 'bounced%' AND received_at >= ? AND received_at < ?
                    """, arguments: [StoredDate.databaseValue(window.start), StoredDate.databaseValue(window.end)]) ?? 0
        }
    }

    func confirmedSubscribers() async throws -> Int {
        try await access { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM subscriber WHERE status = 'confirmed'") ?? 0
        }
    }
}
