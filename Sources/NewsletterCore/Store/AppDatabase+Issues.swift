import Foundation
import GRDB

extension AppDatabase: IssueStore {
    public func comparisons(publishedIn window: DateInterval) async throws -> [StoredComparison] {
        let ids = try await read { db in
            try Int64.fetchAll(
                db,
                ComparisonRow.select(Column("id"))
                    .filter(Column("published") >= window.start && Column("published") < window.end)
                    .order(Column("published"), Column("id")))
        }
        return try await comparisons(ids: ids)
    }

    public func comparisonIDsFeaturedInSentIssues(otherThan week: IssueWeek) async throws -> Set<Int64> {
        try await read { db in
            Set(
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT ic.comparison_id FROM issue_comparison ic JOIN issue i ON i.week = ic.week
                        WHERE i.status = 'sent' AND i.week <> ?
                        """, arguments: [week.description]))
        }
    }

    public func listIssues() async throws -> [IssueRecord] {
        try await readRows { rows in
            var issues: [IssueRecord] = []
            for week in try await rows.access({ db in
                try String.fetchAll(db, sql: "SELECT week FROM issue ORDER BY week DESC")
            }) {
                if let issue = try await rows.storedIssue(try IssueWeek(parsing: week)) { issues.append(issue) }
            }
            return issues
        }
    }

    public func markSent(_ week: IssueWeek, at time: Date) async throws {
        try await transaction { rows in try await rows.recordSent(week, at: time) }
    }
}

/// A week's issue rows in SQLite, inside the caller's write transaction (the writes: IssueRows).
extension Database {
    func issueRow(_ week: IssueWeek) throws -> IssueRecord? {
        guard let row = try Row.fetchOne(self, sql: "SELECT * FROM issue WHERE week = ?", arguments: [week.description])
        else { return nil }
        var record = IssueRecord(
            week: week, status: IssueStatus(rawValue: row["status"]) ?? .draft,
            subject: row["subject"], html: row["html"], text: row["text"], manifest: row["manifest"],
            draftHash: row["draft_hash"], approvedHash: row["approved_hash"], approvedAt: row["approved_at"],
            sentAt: row["sent_at"], skipReason: row["skip_reason"], comparisonIDs: [], updatedAt: row["updated_at"])
        if let variants: String = row["variants"] { record.variants = try FrozenVariants.decode(variants) }
        record.hiddenFromArchive = row["hidden_from_archive"] ?? false
        return record
    }

    func featuredComparisonIDs(_ week: IssueWeek) throws -> [Int64] {
        try Int64.fetchAll(
            self, sql: "SELECT comparison_id FROM issue_comparison WHERE week = ? ORDER BY position",
            arguments: [week.description])
    }

    func deliveryExists(_ week: IssueWeek, in states: [DeliveryState]) throws -> Bool {
        let placeholders = Array(repeating: "?", count: states.count).joined(separator: ", ")
        return try Bool.fetchOne(
            self,
            sql: """
                SELECT EXISTS (SELECT 1 FROM delivery WHERE week = ? AND state IN (\(placeholders)))
                    OR EXISTS (SELECT 1 FROM erased_delivery WHERE week = ? AND state IN (\(placeholders)))
                """,
            arguments: [week.description] + StatementArguments(states.map(\.rawValue)) + [week.description]
                + StatementArguments(states.map(\.rawValue))) ?? false
    }

    func upsertDraft(
        _ draft: IssueDraft, variants: String?, approval: IssueLifecycle.DraftApproval, at time: Date
    ) throws {
        try execute(
            sql: """
                INSERT INTO issue (week, status, subject, html, text, manifest, draft_hash, approved_hash, approved_at,
                                   skip_reason, variants, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
                ON CONFLICT(week) DO UPDATE SET status = excluded.status, subject = excluded.subject,
                    html = excluded.html, text = excluded.text, manifest = excluded.manifest,
                    draft_hash = excluded.draft_hash, approved_hash = excluded.approved_hash,
                    approved_at = excluded.approved_at, skip_reason = NULL, variants = excluded.variants,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                draft.week.description, approval.status.rawValue, draft.subject, draft.html, draft.text,
                draft.manifest, draft.hash, approval.approvedHash, approval.approvedAt, variants, time,
            ])
    }

    func upsertSkipped(_ week: IssueWeek, reason: String, at time: Date) throws {
        try execute(
            sql: """
                INSERT INTO issue (week, status, skip_reason, updated_at) VALUES (?, 'skipped', ?, ?)
                ON CONFLICT(week) DO UPDATE SET status = 'skipped', skip_reason = excluded.skip_reason,
                    subject = NULL, html = NULL, text = NULL, manifest = NULL, draft_hash = NULL,
                    approved_hash = NULL, approved_at = NULL, variants = NULL, updated_at = excluded.updated_at
                """, arguments: [week.description, reason, time])
    }

    func deleteFeaturedComparisons(_ week: IssueWeek) throws {
        try execute(sql: "DELETE FROM issue_comparison WHERE week = ?", arguments: [week.description])
    }

    func insertFeaturedComparison(_ comparisonID: Int64, week: IssueWeek, position: Int) throws {
        try execute(
            sql: "INSERT INTO issue_comparison (week, comparison_id, position) VALUES (?, ?, ?)",
            arguments: [week.description, comparisonID, position])
    }

    func setApproved(_ week: IssueWeek, hash: String, at time: Date) throws {
        try execute(
            sql:
                "UPDATE issue SET status = 'approved', approved_hash = ?, approved_at = ?, updated_at = ? WHERE week = ?",
            arguments: [hash, time, time, week.description])
    }

    func setSent(_ week: IssueWeek, at time: Date) throws {
        try execute(
            sql: "UPDATE issue SET status = 'sent', sent_at = ?, updated_at = ? WHERE week = ?",
            arguments: [time, time, week.description])
    }
}
