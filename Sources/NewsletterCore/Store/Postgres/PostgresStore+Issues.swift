import Foundation
import PostgresNIO

/// Issues in PostgreSQL: the same rules as the SQLite store (IssueLifecycle decides, the store
/// reads and writes in one transaction). Every write of a week takes the week's advisory lock
/// first, so two hosts rebuilding, approving or skipping one week take turns, as SQLite's
/// single writer makes them.
extension PostgresStore: IssueStore {
    public func comparisons(publishedIn window: DateInterval) throws -> [StoredComparison] {
        let ids = try read { connection in
            try connection.rows(
                """
                SELECT id FROM comparison WHERE published >= \(window.start) AND published < \(window.end)
                ORDER BY published, id
                """
            ).map { try $0.decode(Int64.self) }
        }
        return try ids.compactMap { try comparison(id: $0) }
    }

    public func comparisonIDsFeaturedInSentIssues(otherThan week: IssueWeek) throws -> Set<Int64> {
        try read { connection in
            Set(
                try connection.rows(
                    """
                    SELECT ic.comparison_id FROM issue_comparison ic JOIN issue i ON i.week = ic.week
                    WHERE i.status = \(IssueStatus.sent.rawValue) AND i.week <> \(week.description)
                    """
                ).map { try $0.decode(Int64.self) })
        }
    }

    public func issue(_ week: IssueWeek) throws -> IssueRecord? {
        try read { connection in try connection.storedIssue(week) }
    }

    public func listIssues() throws -> [IssueRecord] {
        try read { connection in
            // Byte order ("C"): the database's collation may ignore the hyphen in "2026-W48".
            try connection.rows(#"SELECT week FROM issue ORDER BY week COLLATE "C" DESC"#).compactMap { row in
                try connection.storedIssue(try IssueWeek(parsing: try row.decode(String.self)))
            }
        }
    }

    public func saveDraft(_ draft: IssueDraft) throws {
        let now = clock.now()
        try transaction(refusing: IssueStoreError.self) { connection in
            try Self.lockWeek(draft.week, connection)
            try connection.saveDraft(draft, at: now)
        }
    }

    public func recordSkipped(_ week: IssueWeek, reason: String) throws {
        let now = clock.now()
        try transaction(refusing: IssueStoreError.self) { connection in
            try Self.lockWeek(week, connection)
            try connection.recordSkipped(week, reason: reason, at: now)
        }
    }

    public func approve(_ week: IssueWeek, hash: String, at time: Date) throws {
        try transaction(refusing: IssueStoreError.self) { connection in
            try Self.lockWeek(week, connection)
            try connection.approve(week, hash: hash, at: time)
        }
    }

    public func markSent(_ week: IssueWeek, at time: Date) throws {
        try transaction { connection in
            try Self.lockWeek(week, connection)
            try connection.setSent(week, at: time)
        }
    }

    // MARK: Shared with the archive and the runs

    /// A transaction whose body may refuse with `Refusal` (IssueLifecycle's IssueStoreError):
    /// the refusal undoes what the body wrote (a savepoint), ends the transaction, and reaches
    /// the caller as itself, as the SQLite store throws it, rather than as a store failure.
    func transaction<T, Refusal: Error>(refusing _: Refusal.Type, _ body: (PostgresSession) throws -> T) throws
        -> T
    {
        let outcome: Result<T, Refusal> = try transaction { connection in
            try connection.run("SAVEPOINT refusable")
            do {
                return .success(try body(connection))
            } catch let refusal as Refusal {
                try connection.run("ROLLBACK TO SAVEPOINT refusable")
                return .failure(refusal)
            }
        }
        return try outcome.get()
    }

    /// "issu": the lock a week's issue writes take, apart from the schema's, the pages' and the
    /// week decisions'. Held to the end of the transaction.
    static let issueLockKey: Int32 = 0x6973_7375

    static func lockWeek(_ week: IssueWeek, _ connection: PostgresSession) throws {
        try connection.run("SELECT pg_advisory_xact_lock(\(issueLockKey), hashtext(\(week.description)))")
    }
}

/// A week's issue rows in PostgreSQL, inside the caller's transaction (the writes: IssueRows).
extension PostgresSession: IssueRows {
    func issueRow(_ week: IssueWeek) throws -> IssueRecord? {
        guard
            let row = try rows(
                """
                SELECT status, subject, html, text, manifest, draft_hash, approved_hash, approved_at, sent_at,
                    skip_reason, updated_at, variants, hidden_from_archive
                FROM issue WHERE week = \(week.description)
                """
            ).first
        else { return nil }
        let (
            status, subject, html, text, manifest, draftHash, approvedHash, approvedAt, sentAt, skipReason, updatedAt,
            variants, hidden
        ) = try row.decode(
            (
                String, String?, String?, String?, String?, String?, String?, Date?, Date?, String?, Date, String?,
                Bool
            ).self)
        var record = IssueRecord(
            week: week, status: try PostgresStore.enumValue(IssueStatus.self, status, "issue.status"),
            subject: subject, html: html, text: text, manifest: manifest, draftHash: draftHash,
            approvedHash: approvedHash, approvedAt: approvedAt, sentAt: sentAt, skipReason: skipReason,
            comparisonIDs: [], updatedAt: updatedAt)
        record.variants = try variants.map(FrozenVariants.decode)
        record.hiddenFromArchive = hidden
        return record
    }

    func featuredComparisonIDs(_ week: IssueWeek) throws -> [Int64] {
        try rows("SELECT comparison_id FROM issue_comparison WHERE week = \(week.description) ORDER BY position")
            .map { try $0.decode(Int64.self) }
    }

    func deliveryExists(_ week: IssueWeek, in states: [DeliveryState]) throws -> Bool {
        try rows(
            """
            SELECT EXISTS (SELECT 1 FROM delivery WHERE week = \(week.description)
                AND state = ANY(\(states.map(\.rawValue))))
            """
        ).first?.decode(Bool.self) ?? false
    }

    func upsertDraft(
        _ draft: IssueDraft, variants: String?, approval: IssueLifecycle.DraftApproval, at time: Date
    ) throws {
        try run(
            """
            INSERT INTO issue (week, status, subject, html, text, manifest, draft_hash, approved_hash, approved_at,
                               skip_reason, variants, updated_at)
            VALUES (\(draft.week.description), \(approval.status.rawValue), \(draft.subject), \(draft.html),
                    \(draft.text), \(draft.manifest), \(draft.hash), \(approval.approvedHash), \(approval.approvedAt),
                    NULL, \(variants), \(time))
            ON CONFLICT (week) DO UPDATE SET status = EXCLUDED.status, subject = EXCLUDED.subject,
                html = EXCLUDED.html, text = EXCLUDED.text, manifest = EXCLUDED.manifest,
                draft_hash = EXCLUDED.draft_hash, approved_hash = EXCLUDED.approved_hash,
                approved_at = EXCLUDED.approved_at, skip_reason = NULL, variants = EXCLUDED.variants,
                updated_at = EXCLUDED.updated_at
            """)
    }

    func upsertSkipped(_ week: IssueWeek, reason: String, at time: Date) throws {
        try run(
            """
            INSERT INTO issue (week, status, skip_reason, updated_at)
            VALUES (\(week.description), \(IssueStatus.skipped.rawValue), \(reason), \(time))
            ON CONFLICT (week) DO UPDATE SET status = EXCLUDED.status, skip_reason = EXCLUDED.skip_reason,
                subject = NULL, html = NULL, text = NULL, manifest = NULL, draft_hash = NULL,
                approved_hash = NULL, approved_at = NULL, variants = NULL, updated_at = EXCLUDED.updated_at
            """)
    }

    func deleteFeaturedComparisons(_ week: IssueWeek) throws {
        try run("DELETE FROM issue_comparison WHERE week = \(week.description)")
    }

    func insertFeaturedComparison(_ comparisonID: Int64, week: IssueWeek, position: Int) throws {
        try run(
            """
            INSERT INTO issue_comparison (week, comparison_id, position)
            VALUES (\(week.description), \(comparisonID), \(position))
            """)
    }

    func setApproved(_ week: IssueWeek, hash: String, at time: Date) throws {
        try run(
            """
            UPDATE issue SET status = \(IssueStatus.approved.rawValue), approved_hash = \(hash),
                approved_at = \(time), updated_at = \(time)
            WHERE week = \(week.description)
            """)
    }

    func setSent(_ week: IssueWeek, at time: Date) throws {
        try run(
            """
            UPDATE issue SET status = \(IssueStatus.sent.rawValue), sent_at = \(time), updated_at = \(time)
            WHERE week = \(week.description)
            """)
    }
}
