import Foundation
import NewsletterCore
import Testing

/// What every `DeliveryLedger` does, written once and run against each backend.
@Suite("DeliveryLedger contract", .runningStores)
struct DeliveryLedgerContractTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    /// Ada and Bob get the issue; Cy is pending, Di paused, Eve unsubscribed.
    func list(_ store: some ContractStore) async throws -> (ada: Subscriber, bob: Subscriber) {
        let ada = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        _ = try await store.addSubscriber(email: "cy@example.org", name: nil, status: .pending)
        let di = try await store.addSubscriber(email: "di@example.org", name: nil, status: .confirmed)
        let token = try await store.newUnsubscribeToken(subscriberID: di.id, at: Date())
        _ = try await store.updatePreferences(
            token: token, Preferences(name: nil, format: .html, paused: true), client: .commandLine, at: Date())
        _ = try await store.addSubscriber(email: "eve@example.org", name: nil, status: .unsubscribed)
        return (ada, bob)
    }

    /// The list's week prepared and all of it that gets the issue (Ada and Bob) claimed.
    func claimedList(_ backend: StoreBackend) async throws -> (
        store: any ContractStore, ada: Subscriber, bob: Subscriber
    ) {
        let store = try await backend.makeStore()
        let (ada, bob) = try await list(store)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        _ = try await store.claimDeliveries(week, limit: 5, runStarted: Date())
        return (store, ada, bob)
    }

    @Test(arguments: StoreBackend.all)
    func preparingAWeekQueuesWhoeverGetsTheIssueOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await list(store)
        await #expect(try store.prepareDelivery(week, addSubscribers: true) == (2, 0))
        await #expect(try store.prepareDelivery(week, addSubscribers: true) == (0, 0), "nobody is queued twice")
        _ = try await store.addSubscriber(email: "late@example.org", name: nil, status: .confirmed)
        await #expect(
            try store.prepareDelivery(week, addSubscribers: false) == (0, 0),
            "an issue already sent does not go to people who joined since")
        await #expect(try store.deliveryCounts(week) == [.pending: 2])
        await #expect(try store.deliveryCounts(try IssueWeek(parsing: "2026-W48")) == [:])
    }

    @Test(arguments: StoreBackend.all)
    func aClaimTakesPendingRowsInOrderWithFreshTokensAndSkipsWhoeverLeft(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, bob) = try await list(store)
        let zed = try await store.addSubscriber(email: "zed@example.org", name: nil, status: .confirmed)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        try await store.setStatus(.unsubscribed, forSubscriber: bob.id)

        let first = try await store.claimDeliveries(week, limit: 1, runStarted: Date())
        #expect(first.map(\.subscriber) == [ada])
        #expect(first.first?.attempt == 1)
        #expect(first.first?.topics == .everything)
        // The claim goes past Bob, who left since the week was queued: he is skipped.
        let second = try await store.claimDeliveries(week, limit: 5, runStarted: Date())
        #expect(second.map(\.subscriber.id) == [zed.id])
        await #expect(try store.claimDeliveries(week, limit: 5, runStarted: Date()).isEmpty, "the queue is empty")
        await #expect(try store.deliveryCounts(week) == [.sending: 2, .skipped: 1])

        // Each copy's tokens are stored (hashed) for the links and the bounce address.
        let claim = try #require(first.first)
        #expect(claim.unsubscribeToken.count == 43 && claim.unsubscribeToken != second[0].unsubscribeToken)
        await #expect(try store.subscriber(unsubscribeToken: claim.unsubscribeToken) == ada)
        let recipient = try await #require(try store.verpRecipient(token: claim.envelopeToken))
        #expect(recipient.week == week && recipient.subscriberID == ada.id)
        await #expect(try store.verpRecipient(token: claim.envelopeToken.uppercased())?.subscriberID == ada.id)
        await #expect(try store.subscriber(unsubscribeToken: "not-a-token") == nil)
        await #expect(try store.verpRecipient(token: "not-a-token") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func outcomesAreRecordedOnlyOnClaimedRows(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, bob) = try await list(store)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 1, runStarted: Date())
        #expect(claims.map(\.subscriber) == [ada])

        // Bob was not claimed: recording him changes nothing (and is not an error).
        try await store.recordSent(week, subscriberID: bob.id, messageID: "<b@x>", reply: "250 ok")
        try await store.recordSent(week, subscriberID: ada.id, messageID: "<a@x>", reply: "250 2.0.0 queued as A1")
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .pending: 1])
        await #expect(try store.deliveryReplies(week, state: .sent).map(\.email) == ["ada@example.org"])
        await #expect(try store.deliveryReplies(week, state: .sent).map(\.reply) == ["250 2.0.0 queued as A1"])
        let copy = try await #require(try store.delivery(messageID: "<a@x>"))
        #expect(copy.week == week && copy.subscriberID == ada.id)
        await #expect(try store.delivery(messageID: "<b@x>") == nil)
        await #expect(try store.lastDeliveredWeek(subscriberID: ada.id, before: Date().addingTimeInterval(60)) == week)
        await #expect(
            try store.lastDeliveredWeek(subscriberID: ada.id, before: Date().addingTimeInterval(-3600)) == nil)
        await #expect(try store.lastDeliveredWeek(subscriberID: bob.id, before: Date().addingTimeInterval(60)) == nil)

        // A second record of a row already sent changes nothing.
        try await store.recordDeferred(week, subscriberID: ada.id, reply: "421 later")
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .pending: 1])
    }

    @Test(arguments: StoreBackend.all)
    func aGroupOfOutcomesIsRecordedTogether(_ backend: StoreBackend) async throws {
        let (store, ada, bob) = try await claimedList(backend)
        try await store.recordDeliveries(
            week,
            [
                .sent(subscriberID: ada.id, messageID: "<a@x>", reply: "250 ok"),
                .deferred(subscriberID: bob.id, reply: "451 4.3.0 try later"),
            ])
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .deferred: 1])
        await #expect(try store.deliveryReplies(week, state: .deferred).map(\.reply) == ["451 4.3.0 try later"])
        await #expect(try store.delivery(messageID: "<a@x>")?.subscriberID == ada.id)
        try await store.recordDeliveries(week, [])
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .deferred: 1])
        // Rows no longer `sending` are left as they are, in a group as alone: the sent row keeps
        // its Message-ID and reply, the deferred one gets none.
        try await store.recordDeliveries(
            week,
            [
                .deferred(subscriberID: ada.id, reply: "421 later"),
                .sent(subscriberID: bob.id, messageID: "<b@x>", reply: "250 late"),
            ])
        await #expect(try store.deliveryCounts(week) == [.sent: 1, .deferred: 1])
        await #expect(try store.deliveryReplies(week, state: .sent).map(\.reply) == ["250 ok"])
        await #expect(try store.delivery(messageID: "<b@x>") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func twoOutcomesForOneRowInAGroupRecordTheFirst(_ backend: StoreBackend) async throws {
        let (store, ada, bob) = try await claimedList(backend)
        try await store.recordDeliveries(
            week,
            [
                .sent(subscriberID: ada.id, messageID: "<a@x>", reply: "250 first"),
                .deferred(subscriberID: bob.id, reply: "451 first"),
                .deferred(subscriberID: ada.id, reply: "451 second"),
                .sent(subscriberID: bob.id, messageID: "<b@x>", reply: "250 second"),
            ])
        await #expect(try store.deliveryReplies(week, state: .sent).map(\.reply) == ["250 first"])
        await #expect(try store.deliveryReplies(week, state: .deferred).map(\.reply) == ["451 first"])
        await #expect(try store.delivery(messageID: "<a@x>")?.subscriberID == ada.id)
        await #expect(try store.delivery(messageID: "<b@x>") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func aGroupLargerThanOneStatementIsRecordedWhole(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        for index in 0..<250 {
            _ = try await store.addSubscriber(email: "r\(index)@example.org", name: nil, status: .confirmed)
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 250, runStarted: Date())
        #expect(claims.count == 250)
        let records: [DeliveryRecord] = claims.enumerated().map { index, claim in
            index % 3 == 0
                ? .deferred(subscriberID: claim.subscriber.id, reply: "451 \(index)")
                : .sent(subscriberID: claim.subscriber.id, messageID: "<\(index)@x>", reply: "250 \(index)")
        }
        try await store.recordDeliveries(week, records)
        await #expect(try store.deliveryCounts(week) == [.sent: 166, .deferred: 84])
        // Each row got its own outcome, not a neighbour's.
        await #expect(try store.delivery(messageID: "<248@x>")?.subscriberID == claims[248].subscriber.id)
        await #expect(try store.delivery(messageID: "<1@x>")?.subscriberID == claims[1].subscriber.id)
        await #expect(try store.delivery(messageID: "<0@x>") == nil)
        let replies = try await store.deliveryReplies(week, state: .deferred)
        #expect(replies.first { $0.email == "r0@example.org" }?.reply == "451 0")
        #expect(replies.first { $0.email == "r249@example.org" }?.reply == "451 249")
    }

    @Test(arguments: StoreBackend.all)
    func aDeferredRowWaitsForTheNextRun(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, _) = try await list(store)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let runStarted = Date().addingTimeInterval(-60)
        _ = try await store.claimDeliveries(week, limit: 1, runStarted: runStarted)
        try await store.recordDeferred(week, subscriberID: ada.id, reply: "421 busy")
        // The same run does not retry what it deferred itself; it goes on with Bob.
        let same = try await store.claimDeliveries(week, limit: 5, runStarted: runStarted)
        #expect(same.map(\.subscriber.email) == ["bob@example.org"])
        await #expect(try store.claimDeliveries(week, limit: 5, runStarted: runStarted).isEmpty)
        // A later run does, as its second attempt.
        let next = try await store.claimDeliveries(week, limit: 5, runStarted: Date().addingTimeInterval(60))
        #expect(next.map(\.subscriber) == [ada])
        #expect(next.first?.attempt == 2)
    }

    @Test(arguments: StoreBackend.all)
    func releasedClaimsGoBackToTheQueueAsIfNeverTried(_ backend: StoreBackend) async throws {
        let (store, _, bob) = try await claimedList(backend)
        try await store.releaseClaims(week, subscriberIDs: [bob.id])
        try await store.releaseClaims(week, subscriberIDs: [])
        await #expect(try store.deliveryCounts(week) == [.sending: 1, .pending: 1])
        let again = try await store.claimDeliveries(week, limit: 5, runStarted: Date())
        #expect(again.map(\.subscriber) == [bob])
        #expect(again.first?.attempt == 1)
    }

    @Test(arguments: StoreBackend.all)
    func aNewSendOfTheWeekResumesWhatTheLastOneLeftInFlight(_ backend: StoreBackend) async throws {
        let (store, _, _) = try await claimedList(backend)
        // The process stopped without recording: the next send of the week starts over with them.
        await #expect(try store.prepareDelivery(week, addSubscribers: true) == (0, 2))
        await #expect(try store.deliveryCounts(week) == [.pending: 2])
        await #expect(try store.claimDeliveries(week, limit: 5, runStarted: Date()).map(\.attempt) == [2, 2])
    }

    @Test(arguments: StoreBackend.all)
    func aSkippedRowKeepsItsReason(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, bob) = try await list(store)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        _ = try await store.claimDeliveries(week, limit: 1, runStarted: Date())
        try await store.recordSkipped(week, subscriberID: ada.id, reason: "no comparison in their topics")
        try await store.recordSkipped(week, subscriberID: bob.id, reason: "not claimed: unchanged")
        await #expect(try store.deliveryCounts(week) == [.skipped: 1, .pending: 1])
        await #expect(
            try store.deliveryReplies(week, state: .skipped).map(\.reply) == ["no comparison in their topics"])
    }

    @Test(arguments: StoreBackend.all)
    func aPermanentRefusalFailsTheRowAndCountsAsABounceOnce(_ backend: StoreBackend) async throws {
        let (store, ada, bob) = try await claimedList(backend)
        let reply = "550 5.1.1 <ada@example.org>: user unknown"
        try await store.recordFailed(
            week, subscriberID: ada.id, reply: reply, refusal: BounceEvidence(smtpReply: reply), rule: BounceRule(),
            at: Date())
        // Again (a retry of the record): the row is no longer in flight, nothing more happens.
        try await store.recordFailed(
            week, subscriberID: ada.id, reply: reply, refusal: BounceEvidence(smtpReply: reply), rule: BounceRule(),
            at: Date())
        await #expect(try store.deliveryCounts(week) == [.failed: 1, .sending: 1])
        await #expect(try store.deliveryReplies(week, state: .failed).map(\.reply) == [reply])
        let refused = try await #require(try store.subscriber(id: ada.id))
        #expect(refused.status == .bounced)
        #expect(refused.permanentFailures == 1)
        let tally = try await store.bounceTally(week)
        #expect(tally.hard == 1 && tally.markedBounced == 1)
        let bounces = try await store.recentBounces(week, limit: 10)
        #expect(bounces.map(\.email) == ["ada@example.org"])
        #expect(bounces.first?.source == .smtp && bounces.first?.status == "5.1.1")
        await #expect(try store.subscriber(id: bob.id)?.status == .confirmed)
    }

    @Test(arguments: StoreBackend.all)
    func aSubscriberRemovedMidSendTakesTheirRowWithThem(_ backend: StoreBackend) async throws {
        let (store, ada, _) = try await claimedList(backend)
        await #expect(try store.removeSubscriber(email: "ada@example.org"))
        // The row is gone: its late record changes nothing and is not an error.
        try await store.recordSent(week, subscriberID: ada.id, messageID: "<a@x>", reply: "250 ok")
        await #expect(try store.deliveryCounts(week) == [.sending: 1])
        await #expect(try store.delivery(messageID: "<a@x>") == nil)
    }
}
