import Foundation

/// How many comparisons an issue takes.
public struct SelectionPolicy: Sendable, Equatable {
    public var maxComparisons = 6
    /// Fewer than this and the week is skipped (with a recorded reason) unless forced.
    public var minComparisons = 1

    public init(maxComparisons: Int = 6, minComparisons: Int = 1) {
        self.maxComparisons = maxComparisons
        self.minComparisons = minComparisons
    }
}

/// The comparisons a week's issue features, ranked.
public struct WeekSelection: Sendable {
    public var week: IssueWeek
    public var window: DateInterval
    /// Ranked, at most `maxComparisons`.
    public var selected: [StoredComparison]
    /// Published in the window but already featured by an earlier sent issue.
    public var alreadyFeatured: [Int64]
    /// Published in the window, but beyond `maxComparisons`.
    public var leftOut: [Int64]
}

/// Picks and ranks a week's comparisons.
///
/// The rule: the comparisons published in the week's window that no earlier sent issue
/// featured, **most divided panel first** (see `division`), then the most takes, then the
/// earliest published, then the lowest id, so that the same store always gives the same order.
public enum WeekSelector {
    public static func select(
        _ week: IssueWeek, from store: some IssueStore, timeZone: TimeZone, policy: SelectionPolicy
    ) async throws -> WeekSelection {
        let window = week.window(in: timeZone)
        let featured = try await store.comparisonIDsFeaturedInSentIssues(otherThan: week)
        let published = try await store.comparisons(publishedIn: window)
        let fresh = published.filter { !featured.contains($0.id) }
        let ranked = rank(fresh)
        return WeekSelection(
            week: week, window: window, selected: Array(ranked.prefix(policy.maxComparisons)),
            alreadyFeatured: published.filter { featured.contains($0.id) }.map(\.id),
            leftOut: ranked.dropFirst(policy.maxComparisons).map(\.id))
    }

    public static func rank(_ comparisons: [StoredComparison]) -> [StoredComparison] {
        comparisons.sorted { lhs, rhs in
            let (left, right) = (division(lhs.comparison), division(rhs.comparison))
            if left != right { return left > right }
            if lhs.comparison.takes.count != rhs.comparison.takes.count {
                return lhs.comparison.takes.count > rhs.comparison.takes.count
            }
            if lhs.comparison.published != rhs.comparison.published {
                return lhs.comparison.published < rhs.comparison.published
            }
            return lhs.id < rhs.id
        }
    }

    /// How split the panel is, from 0 (unanimous) to 1 (evenly split), averaged over the tools
    /// that have a panel figure: each tool's ship share (from its vote counts, else its panel
    /// ship percentage) scores 1 − |2·share − 1|.
    public static func division(_ comparison: Comparison) -> Double {
        let shares = comparison.tools.compactMap { tool -> Double? in
            if let ship = tool.shipVotes, let skip = tool.skipVotes, ship + skip > 0 {
                return Double(ship) / Double(ship + skip)
            }
            return tool.panelShipPercent.map { Double($0) / 100 }
        }
        guard !shares.isEmpty else { return 0 }
        return shares.map { 1 - abs(2 * $0 - 1) }.reduce(0, +) / Double(shares.count)
    }
}
