import Foundation
import GRDB

/// What the weekly run remembers per week: when a run first and last worked on it, how the last
/// one ended, and which editors were mailed which draft.
public struct RunRecord: Sendable, Equatable, Codable {
    public var week: IssueWeek
    public var firstRunAt: Date
    public var lastRunAt: Date
    /// `running` until the run ends; a run killed mid-way leaves it so.
    public var lastOutcome: String
    /// The run's one-line summary for this week.
    public var lastSummary: String?
    public var lastError: String?

    /// The outcome of a run that has begun and not finished (or was killed mid-way).
    public static let running = "running"
}

/// The run's memory, beside the issues and the ledger.
public protocol RunStore: Sendable {
    func runRecord(_ week: IssueWeek) async throws -> RunRecord?
    /// The latest week any run has worked on: where a machine that was off picks up.
    func lastRunWeek() async throws -> IssueWeek?
    func beginRun(_ week: IssueWeek, at time: Date) async throws
    func finishRun(_ week: IssueWeek, outcome: String, summary: String, error: String?, at time: Date) async throws
    /// Whether any recipient's delivery has begun (sent, in flight, deferred or failed).
    func deliveryBegun(_ week: IssueWeek) async throws -> Bool
    /// The editors already mailed this draft.
    func editorsMailed(_ week: IssueWeek, draftHash: String) async throws -> Set<String>
    func recordEditorMailed(_ week: IssueWeek, draftHash: String, editor: String, at time: Date) async throws
}

extension AppDatabase: RunStore {

    public func runRecord(_ week: IssueWeek) async throws -> RunRecord? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM run_week WHERE week = ?", arguments: [week.description])
            else {
                return nil
            }
            return RunRecord(
                week: week, firstRunAt: row["first_run_at"], lastRunAt: row["last_run_at"],
                lastOutcome: row["last_outcome"],
                lastSummary: row["last_summary"], lastError: row["last_error"])
        }
    }

    public func lastRunWeek() async throws -> IssueWeek? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT MAX(week) FROM run_week").map { try IssueWeek(parsing: $0) }
        }
    }

    public func beginRun(_ week: IssueWeek, at time: Date) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO run_week (week, first_run_at, last_run_at, last_outcome) VALUES (?, ?, ?, ?)
                    ON CONFLICT(week) DO UPDATE SET last_run_at = excluded.last_run_at, last_outcome = excluded.last_outcome
                    """, arguments: [week.description, time, time, RunRecord.running])
        }
    }

    public func finishRun(_ week: IssueWeek, outcome: String, summary: String, error: String?, at time: Date)
        async throws
    {
        try await write { db in
            // The last error stays until a run ends without one, so `status` can still show it.
            try db.execute(
                sql: """
                    UPDATE run_week SET last_outcome = ?, last_summary = ?, last_error = ?, last_run_at = ? WHERE week = ?
                    """, arguments: [outcome, summary, error, time, week.description])
        }
    }

    public func deliveryBegun(_ week: IssueWeek) async throws -> Bool {
        try await read { db in try db.deliveryExists(week, in: IssueLifecycle.deliveryBegunStates) }
    }

    public func editorsMailed(_ week: IssueWeek, draftHash: String) async throws -> Set<String> {
        try await read { db in
            Set(
                try String.fetchAll(
                    db, sql: "SELECT editor FROM editor_preview WHERE week = ? AND draft_hash = ?",
                    arguments: [week.description, draftHash]
                ).map { $0.lowercased() })
        }
    }

    public func recordEditorMailed(_ week: IssueWeek, draftHash: String, editor: String, at time: Date) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO editor_preview (week, draft_hash, editor, sent_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO NOTHING
                    """, arguments: [week.description, draftHash, editor, time])
        }
    }
}
