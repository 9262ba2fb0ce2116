import Foundation
import NewsletterCore
import Testing

/// What every `SubscriberEndpointStore` does, written once and run against each backend.
@Suite("SubscriberEndpointStore contract", .runningStores)
struct SubscriberEndpointStoreContractTests {
    let client = ClientInfo(address: "192.0.2.7", userAgent: "test")
    /// Whole seconds: the SQLite store keeps times to the millisecond, and a time read back
    /// must compare as it was written.
    var now: Date { Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)) }

    @Test(arguments: StoreBackend.all)
    func aSignupQueuesOneConfirmationAndIsThrottledAfter(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let policy = SignupPolicy()
        let address = try MailAddress("Ada@Example.org")
        guard case .confirmationQueued(let id) = try store.requestSignup(
            address, name: "Ada", client: client, policy: policy, at: now)
        else { Issue.record("a new address queues a confirmation"); return }
        let ada = try #require(try store.subscriber(id: id))
        #expect(ada.status == .pending && ada.email == "Ada@Example.org" && ada.name == "Ada")
        #expect(try store.endpointMailQueueDepth() == 1)
        // Again at once, in another case: the mail is still unsent.
        #expect(
            try store.requestSignup(try MailAddress("ada@example.org"), name: nil, client: client, policy: policy, at: now)
                == .throttled)
        #expect(try store.endpointMailQueueDepth() == 1)
        #expect(try store.subscriberCount(status: nil) == 1)
    }

    @Test(arguments: StoreBackend.all)
    func theQueueHandsOutDueMailsUnderALease(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        _ = try store.requestSignup(try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        _ = try store.requestSignup(
            try MailAddress("bob@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now.addingTimeInterval(1))
        #expect(try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(-10), lease: 60).isEmpty, "not due yet")
        let first = try store.claimEndpointMail(limit: 1, at: now.addingTimeInterval(2), lease: 60)
        #expect(first.map(\.subscriber.email) == ["ada@example.org"])
        #expect(first.first?.kind == .confirmation && first.first?.attempt == 1)
        // Ada's mail is leased: the next claim gets Bob's only.
        let second = try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(2), lease: 60)
        #expect(second.map(\.subscriber.email) == ["bob@example.org"])
        // A sender that died: after the lease Ada's mail is handed out again, as attempt 2.
        let retried = try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(63), lease: 60)
        #expect(retried.map(\.subscriber.email) == ["ada@example.org", "bob@example.org"])
        #expect(retried.map(\.attempt) == [2, 2])
        try store.recordEndpointMail(id: retried[0].id, .sent(reply: "250 ok"), at: now.addingTimeInterval(64))
        try store.recordEndpointMail(
            id: retried[1].id, .retry(reply: "421 busy", next: now.addingTimeInterval(600)), at: now.addingTimeInterval(64))
        #expect(try store.endpointMailQueueDepth() == 1)
        #expect(try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(300), lease: 60).isEmpty)
        let later = try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(601), lease: 60)
        #expect(later.map(\.attempt) == [3])
        try store.recordEndpointMail(id: later[0].id, .failed(reply: "550 no"), at: now.addingTimeInterval(602))
        #expect(try store.endpointMailQueueDepth() == 0)
        // Bob's address is pending with a failed mail: a new signup may queue one again later.
        #expect(
            try store.requestSignup(
                try MailAddress("bob@example.org"), name: nil, client: client, policy: SignupPolicy(),
                at: now.addingTimeInterval(3600)) != .throttled)
    }

    @Test(arguments: StoreBackend.all)
    func aConfirmationLinkConfirmsOnceAndQueuesTheWelcome(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        guard case .confirmationQueued(let id) = try store.requestSignup(
            try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        let token = try store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        let older = try store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        #expect(try store.confirmationLink(token: token, at: now) == .valid(email: "ada@example.org"))
        #expect(try store.confirmationLink(token: token, at: now.addingTimeInterval(3600)) == .expired)
        #expect(try store.confirmationLink(token: "unknown", at: now) == .unknown)
        #expect(try store.confirm(token: token, client: client, at: now.addingTimeInterval(3600)) == .expired)
        #expect(try store.subscriber(id: id)?.status == .pending)
        #expect(try store.confirm(token: token, client: client, at: now.addingTimeInterval(5)) == .confirmed(email: "ada@example.org"))
        #expect(try store.confirm(token: token, client: client, at: now.addingTimeInterval(6)) == .used)
        #expect(try store.confirm(token: older, client: client, at: now.addingTimeInterval(6)) == .used, "the first link used spends the others")
        #expect(try store.confirm(token: "unknown", client: client, at: now) == .unknown)
        let ada = try #require(try store.subscriber(id: id))
        #expect(ada.status == .confirmed && ada.confirmedAt != nil)
        let kinds = try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(10), lease: 60).map(\.kind)
        #expect(kinds == [.confirmation, .welcome])
        // Confirmed: signing up again sends nothing.
        #expect(
            try store.requestSignup(try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
                == .alreadyConfirmed)
        // An unsubscribe token is not a confirmation token, nor the other way round.
        let unsubscribe = try store.newUnsubscribeToken(subscriberID: id, at: now)
        #expect(try store.confirmationLink(token: unsubscribe, at: now) == .unknown)
        #expect(try store.subscriber(unsubscribeToken: token) == nil)
    }

    @Test(arguments: StoreBackend.all)
    func anUnsubscribeTokenUnsubscribesOnceAndSavesPreferences(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let ada = try store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        let token = try store.newUnsubscribeToken(subscriberID: ada.id, at: now)
        #expect(try store.subscriber(unsubscribeToken: token) == ada)

        var preferences = Preferences(name: "Ada L.", format: .text, paused: true)
        preferences.topics = TopicChoice(["agents", "search"])
        let saved = try #require(try store.updatePreferences(token: token, preferences, client: client, at: now))
        #expect(saved.name == "Ada L." && saved.format == .text && saved.paused)
        #expect(try store.updatePreferences(token: "unknown", preferences, client: client, at: now) == nil)

        #expect(try store.unsubscribe(token: token, client: client, at: now) == .unsubscribed(email: "ada@example.org"))
        #expect(try store.unsubscribe(token: token, client: client, at: now) == .alreadyUnsubscribed(email: "ada@example.org"))
        #expect(try store.unsubscribe(token: "unknown", client: client, at: now) == .unknownToken)
        #expect(try store.subscriber(id: ada.id)?.status == .unsubscribed)
        // Coming back through the form: a confirmation, the old record unchanged until confirmed.
        guard case .confirmationQueued(let id) = try store.requestSignup(
            try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        #expect(id == ada.id)
        #expect(try store.subscriber(id: ada.id)?.status == .unsubscribed)
    }

    @Test(arguments: StoreBackend.all)
    func theTopicsChosenAtSignupReachTheLedger(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let week = try IssueWeek(parsing: "2026-W47")
        guard case .confirmationQueued(let id) = try store.requestSignup(
            try MailAddress("ada@example.org"), name: nil, topics: TopicChoice(["search", "agents"]), client: client,
            policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        #expect(try store.requestSignup(
            try MailAddress("ada@example.org"), name: nil, topics: TopicChoice(["other"]), client: client,
            policy: SignupPolicy(), at: now) == .throttled, "a throttled signup changes nothing, topics included")
        let token = try store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        _ = try store.confirm(token: token, client: client, at: now)
        _ = try store.prepareDelivery(week, addSubscribers: true)
        let claims = try store.claimDeliveries(week, limit: 5, runStarted: Date())
        #expect(claims.map(\.topics) == [TopicChoice(["agents", "search"])])
    }

    @Test(arguments: StoreBackend.all)
    func eachFlowLeavesOneLineInTheConsentTrail(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let address = try MailAddress("ada@example.org")
        guard case .confirmationQueued(let id) = try store.requestSignup(
            address, name: nil, topics: TopicChoice(["agents"]), client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        #expect(try store.requestSignup(address, name: nil, client: client, policy: SignupPolicy(), at: now) == .throttled)
        let confirmation = try store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        _ = try store.confirm(token: confirmation, client: client, at: now)
        let token = try store.newUnsubscribeToken(subscriberID: id, at: now)
        #expect(try store.updatePreferences(
            token: token, Preferences(name: nil, format: .text, paused: true), client: client, at: now) != nil)
        _ = try store.unsubscribe(token: token, client: client, at: now)
        _ = try store.unsubscribe(token: token, client: client, at: now)
        #expect(
            try StoreProbe.consentTrail(id, in: store) == [
                "signup: -", "topics: topics=agents", "confirm: -", "preferences: format=text paused=true",
                "unsubscribe: -",
            ], "a throttled signup and a second unsubscribe record nothing")
    }

    @Test(arguments: StoreBackend.all)
    func theThrottleCountsTheConfirmationsOfTheLastDay(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        let address = try MailAddress("ada@example.org")
        let policy = SignupPolicy()
        func signUp(after seconds: TimeInterval) throws -> SignupOutcome {
            try store.requestSignup(address, name: nil, client: client, policy: policy, at: t0 + seconds)
        }
        func sendQueued(after seconds: TimeInterval) throws {
            for mail in try store.claimEndpointMail(limit: 10, at: t0 + seconds, lease: 60) {
                try store.recordEndpointMail(id: mail.id, .sent(reply: "250 ok"), at: t0 + seconds)
            }
        }
        guard case .confirmationQueued = try signUp(after: 0) else { Issue.record("queued"); return }
        try sendQueued(after: 1)
        #expect(try signUp(after: 5 * 60) == .throttled, "within the resend interval of the last")
        guard case .confirmationQueued = try signUp(after: 11 * 60) else { Issue.record("second"); return }
        try sendQueued(after: 11 * 60 + 1)
        guard case .confirmationQueued = try signUp(after: 22 * 60) else { Issue.record("third"); return }
        try sendQueued(after: 22 * 60 + 1)
        #expect(try signUp(after: 33 * 60) == .throttled, "three a day at most")
        // A day after the first, two remain in the last 24 hours: one more may go.
        guard case .confirmationQueued = try signUp(after: 24 * 3600 + 1) else { Issue.record("a day on"); return }
        #expect(try store.endpointMailQueueDepth() == 1)
    }
}
