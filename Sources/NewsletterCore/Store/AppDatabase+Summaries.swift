import Foundation
import GRDB

// MARK: - Summaries: the cache of generated summaries and editors' overrides

extension AppDatabase {
    /// Registered by name after the other migrations: a parallel branch may add its own
    /// "v5-…", and names (not numbers) keep the two from clashing.
    static func registerSummaryMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-summaries") { db in
            // Keyed by what produced the text: the same model, prompt and source give the same
            // summary, so it is made once.
            try db.create(table: "summary") { t in
                t.column("model", .text).notNull()
                t.column("promptVersion", .text).notNull()
                t.column("sourceHash", .text).notNull()
                t.primaryKey(["model", "promptVersion", "sourceHash"])
                t.column("text", .text).notNull()
                t.column("provider", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("modelName", .text)
                t.column("promptTokens", .integer)
                t.column("completionTokens", .integer)
                t.column("milliseconds", .integer)
                t.column("note", .text)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "summaryOverride") { t in
                t.column("week", .text).notNull()
                t.column("comparisonId", .integer).notNull().references("comparison", onDelete: .cascade)
                t.primaryKey(["week", "comparisonId"])
                t.column("text", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
    }
}

extension AppDatabase: SummaryStore {
    public func cachedSummary(_ key: SummaryCacheKey) async throws -> PanelSummary? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT * FROM summary WHERE model = ? AND promptVersion = ? AND sourceHash = ?
                        """, arguments: [key.model, key.promptVersion, key.sourceHash])
            else { return nil }
            return PanelSummary(
                text: row["text"], provider: row["provider"],
                kind: SummaryKind(rawValue: row["kind"]) ?? .extractive, model: row["modelName"],
                promptTokens: row["promptTokens"], completionTokens: row["completionTokens"],
                milliseconds: row["milliseconds"], note: row["note"])
        }
    }

    public func saveSummary(_ summary: PanelSummary, for key: SummaryCacheKey) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO summary
                    (model, promptVersion, sourceHash, text, provider, kind, modelName, promptTokens,
                     completionTokens, milliseconds, note, createdAt)
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
                db, sql: "SELECT text FROM summaryOverride WHERE week = ? AND comparisonId = ?",
                arguments: [week.description, comparisonID]
            ).map { PanelSummary(text: $0, provider: EditorSummary.provider, kind: .edited) }
        }
    }

    public func saveSummaryOverride(week: IssueWeek, comparisonID: Int64, text: String) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO summaryOverride (week, comparisonId, text, updatedAt) VALUES (?, ?, ?, ?)",
                arguments: [week.description, comparisonID, text, self.clock.now()])
        }
    }

    /// Drops an editor's text, so the generated summary shows again.
    public func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM summaryOverride WHERE week = ? AND comparisonId = ?",
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
