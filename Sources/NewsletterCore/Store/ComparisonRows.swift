import Foundation
import GRDB

/// Rows of the comparison tables. Internal: callers see `Comparison` and `ComparisonStore`.
struct ComparisonRow: Codable, SnakeCaseColumns, MutablePersistableRecord {
    static let databaseTableName = "comparison"
    var id: Int64?
    var source: String
    var url: String?
    var title: String
    var contentHash: String
    var recordHash: String
    var published: Date
    var publishedFrom: PublishedTimeSource
    var layout: PageLayout
    var markup: PageMarkup
    var firstSeenAt: Date
    var updatedAt: Date

    init(_ comparison: Comparison, firstSeenAt: Date, updatedAt: Date) {
        source = comparison.source
        url = comparison.url
        title = comparison.title
        contentHash = comparison.contentHash
        recordHash = comparison.recordHash
        published = comparison.published
        publishedFrom = comparison.publishedFrom
        layout = comparison.layout
        markup = comparison.markup
        self.firstSeenAt = firstSeenAt
        self.updatedAt = updatedAt
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// The columns are snake_case, the properties camelCase (AppDatabase+Migrations.swift, v11):
/// every Codable record names its columns through this.
protocol SnakeCaseColumns: FetchableRecord, EncodableRecord {}

extension SnakeCaseColumns {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// A tool of a comparison: the `Tool` columns plus its place. `Tool` and `Take` are Codable,
/// so GRDB maps their fields to columns of the same names, in snake_case.
struct ToolRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "comparison_tool"
    var comparisonId: Int64
    var position: Int
    var tool: Tool

    init(comparisonId: Int64, position: Int, tool: Tool) {
        self.comparisonId = comparisonId
        self.position = position
        self.tool = tool
    }

    init(row: Row) throws {
        comparisonId = row["comparison_id"]
        position = row["position"]
        tool = try Tool(row: row)
    }

    func encode(to container: inout PersistenceContainer) throws {
        try tool.encode(to: &container)
        container["comparison_id"] = comparisonId
        container["position"] = position
    }
}

struct TakeRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "take"
    var comparisonId: Int64
    var position: Int
    var take: Take

    init(comparisonId: Int64, position: Int, take: Take) {
        self.comparisonId = comparisonId
        self.position = position
        self.take = take
    }

    init(row: Row) throws {
        comparisonId = row["comparison_id"]
        position = row["position"]
        take = try Take(row: row)
    }

    func encode(to container: inout PersistenceContainer) throws {
        try take.encode(to: &container)
        container["comparison_id"] = comparisonId
        container["position"] = position
    }
}

extension Tool: SnakeCaseColumns {}
extension Take: SnakeCaseColumns {}

struct MissingTakeRow: Codable, SnakeCaseColumns, PersistableRecord {
    static let databaseTableName = "missing_take"
    var comparisonId: Int64
    var tool: String
    var role: ReviewerRole
}

extension PublishedTimeSource: DatabaseValueConvertible {}
extension PageLayout: DatabaseValueConvertible {}
extension PageMarkup: DatabaseValueConvertible {}
extension ReviewerRole: DatabaseValueConvertible {}
extension Verdict: DatabaseValueConvertible {}

/// Saving a comparison in SQLite, inside the caller's write transaction (the decision:
/// ComparisonSaveRows).
extension Database {
    func storedPage(source: String) throws -> StoredPage? {
        try ComparisonRow.filter(Column("source") == source).fetchOne(self).map {
            StoredPage(
                id: $0.id!, contentHash: $0.contentHash, published: $0.published, publishedFrom: $0.publishedFrom,
                firstSeenAt: $0.firstSeenAt)
        }
    }

    func comparisonRecorded(as recordHash: String) throws -> (id: Int64, source: String)? {
        try ComparisonRow.filter(Column("record_hash") == recordHash).order(Column("id")).fetchOne(self).map {
            ($0.id!, $0.source)
        }
    }

    func insertComparison(_ comparison: Comparison, at time: Date) throws -> Int64 {
        var row = ComparisonRow(comparison, firstSeenAt: time, updatedAt: time)
        try row.insert(self)
        return row.id!
    }

    func updateComparison(
        _ page: StoredPage, to comparison: Comparison, published: Date, publishedFrom: PublishedTimeSource,
        at time: Date
    ) throws {
        var row = ComparisonRow(comparison, firstSeenAt: page.firstSeenAt, updatedAt: time)
        row.id = page.id
        row.published = published
        row.publishedFrom = publishedFrom
        try row.update(self)
    }

    func deleteChildren(_ child: ComparisonChild, of comparisonID: Int64) throws {
        switch child {
        case .tools: try ToolRow.filter(Column("comparison_id") == comparisonID).deleteAll(self)
        case .takes: try TakeRow.filter(Column("comparison_id") == comparisonID).deleteAll(self)
        case .missingTakes: try MissingTakeRow.filter(Column("comparison_id") == comparisonID).deleteAll(self)
        }
    }

    func insertTool(_ tool: Tool, comparisonID: Int64, position: Int) throws {
        try ToolRow(comparisonId: comparisonID, position: position, tool: tool).insert(self)
    }

    func insertTake(_ take: Take, comparisonID: Int64, position: Int) throws {
        try TakeRow(comparisonId: comparisonID, position: position, take: take).insert(self)
    }

    func insertMissingTake(_ slot: TakeSlot, comparisonID: Int64) throws {
        try MissingTakeRow(comparisonId: comparisonID, tool: slot.tool, role: slot.role).insert(self)
    }
}
