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
    /// The list-wide send limits' buckets (`takeSendTokens`), by name: in memory, as one process
    /// at a time sends from a SQLite store.
    let sendBuckets = Mutex<[String: (tokens: Double, updated: Date)]>([:])
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
}

// MARK: - Comparisons

extension AppDatabase: ComparisonStore {
    public func listComparisons() async throws -> [ComparisonSummary] {
        try await read { db in
            try ComparisonSummary.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.title, c.published, c.source,
                           (SELECT COUNT(*) FROM take t WHERE t.comparison_id = c.id) AS takeCount
                    FROM comparison c ORDER BY c.published DESC, c.id DESC
                    """)
        }
    }

    public func comparison(id: Int64) async throws -> StoredComparison? {
        try await read { db in
            guard let row = try ComparisonRow.fetchOne(db, key: id) else { return nil }
            let tools = try ToolRow.filter(Column("comparison_id") == id).order(Column("position")).fetchAll(db)
            let takes = try TakeRow.filter(Column("comparison_id") == id).order(Column("position")).fetchAll(db)
            let missing = try MissingTakeRow.filter(Column("comparison_id") == id).fetchAll(db)
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
