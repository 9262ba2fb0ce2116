import Foundation
import Testing

@testable import NewsletterCore

/// What every `ClickStore` does, on both backends: the links stored with a draft, found by the
/// redirect only once a copy of the issue went out, and their counts, scanners apart.
@Suite("ClickStore contract", .runningStores)
struct ClickStoreContractTests {
    let week = try! IssueWeek(parsing: "2026-W48")

    func links(variant: String = "everything") -> [TrackedLink] {
        [
            TrackedLink(
                id: "aaaaaaaaaaa2", week: week, variant: variant, comparisonID: nil,
                target: "https://example.org/a?x=1&y=2"),
            TrackedLink(
                id: "bbbbbbbbbbb3", week: week, variant: variant, comparisonID: nil, target: "https://b.example"),
        ]
    }

    func draft(_ hash: String, links: [TrackedLink]) -> IssueDraft {
        var draft = IssueDraft(
            week: week, subject: "S", html: "<p>\(hash)</p>", text: hash, manifest: "{}", comparisonIDs: [], hash: hash)
        draft.links = links
        return draft
    }

    @Test(arguments: StoreBackend.all)
    func theLinksAreStoredWithTheDraftAndReplacedWhenItIsBuiltAgain(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await store.saveDraft(draft("h1", links: links()))
        #expect(try await store.trackedLinks(week) == links())
        let other = [
            TrackedLink(id: "ccccccccccc4", week: week, variant: "ai", comparisonID: nil, target: "https://c.example")
        ]
        try await store.saveDraft(draft("h2", links: other))
        #expect(try await store.trackedLinks(week) == other)
        try await store.recordSkipped(week, reason: "too thin")
        #expect(try await store.trackedLinks(week).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func aDraftsLinksDoNotRedirectUntilACopyIsSent(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.saveDraft(draft("h1", links: links()))
        try await store.approve(week, hash: "h1", at: Date())
        #expect(try await store.sentLink(id: "aaaaaaaaaaa2") == nil, "a draft's link")
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        _ = try await store.claimDeliveries(week, limit: 5, runStarted: Date())
        #expect(try await store.sentLink(id: "aaaaaaaaaaa2") == nil, "a copy on its way is not sent")
        try await store.recordSent(week, subscriberID: ada.id, messageID: "<m@x>", reply: "250 ok")
        #expect(try await store.sentLink(id: "aaaaaaaaaaa2") == links()[0])
        #expect(try await store.sentLink(id: "zzzzzzzzzzz2") == nil, "an unknown id")
    }

    @Test(arguments: StoreBackend.all)
    func clicksAddUpPerLinkAndPerReaderWithScannersApart(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.saveDraft(draft("h1", links: links()))
        try await store.markSent(week, at: Date())
        try await store.recordClicks([
            ClickCount(linkID: "aaaaaaaaaaa2", clicks: 3, scannerClicks: 1),
            ClickCount(linkID: "aaaaaaaaaaa2", subscriberID: ada.id, clicks: 1, scannerClicks: 0),
            ClickCount(linkID: "gonegonegone", clicks: 5, scannerClicks: 0),
        ])
        try await store.recordClicks([ClickCount(linkID: "aaaaaaaaaaa2", clicks: 2, scannerClicks: 4)])
        let counted = try await store.linkClicks(week)
        #expect(counted.map(\.link) == links())
        #expect(counted.map(\.clicks) == [6, 0])
        #expect(counted.map(\.scannerClicks) == [5, 0])
        #expect(counted.map(\.readers) == [1, 0])
    }
}
