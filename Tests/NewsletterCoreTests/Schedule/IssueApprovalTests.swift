import Foundation
import Testing

@testable import NewsletterCore

/// `IssueApproval`, the one approve-by-hash the editor page, `newsletter approve` and the API
/// share, on both stores: a prefix of the reviewed hash approves the stored draft and the
/// audit log names the approver; another draft's hash, no draft, a malformed hash or a sent
/// week are refused, each as its own typed error, and store nothing.
@Suite("IssueApproval", .runningStores)
struct IssueApprovalTests {
    let week = try! IssueWeek(parsing: "2026-W47")
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let hash = "ab12cd34ef56" + String(repeating: "7", count: 52)

    func draft(hash: String) -> IssueDraft {
        IssueDraft(
            week: week, subject: "Week 47", html: "<p>x</p>", text: "x", manifest: "{}", comparisonIDs: [], hash: hash)
    }

    @Test(arguments: StoreBackend.all)
    func aPrefixOfTheReviewedHashApprovesOnceAndAnotherDraftsHashIsRefusedNamingTheStoredOne(
        _ backend: StoreBackend
    ) async throws {
        let store = try await backend.makeStore()
        let approval = IssueApproval(store: store, time: ManualTime(now), actor: "ada@example.org")
        await #expect(throws: IssueApprovalError.refused(.noDraft(week))) {
            try await approval.approve(week, expecting: "ab12cd")
        }
        try await store.saveDraft(draft(hash: hash))
        for malformed in ["ab12c", "ab12cz", "", String(repeating: "a", count: 65)] {
            await #expect(throws: IssueApprovalError.malformedHash(malformed)) {
                try await approval.approve(week, expecting: malformed)
            }
        }
        let refused = await #expect(throws: IssueApprovalError.self) {
            try await approval.approve(week, expecting: "ffff00")
        }
        #expect(refused == .refused(.draftChanged(week, stored: hash, expected: "ffff00")))
        #expect(refused?.description.contains("ab12cd34ef56") == true)
        #expect(try await store.issue(week)?.approvedHash == nil)
        #expect(try await store.auditEntries(subject: nil, limit: 10).isEmpty)

        let approved = try await approval.approve(week, expecting: "AB12CD34")
        #expect(approved.hash == hash && !approved.already && approved.issue.subject == "Week 47")
        let again = try await IssueApproval(store: store, time: ManualTime(now), actor: "cli").approve(week, expecting: nil)
        #expect(again.already)
        let issue = try #require(try await store.issue(week))
        #expect(issue.status == .approved && issue.approvedHash == hash && issue.approvedAt == now)
        let entries = try await store.auditEntries(subject: week.description, limit: 10)
        #expect(entries.map(\.actor) == ["ada@example.org"] && entries.map(\.action) == [.approve])
        #expect(entries.first?.detail == "draft ab12cd34ef56")
    }

    @Test(arguments: StoreBackend.all)
    func aRebuiltDraftIsNotApprovedByTheOldHashAndASentWeekIsNotApprovedAtAll(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let approval = IssueApproval(store: store, time: ManualTime(now), actor: "cli")
        try await store.saveDraft(draft(hash: hash))
        let rebuilt = "cdef01" + String(repeating: "2", count: 58)
        try await store.saveDraft(draft(hash: rebuilt))
        await #expect(throws: IssueApprovalError.refused(.draftChanged(week, stored: rebuilt, expected: "ab12cd34"))) {
            try await approval.approve(week, expecting: "ab12cd34")
        }
        _ = try await approval.approve(week, expecting: "cdef01")
        try await store.markSent(week, at: now)
        await #expect(throws: IssueApprovalError.refused(.alreadySent(week))) {
            try await approval.approve(week, expecting: "cdef01")
        }
        #expect(try await store.issue(week)?.status == .sent)
        #expect(try await store.auditEntries(subject: week.description, limit: 10).count == 1)
    }
}
