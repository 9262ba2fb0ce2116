import Foundation
import NewsletterCore
import Testing

/// What every `BounceStore` does, written once and run against each backend.
@Suite("BounceStore contract", .runningStores)
struct BounceStoreContractTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    func bounce(
        _ key: String, _ subscriber: Subscriber?, _ kind: BounceKind, at time: Date, week: IssueWeek? = nil,
        diagnostic: String = "report"
    ) -> BounceRecord {
        BounceRecord(
            key: key, subscriberID: subscriber?.id, week: week, kind: kind,
            evidence: BounceEvidence(
                status: kind == .hard ? "5.1.1" : "4.2.2", action: "failed", diagnostic: diagnostic),
            source: .mailbox, receivedAt: time)
    }

    @Test(arguments: StoreBackend.all)
    func aHardBounceMarksTheSubscriberBouncedAndAReportFetchedTwiceCountsOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let now = Date()
        let report = bounce("dsn-1:ada", ada, .hard, at: now, week: week, diagnostic: "550 5.1.1 user unknown")
        await #expect(
            try store.recordBounce(report, rule: BounceRule()) == .recorded(.markBounced(reason: "hard bounce")))
        await #expect(try store.recordBounce(report, rule: BounceRule()) == .duplicate)
        await #expect(try store.subscriber(id: ada.id)?.status == .bounced)
        let tally = try await store.bounceTally(week)
        #expect(tally.hard == 1 && tally.markedBounced == 1 && tally.soft == 0 && tally.delivered == 0)
        await #expect(try store.bounceTally(nil).hard == 1)
        await #expect(try store.bounceTally(try IssueWeek(parsing: "2026-W01")).hard == 0)
        let stored = try await store.recentBounces(nil, limit: 5)
        #expect(stored.count == 1)
        #expect(stored.first?.email == "ada@example.org" && stored.first?.week == "2026-W47")
        #expect(stored.first?.kind == .hard && stored.first?.effect == "bounced: hard bounce")
        #expect(stored.first?.diagnostic == "550 5.1.1 user unknown" && stored.first?.source == .mailbox)
    }

    @Test(arguments: StoreBackend.all)
    func softBouncesMarkASubscriberOnlyPastTheLimitWithinTheWindow(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        let rule = BounceRule(softBounceLimit: 3, softBounceWindow: 30 * 86400)
        let now = Date()
        // One from long ago, outside the window, does not count.
        await #expect(
            try store.recordBounce(bounce("s0", bob, .soft, at: now.addingTimeInterval(-40 * 86400)), rule: rule)
                == .recorded(.none))
        await #expect(
            try store.recordBounce(bounce("s1", bob, .soft, at: now.addingTimeInterval(-2 * 86400)), rule: rule)
                == .recorded(.none))
        await #expect(
            try store.recordBounce(bounce("s2", bob, .soft, at: now.addingTimeInterval(-86400)), rule: rule)
                == .recorded(.none))
        await #expect(try store.subscriber(id: bob.id)?.status == .confirmed)
        await #expect(
            try store.recordBounce(bounce("s3", bob, .soft, at: now), rule: rule)
                == .recorded(.markBounced(reason: "3 soft bounces within 30 days")))
        await #expect(try store.subscriber(id: bob.id)?.status == .bounced)
        await #expect(try store.bounceTally(nil).soft == 4)
        await #expect(
            try store.recentBounces(nil, limit: 2).map(\.effect) == ["bounced: 3 soft bounces within 30 days", "none"])
    }

    @Test(arguments: StoreBackend.all)
    func aComplaintUnsubscribesWithAConsentRecordAndAnAutoReplyDoesNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let cy = try await store.addSubscriber(email: "cy@example.org", name: nil, status: .confirmed)
        let now = Date()
        await #expect(
            try store.recordBounce(bounce("ar", cy, .autoReply, at: now), rule: BounceRule()) == .recorded(.none))
        await #expect(try store.subscriber(id: cy.id)?.status == .confirmed)
        await #expect(
            try store.recordBounce(bounce("arf", cy, .complaint, at: now, week: week), rule: BounceRule())
                == .recorded(.unsubscribe))
        await #expect(try store.subscriber(id: cy.id)?.status == .unsubscribed)
        let tally = try await store.bounceTally(week)
        #expect(tally.complaints == 1 && tally.unsubscribed == 1)
        await #expect(try store.bounceTally(nil).autoReplies == 1)
        // A report that names nobody is kept, and changes no one.
        await #expect(
            try store.recordBounce(bounce("stray", nil, .hard, at: now), rule: BounceRule()) == .recorded(.none))
        await #expect(try store.recentBounces(nil, limit: 10).count == 3)
        await #expect(try store.recentBounces(nil, limit: 10).first?.email == nil)
    }
}
