import Foundation
import NewsletterCore
import Testing

/// `ComparisonStore`'s contract, run against each backend: what ingest relies on, whichever
/// store holds the comparisons.
@Suite("ComparisonStore contract", .runningStores)
struct ComparisonStoreContractTests {
    func sample(source: String = "/pages/a.txt") throws -> Comparison {
        try ComparisonPageReader().read(try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), source: source)
    }

    @Test(arguments: StoreBackend.all)
    func aComparisonReadsBackAsItWasStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let comparison = try sample()
        guard case .inserted(let id) = try await store.saveComparison(comparison) else {
            Issue.record("a new source is inserted")
            return
        }
        let stored = try await #require(try store.comparison(id: id))
        #expect(stored.comparison == comparison)
        #expect(stored.firstSeenAt == stored.updatedAt)
        await #expect(try store.comparison(id: id + 1000) == nil)
        let summary = try await #require(try store.listComparisons().first)
        #expect(summary.id == id && summary.title == comparison.title && summary.takeCount == comparison.takes.count)
        #expect(summary.source == comparison.source)
    }

    @Test(arguments: StoreBackend.all)
    func theSameContentChangesNothingAndNewContentReplacesEveryChildRow(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var comparison = try sample()
        let id = try await store.saveComparison(comparison).id
        await #expect(try store.saveComparison(comparison) == .unchanged(id: id))
        let first = try await #require(try store.comparison(id: id))
        let previousHash = comparison.contentHash
        comparison.contentHash = "changed"
        comparison.takes.removeLast(3)
        comparison.missingTakes = []
        comparison.tools[0].tagline = "A new tagline, with “quotes” and ünïcode"
        await #expect(try store.saveComparison(comparison) == .updated(id: id, previousHash: previousHash))
        let stored = try await #require(try store.comparison(id: id))
        #expect(stored.comparison == comparison)
        #expect(stored.firstSeenAt == first.firstSeenAt, "first seen stays when it was first seen")
        #expect(stored.updatedAt >= first.updatedAt)
        await #expect(try store.listComparisons().map(\.takeCount) == [comparison.takes.count])
    }

    @Test(arguments: StoreBackend.all)
    func anUpdatedPageThatStillGivesNoDateKeepsTheDateItWasFirstSeen(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let firstSeen = Date(timeIntervalSince1970: 1_796_000_000)
        var comparison = try sample()
        comparison.published = firstSeen
        comparison.publishedFrom = .firstSeen
        let id = try await store.saveComparison(comparison).id
        // Read again a day later, still without a date: the reading's own time does not count.
        comparison.contentHash = "changed"
        comparison.published = firstSeen.addingTimeInterval(86_400)
        _ = try await store.saveComparison(comparison)
        var stored = try await #require(try store.comparison(id: id)).comparison
        #expect(stored.published == firstSeen && stored.publishedFrom == .firstSeen)
        // Once the page gives a date, that date is the one stored.
        let dated = firstSeen.addingTimeInterval(-86_400)
        comparison.contentHash = "changed again"
        comparison.published = dated
        comparison.publishedFrom = .page
        _ = try await store.saveComparison(comparison)
        stored = try await #require(try store.comparison(id: id)).comparison
        #expect(stored.published == dated && stored.publishedFrom == .page)
    }

    @Test(arguments: StoreBackend.all)
    func theSameRecordUnderAnotherSourceIsADuplicateAndNotStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let original = try sample()
        let id = try await store.saveComparison(original).id
        var twin = try sample(source: "https://example.org/a.html")
        twin.contentHash = "another page, the same record"
        await #expect(try store.saveComparison(twin) == .duplicate(of: id, source: original.source))
        await #expect(try store.listComparisons().count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func comparisonsAreListedMostRecentlyPublishedFirst(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var older = try sample(source: "/pages/older.txt")
        older.published = Date(timeIntervalSince1970: 1_790_000_000)
        older.title = "Older"
        var newer = try sample(source: "/pages/newer.txt")
        newer.published = Date(timeIntervalSince1970: 1_795_000_000)
        newer.title = "Newer"
        _ = try await store.saveComparison(older)
        _ = try await store.saveComparison(newer)
        await #expect(try store.listComparisons().map(\.title) == ["Newer", "Older"])
    }

    /// A save that fails half-way (a score the schema refuses, on the last take) leaves the
    /// store exactly as it was, for a new record and for an update alike.
    @Test(arguments: StoreBackend.all)
    func aFailedSaveLeavesNothingHalfWritten(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var broken = try sample()
        broken.takes[broken.takes.count - 1].score = 150
        await #expect(throws: (any Error).self) { try await store.saveComparison(broken) }
        await #expect(try store.listComparisons().isEmpty)

        let good = try sample()
        let id = try await store.saveComparison(good).id
        broken.contentHash = "changed"
        broken.title = "Changed title"
        await #expect(throws: (any Error).self) { try await store.saveComparison(broken) }
        await #expect(try store.comparison(id: id)?.comparison == good)
    }
}
