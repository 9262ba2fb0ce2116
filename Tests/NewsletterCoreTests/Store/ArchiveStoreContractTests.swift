import Foundation
import NewsletterCore
import Testing

/// What every `ArchiveStore` does, written once and run against each backend: the sent issues
/// the public archive shows, and an editor hiding one.
@Suite("ArchiveStore contract", .runningStores)
struct ArchiveStoreContractTests {
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    func week(_ text: String) -> IssueWeek { try! IssueWeek(parsing: text) }

    func sent(_ text: String, in store: any ContractStore) async throws {
        try await store.saveDraft(
            IssueDraft(
                week: week(text), subject: "Issue \(text)", html: "<p>\(text)</p>", text: text, manifest: "{}",
                comparisonIDs: [], hash: "h-\(text)"))
        try await store.approve(week(text), hash: "h-\(text)", at: t0)
        try await store.markSent(week(text), at: t0)
    }

    /// Weeks with nothing in the archive: a draft and a skipped week.
    func unsent(draft: String, skipped: String, in store: any ContractStore) async throws {
        try await store.saveDraft(
            IssueDraft(
                week: week(draft), subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "d"))
        try await store.recordSkipped(week(skipped), reason: "thin")
    }

    @Test(arguments: StoreBackend.all)
    func theArchiveHoldsTheSentIssuesNewestFirst(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.sentIssues().isEmpty)
        for text in ["2026-W09", "2027-W01", "2026-W10"] { try await sent(text, in: store) }
        try await unsent(draft: "2027-W02", skipped: "2026-W11", in: store)
        let archive = try await store.sentIssues()
        #expect(archive.map(\.week.description) == ["2027-W01", "2026-W10", "2026-W09"])
        #expect(archive.allSatisfy { $0.status == .sent && $0.sentAt == t0 && !$0.hiddenFromArchive })
        #expect(archive.first?.html == "<p>2027-W01</p>")
    }

    @Test(arguments: StoreBackend.all)
    func oneSentIssueIsReadByItsWeekHiddenOrNotAndNoDraftOrSkippedWeekIs(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await sent("2026-W09", in: store)
        try await sent("2026-W10", in: store)
        await #expect(try store.setHiddenFromArchive(week("2026-W10"), hidden: true))
        try await unsent(draft: "2026-W11", skipped: "2026-W12", in: store)

        let listed = try await store.sentIssues()
        await #expect(try store.sentIssue(week("2026-W09")) == listed.first { $0.week == week("2026-W09") })
        await #expect(try store.sentIssue(week("2026-W09"))?.html == "<p>2026-W09</p>")
        await #expect(try store.sentIssue(week("2026-W10"))?.hiddenFromArchive == true)
        for text in ["2026-W11", "2026-W12", "2026-W13"] {
            await #expect(try store.sentIssue(week(text)) == nil, "\(text)")
        }
    }

    @Test(arguments: StoreBackend.all)
    func aSentIssueCanBeHiddenAndShownAgainAndNothingElseCan(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await sent("2026-W09", in: store)
        try await sent("2026-W10", in: store)
        await #expect(try store.setHiddenFromArchive(week("2026-W09"), hidden: true))
        await #expect(try store.sentIssues().map(\.hiddenFromArchive) == [false, true], "hidden ones are still listed")
        await #expect(try store.issue(week("2026-W09"))?.hiddenFromArchive == true)
        await #expect(try store.setHiddenFromArchive(week("2026-W09"), hidden: false))
        await #expect(try store.sentIssues().allSatisfy { !$0.hiddenFromArchive })

        // A draft, a skipped week and a week with no issue have nothing in the archive to hide.
        try await unsent(draft: "2026-W11", skipped: "2026-W12", in: store)
        for text in ["2026-W11", "2026-W12", "2026-W13"] {
            await #expect(try !store.setHiddenFromArchive(week(text), hidden: true))
        }
        await #expect(try store.issue(week("2026-W11"))?.hiddenFromArchive == false)
    }
}
