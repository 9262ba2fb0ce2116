import Foundation
import GRDB
import Synchronization

/// The SQLite store: owns the schema and its migrations, and exposes what the rest of the
/// tool means to do with it.
public final class AppDatabase: Sendable {
    let writer: any DatabaseWriter
    var reader: any DatabaseReader { writer }
    public let path: String
    /// Where the store reads the time it stamps, as the PostgreSQL store and the mailer do: the
    /// ledger compares these stamps with the mailer's (`claimDeliveries(runStarted:)`).
    let clock: any TimeSource
    /// The list-wide send limit's bucket (`takeListSendTokens`): in memory, as one process at a
    /// time sends from a SQLite store.
    let listSendBucket = Mutex<(tokens: Double, updated: Date)?>(nil)
    /// Serializes this process's writes, so none lands inside another's open transaction
    /// (SQLiteRows.swift).
    let writeGate = AsyncGate()

    /// Opens (creating if needed) the database at `path` in WAL mode, and migrates it.
    public static func open(path: String, clock: any TimeSource = SystemTime()) throws(StoreError) -> AppDatabase {
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var configuration = GRDB.Configuration()
            // `serve` and a cron `send` share the file: wait for each other's writes.
            configuration.busyMode = .timeout(10)
            // `transaction` spans several writer accesses (SQLiteRows.swift).
            configuration.allowsUnsafeTransactions = true
            // In WAL mode NORMAL keeps every commit through a crash or kill -9 of the process
            // (only a power loss can drop the last ones), without an fsync per ledger row.
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            return try AppDatabase(DatabasePool(path: path, configuration: configuration), path: path, clock: clock)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, reason: "\(error)")
        }
    }

    /// A private in-memory database, for tests and dry runs.
    public static func inMemory(clock: any TimeSource = SystemTime()) throws -> AppDatabase {
        try AppDatabase(DatabaseQueue(configuration: Self.inMemoryConfiguration), path: ":memory:", clock: clock)
    }

    private static var inMemoryConfiguration: GRDB.Configuration {
        var configuration = GRDB.Configuration()
        configuration.allowsUnsafeTransactions = true
        return configuration
    }

    init(_ writer: any DatabaseWriter, path: String, clock: any TimeSource) throws(StoreError) {
        self.writer = writer
        self.path = path
        self.clock = clock
        do {
            try Self.migrator.migrate(writer)
        } catch {
            throw StoreError(path: path, reason: "migrating the schema failed: \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: comparisons") { db in
            try db.create(table: "comparison") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("source", .text).notNull().unique()
                t.column("url", .text)
                t.column("title", .text).notNull()
                t.column("contentHash", .text).notNull()
                t.column("recordHash", .text).notNull().indexed()
                t.column("published", .datetime).notNull().indexed()
                t.column("publishedFrom", .text).notNull()
                t.column("layout", .text).notNull()
                t.column("markup", .text).notNull()
                t.column("firstSeenAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "comparisonTool") { t in
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["comparisonId", "position"])
                t.column("name", .text).notNull()
                t.column("tagline", .text).notNull()
                t.column("category", .text)
                t.column("description", .text).notNull()
                t.column("panelShipPercent", .integer).check { $0 >= 0 && $0 <= 100 }
                t.column("panelVerdict", .text)
                t.column("shipVotes", .integer)
                t.column("skipVotes", .integer)
                t.column("pricing", .text)
                t.column("entry", .text)
            }
            try db.create(table: "take") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("position", .integer).notNull()
                t.column("tool", .text).notNull()
                t.column("role", .text).notNull().check { ReviewerRole.allCases.map(\.rawValue).contains($0) }
                t.column("score", .integer).check { $0 >= 0 && $0 <= 100 }
                t.column("verdict", .text)
                t.column("text", .text).notNull()
                t.column("roleInferred", .boolean).notNull()
                t.column("toolInferred", .boolean).notNull()
                t.column("line", .integer)
            }
            try db.create(table: "missingTake") { t in
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("tool", .text).notNull()
                t.column("role", .text).notNull()
            }
        }
        migrator.registerMigration("v2: issues") { db in
            try db.create(table: "issue") { t in
                t.primaryKey("week", .text)
                t.column("status", .text).notNull()
                t.column("subject", .text)
                t.column("html", .text)
                t.column("text", .text)
                t.column("manifest", .text)
                t.column("draftHash", .text)
                t.column("approvedHash", .text)
                t.column("approvedAt", .datetime)
                t.column("sentAt", .datetime)
                t.column("skipReason", .text)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "issueComparison") { t in
                t.column("week", .text).notNull().references("issue", onDelete: .cascade)
                t.column("comparisonId", .integer).notNull().references("comparison", onDelete: .restrict)
                t.column("position", .integer).notNull()
                t.primaryKey(["week", "comparisonId"])
            }
        }
        migrator.registerMigration("v3: subscribers and the delivery ledger") { db in
            try db.create(table: "subscriber") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("email", .text).notNull().unique().collate(.nocase)
                t.column("name", .text)
                t.column("status", .text).notNull().indexed()
                t.column("createdAt", .datetime).notNull()
                t.column("permanentFailures", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "delivery") { t in
                t.column("week", .text).notNull()
                t.column("subscriberId", .integer).notNull().references("subscriber", onDelete: .cascade)
                t.primaryKey(["week", "subscriberId"])
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("lastReply", .text)
                t.column("messageId", .text)
                t.column("nextAttemptAt", .datetime)
                t.column("sentAt", .datetime)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "delivery_state", on: "delivery", columns: ["week", "state"])
            // One-click unsubscribe tokens: random, stored only as their SHA-256.
            try db.create(table: "subscriberToken") { t in
                t.primaryKey("tokenHash", .text)
                t.column("subscriberId", .integer).notNull().references("subscriber", onDelete: .cascade).indexed()
                t.column("purpose", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("usedAt", .datetime)
            }
        }
        migrator.registerMigration("v4: delivery queue index") { db in
            // Claims walk the pending rows in subscriber order; without this they would scan
            // past every row already sent, which grows quadratically with the list.
            try db.drop(index: "delivery_state")
            try db.create(index: "delivery_queue", on: "delivery", columns: ["week", "state", "subscriberId"])
        }
        migrator.registerMigration("v5: signup, consent and the endpoint's mail queue") { db in
            try db.alter(table: "subscriber") { t in
                // `html` (multipart) or `text` (plain text only), chosen on the preferences page.
                t.add(column: "format", .text).notNull().defaults(to: "html")
                // A paused subscriber stays on the list but gets no issues until unpaused.
                t.add(column: "paused", .boolean).notNull().defaults(to: false)
                t.add(column: "confirmedAt", .datetime)
            }
            // Confirmation tokens expire; unsubscribe tokens (in sent mail) do not.
            try db.alter(table: "subscriberToken") { t in t.add(column: "expiresAt", .datetime) }
            // Who agreed to what, when and from where: kept for audit as long as the subscriber is.
            try db.create(table: "consent") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("subscriber", onDelete: .cascade).notNull()
                t.column("event", .text).notNull()
                t.column("at", .datetime).notNull()
                t.column("clientAddress", .text)
                t.column("userAgent", .text)
                t.column("detail", .text)
            }
            // Mail the endpoint sends (confirmation, welcome). A row is only ever marked sent
            // after the server accepted it, so a failing SMTP server delays it but cannot lose it.
            try db.create(table: "endpointMail") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("subscriber", onDelete: .cascade).notNull()
                t.column("kind", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("createdAt", .datetime).notNull()
                t.column("nextAttemptAt", .datetime).notNull()
                t.column("sentAt", .datetime)
                t.column("lastReply", .text)
            }
            try db.create(index: "endpointMail_due", on: "endpointMail", columns: ["state", "nextAttemptAt"])
        }
        // Registered by name after the others: see AppDatabase+Summaries.swift and AppDatabase+Runs.swift.
        registerSummaryMigrations(&migrator)
        migrator.registerMigration("v7-runs", migrate: Self.migrateRuns)
        // AppDatabase+Bounces.swift, AppDatabase+Topics.swift and AppDatabase+Archive.swift.
        migrator.registerMigration("v8-bounces", migrate: Self.migrateBounces)
        migrator.registerMigration("v9-topics", migrate: Self.migrateTopics)
        migrator.registerMigration("v10-archive", migrate: Self.migrateArchive)
        return migrator
    }
}

// MARK: - Comparisons

extension AppDatabase: ComparisonStore {
    public func saveComparison(_ comparison: Comparison) async throws -> SaveOutcome {
        try await transaction { rows in try await rows.saveComparison(comparison, at: clock.now()) }
    }

    public func listComparisons() async throws -> [ComparisonSummary] {
        try await read { db in
            try ComparisonSummary.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.title, c.published, c.source,
                           (SELECT COUNT(*) FROM take t WHERE t.comparisonId = c.id) AS takeCount
                    FROM comparison c ORDER BY c.published DESC, c.id DESC
                    """)
        }
    }

    public func comparison(id: Int64) async throws -> StoredComparison? {
        try await read { db in
            guard let row = try ComparisonRow.fetchOne(db, key: id) else { return nil }
            let tools = try ToolRow.filter(Column("comparisonId") == id).order(Column("position")).fetchAll(db)
            let takes = try TakeRow.filter(Column("comparisonId") == id).order(Column("position")).fetchAll(db)
            let missing = try MissingTakeRow.filter(Column("comparisonId") == id).fetchAll(db)
            return StoredComparison(
                id: id, firstSeenAt: row.firstSeenAt, updatedAt: row.updatedAt,
                comparison: Comparison(
                    title: row.title, tools: tools.map(\.tool), takes: takes.map(\.take),
                    missingTakes: missing.map { TakeSlot(tool: $0.tool, role: $0.role) }, source: row.source,
                    url: row.url, contentHash: row.contentHash, published: row.published,
                    publishedFrom: row.publishedFrom, layout: row.layout, markup: row.markup))
        }
    }
}

extension ComparisonSummary: FetchableRecord {}
