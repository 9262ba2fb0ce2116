import Foundation
import Testing

@testable import NewsletterCore

/// What every `RunStore` does, written once and run against each backend: the weekly run's
/// memory, whether a week's delivery has begun, and which editors were mailed which draft.
@Suite("RunStore contract", .runningStores)
struct RunStoreContractTests {
    let week = try! IssueWeek(parsing: "2026-W48")
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    @Test(arguments: StoreBackend.all)
    func aRunIsRememberedFromItsFirstStartToItsLastEnd(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.runRecord(week) == nil)
        try await store.beginRun(week, at: t0)
        await #expect(
            try store.runRecord(week)
                == RunRecord(
                    week: week, firstRunAt: t0, lastRunAt: t0, lastOutcome: RunRecord.running, lastSummary: nil,
                    lastError: nil))
        let t1 = t0.addingTimeInterval(600)
        try await store.finishRun(
            week, outcome: "failed", summary: "draft built; mail failed", error: "SMTP down", at: t1)
        await #expect(
            try store.runRecord(week)
                == RunRecord(
                    week: week, firstRunAt: t0, lastRunAt: t1, lastOutcome: "failed",
                    lastSummary: "draft built; mail failed", lastError: "SMTP down"))
        // The next run: running again, the first start and the last error stay until it ends.
        let t2 = t0.addingTimeInterval(3600)
        try await store.beginRun(week, at: t2)
        let again = try await #require(try store.runRecord(week))
        #expect(again.firstRunAt == t0 && again.lastRunAt == t2 && again.lastOutcome == RunRecord.running)
        #expect(again.lastError == "SMTP down" && again.lastSummary == "draft built; mail failed")
        let t3 = t2.addingTimeInterval(60)
        try await store.finishRun(week, outcome: "sent", summary: "sent to 3", error: nil, at: t3)
        await #expect(
            try store.runRecord(week)
                == RunRecord(
                    week: week, firstRunAt: t0, lastRunAt: t3, lastOutcome: "sent", lastSummary: "sent to 3",
                    lastError: nil))
        await #expect(try store.runRecord(week.next) == nil)
    }

    @Test(arguments: StoreBackend.all)
    func finishingARunThatNeverBeganWritesNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await store.finishRun(week, outcome: "sent", summary: "s", error: nil, at: t0)
        await #expect(try store.runRecord(week) == nil)
        await #expect(try store.lastRunWeek() == nil)
    }

    @Test(arguments: StoreBackend.all)
    func theLastRunWeekIsTheLatestWeekAnyRunWorkedOn(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.lastRunWeek() == nil)
        for text in ["2026-W10", "2027-W01", "2026-W09", "2026-W52"] {
            try await store.beginRun(try IssueWeek(parsing: text), at: t0)
        }
        await #expect(try store.lastRunWeek() == (try IssueWeek(parsing: "2027-W01")))
    }

    @Test(arguments: StoreBackend.all, DeliveryState.allCases)
    func deliveryHasBegunOnceAnythingWasTried(_ backend: StoreBackend, _ state: DeliveryState) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        await #expect(try !store.deliveryBegun(week))
        try await StoreProbe.deliver(state, week: week, subscriberID: ada.id, in: store)
        let begun: Set<DeliveryState> = [.sent, .sending, .deferred, .failed]
        await #expect(try store.deliveryBegun(week) == begun.contains(state))
        await #expect(try !store.deliveryBegun(week.next), "another week's ledger says nothing of this one")
    }

    @Test(arguments: StoreBackend.all)
    func eachEditorIsMailedEachDraftOnceInAnyCase(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try store.editorsMailed(week, draftHash: "h1").isEmpty)
        try await store.recordEditorMailed(week, draftHash: "h1", editor: "Editor@Example.org", at: t0)
        try await store.recordEditorMailed(
            week, draftHash: "h1", editor: "editor@example.ORG", at: t0.addingTimeInterval(60))
        try await store.recordEditorMailed(week, draftHash: "h1", editor: "second@example.org", at: t0)
        await #expect(try store.editorsMailed(week, draftHash: "h1") == ["editor@example.org", "second@example.org"])
        // A changed draft, or another week, is mailed again.
        await #expect(try store.editorsMailed(week, draftHash: "h2").isEmpty)
        await #expect(try store.editorsMailed(week.next, draftHash: "h1").isEmpty)
        try await store.recordEditorMailed(week, draftHash: "h2", editor: "editor@example.org", at: t0)
        await #expect(try store.editorsMailed(week, draftHash: "h2") == ["editor@example.org"])
    }
}
