import Foundation
import PostgresNIO

/// Issues in PostgreSQL: the same rules as the SQLite store (IssueLifecycle decides, the store
/// reads and writes in one transaction). Every write of a week takes the week's advisory lock
/// first, so two hosts rebuilding, approving or skipping one week take turns, as SQLite's
/// single writer makes them.
extension PostgresStore: IssueStore {
    public func comparisons(publishedIn window: DateInterval) async throws -> [StoredComparison] {
        let ids = try await read { connection in
            try await connection.rows(
                """
                SELECT id FROM comparison WHERE published >= \(window.start) AND published < \(window.end)
                ORDER BY published, id
                """
            ).map { try $0.decode(Int64.self) }
        }
        return try await comparisons(ids: ids)
    }

    public func comparisonIDsFeaturedInSentIssues(otherThan week: IssueWeek) async throws -> Set<Int64> {
        try await read { connection in
            Set(
                try await connection.rows(
                    """
                    SELECT ic.comparison_id FROM issue_comparison ic JOIN issue i ON i.week = ic.week
                    WHERE i.status = \(IssueStatus.sent.rawValue) AND i.week <> \(week.description)
                    """
                ).map { try $0.decode(Int64.self) })
        }
    }

    public func listIssues() async throws -> [IssueRecord] {
        try await read { connection in
            // Byte order ("C"): the database's collation may ignore the hyphen in "2026-W48".
            try await connection.storedIssues(weeks: #"SELECT week FROM issue ORDER BY week COLLATE "C" DESC"#)
        }
    }

    public func saveDraft(_ draft: IssueDraft) async throws {
        let now = clock.now()
        try await transaction(refusing: IssueStoreError.self) { connection in
            try await Self.lockWeek(draft.week, connection)
            try await connection.saveDraft(draft, at: now)
        }
    }

    public func recordSkipped(_ week: IssueWeek, reason: String) async throws {
        let now = clock.now()
        try await transaction(refusing: IssueStoreError.self) { connection in
            try await Self.lockWeek(week, connection)
            try await connection.recordSkipped(week, reason: reason, at: now)
        }
    }

    public func approve(_ week: IssueWeek, hash: String, at time: Date) async throws {
        try await transaction(refusing: IssueStoreError.self) { connection in
            try await Self.lockWeek(week, connection)
            try await connection.approve(week, hash: hash, at: time)
        }
    }

    public func markSent(_ week: IssueWeek, at time: Date) async throws {
        try await transaction { connection in
            try await Self.lockWeek(week, connection)
            try await connection.recordSent(week, at: time)
        }
    }

    // MARK: Shared with the archive and the runs

    /// A transaction whose body may refuse with `Refusal` (IssueLifecycle's IssueStoreError):
    /// the refusal undoes what the body wrote (a savepoint), ends the transaction, and reaches
    /// the caller as itself, as the SQLite store throws it, rather than as a store failure.
    func transaction<T, Refusal: Error>(refusing _: Refusal.Type, _ body: (PostgresSession) async throws -> T)
        async throws
        -> T
    {
        let outcome: Result<T, Refusal> = try await transaction { connection in
            try await connection.run("SAVEPOINT refusable")
            do {
                return .success(try await body(connection))
            } catch let refusal as Refusal {
                try await connection.run("ROLLBACK TO SAVEPOINT refusable")
                return .failure(refusal)
            }
        }
        return try outcome.get()
    }

    /// "issu": the lock a week's issue writes take, apart from the schema's, the pages' and the
    /// week decisions'. Held to the end of the transaction.
    static let issueLockKey: Int32 = 0x6973_7375

    static func lockWeek(_ week: IssueWeek, _ connection: PostgresSession) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(\(issueLockKey), hashtext(\(week.description)))")
    }
}

extension PostgresSession {
    /// The issues of the weeks `query` selects, in its order.
    func storedIssues(weeks query: PostgresQuery) async throws -> [IssueRecord] {
        var issues: [IssueRecord] = []
        for row in try await rows(query) {
            if let issue = try await storedIssue(try IssueWeek(parsing: try row.decode(String.self))) {
                issues.append(issue)
            }
        }
        return issues
    }
}

/// A week's issue rows in PostgreSQL, inside the caller's transaction (the writes: IssueRows).
extension PostgresSession: IssueRows {
    func issueRow(_ week: IssueWeek) async throws -> IssueRecord? {
        guard
            let row = try await rows(
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

    func featuredComparisonIDs(_ week: IssueWeek) async throws -> [Int64] {
        try await rows("SELECT comparison_id FROM issue_comparison WHERE week = \(week.description) ORDER BY position")
            .map { try $0.decode(Int64.self) }
    }

    func deliveryExists(_ week: IssueWeek, in states: [DeliveryState]) async throws -> Bool {
        try await rows(
            """
            SELECT EXISTS (SELECT 1 FROM delivery WHERE week = \(week.description)
                AND state = ANY(\(states.map(\.rawValue))))
                OR EXISTS (SELECT 1 FROM erased_delivery WHERE week = \(week.description)
                AND state = ANY(\(states.map(\.rawValue))))
            """
        ).first?.decode(Bool.self) ?? false
    }

    func upsertDraft(
        _ draft: IssueDraft, variants: String?, approval: IssueLifecycle.DraftApproval, at time: Date
    ) async throws {
        try await run(
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

    func upsertSkipped(_ week: IssueWeek, reason: String, at time: Date) async throws {
        try await run(
            """
            INSERT INTO issue (week, status, skip_reason, updated_at)
            VALUES (\(week.description), \(IssueStatus.skipped.rawValue), \(reason), \(time))
            ON CONFLICT (week) DO UPDATE SET status = EXCLUDED.status, skip_reason = EXCLUDED.skip_reason,
                subject = NULL, html = NULL, text = NULL, manifest = NULL, draft_hash = NULL,
                approved_hash = NULL, approved_at = NULL, variants = NULL, updated_at = EXCLUDED.updated_at
            """)
    }

    func deleteFeaturedComparisons(_ week: IssueWeek) async throws {
        try await run("DELETE FROM issue_comparison WHERE week = \(week.description)")
    }

    func insertFeaturedComparison(_ comparisonID: Int64, week: IssueWeek, position: Int) async throws {
        try await run(
            """
            INSERT INTO issue_comparison (week, comparison_id, position)
            VALUES (\(week.description), \(comparisonID), \(position))
            """)
    }

    func setApproved(_ week: IssueWeek, hash: String, at time: Date) async throws {
        try await run(
            """
            UPDATE issue SET status = \(IssueStatus.approved.rawValue), approved_hash = \(hash),
                approved_at = \(time), updated_at = \(time)
            WHERE week = \(week.description)
            """)
    }

    func setSent(_ week: IssueWeek, at time: Date) async throws {
        try await run(
            """
            UPDATE issue SET status = \(IssueStatus.sent.rawValue), sent_at = \(time), updated_at = \(time)
            WHERE week = \(week.description)
            """)
    }
}
