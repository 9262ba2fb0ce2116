import Foundation

/// Where issues (the frozen weekly drafts, their approval and their fate) are kept.
public protocol IssueStore: Sendable {
    /// Stored comparisons whose published time falls in `window` (start included, end not).
    func comparisons(publishedIn window: DateInterval) async throws -> [StoredComparison]
    /// Comparisons already featured by a sent issue of another week.
    func comparisonIDsFeaturedInSentIssues(otherThan week: IssueWeek) async throws -> Set<Int64>
    func issue(_ week: IssueWeek) async throws -> IssueRecord?
    func listIssues() async throws -> [IssueRecord]
    /// Stores a freshly built draft. The approval stays only if it approved these very bytes.
    func saveDraft(_ draft: IssueDraft) async throws
    func recordSkipped(_ week: IssueWeek, reason: String) async throws
    /// Approves the stored draft, which must have `hash`.
    func approve(_ week: IssueWeek, hash: String, at time: Date) async throws
    func markSent(_ week: IssueWeek, at time: Date) async throws
}

public enum IssueStatus: String, Codable, Sendable {
    case draft
    case approved
    case skipped
    case sent
}

/// A week's issue as stored.
public struct IssueRecord: Codable, Sendable, Equatable {
    public var week: IssueWeek
    public var status: IssueStatus
    public var subject: String?
    /// The rendered HTML and text, with per-subscriber placeholders still in them.
    public var html: String?
    public var text: String?
    /// `issue.json`, as written to the outbox.
    public var manifest: String?
    public var draftHash: String?
    public var approvedHash: String?
    public var approvedAt: Date?
    public var sentAt: Date?
    public var skipReason: String?
    public var comparisonIDs: [Int64]
    public var updatedAt: Date
    /// The frozen variants (nil for drafts built before topics: everyone gets the whole issue).
    public var variants: FrozenVariants? = nil
    /// Hidden from the public archive by an editor.
    public var hiddenFromArchive = false
}

/// What `preview` builds and `approve` freezes.
public struct IssueDraft: Sendable, Equatable {
    public var week: IssueWeek
    public var subject: String
    public var html: String
    public var text: String
    public var manifest: String
    public var comparisonIDs: [Int64]
    /// SHA-256 over subject, HTML and text (over every variant when there are several): what
    /// approval refers to.
    public var hash: String
    /// One variant per distinct topic choice among the readers; `subject`, `html` and `text`
    /// are the everything-variant's.
    public var variants: FrozenVariants?
    /// The links `LinkRewriter` put in the HTML and text, stored with the draft.
    public var links: [TrackedLink] = []

    public init(
        week: IssueWeek, subject: String, html: String, text: String, manifest: String, comparisonIDs: [Int64],
        hash: String, variants: FrozenVariants? = nil
    ) {
        self.variants = variants
        self.week = week
        self.subject = subject
        self.html = html
        self.text = text
        self.manifest = manifest
        self.comparisonIDs = comparisonIDs
        self.hash = hash
    }
}

public enum IssueStoreError: Error, CustomStringConvertible, Equatable {
    case noDraft(IssueWeek)
    case draftChanged(IssueWeek, stored: String, expected: String)
    case alreadySent(IssueWeek)
    case sendingStarted(IssueWeek)

    public var description: String {
        switch self {
        case .noDraft(let week):
            "\(week) has no draft to approve; run `newsletter preview --week \(week)` first"
        case .draftChanged(let week, let stored, let expected):
            "the stored draft of \(week) is \(stored.prefix(12)), not \(expected.prefix(12)); preview it again before approving"
        case .alreadySent(let week):
            "\(week) was already sent; a sent issue cannot change"
        case .sendingStarted(let week):
            "\(week) is being sent (some subscribers already have it); its content cannot change until the send is finished"
        }
    }
}
