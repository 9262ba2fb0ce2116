import Foundation
import GRDB

/// Rows of the comparison tables. Internal: callers see `Comparison` and `ComparisonStore`.
struct ComparisonRow: Codable, FetchableRecord, MutablePersistableRecord {
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

struct ToolRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "comparisonTool"
    var comparisonId: Int64
    var position: Int
    var name: String
    var tagline: String
    var category: String?
    var description: String
    var panelShipPercent: Int?
    var panelVerdict: Verdict?
    var shipVotes: Int?
    var skipVotes: Int?
    var pricing: String?
    var entry: String?

    init(comparisonId: Int64, position: Int, tool: Tool) {
        self.comparisonId = comparisonId
        self.position = position
        name = tool.name
        tagline = tool.tagline
        category = tool.category
        description = tool.description
        panelShipPercent = tool.panelShipPercent
        panelVerdict = tool.panelVerdict
        shipVotes = tool.shipVotes
        skipVotes = tool.skipVotes
        pricing = tool.pricing
        entry = tool.entry
    }

    var tool: Tool {
        Tool(
            name: name, tagline: tagline, category: category, description: description,
            panelShipPercent: panelShipPercent, panelVerdict: panelVerdict, shipVotes: shipVotes,
            skipVotes: skipVotes, pricing: pricing, entry: entry)
    }
}

struct TakeRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "take"
    var id: Int64?
    var comparisonId: Int64
    var position: Int
    var tool: String
    var role: ReviewerRole
    var score: Int?
    var verdict: Verdict?
    var text: String
    var roleInferred: Bool
    var toolInferred: Bool
    var line: Int?

    init(comparisonId: Int64, position: Int, take: Take) {
        self.comparisonId = comparisonId
        self.position = position
        tool = take.tool
        role = take.role
        score = take.score
        verdict = take.verdict
        text = take.text
        roleInferred = take.roleInferred
        toolInferred = take.toolInferred
        line = take.line
    }

    var take: Take {
        Take(
            tool: tool, role: role, score: score, verdict: verdict, text: text, roleInferred: roleInferred,
            toolInferred: toolInferred, line: line)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

struct MissingTakeRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "missingTake"
    var comparisonId: Int64
    var tool: String
    var role: ReviewerRole
}

extension PublishedTimeSource: DatabaseValueConvertible {}
extension PageLayout: DatabaseValueConvertible {}
extension PageMarkup: DatabaseValueConvertible {}
extension ReviewerRole: DatabaseValueConvertible {}
extension Verdict: DatabaseValueConvertible {}
