import Foundation

/// Where the tracked links of frozen drafts and their click counts are kept.
public protocol ClickStore: Sendable {
    /// The links the week's stored draft has (empty when it has none, or clicks are not tracked).
    func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink]
    /// The link with `id` when a copy of its issue has gone out; nil for any other id (unknown,
    /// or a draft's), so drafts cannot be found by trying ids.
    func sentLink(id: String) async throws -> TrackedLink?
    /// Adds the counts, all in one transaction; counts of links that are gone are dropped.
    func recordClicks(_ counts: [ClickCount]) async throws
    /// Every tracked link of the week with its clicks, scanners apart.
    func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks]
}

/// The row operations of tracked links and their counts, inside a transaction the caller
/// holds; the workflows over them are written once (below, and `IssueRows.saveDraft`).
protocol ClickRows {
    func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink]
    func deleteTrackedLinks(_ week: IssueWeek) async throws
    func insertTrackedLink(_ link: TrackedLink, position: Int) async throws
    /// The link, when its week's ledger has a copy in state `sent` (or the issue is marked sent).
    func sentLink(id: String) async throws -> TrackedLink?
    func addLinkClicks(linkID: String, clicks: Int64, scannerClicks: Int64) async throws
    /// Adds to one reader's count of one link, creating the row the first time.
    func addReaderClicks(linkID: String, subscriberID: Int64, clicks: Int64, scannerClicks: Int64) async throws
    func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks]
}

extension ClickRows {
    /// The week's links become `links`: a draft built again drops the links it no longer has.
    func replaceTrackedLinks(_ week: IssueWeek, with links: [TrackedLink]) async throws {
        try await deleteTrackedLinks(week)
        for (position, link) in links.enumerated() { try await insertTrackedLink(link, position: position) }
    }

    func recordClicks(_ counts: [ClickCount]) async throws {
        for count in counts where count.clicks != 0 || count.scannerClicks != 0 {
            try await addLinkClicks(linkID: count.linkID, clicks: count.clicks, scannerClicks: count.scannerClicks)
            if let subscriberID = count.subscriberID {
                try await addReaderClicks(
                    linkID: count.linkID, subscriberID: subscriberID, clicks: count.clicks,
                    scannerClicks: count.scannerClicks)
            }
        }
    }
}

extension RowTransactions {
    public func trackedLinks(_ week: IssueWeek) async throws -> [TrackedLink] {
        try await rowRead { rows in try await rows.trackedLinks(week) }
    }

    public func sentLink(id: String) async throws -> TrackedLink? {
        try await rowRead { rows in try await rows.sentLink(id: id) }
    }

    public func recordClicks(_ counts: [ClickCount]) async throws {
        guard !counts.isEmpty else { return }
        try await rowTransaction { rows in try await rows.recordClicks(counts) }
    }

    public func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks] {
        try await rowRead { rows in try await rows.linkClicks(week) }
    }
}

extension AppDatabase: ClickStore {}
extension PostgresStore: ClickStore {}
