import Foundation
import GRDB

// MARK: - Summaries: the cache of generated summaries and editors' overrides

extension AppDatabase {
}

extension AppDatabase: SummaryStore {
    public func cachedSummary(_ key: SummaryCacheKey) async throws -> PanelSummary? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT * FROM summary WHERE model = ? AND prompt_version = ? AND source_hash = ?
                        """, arguments: [key.model, key.promptVersion, key.sourceHash])
            else { return nil }
            return PanelSummary(
                text: row["text"], provider: row["provider"],
                kind: SummaryKind(rawValue: row["kind"]) ?? .extractive, model: row["model_name"],
                promptTokens: row["prompt_tokens"], completionTokens: row["completion_tokens"],
                milliseconds: row["milliseconds"], note: row["note"])
        }
    }

    public func saveSummary(_ summary: PanelSummary, for key: SummaryCacheKey) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO summary
                    (model, prompt_version, source_hash, text, provider, kind, model_name, prompt_tokens,
                     completion_tokens, milliseconds, note, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.model, key.promptVersion, key.sourceHash, summary.text, summary.provider,
                    summary.kind.rawValue, summary.model, summary.promptTokens, summary.completionTokens,
                    summary.milliseconds, summary.note, self.clock.now(),
                ])
        }
    }

    public func summaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> PanelSummary? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT text FROM summary_override WHERE week = ? AND comparison_id = ?",
                arguments: [week.description, comparisonID]
            ).map { PanelSummary(text: $0, provider: EditorSummary.provider, kind: .edited) }
        }
    }

    public func saveSummaryOverride(week: IssueWeek, comparisonID: Int64, text: String) async throws {
        try await write { db in
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO summary_override (week, comparison_id, text, updated_at) VALUES (?, ?, ?, ?)",
                arguments: [week.description, comparisonID, text, self.clock.now()])
        }
    }

    /// Drops an editor's text, so the generated summary shows again.
    public func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM summary_override WHERE week = ? AND comparison_id = ?",
                arguments: [week.description, comparisonID])
            return db.changesCount > 0
        }
    }
}

/// An editor's summary (`newsletter summaries edit`).
public enum EditorSummary {
    public static let provider = "editor"
    public static let maximumCharacters = 2000

    /// The text as stored: trimmed, control characters (but line breaks) dropped, bounded.
    public static func clean(_ text: String) throws(EditorSummaryError) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.filter { $0 == "\n" || !CharacterSet.controlCharacters.contains($0) })
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cleaned.isEmpty else { throw .empty }
        guard cleaned.count <= maximumCharacters else { throw .tooLong(cleaned.count) }
        return cleaned
    }
}

public enum EditorSummaryError: Error, Equatable, CustomStringConvertible {
    case empty
    case tooLong(Int)

    public var description: String {
        switch self {
        case .empty: "the summary is empty; nothing was stored"
        case .tooLong(let count):
            "the summary has \(count) characters, more than \(EditorSummary.maximumCharacters); shorten it"
        }
    }
}
