import Foundation

/// The row operations saving a comparison needs, inside one transaction the caller holds. Each
/// store implements them and the upsert decision (new, updated or unchanged by content hash, a
/// duplicate by record hash, children replaced) is written once over them (see `BounceRows`).
/// The PostgreSQL store takes the page's advisory lock first: that stays its own.
protocol ComparisonSaveRows: TopicRows {
    /// The stored comparison of the page at `source`, if any.
    func storedPage(source: String) async throws -> StoredPage?
    /// The first stored comparison whose record (title, tools, takes) hashes to `recordHash`.
    func comparisonRecorded(as recordHash: String) async throws -> (id: Int64, source: String)?
    /// Stores a new comparison row (no children) first seen at `time`; returns its id.
    func insertComparison(_ comparison: Comparison, at time: Date) async throws -> Int64
    /// Replaces the stored row of `page` with `comparison`, dated `published` by `publishedFrom`.
    func updateComparison(
        _ page: StoredPage, to comparison: Comparison, published: Date, publishedFrom: PublishedTimeSource,
        at time: Date) async throws
    func deleteChildren(_ child: ComparisonChild, of comparisonID: Int64) async throws
    func insertTool(_ tool: Tool, comparisonID: Int64, position: Int) async throws
    func insertTake(_ take: Take, comparisonID: Int64, position: Int) async throws
    func insertMissingTake(_ slot: TakeSlot, comparisonID: Int64) async throws
}

/// What the upsert decision reads of a stored comparison.
struct StoredPage {
    var id: Int64
    var contentHash: String
    var published: Date
    var publishedFrom: PublishedTimeSource
    var firstSeenAt: Date
}

/// The rows a comparison owns besides its topics, replaced whole with it.
enum ComparisonChild: CaseIterable {
    case tools, takes, missingTakes
}

extension ComparisonSaveRows {
    func saveComparison(_ comparison: Comparison, at time: Date) async throws -> SaveOutcome {
        if let page = try await storedPage(source: comparison.source) {
            if page.contentHash == comparison.contentHash { return .unchanged(id: page.id) }
            // A page that still gives no date was first seen when it was first seen.
            let keepDate = comparison.publishedFrom == .firstSeen
            try await updateComparison(
                page, to: comparison, published: keepDate ? page.published : comparison.published,
                publishedFrom: keepDate ? page.publishedFrom : comparison.publishedFrom, at: time)
            try await replaceChildren(of: page.id, with: comparison, at: time)
            return .updated(id: page.id, previousHash: page.contentHash)
        }
        if let twin = try await comparisonRecorded(as: comparison.recordHash) {
            return .duplicate(of: twin.id, source: twin.source)
        }
        let id = try await insertComparison(comparison, at: time)
        try await replaceChildren(of: id, with: comparison, at: time)
        return .inserted(id: id)
    }

    private func replaceChildren(of id: Int64, with comparison: Comparison, at time: Date) async throws {
        for child in ComparisonChild.allCases { try await deleteChildren(child, of: id) }
        for (position, tool) in comparison.tools.enumerated() {
            try await insertTool(tool, comparisonID: id, position: position)
        }
        for (position, take) in comparison.takes.enumerated() {
            try await insertTake(take, comparisonID: id, position: position)
        }
        for slot in comparison.missingTakes { try await insertMissingTake(slot, comparisonID: id) }
        try await replaceTopics(of: id, with: comparison, at: time)
    }
}
