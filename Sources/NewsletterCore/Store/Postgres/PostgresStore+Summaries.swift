import Foundation
import PostgresNIO

/// The summary cache and the editors' texts in PostgreSQL, as the SQLite store keeps them: a
/// summary is keyed by what produced it (model, prompt, source), so it is made once for every
/// host; a later save of the same key replaces it.
extension PostgresStore: SummaryStore {
    public func cachedSummary(_ key: SummaryCacheKey) async throws -> PanelSummary? {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT text, provider, kind, model_name, prompt_tokens, completion_tokens, milliseconds, note
                    FROM summary
                    WHERE model = \(key.model) AND prompt_version = \(key.promptVersion) AND source_hash = \(key.sourceHash)
                    """
                ).first
            else { return nil }
            let (text, provider, kind, model, promptTokens, completionTokens, milliseconds, note) = try row.decode(
                (String, String, String, String?, Int?, Int?, Int?, String?).self)
            return PanelSummary(
                text: text, provider: provider, kind: try Self.enumValue(SummaryKind.self, kind, "summary.kind"),
                model: model, promptTokens: promptTokens, completionTokens: completionTokens,
                milliseconds: milliseconds, note: note)
        }
    }

    public func saveSummary(_ summary: PanelSummary, for key: SummaryCacheKey) async throws {
        let now = clock.now()
        try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO summary (model, prompt_version, source_hash, text, provider, kind, model_name,
                    prompt_tokens, completion_tokens, milliseconds, note, created_at)
                VALUES (\(key.model), \(key.promptVersion), \(key.sourceHash), \(summary.text), \(summary.provider),
                    \(summary.kind.rawValue), \(summary.model), \(summary.promptTokens), \(summary.completionTokens),
                    \(summary.milliseconds), \(summary.note), \(now))
                ON CONFLICT (model, prompt_version, source_hash) DO UPDATE SET text = EXCLUDED.text,
                    provider = EXCLUDED.provider, kind = EXCLUDED.kind, model_name = EXCLUDED.model_name,
                    prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
                    milliseconds = EXCLUDED.milliseconds, note = EXCLUDED.note, created_at = EXCLUDED.created_at
                """)
        }
    }

    public func summaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> PanelSummary? {
        try await read { connection in
            try await connection.rows(
                """
                SELECT text FROM summary_override WHERE week = \(week.description) AND comparison_id = \(comparisonID)
                """
            ).first.map {
                PanelSummary(text: try $0.decode(String.self), provider: EditorSummary.provider, kind: .edited)
            }
        }
    }

    public func saveSummaryOverride(week: IssueWeek, comparisonID: Int64, text: String) async throws {
        let now = clock.now()
        try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO summary_override (week, comparison_id, text, updated_at)
                VALUES (\(week.description), \(comparisonID), \(text), \(now))
                ON CONFLICT (week, comparison_id) DO UPDATE SET text = EXCLUDED.text, updated_at = EXCLUDED.updated_at
                """)
        }
    }
}
