import Foundation

/// The rules of a week's issue that every store applies the same way: when its content is
/// fixed, when its delivery has begun, what a rebuilt draft does to an approval, and what an
/// approval needs. The stores read the rows and write the outcome inside one transaction; the
/// decision is made here, so the SQLite and PostgreSQL stores cannot drift apart.
public enum IssueLifecycle {
    /// Ledger states meaning some recipient has, or is being sent, the week's issue: from then
    /// on its content cannot change (a rebuild or a skip would send two versions).
    public static let contentFixingStates: [DeliveryState] = [.sent, .sending]

    /// Ledger states meaning the week's delivery has begun: anything tried, whatever its fate.
    /// `pending` (queued, nothing tried) and `skipped` (nothing to send) are not.
    public static let deliveryBegunStates: [DeliveryState] = [.sent, .sending, .deferred, .failed]

    /// What a stored draft's approval becomes when `draft` replaces it.
    public struct DraftApproval: Sendable, Equatable {
        public var status: IssueStatus
        public var approvedHash: String?
        public var approvedAt: Date?
    }

    /// Whether `draft` may replace `existing`, and the approval it keeps: only one of these very
    /// bytes. A sent week never changes; once sending started, only the same bytes may be stored
    /// again (`contentFixed` says whether the ledger holds a sent or in-flight row).
    public static func savingDraft(_ draft: IssueDraft, over existing: IssueRecord?, contentFixed: Bool)
        throws(IssueStoreError) -> DraftApproval
    {
        if existing?.status == .sent { throw .alreadySent(draft.week) }
        if existing?.draftHash != draft.hash, contentFixed { throw .sendingStarted(draft.week) }
        guard let existing, existing.approvedHash == draft.hash else {
            return DraftApproval(status: .draft, approvedHash: nil, approvedAt: nil)
        }
        return DraftApproval(status: .approved, approvedHash: draft.hash, approvedAt: existing.approvedAt)
    }

    /// Whether the week may be recorded as skipped (which drops its draft).
    public static func skipping(_ week: IssueWeek, over existing: IssueRecord?, contentFixed: Bool)
        throws(IssueStoreError)
    {
        if existing?.status == .sent { throw .alreadySent(week) }
        if contentFixed { throw .sendingStarted(week) }
    }

    /// Whether `hash` may approve the stored draft: there is one, it is not sent, and it is
    /// the draft the editor looked at.
    public static func approving(_ week: IssueWeek, hash: String, existing: IssueRecord?) throws(IssueStoreError) {
        guard let existing, let stored = existing.draftHash else { throw .noDraft(week) }
        if existing.status == .sent { throw .alreadySent(week) }
        guard stored == hash else { throw .draftChanged(week, stored: stored, expected: hash) }
    }

    /// Only a sent issue is in the archive, so only a sent issue can be hidden from it.
    public static let archivedStatus = IssueStatus.sent
}
