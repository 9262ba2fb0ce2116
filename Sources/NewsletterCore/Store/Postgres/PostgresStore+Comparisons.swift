import Foundation
import PostgresNIO

/// Comparisons in PostgreSQL: the same rules as the SQLite store (ComparisonStore's contract),
/// one transaction per save.
extension PostgresStore: ComparisonStore {
    public func saveComparison(_ comparison: Comparison) async throws -> SaveOutcome {
        let now = clock.now()
        return try await transaction { connection in
            // Two ingests of one page at once: the second waits here for the first's row.
            try await connection.run(
                "SELECT pg_advisory_xact_lock(\(Self.comparisonLockKey), hashtext(\(comparison.source)))")
            return try await connection.saveComparison(comparison, at: now)
        }
    }

    public func listComparisons() async throws -> [ComparisonSummary] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT c.id, c.title, c.published, c.source,
                       (SELECT count(*) FROM take t WHERE t.comparison_id = c.id)::bigint
                FROM comparison c ORDER BY c.published DESC, c.id DESC
                """
            ).map { row in
                let (id, title, published, source, takes) = try row.decode((Int64, String, Date, String, Int).self)
                return ComparisonSummary(id: id, title: title, published: published, source: source, takeCount: takes)
            }
        }
    }

    public func comparison(id: Int64) async throws -> StoredComparison? {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT title, source, url, content_hash, published, published_from, layout, markup,
                        first_seen_at, updated_at
                    FROM comparison WHERE id = \(id)
                    """
                ).first
            else { return nil }
            let (title, source, url, contentHash, published, publishedFrom, layout, markup, firstSeen, updated) =
                try row.decode((String, String, String?, String, Date, String, String, String, Date, Date).self)
            let tools = try await connection.rows(
                """
                SELECT name, tagline, category, description, panel_ship_percent, panel_verdict, ship_votes, skip_votes,
                    pricing, entry
                FROM comparison_tool WHERE comparison_id = \(id) ORDER BY position
                """
            ).map { row in
                let (name, tagline, category, description, percent, verdict, ship, skip, pricing, entry) =
                    try row.decode(
                        (String, String, String?, String, Int?, String?, Int?, Int?, String?, String?).self)
                return Tool(
                    name: name, tagline: tagline, category: category, description: description,
                    panelShipPercent: percent,
                    panelVerdict: try verdict.map {
                        try Self.enumValue(Verdict.self, $0, "comparison_tool.panel_verdict")
                    },
                    shipVotes: ship, skipVotes: skip, pricing: pricing, entry: entry)
            }
            let takes = try await connection.rows(
                """
                SELECT tool, role, score, verdict, text, role_inferred, tool_inferred, line
                FROM take WHERE comparison_id = \(id) ORDER BY position
                """
            ).map { row in
                let (tool, role, score, verdict, text, roleInferred, toolInferred, line) = try row.decode(
                    (String, String, Int?, String?, String, Bool, Bool, Int?).self)
                return Take(
                    tool: tool, role: try Self.enumValue(ReviewerRole.self, role, "take.role"), score: score,
                    verdict: try verdict.map { try Self.enumValue(Verdict.self, $0, "take.verdict") }, text: text,
                    roleInferred: roleInferred, toolInferred: toolInferred, line: line)
            }
            let missing = try await connection.rows(
                "SELECT tool, role FROM missing_take WHERE comparison_id = \(id) ORDER BY id"
            ).map { row in
                let (tool, role) = try row.decode((String, String).self)
                return TakeSlot(tool: tool, role: try Self.enumValue(ReviewerRole.self, role, "missing_take.role"))
            }
            return StoredComparison(
                id: id, firstSeenAt: firstSeen, updatedAt: updated,
                comparison: Comparison(
                    title: title, tools: tools, takes: takes, missingTakes: missing, source: source, url: url,
                    contentHash: contentHash, published: published,
                    publishedFrom: try Self.enumValue(
                        PublishedTimeSource.self, publishedFrom, "comparison.published_from"),
                    layout: try Self.enumValue(PageLayout.self, layout, "comparison.layout"),
                    markup: try Self.enumValue(PageMarkup.self, markup, "comparison.markup")))
        }
    }

    /// "cmpr": the lock one page's saves take, apart from the schema's and the weeks'.
    static let comparisonLockKey: Int32 = 0x636D_7072

    static func enumValue<T: RawRepresentable>(_ type: T.Type, _ raw: String, _ column: String) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: raw) else {
            throw PostgresStoreError.other("\(column) holds \"\(raw)\", which this newsletter does not know")
        }
        return value
    }
}

/// Saving a comparison in PostgreSQL, inside the caller's transaction (the decision:
/// ComparisonSaveRows).
extension PostgresSession: ComparisonSaveRows {
    func storedPage(source: String) async throws -> StoredPage? {
        guard
            let row = try await rows(
                "SELECT id, content_hash, published, published_from, first_seen_at FROM comparison WHERE source = \(source)"
            ).first
        else { return nil }
        let (id, contentHash, published, publishedFrom, firstSeen) = try row.decode(
            (Int64, String, Date, String, Date).self)
        return StoredPage(
            id: id, contentHash: contentHash, published: published,
            publishedFrom: try PostgresStore.enumValue(
                PublishedTimeSource.self, publishedFrom, "comparison.published_from"),
            firstSeenAt: firstSeen)
    }

    func comparisonRecorded(as recordHash: String) async throws -> (id: Int64, source: String)? {
        try await rows("SELECT id, source FROM comparison WHERE record_hash = \(recordHash) ORDER BY id LIMIT 1").first
            .map { try $0.decode((Int64, String).self) }
    }

    func insertComparison(_ comparison: Comparison, at time: Date) async throws -> Int64 {
        let inserted = try await rows(
            """
            INSERT INTO comparison (source, url, title, content_hash, record_hash, published, published_from,
                layout, markup, first_seen_at, updated_at)
            VALUES (\(comparison.source), \(comparison.url), \(comparison.title), \(comparison.contentHash),
                \(comparison.recordHash), \(comparison.published), \(comparison.publishedFrom.rawValue),
                \(comparison.layout.rawValue), \(comparison.markup.rawValue), \(time), \(time))
            RETURNING id
            """)
        guard let id = try inserted.first?.decode(Int64.self) else {
            throw PostgresStoreError.other("the comparison \(comparison.source) was not inserted")
        }
        return id
    }

    func updateComparison(
        _ page: StoredPage, to comparison: Comparison, published: Date, publishedFrom: PublishedTimeSource,
        at time: Date
    ) async throws {
        try await run(
            """
            UPDATE comparison SET url = \(comparison.url), title = \(comparison.title),
                content_hash = \(comparison.contentHash), record_hash = \(comparison.recordHash),
                published = \(published), published_from = \(publishedFrom.rawValue),
                layout = \(comparison.layout.rawValue), markup = \(comparison.markup.rawValue), updated_at = \(time)
            WHERE id = \(page.id)
            """)
    }

    func deleteChildren(_ child: ComparisonChild, of comparisonID: Int64) async throws {
        let table =
            switch child {
            case .tools: "comparison_tool"
            case .takes: "take"
            case .missingTakes: "missing_take"
            }
        try await run("DELETE FROM \(unescaped: table) WHERE comparison_id = \(comparisonID)")
    }

    func insertTool(_ tool: Tool, comparisonID: Int64, position: Int) async throws {
        try await run(
            """
            INSERT INTO comparison_tool (comparison_id, position, name, tagline, category, description,
                panel_ship_percent, panel_verdict, ship_votes, skip_votes, pricing, entry)
            VALUES (\(comparisonID), \(position), \(tool.name), \(tool.tagline), \(tool.category), \(tool.description),
                \(tool.panelShipPercent), \(tool.panelVerdict?.rawValue), \(tool.shipVotes), \(tool.skipVotes),
                \(tool.pricing), \(tool.entry))
            """)
    }

    func insertTake(_ take: Take, comparisonID: Int64, position: Int) async throws {
        try await run(
            """
            INSERT INTO take (comparison_id, position, tool, role, score, verdict, text, role_inferred, tool_inferred, line)
            VALUES (\(comparisonID), \(position), \(take.tool), \(take.role.rawValue), \(take.score),
                \(take.verdict?.rawValue), \(take.text), \(take.roleInferred), \(take.toolInferred), \(take.line))
            """)
    }

    func insertMissingTake(_ slot: TakeSlot, comparisonID: Int64) async throws {
        try await run(
            "INSERT INTO missing_take (comparison_id, tool, role) VALUES (\(comparisonID), \(slot.tool), \(slot.role.rawValue))"
        )
    }
}
