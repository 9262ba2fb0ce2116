import Foundation
import PostgresNIO

extension PostgresStore {
    /// The SQLite store's `v12-clicks`, under the same names.
    static let clicksMigration = Migration(
        version: 6, name: "tracked links and their clicks",
        statements: [
            """
            CREATE TABLE issue_link (
                id text PRIMARY KEY,
                week text NOT NULL REFERENCES issue(week) ON DELETE CASCADE,
                position integer NOT NULL,
                variant text NOT NULL,
                comparison_id bigint,
                target text NOT NULL,
                clicks bigint NOT NULL DEFAULT 0,
                scanner_clicks bigint NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX issue_link_week ON issue_link (week)",
            """
            CREATE TABLE issue_link_reader (
                link_id text NOT NULL REFERENCES issue_link(id) ON DELETE CASCADE,
                subscriber_id bigint NOT NULL REFERENCES subscriber(id) ON DELETE CASCADE,
                clicks bigint NOT NULL DEFAULT 0,
                scanner_clicks bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (link_id, subscriber_id))
            """,
        ])
}

/// Tracked links in PostgreSQL, inside the caller's transaction (the workflows: ClickRows).
extension PostgresSession: ClickRows {
    private static func link(_ row: PostgresRow) throws -> TrackedLink {
        let (id, week, variant, comparisonID, target) = try row.decode((String, String, String, Int64?, String).self)
        return TrackedLink(
            id: id, week: try IssueWeek(parsing: week), variant: variant, comparisonID: comparisonID, target: target)
    }

    func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink] {
        try await rows(
            """
            SELECT id, week, variant, comparison_id, target FROM issue_link WHERE week = \(week.description)
            ORDER BY position
            """
        ).map(Self.link)
    }

    func deleteTrackedLinks(_ week: IssueWeek) async throws {
        try await run("DELETE FROM issue_link WHERE week = \(week.description)")
    }

    func insertTrackedLink(_ link: TrackedLink, position: Int) async throws {
        try await run(
            """
            INSERT INTO issue_link (id, week, position, variant, comparison_id, target)
            VALUES (\(link.id), \(link.week.description), \(position), \(link.variant), \(link.comparisonID), \(link.target))
            """)
    }

    func sentLink(id: String) async throws -> TrackedLink? {
        try await rows(
            """
            SELECT l.id, l.week, l.variant, l.comparison_id, l.target FROM issue_link l JOIN issue i ON i.week = l.week
            WHERE l.id = \(id) AND (i.status = 'sent'
                OR EXISTS (SELECT 1 FROM delivery d WHERE d.week = l.week AND d.state = 'sent'))
            """
        ).first.map(Self.link)
    }

    func addLinkClicks(linkID: String, clicks: Int64, scannerClicks: Int64) async throws {
        try await run(
            """
            UPDATE issue_link SET clicks = clicks + \(clicks), scanner_clicks = scanner_clicks + \(scannerClicks)
            WHERE id = \(linkID)
            """)
    }

    func addReaderClicks(linkID: String, subscriberID: Int64, clicks: Int64, scannerClicks: Int64) async throws {
        try await run(
            """
            INSERT INTO issue_link_reader (link_id, subscriber_id, clicks, scanner_clicks)
            SELECT l.id, s.id, \(clicks), \(scannerClicks) FROM issue_link l, subscriber s
            WHERE l.id = \(linkID) AND s.id = \(subscriberID)
            ON CONFLICT (link_id, subscriber_id) DO UPDATE SET clicks = issue_link_reader.clicks + excluded.clicks,
                scanner_clicks = issue_link_reader.scanner_clicks + excluded.scanner_clicks
            """)
    }

    func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks] {
        try await rows(
            """
            SELECT l.id, l.week, l.variant, l.comparison_id, l.target, l.clicks, l.scanner_clicks,
                (SELECT count(*) FROM issue_link_reader r WHERE r.link_id = l.id AND r.clicks > 0)
            FROM issue_link l WHERE l.week = \(week.description) ORDER BY position
            """
        ).map { row in
            let columns = try row.decode((String, String, String, Int64?, String, Int64, Int64, Int64).self)
            return LinkClicks(
                link: TrackedLink(
                    id: columns.0, week: try IssueWeek(parsing: columns.1), variant: columns.2,
                    comparisonID: columns.3, target: columns.4),
                clicks: columns.5, scannerClicks: columns.6, readers: columns.7)
        }
    }
}
