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
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                address, name: "Ada", client: client, policy: policy, at: now)
        else { Issue.record("a new address queues a confirmation"); return }
        let ada = try await #require(try store.subscriber(id: id))
        #expect(ada.status == .pending && ada.email == "Ada@Example.org" && ada.name == "Ada")
        await #expect(try store.endpointMailQueueDepth() == 1)
        // Again at once, in another case: the mail is still unsent.
        await #expect(
            try store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: client, policy: policy, at: now)
                == .throttled)
        await #expect(try store.endpointMailQueueDepth() == 1)
        await #expect(try store.subscriberCount(status: nil) == 1)
    }

    @Test(arguments: StoreBackend.all)
    func theQueueHandsOutDueMailsUnderALease(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        _ = try await store.requestSignup(
            try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        _ = try await store.requestSignup(
            try MailAddress("bob@example.org"), name: nil, client: client, policy: SignupPolicy(),
            at: now.addingTimeInterval(1))
        await #expect(
            try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(-10), lease: 60).isEmpty, "not due yet")
        let first = try await store.claimEndpointMail(limit: 1, at: now.addingTimeInterval(2), lease: 60)
        #expect(first.map(\.subscriber.email) == ["ada@example.org"])
        #expect(first.first?.kind == .confirmation && first.first?.attempt == 1)
        // Ada's mail is leased: the next claim gets Bob's only.
        let second = try await store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(2), lease: 60)
        #expect(second.map(\.subscriber.email) == ["bob@example.org"])
        // A sender that died: after the lease Ada's mail is handed out again, as attempt 2.
        let retried = try await store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(63), lease: 60)
        #expect(retried.map(\.subscriber.email) == ["ada@example.org", "bob@example.org"])
        #expect(retried.map(\.attempt) == [2, 2])
        try await store.recordEndpointMail(id: retried[0].id, .sent(reply: "250 ok"), at: now.addingTimeInterval(64))
        try await store.recordEndpointMail(
            id: retried[1].id, .retry(reply: "421 busy", next: now.addingTimeInterval(600)),
            at: now.addingTimeInterval(64))
        await #expect(try store.endpointMailQueueDepth() == 1)
        await #expect(try store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(300), lease: 60).isEmpty)
        let later = try await store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(601), lease: 60)
        #expect(later.map(\.attempt) == [3])
        try await store.recordEndpointMail(id: later[0].id, .failed(reply: "550 no"), at: now.addingTimeInterval(602))
        await #expect(try store.endpointMailQueueDepth() == 0)
        // Bob's address is pending with a failed mail: a new signup may queue one again later.
        await #expect(
            try store.requestSignup(
                try MailAddress("bob@example.org"), name: nil, client: client, policy: SignupPolicy(),
                at: now.addingTimeInterval(3600)) != .throttled)
    }

    @Test(arguments: StoreBackend.all)
    func aConfirmationLinkConfirmsOnceAndQueuesTheWelcome(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        let older = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        await #expect(try store.confirmationLink(token: token, at: now) == .valid(email: "ada@example.org"))
        await #expect(try store.confirmationLink(token: token, at: now.addingTimeInterval(3600)) == .expired)
        await #expect(try store.confirmationLink(token: "unknown", at: now) == .unknown)
        await #expect(try store.confirm(token: token, client: client, at: now.addingTimeInterval(3600)) == .expired)
        await #expect(try store.subscriber(id: id)?.status == .pending)
        await #expect(
            try store.confirm(token: token, client: client, at: now.addingTimeInterval(5))
                == .confirmed(email: "ada@example.org"))
        await #expect(try store.confirm(token: token, client: client, at: now.addingTimeInterval(6)) == .used)
        await #expect(
            try store.confirm(token: older, client: client, at: now.addingTimeInterval(6)) == .used,
            "the first link used spends the others")
        await #expect(try store.confirm(token: "unknown", client: client, at: now) == .unknown)
        let ada = try await #require(try store.subscriber(id: id))
        #expect(ada.status == .confirmed && ada.confirmedAt != nil)
        let kinds = try await store.claimEndpointMail(limit: 10, at: now.addingTimeInterval(10), lease: 60).map(\.kind)
        #expect(kinds == [.confirmation, .welcome])
        // Confirmed: signing up again sends nothing.
        await #expect(
            try store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
                == .alreadyConfirmed)
        // An unsubscribe token is not a confirmation token, nor the other way round.
        let unsubscribe = try await store.newUnsubscribeToken(subscriberID: id, at: now)
        await #expect(try store.confirmationLink(token: unsubscribe, at: now) == .unknown)
        await #expect(try store.subscriber(unsubscribeToken: token) == nil)
    }

    @Test(arguments: StoreBackend.all)
    func anUnsubscribeTokenUnsubscribesOnceAndSavesPreferences(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let ada = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        let token = try await store.newUnsubscribeToken(subscriberID: ada.id, at: now)
        await #expect(try store.subscriber(unsubscribeToken: token) == ada)

        var preferences = Preferences(name: "Ada L.", format: .text, paused: true)
        preferences.topics = TopicChoice(["agents", "search"])
        let saved = try await #require(try store.updatePreferences(token: token, preferences, client: client, at: now))
        #expect(saved.name == "Ada L." && saved.format == .text && saved.paused)
        await #expect(try store.updatePreferences(token: "unknown", preferences, client: client, at: now) == nil)

        await #expect(
            try store.unsubscribe(token: token, client: client, at: now) == .unsubscribed(email: "ada@example.org"))
        await #expect(
            try store.unsubscribe(token: token, client: client, at: now)
                == .alreadyUnsubscribed(email: "ada@example.org"))
        await #expect(try store.unsubscribe(token: "unknown", client: client, at: now) == .unknownToken)
        await #expect(try store.subscriber(id: ada.id)?.status == .unsubscribed)
        // Coming back through the form: a confirmation, the old record unchanged until confirmed.
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        #expect(id == ada.id)
        await #expect(try store.subscriber(id: ada.id)?.status == .unsubscribed)
    }

    @Test(arguments: StoreBackend.all)
    func theTopicsChosenAtSignupReachTheLedger(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let week = try IssueWeek(parsing: "2026-W47")
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, topics: TopicChoice(["search", "agents"]),
                client: client,
                policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        await #expect(
            try store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, topics: TopicChoice(["other"]), client: client,
                policy: SignupPolicy(), at: now) == .throttled, "a throttled signup changes nothing, topics included")
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        _ = try await store.confirm(token: token, client: client, at: now)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 5, runStarted: Date())
        #expect(claims.map(\.topics) == [TopicChoice(["agents", "search"])])
    }

    @Test(arguments: StoreBackend.all)
    func eachFlowLeavesOneLineInTheConsentTrail(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now = self.now
        let address = try MailAddress("ada@example.org")
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                address, name: nil, topics: TopicChoice(["agents"]), client: client, policy: SignupPolicy(), at: now)
        else { Issue.record("queued"); return }
        await #expect(
            try store.requestSignup(address, name: nil, client: client, policy: SignupPolicy(), at: now) == .throttled)
        let confirmation = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: now)
        _ = try await store.confirm(token: confirmation, client: client, at: now)
        let token = try await store.newUnsubscribeToken(subscriberID: id, at: now)
        await #expect(
            try store.updatePreferences(
                token: token, Preferences(name: nil, format: .text, paused: true), client: client, at: now) != nil)
        _ = try await store.unsubscribe(token: token, client: client, at: now)
        _ = try await store.unsubscribe(token: token, client: client, at: now)
        await #expect(
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
        func signUp(after seconds: TimeInterval) async throws -> SignupOutcome {
            try await store.requestSignup(address, name: nil, client: client, policy: policy, at: t0 + seconds)
        }
        func sendQueued(after seconds: TimeInterval) async throws {
            for mail in try await store.claimEndpointMail(limit: 10, at: t0 + seconds, lease: 60) {
                try await store.recordEndpointMail(id: mail.id, .sent(reply: "250 ok"), at: t0 + seconds)
            }
        }
        guard case .confirmationQueued = try await signUp(after: 0) else { Issue.record("queued"); return }
        try await sendQueued(after: 1)
        await #expect(try signUp(after: 5 * 60) == .throttled, "within the resend interval of the last")
        guard case .confirmationQueued = try await signUp(after: 11 * 60) else { Issue.record("second"); return }
        try await sendQueued(after: 11 * 60 + 1)
        guard case .confirmationQueued = try await signUp(after: 22 * 60) else { Issue.record("third"); return }
        try await sendQueued(after: 22 * 60 + 1)
        await #expect(try signUp(after: 33 * 60) == .throttled, "three a day at most")
        // A day after the first, two remain in the last 24 hours: one more may go.
        guard case .confirmationQueued = try await signUp(after: 24 * 3600 + 1) else {
            Issue.record("a day on"); return
        }
        await #expect(try store.endpointMailQueueDepth() == 1)
    }
}
