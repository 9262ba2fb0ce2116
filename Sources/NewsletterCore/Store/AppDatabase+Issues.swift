import Foundation
import GRDB

extension AppDatabase: IssueStore {
    public func comparisons(publishedIn window: DateInterval) throws -> [StoredComparison] {
        let ids = try reader.read { db in
            try Int64.fetchAll(
                db,
                ComparisonRow.select(Column("id"))
                    .filter(Column("published") >= window.start && Column("published") < window.end)
                    .order(Column("published"), Column("id")))
        }
        return try ids.compactMap { try comparison(id: $0) }
    }

    public func comparisonIDsFeaturedInSentIssues(otherThan week: IssueWeek) throws -> Set<Int64> {
        try reader.read { db in
            Set(
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT ic.comparisonId FROM issueComparison ic JOIN issue i ON i.week = ic.week
                        WHERE i.status = 'sent' AND i.week <> ?
                        """, arguments: [week.description]))
        }
    }

    public func issue(_ week: IssueWeek) throws -> IssueRecord? {
        try reader.read { db in try Self.fetchIssue(week.description, db) }
    }

    public func listIssues() throws -> [IssueRecord] {
        try reader.read { db in
            try String.fetchAll(db, sql: "SELECT week FROM issue ORDER BY week DESC").compactMap {
                try Self.fetchIssue($0, db)
            }
        }
    }

    public func saveDraft(_ draft: IssueDraft) throws {
        try writer.write { db in
            let existing = try Self.fetchIssue(draft.week.description, db)
            let approval = try IssueLifecycle.savingDraft(
                draft, over: existing, contentFixed: try Self.deliveryStarted(draft.week, db))
            try db.execute(
                sql: """
                    INSERT INTO issue (week, status, subject, html, text, manifest, draftHash, approvedHash, approvedAt,
                                       skipReason, updatedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                    ON CONFLICT(week) DO UPDATE SET status = excluded.status, subject = excluded.subject,
                        html = excluded.html, text = excluded.text, manifest = excluded.manifest,
                        draftHash = excluded.draftHash, approvedHash = excluded.approvedHash,
                        approvedAt = excluded.approvedAt, skipReason = NULL, updatedAt = excluded.updatedAt
                    """,
                arguments: [
                    draft.week.description, approval.status.rawValue, draft.subject, draft.html, draft.text,
                    draft.manifest, draft.hash, approval.approvedHash, approval.approvedAt, clock.now(),
                ])
            try db.execute(
                sql: "UPDATE issue SET variants = ? WHERE week = ?",
                arguments: [try draft.variants?.encoded(), draft.week.description])
            try db.execute(sql: "DELETE FROM issueComparison WHERE week = ?", arguments: [draft.week.description])
            for (position, id) in draft.comparisonIDs.enumerated() {
                try db.execute(
                    sql: "INSERT INTO issueComparison (week, comparisonId, position) VALUES (?, ?, ?)",
                    arguments: [draft.week.description, id, position])
            }
        }
    }

    public func recordSkipped(_ week: IssueWeek, reason: String) throws {
        try writer.write { db in
            try IssueLifecycle.skipping(
                week, over: try Self.fetchIssue(week.description, db), contentFixed: try Self.deliveryStarted(week, db))
            try db.execute(
                sql: """
                    INSERT INTO issue (week, status, skipReason, updatedAt) VALUES (?, 'skipped', ?, ?)
                    ON CONFLICT(week) DO UPDATE SET status = 'skipped', skipReason = excluded.skipReason,
                        subject = NULL, html = NULL, text = NULL, manifest = NULL, draftHash = NULL,
                        approvedHash = NULL, approvedAt = NULL, variants = NULL, updatedAt = excluded.updatedAt
                    """, arguments: [week.description, reason, clock.now()])
            try db.execute(sql: "DELETE FROM issueComparison WHERE week = ?", arguments: [week.description])
        }
    }

    public func approve(_ week: IssueWeek, hash: String, at time: Date) throws {
        try writer.write { db in
            try IssueLifecycle.approving(week, hash: hash, existing: try Self.fetchIssue(week.description, db))
            try db.execute(
                sql:
                    "UPDATE issue SET status = 'approved', approvedHash = ?, approvedAt = ?, updatedAt = ? WHERE week = ?",
                arguments: [hash, time, time, week.description])
        }
    }

    public func markSent(_ week: IssueWeek, at time: Date) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE issue SET status = 'sent', sentAt = ?, updatedAt = ? WHERE week = ?",
                arguments: [time, time, week.description])
        }
    }

    /// Some recipient already got (or is getting) this week's issue: its content is fixed.
    private static func deliveryStarted(_ week: IssueWeek, _ db: Database) throws -> Bool {
        try deliveryExists(week, in: IssueLifecycle.contentFixingStates, db)
    }

    /// Whether the week's ledger has a row in one of `states` (the core says which).
    static func deliveryExists(_ week: IssueWeek, in states: [DeliveryState], _ db: Database) throws -> Bool {
        let placeholders = Array(repeating: "?", count: states.count).joined(separator: ", ")
        return try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM delivery WHERE week = ? AND state IN (\(placeholders)))",
            arguments: [week.description] + StatementArguments(states.map(\.rawValue))) ?? false
    }

    private static func fetchIssue(_ week: String, _ db: Database) throws -> IssueRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM issue WHERE week = ?", arguments: [week]) else {
            return nil
        }
        let ids = try Int64.fetchAll(
            db, sql: "SELECT comparisonId FROM issueComparison WHERE week = ? ORDER BY position", arguments: [week])
        var record = IssueRecord(
            week: try IssueWeek(parsing: row["week"]), status: IssueStatus(rawValue: row["status"]) ?? .draft,
            subject: row["subject"], html: row["html"], text: row["text"], manifest: row["manifest"],
            draftHash: row["draftHash"], approvedHash: row["approvedHash"], approvedAt: row["approvedAt"],
            sentAt: row["sentAt"], skipReason: row["skipReason"], comparisonIDs: ids, updatedAt: row["updatedAt"])
        if let variants: String = row["variants"] { record.variants = try FrozenVariants.decode(variants) }
        record.hiddenFromArchive = row["hiddenFromArchive"] ?? false
        return record
    }
}
