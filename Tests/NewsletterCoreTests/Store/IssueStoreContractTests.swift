import Foundation
import Testing

@testable import NewsletterCore

/// What every `IssueStore` does, written once and run against each backend: the drafts, their
/// approval and their fate, including every refusal (a missing draft, a wrong hash, a sent
/// week, a week whose sending started, a comparison that is not stored).
@Suite("IssueStore contract", .runningStores)
struct IssueStoreContractTests {
    let week = try! IssueWeek(parsing: "2026-W48")
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    func draft(_ hash: String, week: IssueWeek? = nil, comparisons: [Int64] = [], variants: FrozenVariants? = nil)
        -> IssueDraft
    {
        IssueDraft(
            week: week ?? self.week, subject: "Subject \(hash)", html: "<p>\(hash) “ünïcode”</p>", text: "text \(hash)",
            manifest: #"{"hash":"\#(hash)"}"#, comparisonIDs: comparisons, hash: hash, variants: variants)
    }

    func comparisons(_ titles: [String], in store: any ContractStore, published: String = "2026-11-24T10:00:00Z")
        async throws -> [Int64]
    {
        var ids: [Int64] = []
        for title in titles {
            ids.append(try await store.saveComparison(try StoreFixtures.comparison(title, published: published)).id)
        }
        return ids
    }

    @Test(arguments: StoreBackend.all)
    func aDraftReadsBackAsItWasSaved(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B", "C vs D"], in: store)
        let variants = FrozenVariants(
            variants: [
                IssueVariant(
                    id: "everything", choice: .everything, readers: 3, comparisonIDs: ids.reversed(), subject: "S",
                    html: "<p>all</p>", text: "all", hash: "v1"),
                IssueVariant(
                    id: TopicChoice(["Writing"]).variantID, choice: TopicChoice(["Writing"]), readers: 1,
                    comparisonIDs: [], subject: nil, html: nil, text: nil, hash: nil),
            ],
            selection: ids.reversed().map { FrozenVariants.ComparisonTopics(id: $0, topics: ["Writing"]) })
        let saved = draft("h1", comparisons: ids.reversed(), variants: variants)
        try await store.saveDraft(saved)
        let stored = try await #require(try store.issue(week))
        #expect(stored.week == week && stored.status == .draft)
        #expect(stored.subject == saved.subject && stored.html == saved.html && stored.text == saved.text)
        #expect(stored.manifest == saved.manifest && stored.draftHash == "h1")
        #expect(stored.approvedHash == nil && stored.approvedAt == nil && stored.sentAt == nil)
        #expect(stored.skipReason == nil && !stored.hiddenFromArchive)
        #expect(stored.comparisonIDs == ids.reversed(), "the selection's order, not the ids'")
        #expect(stored.variants == variants)
        #expect(abs(stored.updatedAt.timeIntervalSinceNow) < 3600)
        await #expect(try store.issue(week.next) == nil)
        // A draft without variants (built before topics) has none.
        try await store.saveDraft(draft("h2", week: week.next))
        await #expect(try store.issue(week.next)?.variants == nil)
    }

    @Test(arguments: StoreBackend.all)
    func issuesAreListedNewestWeekFirst(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.listIssues().isEmpty)
        let weeks = try ["2026-W09", "2027-W01", "2026-W10", "2026-W52"].map { try IssueWeek(parsing: $0) }
        for week in weeks { try await store.saveDraft(draft("h-\(week)", week: week)) }
        try await store.recordSkipped(try IssueWeek(parsing: "2026-W30"), reason: "thin")
        await #expect(
            try store.listIssues().map(\.week.description) == [
                "2027-W01", "2026-W52", "2026-W30", "2026-W10", "2026-W09",
            ])
    }

    @Test(arguments: StoreBackend.all)
    func onlyComparisonsPublishedInTheWindowAreSelectedStartIncludedEndNot(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let window = DateInterval(start: t0, end: t0.addingTimeInterval(7 * 86400))
        func save(_ title: String, _ date: Date) async throws -> Int64 {
            var comparison = try StoreFixtures.comparison(title, published: "2026-11-24T10:00:00Z")
            comparison.published = date
            return try await store.saveComparison(comparison).id
        }
        let late = try await save("Late", window.end.addingTimeInterval(-1))
        _ = try await save("Before", window.start.addingTimeInterval(-1))
        let first = try await save("First", window.start)
        _ = try await save("After", window.end)
        let sameTime = try await save("Same time", window.start)
        let selected = try await store.comparisons(publishedIn: window)
        #expect(selected.map(\.id) == [first, sameTime, late], "by published time, then id")
        #expect(selected.map(\.comparison.title) == ["First", "Same time", "Late"])
        await #expect(try store.comparisons(publishedIn: DateInterval(start: t0, duration: 0)).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func approvingNeedsAStoredDraftWithThatHash(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(throws: IssueStoreError.noDraft(week)) { try await store.approve(week, hash: "h1", at: t0) }
        await #expect(try store.issue(week) == nil, "a refused approval writes nothing")
        try await store.saveDraft(draft("h1"))
        await #expect(throws: IssueStoreError.draftChanged(week, stored: "h1", expected: "other")) {
            try await store.approve(week, hash: "other", at: t0)
        }
        await #expect(try store.issue(week)?.status == .draft)
        try await store.approve(week, hash: "h1", at: t0)
        let approved = try await #require(try store.issue(week))
        #expect(approved.status == .approved && approved.approvedHash == "h1" && approved.approvedAt == t0)
        #expect(approved.updatedAt == t0)
        // A skipped week has no draft to approve.
        let skipped = week.next
        try await store.recordSkipped(skipped, reason: "thin")
        await #expect(throws: IssueStoreError.noDraft(skipped)) { try await store.approve(skipped, hash: "h1", at: t0) }
    }

    @Test(arguments: StoreBackend.all)
    func aRebuiltDraftKeepsTheApprovalOnlyIfItApprovedTheseVeryBytes(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B", "C vs D"], in: store)
        try await store.saveDraft(draft("h1", comparisons: ids))
        try await store.approve(week, hash: "h1", at: t0)
        try await store.saveDraft(draft("h1", comparisons: ids))
        let same = try await #require(try store.issue(week))
        #expect(same.status == .approved && same.approvedHash == "h1" && same.approvedAt == t0)
        try await store.saveDraft(draft("h2", comparisons: [ids[1]]))
        let changed = try await #require(try store.issue(week))
        #expect(changed.status == .draft && changed.approvedHash == nil && changed.approvedAt == nil)
        #expect(changed.draftHash == "h2" && changed.comparisonIDs == [ids[1]] && changed.subject == "Subject h2")
        // Going back to the approved bytes does not bring the old approval back: it is gone.
        try await store.saveDraft(draft("h1", comparisons: ids))
        await #expect(try store.issue(week)?.status == .draft)
    }

    @Test(arguments: StoreBackend.all)
    func aSentWeekNeverChanges(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B"], in: store)
        try await store.saveDraft(draft("h1", comparisons: ids))
        try await store.approve(week, hash: "h1", at: t0)
        try await store.markSent(week, at: t0.addingTimeInterval(60))
        let sent = try await #require(try store.issue(week))
        #expect(sent.status == .sent && sent.sentAt == t0.addingTimeInterval(60) && sent.approvedHash == "h1")
        await #expect(throws: IssueStoreError.alreadySent(week)) {
            try await store.saveDraft(draft("h1", comparisons: ids))
        }
        await #expect(throws: IssueStoreError.alreadySent(week)) { try await store.saveDraft(draft("h2")) }
        await #expect(throws: IssueStoreError.alreadySent(week)) { try await store.recordSkipped(week, reason: "late") }
        await #expect(throws: IssueStoreError.alreadySent(week)) { try await store.approve(week, hash: "h1", at: t0) }
        await #expect(try store.issue(week) == sent)
    }

    @Test(arguments: StoreBackend.all)
    func onceSendingStartedOnlyTheSameBytesMayBeStoredAgain(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.saveDraft(draft("h1"))
        try await store.approve(week, hash: "h1", at: t0)
        try await StoreProbe.deliver(.sending, week: week, subscriberID: ada.id, in: store)
        let before = try await #require(try store.issue(week))
        await #expect(throws: IssueStoreError.sendingStarted(week)) { try await store.saveDraft(draft("h2")) }
        await #expect(throws: IssueStoreError.sendingStarted(week)) { try await store.recordSkipped(week, reason: "x") }
        await #expect(try store.issue(week) == before)
        try await store.saveDraft(draft("h1"))
        await #expect(try store.issue(week)?.status == .approved, "the same bytes keep their approval")
    }

    @Test(arguments: StoreBackend.all, [DeliveryState.sent, .sending])
    func aRecipientWhoHasTheIssueFixesItsContent(_ backend: StoreBackend, _ state: DeliveryState) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.saveDraft(draft("h1"))
        try await StoreProbe.deliver(state, week: week, subscriberID: ada.id, in: store)
        await #expect(throws: IssueStoreError.sendingStarted(week)) { try await store.saveDraft(draft("h2")) }
        // Another week's ledger fixes nothing here.
        try await store.saveDraft(draft("h2", week: week.next))
        try await store.recordSkipped(week.next, reason: "thin")
    }

    @Test(arguments: StoreBackend.all, [DeliveryState.pending, .deferred, .failed, .skipped])
    func aLedgerWithNoCopyOutOrInFlightLeavesTheDraftOpen(_ backend: StoreBackend, _ state: DeliveryState)
        async throws
    {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        try await store.saveDraft(draft("h1"))
        try await StoreProbe.deliver(state, week: week, subscriberID: ada.id, in: store)
        try await store.saveDraft(draft("h2"))
        await #expect(try store.issue(week)?.draftHash == "h2")
        try await store.recordSkipped(week, reason: "retracted")
        await #expect(try store.issue(week)?.status == .skipped)
    }

    @Test(arguments: StoreBackend.all)
    func skippingAWeekDropsItsDraftAndSaysWhy(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B"], in: store)
        let variants = FrozenVariants(variants: [], selection: [])
        try await store.saveDraft(draft("h1", comparisons: ids, variants: variants))
        try await store.approve(week, hash: "h1", at: t0)
        try await store.recordSkipped(week, reason: "only one comparison")
        let skipped = try await #require(try store.issue(week))
        #expect(skipped.status == .skipped && skipped.skipReason == "only one comparison")
        #expect(skipped.subject == nil && skipped.html == nil && skipped.text == nil && skipped.manifest == nil)
        #expect(skipped.draftHash == nil && skipped.approvedHash == nil && skipped.approvedAt == nil)
        #expect(skipped.variants == nil && skipped.comparisonIDs.isEmpty)
        // A week skipped before any draft, and a draft built after a skip (its reason goes).
        try await store.recordSkipped(week.next, reason: "quiet")
        await #expect(try store.issue(week.next)?.skipReason == "quiet")
        try await store.saveDraft(draft("h3", week: week.next))
        let rebuilt = try await #require(try store.issue(week.next))
        #expect(rebuilt.status == .draft && rebuilt.skipReason == nil && rebuilt.draftHash == "h3")
    }

    @Test(arguments: StoreBackend.all)
    func markingAWeekWithoutAnIssueSentWritesNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await store.markSent(week, at: t0)
        await #expect(try store.issue(week) == nil)
        await #expect(try store.listIssues().isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func onlySentIssuesOfOtherWeeksCountAsFeatured(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B", "C vs D", "E vs F"], in: store)
        let sentWeek = week.previous
        try await store.saveDraft(draft("s", week: sentWeek, comparisons: [ids[0], ids[1]]))
        try await store.markSent(sentWeek, at: t0)
        try await store.saveDraft(draft("d", week: week, comparisons: [ids[2]]))
        await #expect(try store.comparisonIDsFeaturedInSentIssues(otherThan: week) == [ids[0], ids[1]])
        await #expect(
            try store.comparisonIDsFeaturedInSentIssues(otherThan: sentWeek).isEmpty, "a draft features nothing")
    }

    @Test(arguments: StoreBackend.all)
    func aDraftNamingAComparisonThatIsNotStoredIsRefusedAndNothingChanges(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ids = try await comparisons(["A vs B"], in: store)
        await #expect(throws: (any Error).self) { try await store.saveDraft(draft("h1", comparisons: [ids[0] + 1000])) }
        await #expect(try store.issue(week) == nil, "no half-written draft")
        try await store.saveDraft(draft("h1", comparisons: ids))
        try await store.approve(week, hash: "h1", at: t0)
        let before = try await #require(try store.issue(week))
        await #expect(throws: (any Error).self) {
            try await store.saveDraft(draft("h2", comparisons: [ids[0], ids[0] + 1000]))
        }
        await #expect(throws: (any Error).self) {
            try await store.saveDraft(draft("h3", comparisons: [ids[0], ids[0]]))
        }
        await #expect(try store.issue(week) == before)
    }
}
