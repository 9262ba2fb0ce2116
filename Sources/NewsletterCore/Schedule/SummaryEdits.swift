import Foundation

/// An editor's own text for a comparison's summary in one week's issue, and the way back to the
/// generated one: the rules `newsletter summaries edit` and the editor page share. The text is
/// only stored here; the draft changes when it is built again (`IssuePreview`).
public struct SummaryEdits<Store: NewsletterStore>: Sendable {
    public var store: Store

    /// Which comparisons an edit may name.
    public enum Scope: Sendable {
        /// Any stored comparison: the CLI may write a summary before the week's first preview.
        case anyComparison
        /// Only those in the week's current draft: the editor page edits what it shows.
        case draftComparisons
    }

    public struct Replaced: Sendable, Equatable {
        public var title: String
        /// The text as stored (``EditorSummary/clean(_:)``).
        public var text: String
    }

    public init(store: Store) {
        self.store = store
    }

    /// Stores `text` as the comparison's summary in `week`, so it wins over any generated one.
    public func replace(week: IssueWeek, comparisonID: Int64, with text: String, scope: Scope) async throws -> Replaced
    {
        let stored = try await editable(week: week, comparisonID: comparisonID, scope: scope)
        let cleaned: String
        do {
            cleaned = try EditorSummary.clean(text)
        } catch {
            throw SummaryEditError.unusableText(error)
        }
        try await store.saveSummaryOverride(week: week, comparisonID: comparisonID, text: cleaned)
        return Replaced(title: stored.comparison.title, text: cleaned)
    }

    /// Drops the editor's text; returns whether there was one.
    public func revert(week: IssueWeek, comparisonID: Int64, scope: Scope) async throws -> Bool {
        _ = try await editable(week: week, comparisonID: comparisonID, scope: scope)
        return try await store.removeSummaryOverride(week: week, comparisonID: comparisonID)
    }

    /// The editor's text for the comparison in `week`, if any.
    public func current(week: IssueWeek, comparisonID: Int64) async throws -> PanelSummary? {
        try await store.summaryOverride(week: week, comparisonID: comparisonID)
    }

    private func editable(week: IssueWeek, comparisonID: Int64, scope: Scope) async throws -> StoredComparison {
        let issue = try await store.issue(week)
        switch scope {
        case .anyComparison:
            break
        case .draftComparisons:
            guard let issue, issue.draftHash != nil else { throw SummaryEditError.noDraft(week) }
            guard issue.comparisonIDs.contains(comparisonID) else {
                throw SummaryEditError.notInIssue(week, comparisonID: comparisonID)
            }
        }
        // A sent issue is what its readers got; a summary edited now would change nothing they see.
        if issue?.status == .sent { throw SummaryEditError.alreadySent(week) }
        guard let stored = try await store.comparison(id: comparisonID) else {
            throw SummaryEditError.noComparison(comparisonID)
        }
        return stored
    }
}

public enum SummaryEditError: Error, Equatable, CustomStringConvertible {
    case noComparison(Int64)
    case noDraft(IssueWeek)
    case notInIssue(IssueWeek, comparisonID: Int64)
    case alreadySent(IssueWeek)
    case unusableText(EditorSummaryError)

    public var description: String {
        switch self {
        case .noComparison(let id): "no comparison #\(id) is stored"
        case .noDraft(let week): "\(week) has no draft"
        case .notInIssue(let week, let id): "comparison #\(id) is not in the draft of \(week)"
        case .alreadySent(let week): "\(week) was already sent; its summaries can no longer change"
        case .unusableText(let error): error.description
        }
    }
}
