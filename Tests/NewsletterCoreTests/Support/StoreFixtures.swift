import Foundation
import NewsletterCore

/// Comparisons with chosen titles, published times and panel splits, stored for selection tests.
enum StoreFixtures {
    static func comparison(
        _ title: String, published: String, shipPercents: [Int] = [100, 100], takes: Int = 8,
        source: String? = nil
    ) throws -> Comparison {
        var comparison = try ComparisonPageReader().read(
            try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: source ?? "/pages/\(title).txt")
        comparison.title = title
        comparison.published = PublishedDate.parse(published)!
        comparison.publishedFrom = .page
        comparison.contentHash = title
        for index in comparison.tools.indices {
            comparison.tools[index].panelShipPercent = shipPercents[index]
            comparison.tools[index].shipVotes = nil
            comparison.tools[index].skipVotes = nil
        }
        comparison.takes = Array(comparison.takes.prefix(takes))
        // A distinct record per title, so the store does not see duplicates.
        comparison.tools[0].description += " (\(title))"
        return comparison
    }

    @discardableResult
    static func store(_ comparisons: [Comparison], in store: AppDatabase) async throws -> [Int64] {
        var ids: [Int64] = []
        for comparison in comparisons { ids.append(try await store.saveComparison(comparison).id) }
        return ids
    }
}
