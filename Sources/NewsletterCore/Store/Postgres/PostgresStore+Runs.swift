import Foundation
import PostgresNIO

/// The weekly run's memory in PostgreSQL, as the SQLite store keeps it. Runs on two hosts for
/// one week share it: the week's decisions are serialized by the week lock (WeekLock), these
/// rows only remember what the runs did.
extension PostgresStore: RunStore {
    public func runRecord(_ week: IssueWeek) async throws -> RunRecord? {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT first_run_at, last_run_at, last_outcome, last_summary, last_error
                    FROM run_week WHERE week = \(week.description)
                    """
                ).first
            else { return nil }
            let (firstRunAt, lastRunAt, outcome, summary, error) = try row.decode(
                (Date, Date, String, String?, String?).self)
            return RunRecord(
                week: week, firstRunAt: firstRunAt, lastRunAt: lastRunAt, lastOutcome: outcome, lastSummary: summary,
                lastError: error)
        }
    }

    public func lastRunWeek() async throws -> IssueWeek? {
        try await read { connection in
            // Byte order ("C"), as SQLite compares: the database's collation may ignore the hyphen.
            try await connection.rows(#"SELECT week FROM run_week ORDER BY week COLLATE "C" DESC LIMIT 1"#).first.map {
                try IssueWeek(parsing: try $0.decode(String.self))
            }
        }
    }

    public func beginRun(_ week: IssueWeek, at time: Date) async throws {
        try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO run_week (week, first_run_at, last_run_at, last_outcome)
                VALUES (\(week.description), \(time), \(time), \(RunRecord.running))
                ON CONFLICT (week) DO UPDATE SET last_run_at = EXCLUDED.last_run_at, last_outcome = EXCLUDED.last_outcome
                """)
        }
    }

    public func finishRun(_ week: IssueWeek, outcome: String, summary: String, error: String?, at time: Date)
        async throws
    {
        _ = try await transaction { connection in
            try await connection.run(
                """
                UPDATE run_week SET last_outcome = \(outcome), last_summary = \(summary), last_error = \(error),
                    last_run_at = \(time)
                WHERE week = \(week.description)
                """)
        }
    }

    public func deliveryBegun(_ week: IssueWeek) async throws -> Bool {
        try await read { connection in
            try await connection.deliveryExists(week, in: IssueLifecycle.deliveryBegunStates)
        }
    }

    public func editorsMailed(_ week: IssueWeek, draftHash: String) async throws -> Set<String> {
        try await read { connection in
            Set(
                try await connection.rows(
                    "SELECT editor FROM editor_preview WHERE week = \(week.description) AND draft_hash = \(draftHash)"
                ).map { try $0.decode(String.self).lowercased() })
        }
    }

    public func recordEditorMailed(_ week: IssueWeek, draftHash: String, editor: String, at time: Date) async throws {
        try await transaction { connection in
            // Once per editor (in any case) per draft: editor_preview_once.
            try await connection.run(
                """
                INSERT INTO editor_preview (week, draft_hash, editor, sent_at)
                VALUES (\(week.description), \(draftHash), \(editor), \(time))
                ON CONFLICT DO NOTHING
                """)
        }
    }
}
