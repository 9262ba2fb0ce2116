import Foundation
import GRDB

extension AppDatabase {
    /// `v12-clicks`: the links of frozen drafts (`LinkRewriter`) with their counts, and each
    /// reader's counts under `tracking.clicks = "per-reader"`.
    static func migrateClicks(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE issue_link (
                    id TEXT PRIMARY KEY NOT NULL,
                    week TEXT NOT NULL REFERENCES issue(week) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    variant TEXT NOT NULL,
                    comparison_id INTEGER,
                    target TEXT NOT NULL,
                    clicks INTEGER NOT NULL DEFAULT 0,
                    scanner_clicks INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX issue_link_week ON issue_link (week);
                CREATE TABLE issue_link_reader (
                    link_id TEXT NOT NULL REFERENCES issue_link(id) ON DELETE CASCADE,
                    subscriber_id INTEGER NOT NULL REFERENCES subscriber(id) ON DELETE CASCADE,
                    clicks INTEGER NOT NULL DEFAULT 0,
                    scanner_clicks INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (link_id, subscriber_id));
                """)
    }
}

extension SQLiteRows: ClickRows {
    static let linkColumns = "l.id, l.week, l.variant, l.comparison_id, l.target"

    static func link(_ row: Row) throws -> TrackedLink {
        TrackedLink(
            id: row["id"], week: try IssueWeek(parsing: row["week"]), variant: row["variant"],
            comparisonID: row["comparison_id"], target: row["target"])
    }

    func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink] {
        try await access { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.linkColumns) FROM issue_link l WHERE l.week = ? ORDER BY l.position",
                arguments: [week.description]
            ).map(Self.link)
        }
    }

    func deleteTrackedLinks(_ week: IssueWeek) async throws {
        try await access { try $0.execute(sql: "DELETE FROM issue_link WHERE week = ?", arguments: [week.description]) }
    }

    func insertTrackedLink(_ link: TrackedLink, position: Int) async throws {
        try await access {
            try $0.execute(
                sql:
                    "INSERT INTO issue_link (id, week, position, variant, comparison_id, target) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [link.id, link.week.description, position, link.variant, link.comparisonID, link.target])
        }
    }

    func sentLink(id: String) async throws -> TrackedLink? {
        try await access { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.linkColumns) FROM issue_link l JOIN issue i ON i.week = l.week
                    WHERE l.id = ? AND (i.status = 'sent'
                        OR EXISTS (SELECT 1 FROM delivery d WHERE d.week = l.week AND d.state = 'sent'))
                    """, arguments: [id]
            ).map(Self.link)
        }
    }

    func addLinkClicks(linkID: String, clicks: Int64, scannerClicks: Int64) async throws {
        try await access {
            try $0.execute(
                sql: "UPDATE issue_link SET clicks = clicks + ?, scanner_clicks = scanner_clicks + ? WHERE id = ?",
                arguments: [clicks, scannerClicks, linkID])
        }
    }

    func addReaderClicks(linkID: String, subscriberID: Int64, clicks: Int64, scannerClicks: Int64) async throws {
        try await access {
            try $0.execute(
                sql: """
                    INSERT INTO issue_link_reader (link_id, subscriber_id, clicks, scanner_clicks)
                    SELECT l.id, s.id, ?, ? FROM issue_link l, subscriber s WHERE l.id = ? AND s.id = ?
                    ON CONFLICT (link_id, subscriber_id) DO UPDATE SET clicks = clicks + excluded.clicks,
                        scanner_clicks = scanner_clicks + excluded.scanner_clicks
                    """, arguments: [clicks, scannerClicks, linkID, subscriberID])
        }
    }

    func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.linkColumns), l.clicks, l.scanner_clicks,
                        (SELECT COUNT(*) FROM issue_link_reader r WHERE r.link_id = l.id AND r.clicks > 0) AS readers
                    FROM issue_link l WHERE l.week = ? ORDER BY l.position
                    """, arguments: [week.description]
            ).map {
                LinkClicks(
                    link: try Self.link($0), clicks: $0["clicks"], scannerClicks: $0["scanner_clicks"],
                    readers: $0["readers"])
            }
        }
    }
}
