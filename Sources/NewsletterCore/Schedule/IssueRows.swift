import Foundation

/// The row operations a week's issue writes need, inside one transaction the caller holds. Each
/// store implements them and draft, skip and approve are written once over them, with
/// `IssueLifecycle` deciding (see `BounceRows`). What truly differs stays with the store: the
/// PostgreSQL one takes the week's advisory lock first, as SQLite's single writer needs none.
protocol IssueRows: ClickRows, WebhookRows {
    /// The week's issue row, without the comparisons it features.
    func issueRow(_ week: IssueWeek) async throws -> IssueRecord?
    /// The comparisons the week's issue features, in their order.
    func featuredComparisonIDs(_ week: IssueWeek) async throws -> [Int64]
    /// Whether the week's ledger holds a row in one of `states` (IssueLifecycle says which).
    func deliveryExists(_ week: IssueWeek, in states: [DeliveryState]) async throws -> Bool
    /// Stores the draft (its variants encoded) with the approval it keeps, over any row of the week.
    func upsertDraft(
        _ draft: IssueDraft, variants: String?, approval: IssueLifecycle.DraftApproval, at time: Date) async throws
    /// Stores the week as skipped for `reason`, dropping any draft and approval.
    func upsertSkipped(_ week: IssueWeek, reason: String, at time: Date) async throws
    func deleteFeaturedComparisons(_ week: IssueWeek) async throws
    func insertFeaturedComparison(_ comparisonID: Int64, week: IssueWeek, position: Int) async throws
    func setApproved(_ week: IssueWeek, hash: String, at time: Date) async throws
    func setSent(_ week: IssueWeek, at time: Date) async throws
}

extension IssueRows {
    func storedIssue(_ week: IssueWeek) async throws -> IssueRecord? {
        guard var record = try await issueRow(week) else { return nil }
        record.comparisonIDs = try await featuredComparisonIDs(week)
        return record
    }

    /// Some recipient already got (or is getting) the week's issue: its content is fixed.
    func contentFixed(_ week: IssueWeek) async throws -> Bool {
        try await deliveryExists(week, in: IssueLifecycle.contentFixingStates)
    }

    func saveDraft(_ draft: IssueDraft, at time: Date) async throws {
        let approval = try await IssueLifecycle.savingDraft(
            draft, over: try storedIssue(draft.week), contentFixed: try contentFixed(draft.week))
        try await upsertDraft(draft, variants: try draft.variants?.encoded(), approval: approval, at: time)
        try await deleteFeaturedComparisons(draft.week)
        for (position, id) in draft.comparisonIDs.enumerated() {
            try await insertFeaturedComparison(id, week: draft.week, position: position)
        }
        try await replaceTrackedLinks(draft.week, with: draft.links)
    }

    func recordSkipped(_ week: IssueWeek, reason: String, at time: Date) async throws {
        try await IssueLifecycle.skipping(week, over: try storedIssue(week), contentFixed: try contentFixed(week))
        try await upsertSkipped(week, reason: reason, at: time)
        try await deleteFeaturedComparisons(week)
        try await deleteTrackedLinks(week)
    }

    func approve(_ week: IssueWeek, hash: String, at time: Date) async throws {
        let existing = try await storedIssue(week)
        try await IssueLifecycle.approving(week, hash: hash, existing: existing)
        try await setApproved(week, hash: hash, at: time)
        // Approving again what is approved already changes nothing, and tells nothing.
        if existing?.status != .approved || existing?.approvedHash != hash {
            try await recordWebhookEvent(.issue(.issueApproved, week: week, hash: hash, at: time), at: time)
        }
    }

    /// The week's sending is complete: the issue is sent, and `issue.sent` told once.
    func recordSent(_ week: IssueWeek, at time: Date) async throws {
        let wasSent = try await issueRow(week)?.status == .sent
        try await setSent(week, at: time)
        if !wasSent { try await recordWebhookEvent(.issue(.issueSent, week: week, at: time), at: time) }
    }
}
